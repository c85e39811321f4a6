"""Promises of the list sync that a user relies on: no raw identifiers in run history, one run at a time,
a new target list is filled from scratch, never moving backwards, stable batch ids, re-entry, guard edges."""

from __future__ import annotations

import re

import sqlalchemy as sa

from audience_pipelines.defs import build_definitions
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines.defs.syncs import sync_job_name, sync_run_request_parts
from audience_pipelines.sync.service import run_sync
from audience_pipelines.warehouse import SCHEMA
from audience_pipelines.warehouse.ledger import ledger_members
from audience_pipelines.warehouse.locks import SyncBusyError, sync_lock
from audience_pipelines_tests.sync_world import day, email_of, phone_of, project_config

LIST = "shoppers-list"
USERS = range(1, 6)


def keys(*users: int) -> set[str]:
    return {f"u{u}" for u in users}


def pii_patterns() -> list[str]:
    """Every way a test member's email or phone could appear: raw, normalized, digits only."""
    patterns = []
    for user in USERS:
        patterns += [re.escape(email_of(user)), re.escape(phone_of(user))]
        patterns += [rf"\+?1?\s*650\D{{0,2}}555\D?{user:04d}"]
    return patterns


def assert_no_pii(texts: list[str]) -> None:
    blob = "\n".join(texts)
    for pattern in pii_patterns():
        match = re.search(pattern, blob, flags=re.IGNORECASE)
        assert match is None, f"raw identifier {match.group(0)!r} leaked"


