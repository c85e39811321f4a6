"""forget-user: removal from every registered destination's fake, suppression that outlives the source, erasure
that leaves no identifier in any table, idempotent reruns and resumption after a crash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace

import pytest
import sqlalchemy as sa

from audience_pipelines.destinations.registry import DESTINATION_TYPES
from audience_pipelines.destinations.webhook import WEBHOOK
from audience_pipelines.sync.find import PersonQuery, find_person
from audience_pipelines.sync.forget import forget_person
from audience_pipelines.warehouse import SCHEMA
from audience_pipelines.warehouse.people import SUPPRESSION_KEY_ENV, SuppressionKeyError
from audience_pipelines.warehouse.sync_runs import recent_runs
from audience_pipelines_tests.destinations.contract_world import SYNC, person
from audience_pipelines_tests.people_world import EVENTS, PeopleWorld, people_world

CASES = [(kind, case) for kind in DESTINATION_TYPES for case in kind.contracts]
IDS = [f"{kind.name}-{case.sync_type}" for kind, case in CASES]
FORGOTTEN = person(3)


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def traces_of(raw: dict) -> set[str]:
    """Every form of the person's identifiers a table could hold: raw, normalized, digits, hashed."""
    email = raw["email"].lower()
    values = {raw["email"], email, raw["phone"], "+16505550003", "16505550003", "6505550003"}
    values |= {raw["external_id"], raw["fbp"], raw["ga_client_id"], raw["last_name"]}
    return values | {sha256(v) for v in (email, "+16505550003", "16505550003", raw["last_name"].lower())}


def table_text(engine: sa.Engine) -> dict[str, str]:
    """Every table of the pipeline's schema, each row as text."""
    with engine.connect() as conn:
        tables = conn.execute(
            sa.text("select tablename from pg_tables where schemaname = :s order by 1"), {"s": SCHEMA}
        ).scalars()
        return {
            table: "\n".join(conn.execute(sa.text(f"select t::text from {SCHEMA}.{table} t")).scalars())
            for table in list(tables)
        }


@pytest.fixture(params=CASES, ids=IDS)
def any_world(
    request: pytest.FixtureRequest, clean_warehouse: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PeopleWorld]:
    kind, case = request.param
    with people_world(kind, case, clean_warehouse, monkeypatch) as world:
        yield world


