"""Nothing is recorded as delivered unless the destination's contract says it was accepted, and every run ends
with a final status."""

import pytest
import sqlalchemy as sa

from audience_pipelines.cli.syncs import print_runs
from audience_pipelines.warehouse import SCHEMA
from audience_pipelines.warehouse.failures import parked_members
from audience_pipelines.warehouse.ledger import ledger_members
from audience_pipelines.warehouse.locks import sync_lock
from audience_pipelines.warehouse.sync_runs import recent_runs, start_run
from audience_pipelines_tests.sync_world import SECRET_ENV, email_of

LIST = "shoppers-list"


def held(world) -> set[str]:
    with world.engine.connect() as conn:
        return ledger_members(conn, "to_hook")


def run_row(world, run_id: str) -> tuple[str, str | None]:
    with world.engine.connect() as conn:
        return conn.execute(
            sa.text(f"select status, error_summary from {SCHEMA}.sync_runs where run_id = :r"), {"r": run_id}
        ).one()


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        (
            "<html><body>Welcome to our proxy</body></html>",
            {"Content-Type": "text/html"},
            "without the acknowledgement",
        ),
        ("", {}, "without the acknowledgement"),
        ({"accepted": 1, "rejected": []}, {}, "does not add up: accepted 1 + rejected 0 != 3 sent"),
        ({"accepted": 2, "rejected": [{"member_key": "u999", "reason": "x"}]}, {}, "not a list of {member_key"),
        ([1, 2, 3], {}, "without the acknowledgement"),
    ],
    ids=["html", "empty", "counts", "unknown-key", "not-an-object"],
)
def test_a_2xx_that_is_not_the_documented_acknowledgement_records_nothing(world, body, headers, expected):
    world.members_on(1, [1, 2, 3])
    world.receiver.fail_next(200, body, headers)
    summary = world.sync()
    assert summary.status == "failed" and expected in summary.message
    assert held(world) == set(), "nothing of the batch entered the ledger"
    assert run_row(world, summary.run_id)[0] == "failed"
    assert world.sync().status == "success" and held(world) == {"u1", "u2", "u3"}, "the next run delivers it"


def test_a_redirect_is_a_failure_and_is_not_followed(world):
    world.members_on(1, [1, 2])
    world.receiver.fail_next(307, {}, {"Location": "https://elsewhere.example/hooks"})
    summary = world.sync()
    assert summary.status == "failed" and "redirects to elsewhere.example" in summary.message
    assert held(world) == set() and world.sleeps == []


def test_refused_members_are_retried_on_the_same_snapshot_then_parked(world):
    world.members_on(1, [1, 2, 3])
    world.receiver.reject_members(lambda item: "bad address" if item["member_key"] == "u2" else None)
    first = world.sync(max_member_attempts=2)
    assert first.status == "partial" and held(world) == {"u1", "u3"}
    second = world.sync(max_member_attempts=2)
    assert second.status == "partial", "the same snapshot is planned again for the refused member"
    assert (second.counts.planned_adds, second.counts.sent, second.counts.parked) == (1, 1, 1)
    third = world.sync(max_member_attempts=2)
    assert third.status == "skipped" and "nothing newer" in third.message, "a parked member is not retried"
    with world.engine.connect() as conn:
        total, parked = parked_members(conn, "to_hook")
        last = recent_runs(conn, "to_hook", 3)
    assert total == 1 and (parked[0].member_key, parked[0].attempts) == ("u2", 2)
    assert [r.counts.parked for r in last] == [0, 1, 0], "run history shows when the member was parked"


def test_a_parked_member_is_retried_when_its_values_change(world):
    world.members_on(1, [1, 2])
    world.receiver.reject_members(lambda item: "bad" if item["member_key"] == "u2" else None)
    world.sync(max_member_attempts=1)
    world.receiver.reject_members(None)
    assert world.sync(max_member_attempts=1).status == "skipped"
    with world.engine.begin() as conn:
        conn.execute(sa.text("update src.profiles set email = 'fixed.2@example.com' where user_id = 2"))
    world.members_on(2, [1, 2])
    summary = world.sync(max_member_attempts=1)
    assert summary.status == "success" and held(world) == {"u1", "u2"}


def test_a_missing_secret_ends_the_run_failed_naming_the_variable(world, monkeypatch):
    world.members_on(1, [1])
    monkeypatch.delenv(SECRET_ENV)
    summary = world.sync()
    status, reason = run_row(world, summary.run_id)
    assert summary.status == status == "failed"
    assert f"${SECRET_ENV}" in reason and "not set" in reason


def test_an_unreadable_retry_after_is_a_backoff_not_a_crash(world):
    world.members_on(1, [1, 2])
    world.receiver.fail_next(429, {"error": "slow down"}, {"Retry-After": "soon-ish"})
    summary = world.sync()
    assert summary.status == "success" and len(world.sleeps) == 1


def test_a_second_run_while_the_lock_is_held_ends_skipped(world):
    world.members_on(1, [1, 2])
    with sync_lock(world.engine, "to_hook"):
        summary = world.sync()
    assert summary.status == "skipped" and "already running" in summary.message
    assert run_row(world, summary.run_id)[0] == "skipped"
    assert world.receiver.deliveries == 0


def test_a_row_left_running_by_a_killed_process_is_reconciled_by_the_next_run(world):
    world.members_on(1, [1])
    with world.engine.begin() as conn:
        start_run(conn, run_id="killed-run", sync="to_hook", destination="hook", audience="shoppers", trigger="manual")
    summary = world.sync()
    status, reason = run_row(world, "killed-run")
    assert status == "failed" and "ended without a final status" in reason and summary.run_id in reason
    assert summary.status == "success"


def test_platform_messages_keep_no_value_of_the_member(world):
    world.members_on(1, [7])
    email = email_of(7).lower()
    world.receiver.reject_members(
        lambda item: (
            f"Jane Doe born 1984-03-02 '{email}' hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d"
            "6c15b0f00a08 phone +1 (650) 555-0007 ext. 12 plan-1"
        )
    )
    summary = world.sync()
    with world.engine.connect() as conn:
        message = conn.execute(sa.text(f"select message from {SCHEMA}.sync_rejections")).scalar_one()
    assert summary.status == "partial"
    for leaked in (email, "1984-03-02", "9f86d081884c7d", "650", "plan-1"):
        assert leaked not in message, message


def test_runs_shows_parked_members(world, capsys):
    world.members_on(1, [1, 2])
    world.receiver.reject_members(lambda item: "mailbox unknown" if item["member_key"] == "u1" else None)
    world.sync(max_member_attempts=1)
    print_runs(world.engine, world.config(), "to_hook", 5)
    out = capsys.readouterr().out
    assert "parked (not retried until their values change): 1: u1 (add, 1x: rejected_by_receiver)" in out
