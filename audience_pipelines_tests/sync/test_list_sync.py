"""List sync against a real webhook receiver: modes over churn, checkpoints, retries, rejections."""

import sqlalchemy as sa

from audience_pipelines.warehouse import SCHEMA
from audience_pipelines.warehouse.ledger import ledger_members
from audience_pipelines.warehouse.sync_runs import rejections
from audience_pipelines_tests.sync_world import email_of

LIST = "shoppers-list"


def keys(*users: int) -> set[str]:
    return {f"u{u}" for u in users}


def test_mirror_follows_churn_exactly(world):
    world.members_on(1, [1, 2, 3, 4, 5])
    first = world.sync()
    assert first.status == "success"
    assert world.receiver.member_keys(LIST) == keys(1, 2, 3, 4, 5)
    world.members_on(2, [1, 3, 5, 6, 7, 8, 9])
    second = world.sync()
    assert (second.counts.planned_adds, second.counts.planned_removes) == (4, 2)
    assert world.receiver.member_keys(LIST) == keys(1, 3, 5, 6, 7, 8, 9)
    world.members_on(3, [9])
    world.sync()
    assert world.receiver.member_keys(LIST) == keys(9)
    # Sent values are normalized per the webhook platform (lowercase email), never the raw text.
    assert world.receiver.members(LIST)["u9"]["email"] == email_of(9).lower()
    assert world.receiver.verified_signatures == world.receiver.deliveries


def test_additive_never_removes(world):
    world.members_on(1, [1, 2, 3])
    world.sync(mode="additive")
    world.members_on(2, [3, 4])
    summary = world.sync(mode="additive")
    assert summary.counts.planned_removes == 0
    assert world.receiver.member_keys(LIST) == keys(1, 2, 3, 4)


def test_subtractive_only_removes_members_who_left(world):
    # Another tool filled the list; this sync only takes out people who leave the audience.
    world.members_on(1, [1, 2, 3])
    first = world.sync(mode="subtractive")
    assert first.counts.sent == 0 and world.receiver.deliveries == 0
    world.members_on(2, [1, 3, 4])
    second = world.sync(mode="subtractive")
    removed = [b for b in world.receiver.batches() if b["type"] == "audience.members_removed"]
    assert [sorted(b["member_keys"]) for b in removed] == [["u2"]]
    assert not [b for b in world.receiver.batches() if b["type"] == "audience.members_added"]
    assert second.counts.planned_adds == 0


def test_a_member_whose_profile_was_deleted_is_still_removed(world):
    world.members_on(1, [1, 2])
    world.sync()
    world.delete_profile(2)
    world.members_on(2, [1])
    world.sync()
    assert world.receiver.member_keys(LIST) == keys(1)
    removal = next(b for b in world.receiver.batches() if b["type"] == "audience.members_removed")
    assert removal["member_keys"] == ["u2"]


def test_a_sync_never_moves_backwards_or_repeats(world):
    world.members_on(1, [1, 2])
    world.sync()
    again = world.sync()
    assert again.status == "skipped" and "already reflects snapshot 2026-05-01" in again.message
    deliveries = world.receiver.deliveries
    assert world.sync().status == "skipped" and world.receiver.deliveries == deliveries


def test_throttling_with_retry_after_is_honoured(world):
    world.members_on(1, [1, 2])
    world.receiver.fail_next(429, headers={"Retry-After": "2"})
    summary = world.sync()
    assert summary.status == "success"
    assert world.sleeps == [2.0]
    assert world.receiver.member_keys(LIST) == keys(1, 2)


def test_server_errors_and_timeouts_are_retried(world):
    world.members_on(1, [1, 2, 3, 4, 5])
    world.receiver.fail_next(503, times=2)
    world.receiver.delay_next(1.5)  # longer than the 1 s read timeout: the client retries
    summary = world.sync()
    assert summary.status == "success"
    assert len(world.sleeps) == 3
    assert world.receiver.member_keys(LIST) == keys(1, 2, 3, 4, 5)
    applied = sum(len(b["member_keys"]) for b in world.receiver.batches())
    assert applied == 5, "the timed-out batch reached the receiver, and its retry was deduplicated"


def test_partial_rejection_is_counted_recorded_and_retried_next_run(world):
    world.members_on(1, [1, 2, 3])
    world.receiver.reject_members(lambda member: "unknown contact" if member["member_key"] == "u2" else None)
    summary = world.sync()
    assert summary.status == "partial"
    assert (summary.counts.accepted, summary.counts.rejected) == (2, 1)
    with world.engine.connect() as conn:
        rows = rejections(conn, summary.run_id)
        assert [(r.member_key, r.operation, r.reason) for r in rows] == [("u2", "add", "rejected_by_receiver")]
        assert ledger_members(conn, "to_hook") == keys(1, 3)
    world.receiver.reject_members(None)
    world.members_on(2, [1, 2, 3])
    retry = world.sync()
    assert retry.status == "success" and retry.counts.planned_adds == 1
    assert world.receiver.member_keys(LIST) == keys(1, 2, 3)


def test_invalid_identifiers_are_skipped_and_counted(world):
    world.profiles([1, 2])
    with world.engine.begin() as conn:
        conn.execute(sa.text("update src.profiles set email = 'not-an-email', phone = '12' where user_id = 2"))
    world.members_on(1, [1, 2])
    summary = world.sync()
    assert summary.counts.skipped_invalid == 1
    assert world.receiver.member_keys(LIST) == keys(1)
    with world.engine.connect() as conn:
        row = rejections(conn, summary.run_id)[0]
    assert (row.member_key, row.reason) == ("u2", "no_valid_identifier")
    assert "not-an-email" not in row.message


def test_authentication_failure_fails_fast_with_a_clear_message(world, monkeypatch):
    world.members_on(1, [1, 2])
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", "whsec_" + "d3Jvbmc=")
    summary = world.sync()
    assert summary.status == "failed"
    assert "authentication: the receiver refused the signed request (HTTP 401" in summary.message
    assert "$TEST_WEBHOOK_SECRET" in summary.message, "names the variable to fix"
    assert len(world.receiver.request_log) == 1 and world.sleeps == []
    with world.engine.connect() as conn:
        status, error = conn.execute(
            sa.text(f"select status, error_summary from {SCHEMA}.sync_runs where run_id = :r"), {"r": summary.run_id}
        ).one()
    assert status == "failed" and "HTTP 401" in error


def test_guards_stop_a_run_before_anything_is_sent(world):
    world.members_on(1, [1, 2, 3, 4])
    world.sync(max_exit_ratio=0.5)
    world.members_on(2, [1])
    deliveries = world.receiver.deliveries
    blocked = world.sync(max_exit_ratio=0.5)
    assert blocked.status == "failed" and "would remove 3 of 4 members (75%)" in blocked.message
    small = world.sync(max_exit_ratio=1.0, min_size=2)
    assert small.status == "failed" and "below min_size 2" in small.message
    assert world.receiver.deliveries == deliveries
    assert world.receiver.member_keys(LIST) == keys(1, 2, 3, 4)


def test_batches_have_stable_ids_and_the_email_is_normalized_before_sending(world):
    world.members_on(1, [1])
    world.sync()
    batch = world.receiver.batches()[0]
    assert len(batch["webhook_id"]) == 32
    assert world.receiver.members(LIST)["u1"] == {
        "email": "person.1@example.com",
        "phone": "+16505550001",
        "plan": "plan-1",
    }
