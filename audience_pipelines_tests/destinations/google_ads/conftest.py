"""Fixtures for the Google Ads tests: the strict fake on 127.0.0.1 and clients pointing at it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from audience_pipelines.destinations.google_ads import FakeGoogleAds, GoogleAdsClient, GoogleAdsConfig
from audience_pipelines.destinations.kit import Batch, OutboundMember
from audience_pipelines_tests.destinations.support import serving

ClientFactory = Callable[..., GoogleAdsClient]


def sha256(value: str) -> str:
    """Lowercase hex SHA-256, as the identity layer hands values over."""
    return hashlib.sha256(value.encode()).hexdigest()


def member(key: str, **fields: str) -> OutboundMember:
    """A member with ``email`` / ``phone`` / names hashed from readable values; other fields as given."""
    hashed = {"email", "phone", "first_name", "last_name"}
    return OutboundMember(key, {name: sha256(value) if name in hashed else value for name, value in fields.items()})


def batch(*members: OutboundMember, batch_id: str = "b1") -> Batch:
    return Batch(batch_id=batch_id, members=members, sync="vip", audience="vip")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogleAds]:
    """A running fake whose test credentials are exported under their CONTRACT_GOOGLE_ADS_* names."""
    with serving(FakeGoogleAds.for_tests(), monkeypatch) as server:
        yield server


@pytest.fixture
def make_config(fake: FakeGoogleAds) -> Callable[..., GoogleAdsConfig]:
    def build(**settings: Any) -> GoogleAdsConfig:
        body = fake.destination("google_ads")
        retry = {"max_attempts": 4, "base_delay_seconds": 1.0, "connect_timeout_seconds": 2, "read_timeout_seconds": 5}
        body["settings"] = {**body["settings"], "job_poll_interval_seconds": 5, "job_timeout_seconds": 60, **settings}
        return GoogleAdsConfig.model_validate({"name": "gads", "type": "google_ads", "retry": retry, **body})

    return build


@pytest.fixture
def make_client(make_config: Callable[..., GoogleAdsConfig], sleeps: list[float], opened: list[Any]) -> ClientFactory:
    def build(clock: Callable[[], float] | None = None, **settings: Any) -> GoogleAdsClient:
        extra = {"clock": clock} if clock else {}
        client = GoogleAdsClient(make_config(**settings), log=lambda message: None, sleep=sleeps.append, **extra)
        opened.append(client)
        return client

    return build


@pytest.fixture
def client(make_client: ClientFactory) -> GoogleAdsClient:
    return make_client()
