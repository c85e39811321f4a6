"""Fixtures for the TikTok destination tests: the strict fake Business API on 127.0.0.1 and configs for it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from audience_pipelines.destinations.tiktok.audiences import TikTokAudiencesClient
from audience_pipelines.destinations.tiktok.events import TikTokEventsClient
from audience_pipelines.destinations.tiktok.fake import ADVERTISER_ID, PIXEL_CODE, FakeTikTok
from audience_pipelines.destinations.tiktok.settings import TikTokAudiencesConfig, TikTokEventsConfig

TOKEN = "tt-destination-test-token-5d1e"
TOKEN_ENV = "TIKTOK_DESTINATION_TEST_TOKEN"
FAST_RETRY = {"base_delay_seconds": 0.5, "max_attempts": 3}


def sha256(value: str) -> str:
    """Lowercase hex SHA-256, as the identity layer hands values over."""
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTikTok]:
    """A running fake that accepts :data:`TOKEN`, exported as ``$TOKEN_ENV``."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with FakeTikTok(TOKEN, token_env=TOKEN_ENV) as server:
        yield server
    assert server.internal_errors == []


@pytest.fixture
def logs() -> list[str]:
    return []


def _body(fake: FakeTikTok, type_name: str, retry: dict[str, Any] | None, settings: dict[str, Any]) -> dict[str, Any]:
    body = fake.destination(type_name)
    return {"name": "tiktok_test", "type": type_name, **body, "settings": {**body["settings"], **settings},
            "retry": retry or FAST_RETRY}  # fmt: skip


@pytest.fixture
def audiences_config(fake: FakeTikTok) -> Callable[..., TikTokAudiencesConfig]:
    def build(retry: dict[str, Any] | None = None, **settings: Any) -> TikTokAudiencesConfig:
        return TikTokAudiencesConfig.model_validate(_body(fake, "tiktok_audiences", retry, settings))

    return build


@pytest.fixture
def events_config(fake: FakeTikTok) -> Callable[..., TikTokEventsConfig]:
    def build(retry: dict[str, Any] | None = None, **settings: Any) -> TikTokEventsConfig:
        return TikTokEventsConfig.model_validate(_body(fake, "tiktok_events", retry, settings))

    return build


@pytest.fixture
def make_audiences(
    audiences_config: Callable[..., TikTokAudiencesConfig], sleeps: list[float], logs: list[str]
) -> Callable[..., TikTokAudiencesClient]:
    """``make_audiences(retry=..., **settings)``: a fresh client whose waits and log lines are recorded."""

    def build(retry: dict[str, Any] | None = None, **settings: Any) -> TikTokAudiencesClient:
        return TikTokAudiencesClient(audiences_config(retry, **settings), log=logs.append, sleep=sleeps.append)

    return build


@pytest.fixture
def make_events(
    events_config: Callable[..., TikTokEventsConfig], sleeps: list[float], logs: list[str]
) -> Callable[..., TikTokEventsClient]:
    def build(retry: dict[str, Any] | None = None, **settings: Any) -> TikTokEventsClient:
        return TikTokEventsClient(events_config(retry, **settings), log=logs.append, sleep=sleeps.append)

    return build


__all__ = ["ADVERTISER_ID", "PIXEL_CODE", "TOKEN", "TOKEN_ENV", "sha256"]
