"""Sandbox destinations: strict fake HTTP servers on 127.0.0.1 for tests and the local demo."""

from audience_pipelines.sandbox.meta import FakeMeta
from audience_pipelines.sandbox.server import FakeServer, Request, RequestRecord, Response
from audience_pipelines.sandbox.webhook import WebhookReceiver, new_secret, sign, signed_headers

__all__ = [
    "FakeMeta",
    "FakeServer",
    "Request",
    "RequestRecord",
    "Response",
    "WebhookReceiver",
    "new_secret",
    "sign",
    "signed_headers",
]
