"""Fixtures for the HubSpot tests: the strict fake on 127.0.0.1 and clients pointing at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from audience_pipelines.destinations.hubspot import FakeHubSpot, HubSpotClient, HubSpotConfig
from audience_pipelines.destinations.kit import Batch, OutboundMember
from audience_pipelines_tests.destinations.support import serving

ClientFactory = Callable[..., HubSpotClient]


def member(key: str, email: str | None, **properties: str) -> OutboundMember:
    return OutboundMember(key, {**({"email": email} if email else {}), **properties})


def batch(*members: OutboundMember, batch_id: str = "b1") -> Batch:
    return Batch(batch_id=batch_id, members=members, sync="vip", audience="vip")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHubSpot]:
    """A running fake whose test token is exported as CONTRACT_HUBSPOT_ACCESS_TOKEN."""
    with serving(FakeHubSpot.for_tests(), monkeypatch) as server:
        yield server


@pytest.fixture
def make_config(fake: FakeHubSpot) -> Callable[..., HubSpotConfig]:
    def build(**settings: Any) -> HubSpotConfig:
        body = fake.destination("hubspot")
        retry = {"max_attempts": 6, "base_delay_seconds": 1.0, "connect_timeout_seconds": 2, "read_timeout_seconds": 5}
        body["settings"] = {**body["settings"], **settings}
        return HubSpotConfig.model_validate({"name": "hs", "type": "hubspot", "retry": retry, **body})

    return build


@pytest.fixture
def make_client(make_config: Callable[..., HubSpotConfig], sleeps: list[float], opened: list[Any]) -> ClientFactory:
    def build(logs: list[str] | None = None, **settings: Any) -> HubSpotClient:
        log = logs.append if logs is not None else (lambda message: None)
        client = HubSpotClient(make_config(**settings), log=log, sleep=sleeps.append)
        opened.append(client)
        return client

    return build


@pytest.fixture
def client(make_client: ClientFactory) -> HubSpotClient:
    return make_client()
