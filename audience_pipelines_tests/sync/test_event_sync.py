"""Event sync: added_to_segment / removed_from_segment with deterministic ids."""

from audience_pipelines_tests.sync_world import World


def event_sync(world: World, **overrides):
    return world.sync(type="event", target=None, **overrides)


def names_by_member(world: World) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for event in world.receiver.events():
        found.setdefault(event["member_key"], []).append(event["event_name"])
    return found


def test_entered_and_exited_members_get_events(world):
    world.members_on(1, [1, 2, 3])
    event_sync(world)
    world.members_on(2, [2, 3, 4])
    summary = event_sync(world)
    assert summary.status == "success"
    assert names_by_member(world) == {
        "u1": ["added_to_segment", "removed_from_segment"],
        "u2": ["added_to_segment"],
        "u3": ["added_to_segment"],
        "u4": ["added_to_segment"],
    }
    removed = next(e for e in world.receiver.events() if e["event_name"] == "removed_from_segment")
    assert removed["email"] == "person.1@example.com"  # identifiers as sent when u1 was added


def test_event_ids_are_deterministic_so_a_resend_is_deduplicated(world):
    world.members_on(1, [1, 2])
    first = event_sync(world)
    ids = sorted(e["event_id"] for e in world.receiver.events())
    # Forget the ledger (as if every acknowledgement had been lost) and run again at the same snapshot.
    with world.engine.begin() as conn:
        conn.exec_driver_sql("delete from audience_pipelines.sync_ledger; delete from audience_pipelines.sync_state")
    second = event_sync(world)
    assert first.counts.sent == second.counts.sent == 2
    assert world.receiver.duplicate_events == 2 or world.receiver.duplicate_deliveries == 1
    assert sorted(e["event_id"] for e in world.receiver.events()) == ids


def test_a_member_who_re_enters_gets_a_new_added_event(world):
    world.members_on(1, [1])
    event_sync(world)
    world.members_on(2, [])
    event_sync(world)
    world.members_on(3, [1])
    event_sync(world)
    events = [e for e in world.receiver.events() if e["member_key"] == "u1"]
    assert [e["event_name"] for e in events] == ["added_to_segment", "removed_from_segment", "added_to_segment"]
    assert len({e["event_id"] for e in events}) == 3
