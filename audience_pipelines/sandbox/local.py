"""The local sandbox destinations the demo and ``audience-pipelines dev`` start: a signed-webhook receiver
and a fake Meta Graph API on 127.0.0.1, with their URLs and demo credentials exported to the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from audience_pipelines.config import ProjectConfig
from audience_pipelines.sandbox.meta import FakeMeta
from audience_pipelines.sandbox.webhook import WebhookReceiver, new_secret

WEBHOOK_URL_ENV = "AUDIENCE_PIPELINES_SANDBOX_WEBHOOK_URL"
META_URL_ENV = "AUDIENCE_PIPELINES_SANDBOX_META_URL"
WEBHOOK_SECRET_ENV = "AUDIENCE_PIPELINES_WEBHOOK_SECRET"
META_TOKEN_ENV = "AUDIENCE_PIPELINES_META_TOKEN"
SANDBOX_AD_ACCOUNT = "act_1000000001"
SANDBOX_PIXEL = "2000000002"


@dataclass
class Sandbox:
    """Running sandbox servers."""

    webhook: WebhookReceiver
    meta: FakeMeta

    def stop(self) -> None:
        self.webhook.stop()
        self.meta.stop()


def sandbox_syncs(config: ProjectConfig) -> list[str]:
    """Syncs whose destination is a sandbox server (its URL comes from a sandbox variable)."""
    sandboxed = {
        d.name
        for d in config.destinations
        if d.base_url and (WEBHOOK_URL_ENV in d.base_url or META_URL_ENV in d.base_url)
    }
    return [s.name for s in config.syncs if s.destination in sandboxed]


def start_sandbox() -> Sandbox:
    """Start both fakes on free loopback ports and export what the example destinations read.

    Credentials already in the environment are used; otherwise fresh random ones are made for this process.
    """
    os.environ.setdefault(WEBHOOK_SECRET_ENV, new_secret())
    os.environ.setdefault(META_TOKEN_ENV, secrets.token_urlsafe(32))
    webhook = WebhookReceiver(os.environ[WEBHOOK_SECRET_ENV]).start()
    meta = FakeMeta(os.environ[META_TOKEN_ENV], ad_account_id=SANDBOX_AD_ACCOUNT, pixel_ids=(SANDBOX_PIXEL,)).start()
    os.environ[WEBHOOK_URL_ENV] = webhook.base_url
    os.environ[META_URL_ENV] = meta.base_url
    return Sandbox(webhook, meta)
