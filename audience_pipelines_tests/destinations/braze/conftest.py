"""Fixtures for the Braze tests: the strict fake on 127.0.0.1 and clients pointing at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from audience_pipelines.destinations.braze import BrazeClient, BrazeConfig, FakeBraze
from audience_pipelines.destinations.kit import Batch, OutboundMember
from audience_pipelines_tests.destinations.support import serving

ClientFactory = Callable[..., BrazeClient]


def member(key: str, email: str | None = None, **fields: str) -> OutboundMember:
    return OutboundMember(key, {**({"email": email} if email else {}), **fields})


def batch(*members: OutboundMember, batch_id: str = "b1") -> Batch:
    return Batch(batch_id=batch_id, members=members, sync="vip", audience="vip")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBraze]:
    with serving(FakeBraze.for_tests(), monkeypatch) as server:
        yield server


@pytest.fixture
def make_config(fake: FakeBraze) -> Callable[..., BrazeConfig]:
    def build(**settings: Any) -> BrazeConfig:
        body = fake.destination("braze")
        retry = {"max_attempts": 6, "base_delay_seconds": 1.0, "read_timeout_seconds": 5}
        body["settings"] = {**body["settings"], **settings}
        return BrazeConfig.model_validate({"name": "bz", "type": "braze", "retry": retry, **body})

    return build


@pytest.fixture
def make_client(make_config: Callable[..., BrazeConfig], sleeps: list[float], opened: list[Any]) -> ClientFactory:
    def build(**settings: Any) -> BrazeClient:
        client = BrazeClient(make_config(**settings), sleep=sleeps.append)
        opened.append(client)
        return client

    return build


@pytest.fixture
def client(make_client: ClientFactory) -> BrazeClient:
    return make_client()
