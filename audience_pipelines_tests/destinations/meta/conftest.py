"""Fixtures for the Meta destination tests: a strict fake Graph API on 127.0.0.1 and configs pointing at it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from audience_pipelines.destinations.meta.fake import FakeMeta
from audience_pipelines.destinations.meta.settings import MetaConversionsConfig, MetaCustomAudiencesConfig
from audience_pipelines_tests.destinations.support import META_TOKEN, PIXEL_ID

TOKEN = "EAAB-destination-test-token-9f3c"
TOKEN_ENV = "META_DESTINATION_TEST_TOKEN"
ACCOUNT = "act_1234567890"
PIXEL = "998877665544"


def sha256(value: str) -> str:
    """Lowercase hex SHA-256, as the identity layer hands values over."""
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMeta]:
    """A running fake Graph API that accepts :data:`TOKEN`, which the tests export as ``$TOKEN_ENV``."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with FakeMeta(TOKEN, ad_account_id=ACCOUNT, pixel_ids=(PIXEL,)) as server:
        yield server
    assert server.internal_errors == []


def destination_dict(fake: FakeMeta, retry: dict[str, Any], **credentials: str) -> dict[str, Any]:
    return {
        "name": "meta_test",
        "base_url": fake.base_url,
        "credentials": {"access_token": TOKEN_ENV, **credentials},
        "retry": retry,
    }


@pytest.fixture
def audiences_config(fake: FakeMeta) -> Callable[..., MetaCustomAudiencesConfig]:
    """``audiences_config(batch_size=..., retry={...}, app_secret=ENV)`` for the running fake."""

    def build(retry: dict[str, Any] | None = None, **settings: Any) -> MetaCustomAudiencesConfig:
        credentials = {"app_secret": settings.pop("app_secret")} if "app_secret" in settings else {}
        body = destination_dict(fake, retry or {}, **credentials)
        body |= {"type": "meta_custom_audiences", "settings": {"ad_account_id": ACCOUNT, **settings}}
        return MetaCustomAudiencesConfig.model_validate(body)

    return build


@pytest.fixture
def conversions_config(fake: FakeMeta) -> Callable[..., MetaConversionsConfig]:
    """``conversions_config(test_event_code=..., retry={...})`` for the running fake."""

    def build(retry: dict[str, Any] | None = None, **settings: Any) -> MetaConversionsConfig:
        body = destination_dict(fake, retry or {})
        body |= {"type": "meta_conversions", "settings": {"pixel_id": PIXEL, **settings}}
        return MetaConversionsConfig.model_validate(body)

    return build


@pytest.fixture
def meta() -> Iterator[FakeMeta]:
    """A fake Graph API for tests that speak to it directly (token :data:`META_TOKEN`)."""
    with FakeMeta(META_TOKEN, pixel_ids=(PIXEL_ID,)) as server:
        yield server
    assert server.internal_errors == []
