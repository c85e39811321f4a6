"""Signing per Standard Webhooks: fresh signatures on every retry, secrets read as the reference libraries read
them, and a refused signature reported as such. The ``standardwebhooks`` package is the independent oracle."""

from __future__ import annotations

import base64
import secrets
import time

import pytest

from audience_pipelines.destinations.kit import Batch, ListRef, OutboundMember
from audience_pipelines.destinations.settings import InvalidSecretError
from audience_pipelines.destinations.webhook import WebhookClient, WebhookConfig
from audience_pipelines.destinations.webhook.client import signature
from audience_pipelines.destinations.webhook.fake import WebhookReceiver

standardwebhooks = pytest.importorskip("standardwebhooks")

SECRET_ENV = "SIGNING_TEST_SECRET"


def unpadded_secret() -> str:
    """A ``whsec_`` secret whose base64 needs padding, written without it."""
    raw = secrets.token_bytes(20)  # 20 bytes -> 28 base64 chars with one '='
    return "whsec_" + base64.b64encode(raw).decode().rstrip("=")


def client(base_url: str, *, clock=None, sleep=None) -> WebhookClient:
    config = WebhookConfig.model_validate(
        {
            "name": "hook",
            "type": "webhook",
            "base_url": base_url,
            "credentials": {"signing_secret": SECRET_ENV},
            "settings": {"path": "/hooks"},
            "retry": {"base_delay_seconds": 0},
        }
    )
    kwargs = {"log": print, "sleep": sleep or (lambda s: None)}
    return WebhookClient(config, clock=clock, **kwargs) if clock else WebhookClient(config, **kwargs)


def batch() -> Batch:
    return Batch("batch-1", members=[OutboundMember("m1", {"email": "a@example.com"})], sync="s", audience="a")


@pytest.mark.parametrize("secret", [unpadded_secret(), "whsec_" + base64.b64encode(b"k" * 24).decode()])
def test_our_signatures_verify_with_the_reference_library(secret):
    body = b'{"type":"audience.members_added"}'
    now = int(time.time())
    ours = signature(secret, "msg-1", now, body)
    headers = {"webhook-id": "msg-1", "webhook-timestamp": str(now), "webhook-signature": ours}
    standardwebhooks.Webhook(secret).verify(body, headers)  # raises WebhookVerificationError on a mismatch


def test_the_receiver_and_the_client_agree_on_an_unpadded_secret(monkeypatch):
    secret = unpadded_secret()
    monkeypatch.setenv(SECRET_ENV, secret)
    with WebhookReceiver(secret) as receiver:
        outcome = client(receiver.base_url).add_members(ListRef("l", "l"), batch())
    assert outcome.accepted == 1 and receiver.verified_signatures == 1


def test_a_secret_that_is_not_base64_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "whsec_not base64 at all!")
    with pytest.raises(InvalidSecretError, match=rf"signing_secret in \${SECRET_ENV}: .*base64"):
        client("http://127.0.0.1:9")


def test_every_retry_carries_a_fresh_timestamp_and_signature(monkeypatch):
    """The first attempt fails; the retry happens 400 s later, past the receiver's 300 s tolerance: it is only
    accepted because it is signed again with its own timestamp (same webhook-id)."""
    secret = unpadded_secret()
    monkeypatch.setenv(SECRET_ENV, secret)
    times = iter([1_700_000_000, 1_700_000_400])
    with WebhookReceiver(secret, tolerance_seconds=300, clock=lambda: 1_700_000_400) as receiver:
        receiver.fail_next(503)
        outcome = client(receiver.base_url, clock=lambda: next(times)).add_members(ListRef("l", "l"), batch())
        assert outcome.accepted == 1
        assert [b["webhook_id"] for b in receiver.batches()] == ["batch-1"]
