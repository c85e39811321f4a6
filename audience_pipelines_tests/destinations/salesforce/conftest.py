"""Fixtures for the Salesforce tests: the strict fake on 127.0.0.1 and clients pointing at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from audience_pipelines.destinations.kit import Batch, ListRef, ListTarget, OutboundMember
from audience_pipelines.destinations.salesforce import FakeSalesforce, SalesforceClient, SalesforceConfig
from audience_pipelines_tests.destinations.support import serving

ClientFactory = Callable[..., SalesforceClient]


def member(key: str, email: str, **fields: str) -> OutboundMember:
    return OutboundMember(key, {"Email": email, **fields})


def batch(*members: OutboundMember, batch_id: str = "b1") -> Batch:
    return Batch(batch_id=batch_id, members=members, sync="vip", audience="vip")


def people(n: int, start: int = 1, **fields: str) -> list[OutboundMember]:
    return [member(f"p{i}", f"person.{i}@example.com", **fields) for i in range(start, start + n)]


def vip(client: SalesforceClient) -> ListRef:
    return client.ensure_list(ListTarget(name="VIP customers"))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSalesforce]:
    """A running fake whose test credentials are exported as CONTRACT_SALESFORCE_*."""
    with serving(FakeSalesforce.for_tests(), monkeypatch) as server:
        yield server


@pytest.fixture
def make_config(fake: FakeSalesforce) -> Callable[..., SalesforceConfig]:
    def build(**settings: Any) -> SalesforceConfig:
        body = fake.destination("salesforce")
        retry = {"max_attempts": 4, "base_delay_seconds": 1.0, "connect_timeout_seconds": 2, "read_timeout_seconds": 5}
        body["settings"] = {**body["settings"], "requests_per_second": 100, **settings}
        return SalesforceConfig.model_validate({"name": "sf", "type": "salesforce", "retry": retry, **body})

    return build


@pytest.fixture
def make_client(make_config: Callable[..., SalesforceConfig], sleeps: list[float], opened: list[Any]) -> ClientFactory:
    def build(logs: list[str] | None = None, **settings: Any) -> SalesforceClient:
        log = logs.append if logs is not None else (lambda message: None)
        client = SalesforceClient(make_config(**settings), log=log, sleep=sleeps.append)
        opened.append(client)
        return client

    return build


@pytest.fixture
def client(make_client: ClientFactory) -> SalesforceClient:
    return make_client()