def run_history_texts(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        rows = [repr(tuple(r)) for r in conn.execute(sa.text(f"select * from {SCHEMA}.sync_runs"))]
        rows += [repr(tuple(r)) for r in conn.execute(sa.text(f"select * from {SCHEMA}.sync_rejections"))]
    return rows


def sync_with_log(world, lines: list[str], **overrides):
    world.runs += 1
    return run_sync(
        world.engine,
        world.config(**overrides),
        "to_hook",
        run_id=f"logged-run-{world.runs}",
        trigger="manual",
        log=lines.append,
        sleep=world.sleeps.append,
    )


# ---------------------------------------------------------------- 3. no raw identifiers in run history


def test_rejection_reasons_that_quote_identifiers_are_stored_without_them(world):
    world.members_on(1, [1, 2, 3])
    # A receiver's reason may quote the member's own values and other people's identifiers.
    world.receiver.reject_members(
        lambda item: (
            f"bad email {item.get('email', '')}: duplicate of {email_of(5)}, phone {phone_of(5)}"
            if item["member_key"] in ("u1", "u3")
            else None
        )
    )
    lines: list[str] = []
    summary = sync_with_log(world, lines)
    assert summary.status == "partial" and summary.counts.rejected == 2
    history = run_history_texts(world.engine)
    assert any("u3" in row and "bad email" in row for row in history), "the rejections were recorded"
    assert_no_pii([*history, *lines, summary.message or ""])


def test_a_failed_run_whose_error_echoes_identifiers_records_it_without_them(world):
    world.members_on(1, [1, 2])
    echo = f"member {email_of(1).lower()} has an invalid phone +1650555{1:04d} ({phone_of(2)})"
    world.receiver.fail_next(400, {"error": "invalid_member", "detail": echo})
    lines: list[str] = []
    summary = sync_with_log(world, lines)
    assert summary.status == "failed" and "HTTP 400" in summary.message
    with world.engine.connect() as conn:
        error = conn.execute(
            sa.text(f"select error_summary from {SCHEMA}.sync_runs where run_id = :r"), {"r": summary.run_id}
        ).scalar_one()
    assert "invalid_member" in error
    assert_no_pii([*run_history_texts(world.engine), *lines, summary.message])


def test_a_failed_dagster_run_keeps_identifiers_out_of_its_event_log(world, warehouse_url, dagster_instance):
    world.members_on(1, [1, 2])
    world.receiver.fail_next(400, {"error": "invalid_member", "detail": f"{email_of(2).lower()} / +1650555{2:04d}"})
    config = project_config()
    defs = build_definitions(config, WarehouseResource(url=warehouse_url))
    run_config, tags = sync_run_request_parts(config.sync("to_hook"), "manual")
    result = defs.resolve_job_def(sync_job_name(config.sync("to_hook"))).execute_in_process(
        run_config=run_config, instance=dagster_instance, tags=tags, partition_key="2026-05-01", raise_on_error=False
    )
    assert not result.success
    texts = []
    for entry in dagster_instance.all_logs(result.run_id):
        texts.append(entry.user_message or "")
        event = entry.dagster_event
        if event is not None and event.event_specific_data is not None:
            texts.append(repr(event.event_specific_data))
    assert any("HTTP 400" in text for text in texts), "the failure reached the event log"
    assert_no_pii([*texts, *run_history_texts(world.engine)])


# ---------------------------------------------------------------- 4. one run at a time; a new list


def test_a_second_run_while_the_sync_is_locked_sends_nothing(world):
    world.members_on(1, [1, 2, 3])
    with sync_lock(world.engine, "to_hook"):
        try:
            summary = world.sync()
        except SyncBusyError:
            summary = None
        if summary is not None:
            assert summary.status in ("skipped", "failed")
            assert re.search(r"lock|already running", summary.message or "", re.IGNORECASE)
        assert world.receiver.request_log == [] and world.receiver.deliveries == 0
        with world.engine.connect() as conn:
            assert ledger_members(conn, "to_hook") == set()
    after = world.sync()
    assert after.status == "success" and world.receiver.member_keys(LIST) == keys(1, 2, 3)


def test_a_new_target_list_is_filled_from_scratch(world):
    world.members_on(1, [1, 2])
    world.sync()
    world.members_on(2, [1, 2, 3])
    summary = world.sync(target={"name": "shoppers-list-v2"})
    assert summary.status == "success"
    assert world.receiver.member_keys("shoppers-list-v2") == keys(1, 2, 3)
    assert world.receiver.member_keys(LIST) == keys(1, 2), "the old list is left as it was"


# ---------------------------------------------------------------- 5. which snapshot a run moves to


def test_a_sync_does_not_move_back_to_an_older_snapshot(world):
    world.members_on(1, [1, 2, 3])
    world.sync()
    world.members_on(2, [1])
    world.sync()
    with world.engine.begin() as conn:  # the newest snapshot is lost; only the older one is left
        for table in ("snapshot_members", "snapshot_partitions"):
            conn.execute(
                sa.text(f"delete from {SCHEMA}.{table} where audience = 'shoppers' and partition_start = :start"),
                {"start": day(2)},
            )
    deliveries = world.receiver.deliveries
    summary = world.sync()
    assert summary.status == "skipped" and "already reflects snapshot 2026-05-02" in summary.message
    assert world.receiver.deliveries == deliveries and world.receiver.member_keys(LIST) == keys(1)


def test_a_rematerialized_partition_is_synced_again(world):
    world.members_on(1, [1, 2])
    world.sync()
    world.members_on(1, [3])  # the same day recomputed after a late-arriving source row
    summary = world.sync()
    assert summary.status == "success" and summary.counts.planned_adds == 1
    assert world.receiver.member_keys(LIST) == keys(1, 2, 3)


def test_a_subtractive_sync_tracks_members_a_rematerialized_partition_added(world):
    # Another tool fills the list; this sync must know every member so it can take them out when they leave.
    world.members_on(1, [1, 2, 3])
    world.sync(mode="subtractive")
    world.members_on(1, [4])  # the same day recomputed: u4 was a member too
    assert world.sync(mode="subtractive").status == "success"
    world.members_on(2, [1, 2, 3])
    world.sync(mode="subtractive")
    removed = [b["member_keys"] for b in world.receiver.batches() if b["type"] == "audience.members_removed"]
    assert removed == [["u4"]]


# ---------------------------------------------------------------- 6. stable batch ids


def test_a_run_that_lost_its_ledger_resends_the_same_batch_ids(world):
    world.members_on(1, [1, 2, 3, 4, 5])
    world.sync()
    first_ids = [b["webhook_id"] for b in world.receiver.batches()]
    assert len(first_ids) == 2  # batch_size 3
    with world.engine.begin() as conn:
        for table in ("sync_ledger", "sync_state"):
            conn.execute(sa.text(f"delete from {SCHEMA}.{table} where sync = 'to_hook'"))
    again = world.sync()
    assert again.status == "success" and again.counts.sent == 5
    assert [b["webhook_id"] for b in world.receiver.batches()] == first_ids
    assert world.receiver.duplicate_deliveries == 2, "the receiver recognised both batches as ones it had applied"


# ---------------------------------------------------------------- 7. re-entry


def test_a_member_who_leaves_and_comes_back_is_added_again(world):
    world.members_on(1, [1, 2, 3])
    world.sync()
    world.members_on(2, [1, 3])
    world.sync()
    assert world.receiver.member_keys(LIST) == keys(1, 3)
    world.members_on(3, [1, 2, 3])
    summary = world.sync()
    assert summary.counts.planned_adds == 1
    assert world.receiver.member_keys(LIST) == keys(1, 2, 3)


def test_a_lone_member_who_leaves_and_comes_back_is_added_again(world):
    world.members_on(1, [2])
    world.sync()
    world.members_on(2, [])
    world.sync()
    world.members_on(3, [2])
    assert world.sync().status == "success"
    assert world.receiver.member_keys(LIST) == keys(2)


# ---------------------------------------------------------------- 8. guard boundaries


def test_removing_exactly_the_max_exit_ratio_is_allowed(world):
    world.members_on(1, [1, 2, 3, 4])
    world.sync()
    world.members_on(2, [1, 2])
    summary = world.sync(max_exit_ratio=0.5)
    assert summary.status == "success", summary.message
    assert world.receiver.member_keys(LIST) == keys(1, 2)


def test_leaving_exactly_min_size_members_is_allowed(world):
    world.members_on(1, [1, 2, 3, 4])
    world.sync()
    world.members_on(2, [1, 2])
    summary = world.sync(min_size=2)
    assert summary.status == "success", summary.message
    assert world.receiver.member_keys(LIST) == keys(1, 2)


def test_leaving_one_member_fewer_than_min_size_is_refused(world):
    world.members_on(1, [1, 2, 3, 4])
    world.sync()
    world.members_on(2, [1, 2])
    deliveries = world.receiver.deliveries
    summary = world.sync(min_size=3)
    assert summary.status == "failed" and "would leave 2 members, below min_size 3" in summary.message
    assert world.receiver.deliveries == deliveries
