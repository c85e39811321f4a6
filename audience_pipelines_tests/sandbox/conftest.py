"""Fixtures for the sandbox fake servers: each test gets a fresh fake on an ephemeral port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from audience_pipelines.sandbox.meta import FakeMeta
from audience_pipelines.sandbox.webhook import WebhookReceiver, new_secret
from audience_pipelines_tests.sandbox.support import META_TOKEN, PIXEL_ID


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def secret() -> str:
    return new_secret()


@pytest.fixture
def receiver(secret: str) -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret) as fake:
        yield fake
    assert fake.internal_errors == []


@pytest.fixture
def meta() -> Iterator[FakeMeta]:
    with FakeMeta(META_TOKEN, pixel_ids=(PIXEL_ID,)) as fake:
        yield fake
    assert fake.internal_errors == []
