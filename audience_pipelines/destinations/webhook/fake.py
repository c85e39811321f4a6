"""Fake receiver for our signed webhook destination (Standard Webhooks signing).

Requests carry ``webhook-id`` (stable per batch), ``webhook-timestamp`` (unix seconds) and
``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{raw_body}")>`` where ``key`` is the
base64-decoded secret after stripping an optional ``whsec_`` prefix. Several space-separated signatures
may be sent (key rotation); one valid ``v1`` signature is enough.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from audience_pipelines.destinations.settings import DestinationConfig
from audience_pipelines.sandbox.server import FakeServer, Request, Response

SECRET_PREFIX = "whsec_"
MAX_ITEMS_PER_REQUEST = 1_000
MEMBER_TYPES = frozenset({"audience.members_added", "audience.members_removed"})
EVENTS_TYPE = "audience.events"
EVENT_NAMES = frozenset({"added_to_segment", "removed_from_segment"})

MemberPredicate = Callable[[dict[str, Any]], str | None]
SANDBOX_URL_ENV = "AUDIENCE_PIPELINES_SANDBOX_WEBHOOK_URL"
SANDBOX_SECRET_ENV = "AUDIENCE_PIPELINES_WEBHOOK_SECRET"
TEST_SECRET_ENV = "CONTRACT_WEBHOOK_SECRET"
PATH = "/hooks/audiences"


def secret_key(secret: str) -> bytes:
    """Decode a webhook secret (base64, optionally prefixed with ``whsec_``) into the HMAC key."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:  # unpadded base64 is accepted, as the Standard Webhooks libraries accept it
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret must be base64, optionally prefixed with 'whsec_'") from None
    if not key:
        raise ValueError("webhook secret must not be empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """Return the ``webhook-signature`` header value (``v1,<base64>``) for one delivery."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(secret: str, msg_id: str, timestamp: str, body: bytes, signature_header: str) -> bool:
    """True if any ``v1`` signature in the (space-separated) header matches, compared in constant time."""
    expected = sign(secret, msg_id, timestamp, body).encode("ascii")
    for candidate in signature_header.split():
        version, _, _ = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(candidate.encode("utf-8", "replace"), expected):
            return True
    return False


def new_secret() -> str:
    """Generate a random ``whsec_``-prefixed secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


class _PayloadError(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail


@dataclass
class _Delivery:
    webhook_id: str
    type: str
    sync: str
    batch_id: str
    list_id: str | None
    items: list[dict[str, Any]] = field(default_factory=list)


def _require_str(body: dict[str, Any], name: str, where: str = "body") -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise _PayloadError(400, "invalid_payload", f"{where}.{name} must be a non-empty string")
    return value


def _require_items(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    items = body.get(name)
    if not isinstance(items, list) or not items:
        raise _PayloadError(400, "invalid_payload", f"body.{name} must be a non-empty array")
    if len(items) > MAX_ITEMS_PER_REQUEST:
        raise _PayloadError(
            413, "batch_too_large", f"body.{name} holds {len(items)} items; max {MAX_ITEMS_PER_REQUEST}"
        )
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _PayloadError(400, "invalid_payload", f"body.{name}[{index}] must be an object")
        _require_str(item, "member_key", f"{name}[{index}]")
    return items


def _parse_delivery(webhook_id: str, body: Any) -> _Delivery:
    if not isinstance(body, dict):
        raise _PayloadError(400, "invalid_payload", "body must be a JSON object")
    kind = body.get("type")
    if kind in MEMBER_TYPES:
        delivery = _Delivery(
            webhook_id,
            kind,
            _require_str(body, "sync"),
            _require_str(body, "batch_id"),
            _require_str(body, "list_id"),
        )
        delivery.items = _require_items(body, "members")
        return delivery
    if kind == EVENTS_TYPE:
        delivery = _Delivery(webhook_id, kind, _require_str(body, "sync"), _require_str(body, "batch_id"), None)
        delivery.items = _require_items(body, "events")
        for index, event in enumerate(delivery.items):
            _require_str(event, "event_id", f"events[{index}]")
            if event.get("event_name") not in EVENT_NAMES:
                raise _PayloadError(
                    400, "invalid_payload", f"events[{index}].event_name must be one of {sorted(EVENT_NAMES)}"
                )
            stamp = event.get("timestamp")
            if not isinstance(stamp, int) or isinstance(stamp, bool):
                raise _PayloadError(400, "invalid_payload", f"events[{index}].timestamp must be integer unix seconds")
        return delivery
    raise _PayloadError(400, "unknown_type", f"body.type must be one of {sorted([*MEMBER_TYPES, EVENTS_TYPE])}")


class WebhookReceiver(FakeServer):
    """Strict receiver of signed audience webhooks (Standard Webhooks convention).

    POST any path with a signed JSON batch. Redelivery of an already processed ``webhook-id`` returns the
    first response without re-applying it. Use :meth:`members`, :meth:`events` and the counters to assert
    what arrived; :meth:`reject_members` and the base fault script inject failures.
    """

    def __init__(
        self,
        secret: str,
        tolerance_seconds: int = 300,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(host=host, port=port)
        secret_key(secret)
        self.secret = secret
        self.tolerance_seconds = tolerance_seconds
        self._clock = clock
        self._lists: dict[str, dict[str, dict[str, Any]]] = {}
        self._events: list[dict[str, Any]] = []
        self._event_ids: set[str] = set()
        self._processed: dict[str, dict[str, Any]] = {}
        self._batches: list[dict[str, Any]] = []
        self._reject: MemberPredicate | None = None
        self._required_fields: tuple[str, ...] = ()
        self._deliveries = 0
        self._duplicate_deliveries = 0
        self._duplicate_events = 0
        self._verified_signatures = 0
        self._rejected_items = 0
        self._items_received = 0
        self._largest_request = 0
        self.secret_env = TEST_SECRET_ENV

    # ------------------------------------------------------------------ contract fake

    url_env: ClassVar[str] = SANDBOX_URL_ENV

    @classmethod
    def for_tests(cls) -> Self:
        return cls(new_secret())

    @classmethod
    def for_sandbox(cls) -> Self:
        os.environ.setdefault(SANDBOX_SECRET_ENV, new_secret())
        fake = cls(os.environ[SANDBOX_SECRET_ENV]).start()
        fake.secret_env = SANDBOX_SECRET_ENV
        os.environ[SANDBOX_URL_ENV] = fake.base_url
        return fake

    def environment(self) -> dict[str, str]:
        return {self.secret_env: self.secret}

    def destination(self, type_name: str) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "credentials": {"signing_secret": self.secret_env},
            "settings": {"path": PATH},
        }

    def secrets(self) -> list[str]:
        return [self.secret, self.secret.removeprefix(SECRET_PREFIX)]

    def held(self, config: DestinationConfig, list_id: str | None, sync: str) -> set[str]:
        if list_id is not None:
            return self.member_keys(list_id)
        latest: dict[str, str] = {}
        for event in self.events():  # in arrival order
            if event.get("properties", {}).get("sync") == sync:
                latest[event["member_key"]] = event["event_name"]
        return {key for key, name in latest.items() if name == "added_to_segment"}

    def rows_received(self) -> int:
        with self._lock:
            return self._items_received

    def largest_request(self) -> int:
        with self._lock:
            return self._largest_request

    def throttle_next(self) -> float | None:
        self.fail_next(429, {"error": "rate_limited"}, {"Retry-After": "2"})
        return 2.0

    def revoke_credentials(self) -> None:
        self.secret = new_secret()

    def slow_down(self, seconds: float, times: int) -> None:
        self.delay_next(seconds, times=times)

    # ------------------------------------------------------------------ fault injection

    def reject_members(self, predicate: MemberPredicate | None) -> None:
        """Reject members/events for which ``predicate(item)`` returns a reason (None clears it).

        Rejected items are not applied and are listed in the response's ``rejected`` array.
        """
        with self._lock:
            self._reject = predicate

    def require_member_fields(self, *names: str) -> None:
        """Reject members/events that lack any of these fields (or have them empty); no names clears it."""
        with self._lock:
            self._required_fields = tuple(names)

    # ------------------------------------------------------------------ inspection

    def members(self, list_id: str) -> dict[str, dict[str, Any]]:
        """Current members of a list: member_key -> fields (member_key itself excluded)."""
        with self._lock:
            return copy.deepcopy(self._lists.get(list_id, {}))

    def member_keys(self, list_id: str) -> set[str]:
        """Member keys currently in a list."""
        with self._lock:
            return set(self._lists.get(list_id, {}))

    def list_ids(self) -> set[str]:
        """Every list id that has received a member delivery."""
        with self._lock:
            return set(self._lists)

    def events(self) -> list[dict[str, Any]]:
        """Unique events received, in arrival order, as sent."""
        with self._lock:
            return copy.deepcopy(self._events)

    def batches(self) -> list[dict[str, Any]]:
        """One summary per applied delivery: webhook_id, type, sync, batch_id, list_id, accepted, rejected."""
        with self._lock:
            return copy.deepcopy(self._batches)

    @property
    def deliveries(self) -> int:
        """Deliveries applied (distinct webhook ids answered 200)."""
        with self._lock:
            return self._deliveries

    @property
    def duplicate_deliveries(self) -> int:
        """Redeliveries of an already processed webhook id."""
        with self._lock:
            return self._duplicate_deliveries

    @property
    def duplicate_events(self) -> int:
        """Events whose event_id had been received before (not stored twice)."""
        with self._lock:
            return self._duplicate_events

    @property
    def verified_signatures(self) -> int:
        """Requests whose signature verified."""
        with self._lock:
            return self._verified_signatures

    @property
    def rejected_items(self) -> int:
        """Members/events rejected by :meth:`reject_members` or :meth:`require_member_fields`."""
        with self._lock:
            return self._rejected_items

    def state(self) -> dict[str, Any]:
        """Lists, events, batch summaries and counters as JSON."""
        with self._lock:
            return {
                "lists": copy.deepcopy(self._lists),
                "events": copy.deepcopy(self._events),
                "batches": copy.deepcopy(self._batches),
                "counters": {
                    "deliveries": self._deliveries,
                    "duplicate_deliveries": self._duplicate_deliveries,
                    "duplicate_events": self._duplicate_events,
                    "verified_signatures": self._verified_signatures,
                    "rejected_items": self._rejected_items,
                },
            }

    # ------------------------------------------------------------------ handling

    def default_fault_body(self, status: int) -> Any:
        return {"error": "injected_fault", "status": status}

    def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return Response(405, {"error": "method_not_allowed"}, {"Allow": "POST"})
        msg_id = request.header("webhook-id")
        timestamp = request.header("webhook-timestamp")
        signature = request.header("webhook-signature")
        if not msg_id or not timestamp:
            return Response(400, {"error": "missing_headers"})
        if not signature or not verify(self.secret, msg_id, timestamp, request.body, signature):
            return Response(401, {"error": "invalid_signature"})
        with self._lock:
            self._verified_signatures += 1
        try:
            sent_at = int(timestamp)
        except ValueError:
            return Response(400, {"error": "stale_timestamp"})
        if abs(self._clock() - sent_at) > self.tolerance_seconds:
            return Response(400, {"error": "stale_timestamp"})
        if request.content_type != "application/json":
            return Response(415, {"error": "unsupported_media_type"})
        try:
            body = request.json()
        except ValueError:
            return Response(400, {"error": "invalid_json"})
        with self._lock:
            if msg_id in self._processed:
                self._duplicate_deliveries += 1
                return Response(200, copy.deepcopy(self._processed[msg_id]))
            try:
                delivery = _parse_delivery(msg_id, body)
            except _PayloadError as exc:
                return Response(exc.status, {"error": exc.error, "detail": exc.detail})
            self._items_received += len(delivery.items)
            self._largest_request = max(self._largest_request, len(delivery.items))
            result = self._apply(delivery)
            self._processed[msg_id] = result
            self._deliveries += 1
            return Response(200, copy.deepcopy(result))

    def _rejection(self, item: dict[str, Any]) -> str | None:
        for name in self._required_fields:
            if item.get(name) in (None, ""):
                return f"missing required field '{name}'"
        return self._reject(copy.deepcopy(item)) if self._reject is not None else None

    def _apply(self, delivery: _Delivery) -> dict[str, Any]:
        applied: list[str] = []
        rejected: list[dict[str, str]] = []
        for item in delivery.items:
            reason = self._rejection(item)
            if reason is not None:
                rejected.append({"member_key": item["member_key"], "reason": reason})
                continue
            applied.append(item["member_key"])
            self._apply_item(delivery, item)
        accepted = len(applied)
        self._rejected_items += len(rejected)
        self._batches.append(
            {
                "webhook_id": delivery.webhook_id,
                "type": delivery.type,
                "sync": delivery.sync,
                "batch_id": delivery.batch_id,
                "list_id": delivery.list_id,
                "accepted": accepted,
                "rejected": len(rejected),
                "member_keys": applied,
            }
        )
        return {"accepted": accepted, "rejected": rejected}

    def _apply_item(self, delivery: _Delivery, item: dict[str, Any]) -> None:
        if delivery.type == EVENTS_TYPE:
            if item["event_id"] in self._event_ids:
                self._duplicate_events += 1
                return
            self._event_ids.add(item["event_id"])
            self._events.append(copy.deepcopy(item))
            return
        assert delivery.list_id is not None
        members = self._lists.setdefault(delivery.list_id, {})
        key = item["member_key"]
        if delivery.type == "audience.members_added":
            members[key] = {name: copy.deepcopy(value) for name, value in item.items() if name != "member_key"}
        else:
            members.pop(key, None)


def signed_headers(secret: str, body: bytes, msg_id: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers for one signed delivery of ``body`` (a convenience for tests and demos)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, msg_id, stamp, body),
    }


__all__ = [
    "MAX_ITEMS_PER_REQUEST",
    "WebhookReceiver",
    "new_secret",
    "secret_key",
    "sign",
    "signed_headers",
    "verify",
]
