"""Fixtures for the webhook receiver tests: a fresh receiver with a fresh secret for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from audience_pipelines.destinations.webhook.fake import WebhookReceiver, new_secret


@pytest.fixture
def secret() -> str:
    return new_secret()


@pytest.fixture
def receiver(secret: str) -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret) as fake:
        yield fake
    assert fake.internal_errors == []
