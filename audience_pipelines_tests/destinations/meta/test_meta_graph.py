"""Meta Custom Audiences (list) and Conversions API (event) syncs against the strict fake Graph API."""

from hashlib import sha256

import pytest

from audience_pipelines.config import ProjectConfig
from audience_pipelines.destinations.kit import Batch, DestinationError, FailureKind, ListTarget, OutboundMember
from audience_pipelines.destinations.meta.custom_audiences import MetaCustomAudiencesClient
from audience_pipelines.destinations.meta.fake import FakeMeta
from audience_pipelines.sync.service import run_sync
from audience_pipelines_tests.sync_world import project_config

TOKEN_ENV, URL_ENV = "TEST_META_TOKEN", "TEST_META_URL"
ACCOUNT, PIXEL = "act_1234567890", "5550001"


@pytest.fixture
def meta(monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "token-one")
    with FakeMeta("token-one", ad_account_id=ACCOUNT, pixel_ids=(PIXEL,)) as server:
        monkeypatch.setenv(URL_ENV, server.base_url)
        yield server


def meta_config(kind: str = "list", **retry) -> ProjectConfig:
    base = project_config().model_dump(mode="json")
    destination = {
        "name": "meta",
        "base_url": "${" + URL_ENV + "}",
        "credentials": {"access_token": TOKEN_ENV},
        "retry": {"base_delay_seconds": 0.01, "max_attempts": 4, **retry},
    }
    if kind == "list":
        destination |= {"type": "meta_custom_audiences", "settings": {"ad_account_id": ACCOUNT, "batch_size": 2}}
        sync = {"type": "list", "target": {"name": "Shoppers"}, "identifiers": {"email": "EMAIL", "phone": "PHONE"}}
    else:
        destination |= {"type": "meta_conversions", "settings": {"pixel_id": PIXEL, "batch_size": 2}}
        sync = {"type": "event", "identifiers": {"email": "em", "phone": "ph"}}
    base["destinations"] = [destination]
    base["syncs"] = [{"name": "to_meta", "audience": "shoppers", "destination": "meta", "mode": "mirror",
                      "max_exit_ratio": 1.0, **sync}]  # fmt: skip
    return ProjectConfig.model_validate(base)


def sync(world, config, sleeps=None):
    world.runs += 1
    return run_sync(world.engine, config, "to_meta", run_id=f"meta-run-{world.runs}", trigger="manual",
                    sleep=(sleeps if sleeps is not None else world.sleeps).append)  # fmt: skip


def hashed_email(user: int) -> str:
    return sha256(f"person.{user}@example.com".encode()).hexdigest()


def audience_id(meta: FakeMeta) -> str:
    return next(id_ for id_, name in meta.audiences().items() if name == "Shoppers")


def test_mirror_churn_ends_with_exactly_the_intended_members(world, meta):
    config = meta_config()
    world.members_on(1, [1, 2, 3])
    assert sync(world, config).status == "success"
    world.members_on(2, [2, 3, 4, 5])
    assert sync(world, config).status == "success"
    assert meta.audience_member_ids(audience_id(meta)) == {hashed_email(u) for u in (2, 3, 4, 5)}
    rows = meta.audience_rows(audience_id(meta))
    assert all(set(row) == {"EMAIL", "PHONE"} for row in rows.values())
    assert len(meta.audiences()) == 1, "the second run found the audience by name instead of creating another"


def test_throttling_is_honoured_with_metas_own_wait(world, meta):
    config = meta_config()
    world.members_on(1, [1, 2])
    meta.throttle_graph(times=1, code=80004, regain_minutes=1)
    summary = sync(world, config)
    assert summary.status == "success"
    assert 60.0 in world.sleeps, "estimated_time_to_regain_access (minutes) was turned into the wait"


