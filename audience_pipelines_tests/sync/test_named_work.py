"""A refresh with little to do looks up the members its plan named instead of reading the whole snapshot again,
and only while that plan still tells the whole story: another run, a rebuilt snapshot or too much work send the
run back to reading its work from the snapshot, so nothing pending is ever left out."""

import pytest
import sqlalchemy as sa

from audience_pipelines.sync.plan import plan_sync
from audience_pipelines.sync.service import begin_run, complete_run, push_run
from audience_pipelines.warehouse import SCHEMA, ledger
from audience_pipelines.warehouse.ledger import _split_points, ledger_members, newest_snapshot
from audience_pipelines.warehouse.sync_runs import RunCounts, finish_run, start_run

LIST = "shoppers-list"


def plan_then_push(world, between=lambda: None):
    """Plan a run, call ``between``, then push and complete it; the plan and what the run logged."""
    world.runs += 1
    run_id = f"test-run-{world.runs}"
    config = world.config()
    plan = begin_run(world.engine, config, "to_hook", run_id=run_id, trigger="manual")
    between()
    logged: list[str] = []
    result = push_run(world.engine, config, plan, run_id=run_id, log=logged.append, sleep=world.sleeps.append)
    assert complete_run(world.engine, plan, result, run_id=run_id) == "success"
    return plan, logged


def held(world) -> set[str]:
    with world.engine.connect() as conn:
        return ledger_members(conn, "to_hook")


def test_a_refresh_sends_exactly_the_members_its_plan_named(world):
    world.members_on(1, range(1, 41))
    assert world.sync().counts.accepted == 40
    world.members_on(2, [*range(1, 41, 2), 41, 42, 43])  # every second member leaves, three join
    seen = world.receiver.deliveries
    plan, logged = plan_then_push(world)
    assert plan.pending_keys is not None
    assert plan.pending_keys.adds == ("u41", "u42", "u43")
    assert plan.pending_keys.removes == tuple(sorted(f"u{u}" for u in range(2, 41, 2)))
    assert any("looking up the 3 member(s) to add and 20 to remove" in line for line in logged), logged
    batches = world.receiver.batches()[seen:]
    added = sorted(k for b in batches if b["type"] == "audience.members_added" for k in b["member_keys"])
    removed = sorted(k for b in batches if b["type"] == "audience.members_removed" for k in b["member_keys"])
    assert added == ["u41", "u42", "u43"] and removed == sorted(f"u{u}" for u in range(2, 41, 2))
    expected = {f"u{u}" for u in [*range(1, 41, 2), 41, 42, 43]}
    assert held(world) == expected and set(world.receiver.members(LIST)) == expected


def test_work_that_appears_after_the_plan_through_another_run_is_still_sent(world):
    world.members_on(1, range(1, 11))
    assert world.sync().counts.accepted == 10
    world.members_on(2, [*range(1, 11), 11])

    def another_run_writes_the_ledger() -> None:
        # what a run of the same sync may do between this plan and its push: here it forgets that u3 was sent
        with world.engine.begin() as conn:
            conn.execute(sa.text(f"delete from {SCHEMA}.sync_ledger where sync = 'to_hook' and member_key = 'u3'"))
            start_run(conn, run_id="other", sync="to_hook", destination="hook", audience="shoppers", trigger="manual")
        with world.engine.begin() as conn:
            finish_run(conn, "other", status="success", counts=RunCounts(), partition_key=None, error_summary=None)

    seen = world.receiver.deliveries
    plan, logged = plan_then_push(world, another_run_writes_the_ledger)
    assert plan.pending_keys is not None and plan.pending_keys.adds == ("u11",)
    assert any("changed since it was planned" in line for line in logged), logged
    added = sorted(
        k for b in world.receiver.batches()[seen:] if b["type"] == "audience.members_added" for k in b["member_keys"]
    )
    assert added == ["u11", "u3"]
    assert held(world) == {f"u{u}" for u in range(1, 12)}


def test_a_snapshot_rebuilt_after_the_plan_is_read_whole(world):
    world.members_on(1, range(1, 11))
    assert world.sync().counts.accepted == 10
    world.members_on(2, range(1, 11))

    def rebuild_with_one_more() -> None:
        world.set_members(2, [12])
        world.last_day = 1
        world.members_on(2, [])  # the same partition computed again, now with u12

    plan, logged = plan_then_push(world, rebuild_with_one_more)
    assert plan.pending_keys is not None and plan.pending_keys.adds == ()
    assert any("changed since it was planned" in line for line in logged), logged
    assert held(world) == {f"u{u}" for u in [*range(1, 11), 12]}
    assert set(world.receiver.members(LIST)) == held(world)


def test_a_plan_with_more_work_than_it_may_name_names_none(world, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(ledger, "PENDING_KEYS_LIMIT", 4)
    world.members_on(1, range(1, 11))
    assert world.sync().counts.accepted == 10
    world.members_on(2, range(4, 16))  # three leave, five join: eight to do
    plan, logged = plan_then_push(world)
    assert plan.pending_keys is None and (plan.adds, plan.removes) == (5, 3)
    assert not any("looking up" in line for line in logged)
    assert held(world) == {f"u{u}" for u in range(4, 16)} == set(world.receiver.members(LIST))


def test_a_first_sync_names_nobody(world):
    world.members_on(1, range(1, 6))
    plan, _ = plan_then_push(world)
    assert plan.pending_keys is None and plan.adds == 5
    assert held(world) == {f"u{u}" for u in range(1, 6)}


def test_the_plan_merges_its_key_ranges_at_once_and_finds_the_same_work(world, monkeypatch: pytest.MonkeyPatch):
    world.members_on(1, range(1, 401))
    assert world.sync().counts.accepted == 400
    staying = [u for u in range(1, 431) if u % 7]
    world.members_on(2, staying)  # every seventh member leaves, spread over the keys; 26 join
    with world.engine.connect() as conn:
        snapshot = newest_snapshot(conn, "shoppers")
        assert len(_split_points(conn, snapshot, 4)) == 3, "the partition's statistics split it in four"
    plans = {}
    for ranges in (1, 4):
        monkeypatch.setattr(ledger, "PLANNING_RANGES", ranges)
        plans[ranges] = plan_sync(world.engine, world.config(), "to_hook", run_id=f"plan-{ranges}")
    joining = sorted(f"u{u}" for u in staying if u > 400)
    leaving = sorted(f"u{u}" for u in range(7, 401, 7))
    for plan in plans.values():
        assert (plan.adds, plan.removes, plan.held) == (len(joining), len(leaving), 400)
        assert plan.pending_keys is not None
        assert (list(plan.pending_keys.adds), list(plan.pending_keys.removes)) == (joining, leaving)
