"""TikTok Events API (event sync) against the strict fake, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from audience_pipelines.destinations.kit import (
    Batch,
    DestinationError,
    EventClient,
    FailureKind,
    ListClient,
    OutboundEvent,
)
from audience_pipelines.destinations.tiktok.events import TikTokEventsClient
from audience_pipelines.destinations.tiktok.fake import PIXEL_CODE, FakeTikTok
from audience_pipelines.destinations.tiktok.settings import TikTokEventsConfig
from audience_pipelines_tests.destinations.tiktok.conftest import sha256

Make = Callable[..., TikTokEventsClient]
TRACK = "/open_api/v1.3/event/track/"


def event(n: int, name: str = "added_to_segment", sync: str = "vip_to_tiktok", **fields: str) -> OutboundEvent:
    return OutboundEvent(
        event_id=f"evt-{name}-{n}",
        event_name=name,
        event_time=int(time.time()) - 60,
        member_key=f"m{n}",
        fields=fields or {"email": sha256(f"person.{n}@example.com")},
        properties={"audience": "vip", "sync": sync},
    )


def test_is_an_event_client(make_events: Make) -> None:
    client = make_events()
    assert isinstance(client, EventClient) and not isinstance(client, ListClient)
    assert client.max_batch_size == 500 and make_events(batch_size=1000).max_batch_size == 1000


def test_batch_limit_is_a_setting_with_a_maximum(events_config: Callable[..., TikTokEventsConfig]) -> None:
    with pytest.raises(ValidationError, match="batch_size"):
        events_config(batch_size=1001)
    with pytest.raises(ValueError, match="exceeds"):
        TikTokEventsClient(events_config(batch_size=2)).plan_events(Batch("b", events=[event(1), event(2), event(3)]))


def test_payload_shape(make_events: Make) -> None:
    fields = {
        "email": sha256("a@example.com"),
        "phone": sha256("+16505550101"),
        "external_id": sha256("crm-1"),
        "ttclid": "E.C.P.abc123",
        "ttp": "2Xk9-ttp-cookie",
    }
    one = event(1, **fields)
    (planned,) = make_events(test_event_code="TEST123").plan_events(Batch("b", events=[one]))
    assert (planned.method, planned.path) == ("POST", TRACK)
    assert planned.body == {
        "event_source": "web",
        "event_source_id": PIXEL_CODE,
        "test_event_code": "TEST123",
        "data": [
            {
                "event": "added_to_segment",
                "event_time": one.event_time,
                "event_id": "evt-added_to_segment-1",
                "user": {
                    "email": [fields["email"]],
                    "phone": [fields["phone"]],
                    "external_id": [fields["external_id"]],
                    "ttclid": "E.C.P.abc123",
                    "ttp": "2Xk9-ttp-cookie",
                },
                "properties": {"audience": "vip", "sync": "vip_to_tiktok"},
            }
        ],
    }
    (plain,) = make_events().plan_events(Batch("b", events=[one]))
    assert "test_event_code" not in plain.body


def test_events_are_stored_and_deduplicated_by_event_id(fake: FakeTikTok, make_events: Make) -> None:
    client = make_events()
    batch = Batch("b1", events=[event(1), event(2), event(3, "removed_from_segment")])
    assert client.send_events(batch).accepted == 3
    assert client.send_events(batch).accepted == 3, "a re-sent batch is acknowledged"
    stored = fake.events()
    assert [e["event_id"] for e in stored] == [e.event_id for e in batch.events]
    assert fake.duplicate_events() == 3
    assert fake.rows_received() == 6 and fake.largest_request() == 3


def test_held_follows_the_latest_event_of_the_sync(fake: FakeTikTok, make_events: Make) -> None:
    client = make_events()
    client.send_events(Batch("a", events=[event(1), event(2), event(5, sync="other")]))
    client.send_events(Batch("r", events=[event(2, "removed_from_segment")]))
    assert fake.held(client.config, None, "vip_to_tiktok") == {sha256("person.1@example.com")}


def test_a_throttle_backs_off_and_an_app_error_is_permanent(
    fake: FakeTikTok, make_events: Make, sleeps: list[float]
) -> None:
    client = make_events()
    fake.throttle_next()
    assert client.send_events(Batch("a", events=[event(1)])).accepted == 1 and sleeps == [0.5]
    unhashed = event(2, email="person.2@example.com")
    with pytest.raises(DestinationError) as caught:
        client.send_events(Batch("b", events=[unhashed]))
    assert (caught.value.kind, caught.value.code) == (FailureKind.PERMANENT, "40002")
    assert "person.2@example.com" not in str(caught.value)


def test_an_empty_batch_sends_nothing(fake: FakeTikTok, make_events: Make) -> None:
    assert make_events().send_events(Batch("e")).accepted == 0
    assert fake.requests_to(TRACK) == []


def test_built_by_its_descriptor(events_config: Callable[..., TikTokEventsConfig]) -> None:
    from audience_pipelines.destinations.tiktok import TIKTOK_EVENTS

    client = TIKTOK_EVENTS.build_client(events_config(), log=print, sleep=lambda seconds: None)
    assert isinstance(client, TikTokEventsClient)
    client.close()