def test_a_throttle_longer_than_max_wait_stops_the_run_and_the_next_run_resumes(world, meta):
    config = meta_config(max_wait_seconds=120)
    world.members_on(1, [1, 2, 3, 4])
    meta.throttle_graph(times=1, code=80004, regain_minutes=5)
    sync(world, config)  # creates the audience, then is throttled on the first upload
    first = world.runs
    assert "asks to wait 300s" in _run_error(world, first)
    assert sync(world, config).status == "success"
    assert meta.audience_member_ids(audience_id(meta)) == {hashed_email(u) for u in (1, 2, 3, 4)}


def test_token_expiry_fails_fast_and_a_rerun_with_a_new_token_completes(world, meta, monkeypatch):
    config = meta_config()
    world.members_on(1, [1, 2, 3, 4, 5])
    assert sync(world, config).status == "success"
    world.members_on(2, [1, 2, 3, 4, 5, 6, 7, 8, 9])
    meta.expire_token()
    requests_before = len(meta.request_log)
    failed = sync(world, config)
    assert failed.status == "failed"
    assert "renew it in $TEST_META_TOKEN" in failed.message and "token-one" not in failed.message
    assert len(meta.request_log) - requests_before == 1, "no retry on an expired token"
    meta.set_token("token-two")
    monkeypatch.setenv(TOKEN_ENV, "token-two")
    assert sync(world, config).status == "success"
    assert meta.audience_member_ids(audience_id(meta)) == {hashed_email(u) for u in range(1, 10)}
    assert meta.rows_received() == 9, "no member was uploaded twice"


def test_invalid_entries_are_rejected_rows_mapped_to_members(meta):
    destination = MetaCustomAudiencesClient(meta_config().destination("meta"), sleep=lambda s: None)
    target = destination.ensure_list(ListTarget(name="Shoppers"))
    batch = Batch(
        "b1",
        members=[
            OutboundMember("u1", {"EMAIL": hashed_email(1)}),
            OutboundMember("u2", {"EMAIL": "not-a-hash"}),
        ],
    )
    outcome = destination.add_members(target, batch)
    assert outcome.accepted == 1
    assert [(r.member_key, r.reason) for r in outcome.rejected] == [("u2", "invalid_entry")]
    assert "not-a-hash" not in outcome.rejected[0].message
    with pytest.raises(ValueError, match="exceeds Meta's limit of 2"):
        destination.add_members(target, Batch("b2", members=[OutboundMember(f"u{i}", {"EMAIL": hashed_email(i)})
                                                             for i in range(3)]))  # fmt: skip


def test_blocked_uploads_are_permanent_failures(meta):
    destination = MetaCustomAudiencesClient(meta_config().destination("meta"), sleep=lambda s: None)
    target = destination.ensure_list(ListTarget(name="Shoppers"))
    meta.block_uploads(target.id)
    with pytest.raises(DestinationError, match="blocked uploads to this audience") as caught:
        destination.add_members(target, Batch("b1", members=[OutboundMember("u1", {"EMAIL": hashed_email(1)})]))
    assert caught.value.kind is FailureKind.PERMANENT


def test_event_sync_sends_custom_events_with_deterministic_ids(world, meta):
    config = meta_config("event")
    world.members_on(1, [1, 2, 3])
    assert sync(world, config).status == "success"
    world.members_on(2, [2, 3])
    assert sync(world, config).status == "success"
    events = meta.events(PIXEL)
    assert sorted(e["event_name"] for e in events) == ["added_to_segment"] * 3 + ["removed_from_segment"]
    sample = events[0]
    assert sample["action_source"] == "system_generated"
    assert sample["user_data"]["em"][0] in {hashed_email(u) for u in (1, 2, 3)}
    # Lose every acknowledgement and rerun: the same event ids are re-sent and Meta deduplicates them.
    with world.engine.begin() as conn:
        conn.exec_driver_sql("delete from audience_pipelines.sync_ledger; delete from audience_pipelines.sync_state")
    sync(world, config)
    assert len(meta.events(PIXEL)) == 4 and meta.duplicate_events(PIXEL) == 2


def _run_error(world, run_number: int) -> str:
    with world.engine.connect() as conn:
        return conn.exec_driver_sql(
            f"select error_summary from audience_pipelines.sync_runs where run_id = 'meta-run-{run_number}'"
        ).scalar_one()
