"""A strict fake of the GA4 Measurement Protocol on 127.0.0.1: ``/mp/collect`` and ``/debug/mp/collect``.

Like Google, ``/mp/collect`` answers 204 with an empty body even when it drops an invalid payload; the fake
records the drop instead of storing the events. ``/debug/mp/collect`` answers 200 with the validation messages
of :mod:`~audience_pipelines.destinations.ga4.fake_rules`. Wrong credentials are refused with 403 by default
(``credentials="refuse"``), which Google does not do; ``credentials="drop"`` models Google (see the package
docstring). Bodies and query strings are never logged.
"""

from __future__ import annotations

import copy
import os
import secrets
import string
import time
from collections.abc import Callable
from typing import Any, ClassVar, Literal, Self

from audience_pipelines.destinations.ga4.fake_rules import validate_body
from audience_pipelines.destinations.settings import DestinationConfig
from audience_pipelines.sandbox.server import FakeServer, Request, Response

COLLECT_PATH = "/mp/collect"
DEBUG_PATH = "/debug/mp/collect"
SANDBOX_URL_ENV = "AUDIENCE_PIPELINES_SANDBOX_GA4_URL"
SANDBOX_MEASUREMENT_ID_ENV = "AUDIENCE_PIPELINES_GA4_MEASUREMENT_ID"
SANDBOX_API_SECRET_ENV = "AUDIENCE_PIPELINES_GA4_API_SECRET"
TEST_MEASUREMENT_ID_ENV = "CONTRACT_GA4_MEASUREMENT_ID"
TEST_API_SECRET_ENV = "CONTRACT_GA4_API_SECRET"
TEST_MEASUREMENT_ID = "G-CONTRACT42"
TEST_API_SECRET = "contract-ga4-api-secret-5c1e9"
ADDED = "added_to_segment"

CredentialCheck = Literal["refuse", "drop"]


def new_measurement_id() -> str:
    """A random web-stream measurement id (``G-`` and ten letters or digits)."""
    return "G-" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(10))


def new_api_secret() -> str:
    """A random Measurement Protocol API secret."""
    return secrets.token_urlsafe(16)


