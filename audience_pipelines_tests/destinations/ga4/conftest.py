"""Fixtures for the GA4 tests: the strict fake on 127.0.0.1, configs and clients pointing at it, event builders."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from audience_pipelines.destinations.ga4 import FakeGA4, GA4Client, GA4Config
from audience_pipelines.destinations.kit import Batch, OutboundEvent
from audience_pipelines_tests.destinations.support import serving

SYNC = "vip_to_ga4"
AUDIENCE = "vip_customers"


def sha256(value: str) -> str:
    """Lowercase hex SHA-256, as the identity layer hands values over."""
    return hashlib.sha256(value.encode()).hexdigest()


def event(
    member_key: str,
    *,
    name: str = "added_to_segment",
    event_time: int | None = None,
    properties: dict[str, object] | None = None,
    **fields: str,
) -> OutboundEvent:
    """One event for a member; ``fields`` are destination fields (client_id, sha256_email_address, ...)."""
    return OutboundEvent(
        event_id=sha256(f"{SYNC}|{name}|{member_key}")[:40],
        event_name=name,
        event_time=int(time.time()) if event_time is None else event_time,
        member_key=member_key,
        fields=fields,
        properties={"audience": AUDIENCE, "sync": SYNC} if properties is None else properties,
    )


def batch(*events: OutboundEvent, batch_id: str = "b1") -> Batch:
    return Batch(batch_id, events=list(events), sync=SYNC, audience=AUDIENCE)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGA4]:
    """A running fake whose credentials the tests export under the contract variable names."""
    with serving(FakeGA4.for_tests(), monkeypatch) as server:
        yield server


@pytest.fixture
def make_config(fake: FakeGA4) -> Callable[..., GA4Config]:
    """``make_config(validate=..., retry={...})`` for the running fake."""

    def build(retry: dict[str, Any] | None = None, **settings: Any) -> GA4Config:
        body = {"name": "ga4_test", "type": "ga4", **fake.destination("ga4"), "retry": retry or {}}
        body["settings"] = {**body["settings"], **settings}
        return GA4Config.model_validate(body)

    return build


@pytest.fixture
def make_client(
    make_config: Callable[..., GA4Config], sleeps: list[float], opened: list[Any]
) -> Callable[..., GA4Client]:
    """``make_client(validate=..., retry={...})``: a client for the running fake that never waits."""

    def build(retry: dict[str, Any] | None = None, **settings: Any) -> GA4Client:
        client = GA4Client(make_config(retry, **settings), log=lambda message: None, sleep=sleeps.append)
        opened.append(client)
        return client

    return build
