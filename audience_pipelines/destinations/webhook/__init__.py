"""Signed webhooks: audience changes as JSON batches to an endpoint you run (list and event sync).

Contract (Standard Webhooks, https://www.standardwebhooks.com; ref §10):
- ``POST {base_url}{path}`` with ``Content-Type: application/json`` and headers ``webhook-id`` (the batch id,
  stable across retries and reruns, for receiver-side idempotency), ``webhook-timestamp`` (unix seconds) and
  ``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``; the key is the
  base64-decoded secret after an optional ``whsec_`` prefix. The exact bytes signed are sent.
- Bodies: ``{"type": "audience.members_added" | "audience.members_removed", "list_id", "batch_id", "sync",
  "audience", "members": [{"member_key", <field>: <value>, ...}]}`` or ``{"type": "audience.events", ...,
  "events": [{"event_id", "event_name", "timestamp", "member_key", <fields>, "properties"}]}``.
- At most ``batch_size`` (default 500, at most 1,000) members or events per request.
- Answer: 2xx with ``{"accepted": n, "rejected": [{"member_key", "reason"}]}``; 429 / 5xx are retried
  (``Retry-After`` honoured), 401 / 403 fail the run at once.
- Identifiers are normalized (email lowercased, phones E.164) and sent unhashed: the receiver is yours.
"""

from audience_pipelines.destinations.kit import ContractCase, DestinationType
from audience_pipelines.destinations.webhook.client import WebhookClient
from audience_pipelines.destinations.webhook.fake import WebhookReceiver
from audience_pipelines.destinations.webhook.settings import WebhookConfig

WEBHOOK = DestinationType(
    name="webhook",
    config=WebhookConfig,
    client=WebhookClient,
    capabilities=frozenset({"list", "event"}),
    identity_platform="webhook",
    kind="webhook",
    fake=WebhookReceiver,
    contracts=(
        ContractCase(sync_type="list", identifiers={"email": "email", "phone": "phone"}),
        ContractCase(sync_type="event", identifiers={"email": "email", "external_id": "external_id"}),
    ),
)

__all__ = ["WEBHOOK", "WebhookClient", "WebhookConfig", "WebhookReceiver"]
