"""Constants and small helpers shared by the destination tests."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
import requests

from audience_pipelines.destinations.kit import ContractFake
from audience_pipelines.destinations.webhook.fake import signed_headers

Fake = TypeVar("Fake", bound=ContractFake)

META_TOKEN = "EAAB-sandbox-token"
PIXEL_ID = "1122334455"
AD_ACCOUNT = "act_1234567890"
BEARER = {"Authorization": f"Bearer {META_TOKEN}"}


def sha256(value: str) -> str:
    """Lowercase hex SHA-256, the way the Meta client hashes identifiers."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def post_signed(
    http: requests.Session,
    url: str,
    secret: str,
    payload: dict[str, Any],
    msg_id: str,
    timestamp: int | None = None,
    **kwargs: Any,
) -> requests.Response:
    """POST a JSON payload to a webhook receiver with Standard Webhooks headers."""
    body = json.dumps(payload).encode("utf-8")
    return http.post(url, data=body, headers=signed_headers(secret, body, msg_id, timestamp), **kwargs)


@contextlib.contextmanager
def serving(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fake]:
    """A started fake whose credentials are exported to the environment; afterwards it must not have hit an
    unexpected error of its own."""
    for name, value in fake.environment().items():
        monkeypatch.setenv(name, value)
    with fake:
        yield fake
    assert fake.internal_errors == [], "the fake hit an unexpected error"
