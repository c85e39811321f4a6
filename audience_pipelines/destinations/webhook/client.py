"""Signed webhook destination: JSON batches signed per the Standard Webhooks convention.

Headers ``webhook-id`` (the batch id: stable across retries and reruns, for receiver-side idempotency),
``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``;
the key is the base64-decoded secret after an optional ``whsec_`` prefix. The exact bytes signed are sent.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import time
from collections.abc import Callable

import orjson
import requests

from audience_pipelines.destinations.http import HttpClient, default_classifier
from audience_pipelines.destinations.kit import (
    Batch,
    BatchOutcome,
    DestinationError,
    FailureKind,
    ListRef,
    ListTarget,
    Operation,
    PlannedRequest,
    Rejection,
)
from audience_pipelines.destinations.settings import InvalidSecretError, read_env
from audience_pipelines.destinations.webhook.settings import WebhookConfig
from audience_pipelines.privacy import scrub_pii

MEMBER_EVENT_TYPES = {"add": "audience.members_added", "remove": "audience.members_removed"}


def signing_key(secret: str) -> bytes:
    """The HMAC key: the base64 after an optional ``whsec_`` prefix, padding optional (as the Standard Webhooks
    libraries read it). Anything else is refused rather than silently used as raw bytes."""
    body = secret.removeprefix("whsec_").strip()
    try:
        key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook signing secret is base64, optionally prefixed with 'whsec_'") from None
    if not key:
        raise ValueError("a webhook signing secret must not be empty")
    return key


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 signature>`` over ``{id}.{timestamp}.{body}``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def classify(response: requests.Response, *, secret_variable: str) -> DestinationError | None:
    """Generic HTTP semantics; a 401/403 means the receiver refused our signature (or timestamp)."""
    error = default_classifier(response)
    if error is not None and error.kind is FailureKind.AUTHENTICATION:
        error.message = (
            f"the receiver refused the signed request ({error.message}): check that the signing secret in "
            f"${secret_variable} is the one the receiver verifies with, and that both clocks are right"
        )
    return error


def acknowledgement(response: requests.Response, batch: Batch) -> BatchOutcome:
    """The receiver's ``{"accepted": n, "rejected": [{"member_key", "reason"}]}``, checked against the batch.

    Anything else in a 2xx (HTML from a proxy, an empty body, counts that do not add up, rejected keys that
    were not sent) is a failure: nothing of the batch is recorded as delivered.
    """
    try:
        answer = response.json()
    except ValueError:
        answer = None
    kind = response.headers.get("Content-Type") or "no content type"
    if not isinstance(answer, dict) or type(answer.get("accepted")) is not int:
        raise DestinationError(
            FailureKind.PERMANENT,
            f"the receiver answered HTTP {response.status_code} ({kind}) without the acknowledgement "
            '{"accepted": <count>, "rejected": [...]}; nothing of this batch is recorded as delivered',
            status=response.status_code,
        )
    rows = answer.get("rejected", [])
    sent = {m.member_key for m in batch.members} | {e.member_key for e in batch.events}
    if not isinstance(rows, list) or not all(
        isinstance(r, dict) and isinstance(r.get("member_key"), str) and r["member_key"] in sent for r in rows
    ):
        raise DestinationError(
            FailureKind.PERMANENT,
            "the receiver's 'rejected' is not a list of {member_key, reason} for members of this batch; "
            "nothing of this batch is recorded as delivered",
        )
    if answer["accepted"] < 0 or answer["accepted"] + len(rows) != batch.size:
        raise DestinationError(
            FailureKind.PERMANENT,
            f"the receiver's acknowledgement does not add up: accepted {answer['accepted']} + rejected {len(rows)} "
            f"!= {batch.size} sent; nothing of this batch is recorded as delivered",
        )
    rejected = [
        Rejection(r["member_key"], "rejected_by_receiver", scrub_pii(str(r.get("reason", ""))[:300])) for r in rows
    ]
    return BatchOutcome(accepted=answer["accepted"], rejected=rejected)


class WebhookClient:
    """List and event sync to an HTTP endpoint you run."""

    #: The receiver drops a ``webhook-id`` it has processed, so a batch re-sent under its id after a crash
    #: changes nothing there: the sync may send ahead of its ledger checkpoints.
    deduplicates_batches = True

    def __init__(
        self,
        config: WebhookConfig,
        *,
        log: Callable[[str], None] = lambda message: None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.secret = read_env(config.name, "signing_secret", config.credentials.signing_secret)
        try:
            signing_key(self.secret)
        except ValueError as error:
            variable = config.credentials.signing_secret
            raise InvalidSecretError(f"destination '{config.name}': signing_secret in ${variable}: {error}") from None
        self.clock = clock
        self.http = HttpClient.for_destination(
            config,
            config.resolved_base_url(),
            platform=f"webhook '{config.name}'",
            classify=functools.partial(classify, secret_variable=config.credentials.signing_secret),
            secrets=[self.secret],
            log=log,
            sleep=sleep,
        )

    @property
    def max_batch_size(self) -> int:
        return self.config.settings.batch_size

    def ensure_list(self, target: ListTarget) -> ListRef:
        """A webhook list is a name the receiver keys members by: the id, or the name, as given."""
        list_id = target.list_id or target.name or ""
        return ListRef(id=list_id, name=target.name or list_id)

    def plan_members(self, operation: Operation, target: ListRef, batch: Batch) -> list[PlannedRequest]:
        members = [{"member_key": m.member_key, **m.fields} for m in batch.members]
        kind = MEMBER_EVENT_TYPES[operation]
        payload = {"type": kind, "list_id": target.id, **self._context(batch), "members": members}
        return [self._planned(operation, payload, batch)]

    def plan_events(self, batch: Batch) -> list[PlannedRequest]:
        events = [
            {
                "event_id": e.event_id,
                "event_name": e.event_name,
                "timestamp": e.event_time,
                "member_key": e.member_key,
                **e.fields,
                "properties": dict(e.properties),
            }
            for e in batch.events
        ]
        payload = {"type": "audience.events", **self._context(batch), "events": events}
        return [self._planned("events", payload, batch)]

    def add_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        return self._post(self.plan_members("add", target, batch)[0], batch)

    def remove_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        return self._post(self.plan_members("remove", target, batch)[0], batch)

    def send_events(self, batch: Batch) -> BatchOutcome:
        return self._post(self.plan_events(batch)[0], batch)

    def _planned(self, operation: str, payload: dict[str, object], batch: Batch) -> PlannedRequest:
        batch.check_size(self.max_batch_size, "webhook")
        headers = {
            "Content-Type": "application/json",
            "webhook-id": batch.batch_id,
            "webhook-timestamp": "<send time>",
            "webhook-signature": "v1,***",
        }
        return PlannedRequest(operation, "POST", self.config.settings.path, payload, headers)

    @staticmethod
    def _context(batch: Batch) -> dict[str, str]:
        return {"batch_id": batch.batch_id, "sync": batch.sync, "audience": batch.audience}

    def _post(self, planned: PlannedRequest, batch: Batch) -> BatchOutcome:
        body = orjson.dumps(planned.body, option=orjson.OPT_SORT_KEYS)
        response = self.http.request(
            "POST", planned.path, data=body, headers_per_attempt=lambda: self._headers(batch.batch_id, body)
        )
        return acknowledgement(response, batch)

    def _headers(self, message_id: str, body: bytes) -> dict[str, str]:
        timestamp = int(self.clock())
        return {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(self.secret, message_id, timestamp, body),
        }

    def close(self) -> None:
        self.http.close()
