"""Fixtures for the LinkedIn tests: the strict fake on 127.0.0.1 and clients pointing at it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from audience_pipelines.destinations.kit import Batch, OutboundMember
from audience_pipelines.destinations.linkedin import FakeLinkedIn, LinkedInClient, LinkedInConfig

ClientFactory = Callable[..., LinkedInClient]
AID = "38400000-8cf0-11bd-b23e-10b96e40000d"


def sha256(value: str) -> str:
    """Lowercase hex SHA-256, as the identity layer hands emails over."""
    return hashlib.sha256(value.encode()).hexdigest()


def member(key: str, email: str | None = None, google_aid: str | None = None) -> OutboundMember:
    fields = {"email": sha256(email)} if email else {}
    if google_aid:
        fields["google_aid"] = google_aid
    return OutboundMember(key, fields)


def batch(*members: OutboundMember, batch_id: str = "b1") -> Batch:
    return Batch(batch_id=batch_id, members=members, sync="vip", audience="vip")


class Clock:
    """A settable monotonic clock shared by a fake and a client."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> Iterator[FakeLinkedIn]:
    """A running fake (token lifetime one hour) whose test credentials are exported as CONTRACT_LINKEDIN_*."""
    server = FakeLinkedIn(env_prefix="CONTRACT_LINKEDIN_", token_lifetime=3600, clock=clock)
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    with server:
        yield server
    assert server.internal_errors == []


@pytest.fixture
def make_config(fake: FakeLinkedIn) -> Callable[..., LinkedInConfig]:
    def build(**settings: Any) -> LinkedInConfig:
        body = fake.destination("linkedin")
        retry = {"max_attempts": 4, "base_delay_seconds": 1.0, "connect_timeout_seconds": 2, "read_timeout_seconds": 5}
        body["settings"] = {**body["settings"], **settings}
        return LinkedInConfig.model_validate({"name": "li", "type": "linkedin", "retry": retry, **body})

    return build


@pytest.fixture
def make_client(
    make_config: Callable[..., LinkedInConfig], sleeps: list[float], clock: Clock, opened: list[Any]
) -> ClientFactory:
    def build(logs: list[str] | None = None, **settings: Any) -> LinkedInClient:
        log = logs.append if logs is not None else (lambda message: None)
        client = LinkedInClient(make_config(**settings), log=log, sleep=sleeps.append, clock=clock)
        opened.append(client)
        return client

    return build


@pytest.fixture
def client(make_client: ClientFactory) -> LinkedInClient:
    return make_client()