class FakeGA4(FakeServer):
    """Strict Measurement Protocol fake for one web stream (one measurement id and API secret)."""

    url_env: ClassVar[str] = SANDBOX_URL_ENV

    def __init__(
        self,
        measurement_id: str,
        api_secret: str,
        *,
        credentials: CredentialCheck = "refuse",
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.measurement_id = measurement_id
        self.api_secret = api_secret
        self.credential_check = credentials
        self.measurement_id_env = TEST_MEASUREMENT_ID_ENV
        self.api_secret_env = TEST_API_SECRET_ENV
        self._clock = clock
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._event_ids: set[tuple[str, str]] = set()
        self._duplicates = 0
        self._dropped = 0
        self._validations = 0

    # ------------------------------------------------------------------ contract fake

    @classmethod
    def for_tests(cls) -> Self:
        return cls(TEST_MEASUREMENT_ID, TEST_API_SECRET)

    @classmethod
    def for_sandbox(cls) -> Self:
        os.environ.setdefault(SANDBOX_MEASUREMENT_ID_ENV, new_measurement_id())
        os.environ.setdefault(SANDBOX_API_SECRET_ENV, new_api_secret())
        fake = cls(os.environ[SANDBOX_MEASUREMENT_ID_ENV], os.environ[SANDBOX_API_SECRET_ENV]).start()
        fake.measurement_id_env = SANDBOX_MEASUREMENT_ID_ENV
        fake.api_secret_env = SANDBOX_API_SECRET_ENV
        os.environ[SANDBOX_URL_ENV] = fake.base_url
        return fake

    def environment(self) -> dict[str, str]:
        return {self.measurement_id_env: self.measurement_id, self.api_secret_env: self.api_secret}

    def destination(self, type_name: str) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "credentials": {"measurement_id": self.measurement_id_env, "api_secret": self.api_secret_env},
            "settings": {},
        }

    def secrets(self) -> list[str]:
        return [self.api_secret]

    def held(self, config: DestinationConfig, list_id: str | None, sync: str) -> set[str]:
        """client_ids whose latest event for ``sync`` (``params.sync``) is ``added_to_segment``."""
        variable = getattr(getattr(config, "credentials", None), "measurement_id", None)
        measurement_id = os.environ.get(variable or "", self.measurement_id)
        latest: dict[str, str] = {}
        for event in self.events(measurement_id):
            if event["params"].get("sync") == sync:
                latest[event["client_id"]] = event["name"]
        return {client_id for client_id, name in latest.items() if name == ADDED}

    def throttle_next(self) -> float | None:
        """The next collect request answers 429 without Retry-After (GA4 documents no throttle signal)."""
        self.fail_next(429, path=COLLECT_PATH)
        return None

    def revoke_credentials(self) -> None:
        self.api_secret = new_api_secret()

    def slow_down(self, seconds: float, times: int) -> None:
        self.delay_next(seconds, times=times, path=COLLECT_PATH)

    # ------------------------------------------------------------------ inspection

    def events(self, measurement_id: str | None = None) -> list[dict[str, Any]]:
        """Unique events collected for a stream, in arrival order: client_id, user_id, name, params."""
        with self._lock:
            return copy.deepcopy(self._events.get(measurement_id or self.measurement_id, []))

    @property
    def duplicate_events(self) -> int:
        """Collected events whose ``params.event_id`` had been seen before (not stored twice)."""
        with self._lock:
            return self._duplicates

    @property
    def dropped_requests(self) -> int:
        """Collect requests answered 2xx but dropped: invalid payloads (and wrong credentials when dropping)."""
        with self._lock:
            return self._dropped

    @property
    def validation_requests(self) -> int:
        """Requests answered by the validation server."""
        with self._lock:
            return self._validations

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "events": copy.deepcopy(self._events),
                "counters": {
                    "rows_received": self._rows_received,
                    "largest_request": self._largest_request,
                    "duplicate_events": self._duplicates,
                    "dropped_requests": self._dropped,
                    "validation_requests": self._validations,
                },
            }

    # ------------------------------------------------------------------ handling

    def default_fault_body(self, status: int) -> Any:
        return f"<html><body>Error {status}</body></html>"

    def handle(self, request: Request) -> Response:
        if request.path not in (COLLECT_PATH, DEBUG_PATH):
            return Response(404, "<html><body>Not Found</body></html>", {"Content-Type": "text/html"})
        if request.method != "POST":
            return Response(405, "<html><body>Method Not Allowed</body></html>", {"Content-Type": "text/html"})
        credentials_ok = (
            request.query.get("measurement_id") == self.measurement_id
            and request.query.get("api_secret") == self.api_secret
        )
        if not credentials_ok and self.credential_check == "refuse":
            return Response(403, "<html><body>Forbidden</body></html>", {"Content-Type": "text/html"})
        messages = validate_body(request.body, now=self._clock())
        if request.path == DEBUG_PATH:
            with self._lock:
                self._validations += 1
            return Response(200, {"validationMessages": messages})
        with self._lock:
            if messages or not credentials_ok:
                self._dropped += 1
            else:
                self._collect(request.query["measurement_id"], request.json())
        return Response(204)

    def _collect(self, measurement_id: str, body: dict[str, Any]) -> None:
        events = body["events"]
        self.count_rows(len(events))
        stored = self._events.setdefault(measurement_id, [])
        for event in events:
            params = dict(event.get("params", {}))
            event_id = params.get("event_id")
            if event_id is not None:
                if (measurement_id, str(event_id)) in self._event_ids:
                    self._duplicates += 1
                    continue
                self._event_ids.add((measurement_id, str(event_id)))
            stored.append(
                {
                    "client_id": body["client_id"],
                    "user_id": body.get("user_id"),
                    "name": event["name"],
                    "params": params,
                    "timestamp_micros": event.get("timestamp_micros", body.get("timestamp_micros")),
                    "user_data": copy.deepcopy(body.get("user_data")),
                }
            )