@pytest.fixture
def world(clean_warehouse: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[PeopleWorld]:
    """A webhook list sync and a webhook event sync over the same audience."""
    with people_world(WEBHOOK, WEBHOOK.contracts[0], clean_warehouse, monkeypatch, with_events=True) as world:
        yield world


def sync_both(world: PeopleWorld) -> None:
    for name in (SYNC, EVENTS):
        summary = world.sync_named(name)
        assert summary.status == "success", summary.message


def test_forget_removes_from_the_destination_and_a_later_sync_does_not_re_add(any_world: PeopleWorld) -> None:
    world = any_world
    world.members_on(1, range(1, 7))
    assert world.sync().status == "success"
    before = world.held()
    assert len(before) == 6 and before == world.expected_on_fake()

    report = forget_person(world.engine, world.config, PersonQuery(email=FORGOTTEN["email"]), sleep=world.sleeps.append)

    assert report.done, report.removals
    assert [(r.sync, r.status, r.removed) for r in report.removals] == [(SYNC, "success", 1)]
    assert "p3" not in world.ledger()
    assert world.held() == world.expected_on_fake() and len(world.held()) == 5, "the fake no longer holds them"
    with world.engine.connect() as conn:
        forget_runs = [r for r in recent_runs(conn, SYNC) if r.trigger == "forget"]
    assert [(r.status, r.counts.accepted) for r in forget_runs] == [("success", 1)]

    # The source still holds person 3: the next snapshot leaves them out, and the sync does not add them back.
    members = world.members_on(2, range(1, 8))
    with world.engine.connect() as conn:
        in_snapshot = conn.execute(
            sa.text(f"select count(*) from {SCHEMA}.snapshot_members where member_key = 'p3'")
        ).scalar_one()
    assert in_snapshot == 0, "the new snapshot left the suppressed person out"
    assert world.sync().status == "success"
    assert set(world.ledger()) == members - {"p3"}
    assert world.held() == world.expected_on_fake() and len(world.held()) == 6


def test_forget_reaches_list_and_event_syncs_and_erases_every_trace(world: PeopleWorld) -> None:
    # Day 1 the destination refuses person 3 (a refusal row and a retry record), day 2 it takes them.
    world.fake.reject_members(lambda item: "not today" if item.get("member_key") == "p3" else None)
    world.members_on(1, range(1, 6))
    assert {world.sync_named(name).status for name in (SYNC, EVENTS)} == {"partial"}
    world.fake.reject_members(None)
    world.members_on(2, range(1, 6))
    sync_both(world)
    assert "p3" in world.held_by(SYNC) and "p3" in world.held_by(EVENTS)
    scanned = table_text(world.engine)
    assert any(trace in text for text in scanned.values() for trace in traces_of(FORGOTTEN)), "the scan can see"

    report = forget_person(world.engine, world.config, PersonQuery(phone="650 555 0003"))

    assert report.done and report.member_keys == ("p3",)
    assert {(r.sync, r.status) for r in report.removals} == {(SYNC, "success"), (EVENTS, "success")}
    assert "p3" not in world.held_by(SYNC) and "p3" not in world.held_by(EVENTS)
    removed = [e for e in world.fake.events() if e["member_key"] == "p3" and e["event_name"] == "removed_from_segment"]
    assert len(removed) == 1
    assert report.erased["snapshot rows"] == 2 and report.erased["ledger rows"] == 2
    assert report.erased["refusal messages"] == 2

    for table, text in table_text(world.engine).items():
        for trace in traces_of(FORGOTTEN):
            assert trace not in text, f"{table} still holds an identifier of the forgotten person"
    others = "\n".join(table_text(world.engine).values())
    assert person(4)["email"] in others, "everyone else is still there"
    with world.engine.connect() as conn:
        history = conn.execute(
            sa.text(f"select count(*) from {SCHEMA}.membership_changes where member_key = 'p3'")
        ).scalar_one()
        counts = conn.execute(sa.text(f"select member_count from {SCHEMA}.snapshot_partitions order by 1")).scalars()
        assert history == 1 and list(counts) == [5, 5], "member-keyed history and counts stay"
    assert find_person(world.engine, world.config, PersonQuery(email=FORGOTTEN["email"])).member_keys == ()


def test_forget_is_idempotent(world: PeopleWorld) -> None:
    world.members_on(1, range(1, 6))
    sync_both(world)
    first = forget_person(world.engine, world.config, PersonQuery(external_id="crm-3"))
    assert first.done
    deliveries = world.fake.deliveries

    again = forget_person(world.engine, world.config, PersonQuery(external_id="crm-3"))
    by_key = forget_person(world.engine, world.config, PersonQuery(member_key="p3"))

    assert again.already_forgotten and again.request_id == first.request_id and again.erased == first.erased
    assert by_key.already_forgotten
    assert world.fake.deliveries == deliveries, "a rerun sends nothing"
    with world.engine.connect() as conn:
        assert sum(r.trigger == "forget" for r in recent_runs(conn, None, 100)) == 2


def test_forget_resumes_after_a_crash_mid_request(world: PeopleWorld) -> None:
    world.members_on(1, range(1, 6))
    sync_both(world)
    crashed_on: list[str] = []

    def crash_in_first_sync(message: str) -> None:
        # The first sync's removal batch is acknowledged by the destination, then the process dies before the
        # ledger is written (the worst moment: the rerun must send the removal again and finish).
        if "remove batch" in message and EVENTS in message:
            crashed_on.append(message)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        forget_person(world.engine, world.config, PersonQuery(email=FORGOTTEN["email"]), log=crash_in_first_sync)
    assert crashed_on
    assert "p3" not in world.held_by(EVENTS), "the destination applied the removal before the crash"
    assert "p3" in world.held_by(SYNC), "the crash came before the list sync's turn"
    with world.engine.connect() as conn:
        left = conn.execute(
            sa.text(f"select sync from {SCHEMA}.sync_ledger where member_key = 'p3' order by 1")
        ).scalars()
        assert list(left) == [EVENTS, SYNC], "an unacknowledged removal is not recorded"

    # The same command again: the request resumes (not a new one), removes what is left and erases.
    world.members_on(2, range(1, 6))  # meanwhile a snapshot from a source that still holds them
    resumed = forget_person(world.engine, world.config, PersonQuery(email=FORGOTTEN["email"]))

    assert resumed.resumed and resumed.done
    assert [(r.sync, r.status) for r in resumed.removals] == [(EVENTS, "success"), (SYNC, "success")]
    assert "p3" not in world.held_by(EVENTS) and "p3" not in world.held_by(SYNC)
    with world.engine.connect() as conn:
        statuses = sorted((r.sync, r.status) for r in recent_runs(conn, None, 100) if r.trigger == "forget")
        requests = conn.execute(sa.text(f"select status from {SCHEMA}.forget_requests")).scalars().all()
    assert statuses == [(EVENTS, "failed"), (EVENTS, "success"), (SYNC, "success")], "every run ends with a status"
    assert requests == ["done"]
    for table, text in table_text(world.engine).items():
        assert FORGOTTEN["external_id"] not in text, table


def test_a_sync_running_while_a_request_is_unfinished_does_not_add_them(world: PeopleWorld) -> None:
    world.members_on(1, range(1, 6))
    assert world.sync_named(SYNC).status == "success"  # the event sync has not run yet

    def crash_after_suppressing(message: str) -> None:
        raise KeyboardInterrupt  # the first progress line comes right after the suppression step

    with pytest.raises(KeyboardInterrupt):
        forget_person(world.engine, world.config, PersonQuery(email=FORGOTTEN["email"]), log=crash_after_suppressing)
    # The snapshot still holds person 3 (nothing is erased yet), but the event sync's first run leaves them out.
    assert world.sync_named(EVENTS).status == "success"
    assert world.held_by(EVENTS) == {"p1", "p2", "p4", "p5"}
    resumed = forget_person(world.engine, world.config, PersonQuery(email=FORGOTTEN["email"]))
    assert resumed.resumed and resumed.done and [r.sync for r in resumed.removals] == [SYNC]
    assert "p3" not in world.held_by(SYNC)


def test_a_destination_failure_leaves_the_request_to_finish_later(world: PeopleWorld) -> None:
    world.members_on(1, range(1, 6))
    sync_both(world)
    world.fake.revoke_credentials()
    failed = forget_person(world.engine, world.config, PersonQuery(email=FORGOTTEN["email"]))
    assert not failed.done and {r.status for r in failed.removals} == {"failed"}
    assert failed.erased == {}
    with world.engine.connect() as conn:
        assert (
            conn.execute(sa.text(f"select count(*) from {SCHEMA}.sync_ledger where member_key = 'p3'")).scalar_one()
            == 2
        ), "nothing is recorded as removed that the destination did not acknowledge"


def test_snapshots_refuse_to_run_without_the_key_once_someone_was_forgotten(
    world: PeopleWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.members_on(1, range(1, 6))
    assert forget_person(world.engine, world.config, PersonQuery(email=FORGOTTEN["email"])).done
    monkeypatch.delenv(SUPPRESSION_KEY_ENV)
    with pytest.raises(SuppressionKeyError, match=SUPPRESSION_KEY_ENV):
        world.members_on(2, range(1, 6))
    with pytest.raises(SuppressionKeyError, match="forget-user"):
        forget_person(world.engine, world.config, PersonQuery(email=person(4)["email"]))


def test_a_sync_no_longer_configured_loses_its_ledger_rows_without_a_request(world: PeopleWorld) -> None:
    world.members_on(1, range(1, 6))
    sync_both(world)
    deliveries = world.fake.deliveries
    without_events = replace(world, with_events=False).config
    report = forget_person(world.engine, without_events, PersonQuery(member_key="p3"))
    assert report.done
    assert [(r.sync, r.status, r.removed) for r in report.removals] == [(EVENTS, "erased", 1), (SYNC, "success", 1)]
    assert world.fake.deliveries == deliveries + 1, "only the configured sync's destination was contacted"
    assert "p3" in world.held_by(EVENTS) and "p3" not in world.held_by(SYNC)
