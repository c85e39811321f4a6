"""Meta Conversions API destination against the strict fake Graph API, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from audience_pipelines.destinations.kit import (
    Batch,
    DestinationError,
    EventClient,
    FailureKind,
    ListClient,
    OutboundEvent,
)
from audience_pipelines.destinations.meta.conversions import MetaConversionsClient
from audience_pipelines.destinations.meta.fake import FakeMeta
from audience_pipelines.destinations.meta.settings import MetaConversionsConfig
from audience_pipelines.destinations.registry import build_client
from audience_pipelines_tests.destinations.meta.conftest import PIXEL, TOKEN, TOKEN_ENV, sha256

Config = Callable[..., MetaConversionsConfig]
EVENTS = f"/v25.0/{PIXEL}/events"
FBP = "fb.1.1558571054389.1098115397"


@pytest.fixture
def make(conversions_config: Config, sleeps: list[float]) -> Callable[..., MetaConversionsClient]:
    """``make(retry={...}, test_event_code=...)``: a client whose waits are recorded instead of slept."""

    def build(retry: dict[str, float] | None = None, **settings: object) -> MetaConversionsClient:
        return MetaConversionsClient(conversions_config(retry, **settings), sleep=sleeps.append)

    return build


@pytest.fixture
def client(make: Callable[..., MetaConversionsClient]) -> MetaConversionsClient:
    return make()


def event(n: int, name: str = "added_to_segment", **fields: str) -> OutboundEvent:
    return OutboundEvent(
        event_id=f"evt-{name}-{n}",
        event_name=name,
        event_time=int(time.time()) - 60,
        member_key=f"m{n}",
        fields=fields or {"em": sha256(f"person.{n}@example.com")},
        properties={"audience": "vip", "sync": "vip_to_meta"},
    )


def posts(fake: FakeMeta) -> list[int]:
    return [r.status for r in fake.requests_to(EVENTS, "POST")]


def test_is_an_event_client_built_by_the_registry(conversions_config: Config) -> None:
    built = build_client(conversions_config(batch_size=1000))
    assert isinstance(built, MetaConversionsClient) and isinstance(built, EventClient)
    assert not isinstance(built, ListClient), "an event-only client carries no list methods"
    assert built.max_batch_size == 1000
    built.close()
    assert MetaConversionsClient(conversions_config(), log=print).max_batch_size == 500


def test_added_and_removed_events_are_accepted_and_stored(fake: FakeMeta, client: MetaConversionsClient) -> None:
    both = {"em": sha256("a@example.com"), "ph": sha256("15551230001"), "external_id": "crm-1", "fbp": FBP}
    batch = Batch("b1", events=[event(1, **both), event(2, "removed_from_segment"), event(3)])
    outcome = client.send_events(batch)
    assert (outcome.accepted, list(outcome.rejected)) == (3, [])
    stored = fake.events(PIXEL)
    assert [(e["event_name"], e["event_id"]) for e in stored] == [(e.event_name, e.event_id) for e in batch.events]
    first = stored[0]
    assert first["action_source"] == "system_generated"
    assert first["event_time"] == batch.events[0].event_time
    assert first["user_data"] == {
        "em": [sha256("a@example.com")],
        "ph": [sha256("15551230001")],
        "external_id": ["crm-1"],
        "fbp": FBP,
    }
    assert first["custom_data"] == {"audience": "vip", "sync": "vip_to_meta"}
    assert "test_event_code" not in first


def test_browser_ids_alone_are_sent_as_strings(fake: FakeMeta, client: MetaConversionsClient) -> None:
    fbc = "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890"
    assert client.send_events(Batch("b", events=[event(1, fbp=FBP, fbc=fbc)])).accepted == 1
    assert fake.events(PIXEL)[0]["user_data"] == {"fbp": FBP, "fbc": fbc}


def test_resent_event_ids_are_deduplicated_by_meta(fake: FakeMeta, client: MetaConversionsClient) -> None:
    batch = Batch("b1", events=[event(n) for n in range(4)])
    assert client.send_events(batch).accepted == 4
    assert client.send_events(batch).accepted == 4, "Meta receives the repeat and drops it quietly"
    assert len(fake.events(PIXEL)) == 4
    assert fake.duplicate_events(PIXEL) == 4


def test_test_event_code_is_passed_through(fake: FakeMeta, make: Callable[..., MetaConversionsClient]) -> None:
    assert make(test_event_code="TEST12345").send_events(Batch("b", events=[event(1)])).accepted == 1
    assert fake.events(PIXEL)[0]["test_event_code"] == "TEST12345"


def test_a_malformed_event_fails_the_batch_naming_index_and_field(
    fake: FakeMeta, client: MetaConversionsClient, sleeps: list[float]
) -> None:
    batch = Batch("b", events=[event(0), event(1, em="Not-A-Hash@example.com"), event(2)])
    with pytest.raises(DestinationError) as caught:
        client.send_events(batch)
    error = caught.value
    assert (error.kind, error.status, error.code) == (FailureKind.PERMANENT, 400, "100")
    assert "data[1]" in error.message and "user_data.em" in error.message
    assert "Not-A-Hash" not in error.message
    assert posts(fake) == [400] and sleeps == []
    assert fake.events(PIXEL) == []


def test_an_expired_token_fails_at_once(fake: FakeMeta, client: MetaConversionsClient, sleeps: list[float]) -> None:
    fake.expire_token()
    with pytest.raises(DestinationError) as caught:
        client.send_events(Batch("b", events=[event(1)]))
    error = caught.value
    assert error.kind is FailureKind.AUTHENTICATION
    assert f"renew it in ${TOKEN_ENV}" in error.message and TOKEN not in str(error)
    assert posts(fake) == [400] and sleeps == []


def test_a_wrong_token_fails_at_once(fake: FakeMeta, client: MetaConversionsClient) -> None:
    fake.set_token("another-token")
    with pytest.raises(DestinationError) as caught:
        client.send_events(Batch("b", events=[event(1)]))
    assert caught.value.kind is FailureKind.AUTHENTICATION
    assert fake.request_count == 1


def test_throttling_and_server_errors_are_retried(
    fake: FakeMeta, client: MetaConversionsClient, sleeps: list[float]
) -> None:
    fake.throttle_graph(code=17, regain_minutes=2)
    fake.fail_next(503)
    assert client.send_events(Batch("b", events=[event(1)])).accepted == 1
    assert posts(fake) == [400, 503, 200]
    assert sleeps == [120.0, 2.0], "Meta's regain time, then backoff for the second attempt"


def test_fewer_events_received_than_sent_are_rejections(fake: FakeMeta, client: MetaConversionsClient) -> None:
    fake.fail_next(200, {"events_received": 1, "messages": [], "fbtrace_id": "Atrace"})
    outcome = client.send_events(Batch("b", events=[event(1), event(2), event(3)]))
    assert outcome.accepted == 1
    assert [(r.member_key, r.reason) for r in outcome.rejected] == [(None, "not_received")] * 2
    assert outcome.accepted + len(outcome.rejected) == 3


def test_an_answer_without_a_count_is_permanent(fake: FakeMeta, client: MetaConversionsClient) -> None:
    fake.fail_next(200, {"messages": []})
    with pytest.raises(DestinationError, match="without events_received"):
        client.send_events(Batch("b", events=[event(1)]))


def test_batch_size_comes_from_settings(fake: FakeMeta, make: Callable[..., MetaConversionsClient]) -> None:
    client = make(batch_size=2)
    with pytest.raises(ValueError, match="3 events exceeds the Meta batch size 2"):
        client.send_events(Batch("b", events=[event(1), event(2), event(3)]))
    assert client.send_events(Batch("empty")).accepted == 0
    assert posts(fake) == []
