"""A refresh sends again exactly the members whose synced values changed, whether or not the snapshot and the
ledger carry whole-row fingerprints (partitions and ledger rows written by earlier versions have none)."""

import sqlalchemy as sa

from audience_pipelines.warehouse import SCHEMA

LIST = "shoppers-list"


def added_keys(world, since: int = 0) -> list[str]:
    """Member keys in the add batches applied after the first ``since`` deliveries, in order."""
    return sorted(
        key
        for batch in world.receiver.batches()[since:]
        if batch["type"] == "audience.members_added"
        for key in batch["member_keys"]
    )


def update_profile(world, user: int, column: str, value: str) -> None:
    with world.engine.begin() as conn:
        conn.execute(sa.text(f"update src.profiles set {column} = :v where user_id = :u"), {"v": value, "u": user})


def test_only_members_whose_synced_values_changed_are_sent_again(world):
    world.members_on(1, range(1, 7))
    assert world.sync().counts.planned_adds == 6
    update_profile(world, 2, "email", "new.2@example.com")  # a synced identifier
    update_profile(world, 3, "country", "CA")  # an audience column this sync does not send
    update_profile(world, 4, "plan", "gold")  # a synced field
    world.members_on(2, range(1, 7))
    seen = world.receiver.deliveries
    summary = world.sync()
    assert summary.status == "success" and summary.counts.planned_adds == 2
    assert added_keys(world, seen) == ["u2", "u4"]
    members = world.receiver.members(LIST)
    assert members["u2"]["email"] == "new.2@example.com" and members["u4"]["plan"] == "gold"
    world.members_on(3, range(1, 7))
    seen = world.receiver.deliveries
    assert world.sync().counts.planned_adds == 0
    assert added_keys(world, seen) == []


def test_ledger_rows_and_snapshots_without_fingerprints_still_find_changes(world):
    world.members_on(1, range(1, 5))
    world.sync()
    with world.engine.begin() as conn:  # ledger rows recorded by an earlier version
        conn.execute(sa.text(f"update {SCHEMA}.sync_ledger set snapshot_fingerprint = null"))
    update_profile(world, 2, "email", "new.2@example.com")
    world.members_on(2, range(1, 5))
    seen = world.receiver.deliveries
    assert world.sync().counts.planned_adds == 1
    assert added_keys(world, seen) == ["u2"]
    update_profile(world, 3, "phone", "+1 650 555 9999")
    world.members_on(3, range(1, 5))
    with world.engine.begin() as conn:  # a snapshot partition and ledger rows of an earlier version
        conn.execute(sa.text(f"update {SCHEMA}.snapshot_members set attributes_fingerprint = null"))
        conn.execute(sa.text(f"update {SCHEMA}.sync_ledger set snapshot_fingerprint = null"))
    seen = world.receiver.deliveries
    assert world.sync().counts.planned_adds == 1
    assert added_keys(world, seen) == ["u3"]
    assert world.receiver.members(LIST)["u3"]["phone"] == "+16505559999"
    world.members_on(4, range(1, 5))  # fingerprints on both sides again: nothing to send
    assert world.sync().counts.planned_adds == 0


def test_syncing_other_columns_sends_every_member_again(world):
    world.members_on(1, range(1, 4))
    world.sync()
    world.members_on(2, range(1, 4))
    seen = world.receiver.deliveries
    summary = world.sync(fields={"plan": "plan", "country": "country"})
    assert summary.counts.planned_adds == 3
    assert added_keys(world, seen) == ["u1", "u2", "u3"]
    assert {fields["country"] for fields in world.receiver.members(LIST).values()} == {"US"}
