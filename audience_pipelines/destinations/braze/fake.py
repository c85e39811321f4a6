"""A strict fake of Braze's ``POST /users/track`` (attributes only), on 127.0.0.1.

It checks the Bearer REST API key, the body shape, the 75-object cap and every attributes object (one user
identifier each; valid email / E.164 phone; array operations), resolves profiles by external_id, email or
phone (creating them unless ``_update_existing_only``), keeps every profile's properties, and answers 201
with per-object ``errors`` or a fatal 400. Throttles answer 429 with ``X-RateLimit-*`` headers. Bodies and
keys are never logged.
"""

from __future__ import annotations

import copy
import itertools
import math
import os
import secrets
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, ClassVar, Self

from audience_pipelines.destinations.braze import fake_rules as rules
from audience_pipelines.destinations.settings import DestinationConfig
from audience_pipelines.sandbox.oauth import sandbox_credentials
from audience_pipelines.sandbox.server import BodyError, FakeServer, Request, Response

TRACK_PATH = "/users/track"
SANDBOX_PREFIX = "AUDIENCE_PIPELINES_BRAZE_"
TEST_PREFIX = "CONTRACT_BRAZE_"
TEST_KEY = "contract-braze-rest-key-5b1e"
LOOKUP = ("external_id", "email", "phone")
Predicate = Callable[[dict[str, Any]], str | None]


class FakeBraze(FakeServer):
    """Strict fake Braze REST API (user profiles via /users/track) for tests and the local sandbox."""

    url_env: ClassVar[str] = "AUDIENCE_PIPELINES_SANDBOX_BRAZE_URL"

    def __init__(
        self, api_key: str = TEST_KEY, *, env_prefix: str = TEST_PREFIX, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self.env_prefix = env_prefix
        self._ids = itertools.count(1)
        self._profiles: dict[int, dict[str, Any]] = {}
        self._index: dict[str, dict[str, int]] = {name: {} for name in LOOKUP}
        self._reject: Predicate | None = None

    # ------------------------------------------------------------------ contract fake

    @classmethod
    def for_tests(cls) -> Self:
        return cls(TEST_KEY, env_prefix=TEST_PREFIX)

    @classmethod
    def for_sandbox(cls) -> Self:
        key = sandbox_credentials(SANDBOX_PREFIX, ("api_key",))["api_key"]
        fake = cls(key, env_prefix=SANDBOX_PREFIX).start()
        os.environ[cls.url_env] = fake.base_url
        return fake

    @property
    def key_variable(self) -> str:
        return self.env_prefix + "API_KEY"

    def environment(self) -> dict[str, str]:
        return {self.key_variable: self.api_key}

    def destination(self, type_name: str) -> dict[str, Any]:
        return {"base_url": self.base_url, "credentials": {"api_key": self.key_variable}, "settings": {}}

    def secrets(self) -> list[str]:
        return [self.api_key]

    def held(self, config: DestinationConfig, list_id: str | None, sync: str) -> set[str]:
        """Emails (else ``external_id:<id>`` / ``phone:<n>``) of the profiles in the audience ``list_id``."""
        if list_id is None:
            return set()
        settings = config.settings  # type: ignore[attr-defined]
        with self._lock:
            return {_label(p) for p in self._profiles.values() if _in_audience(p, settings, list_id)}

    def throttle_next(self) -> float | None:
        """The next /users/track request answers 429 with ``X-RateLimit-Reset`` two seconds ahead."""
        reset = math.ceil(time.time()) + 2
        headers = {"X-RateLimit-Limit": "3000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
        self.fail_next(429, {"message": "Too Many Requests"}, headers, path=TRACK_PATH)
        return reset - time.time()

    def revoke_credentials(self) -> None:
        self.api_key = f"revoked-{secrets.token_urlsafe(12)}"

    def slow_down(self, seconds: float, times: int) -> None:
        self.delay_next(seconds, times=times, path=TRACK_PATH)

    # ------------------------------------------------------------------ scripting and inspection

    def reject_objects(self, predicate: Predicate | None) -> None:
        """Refuse attributes objects for which ``predicate(object)`` gives a reason (None clears it)."""
        with self._lock:
            self._reject = predicate

    def profile(self, identifier: str, value: str) -> dict[str, Any] | None:
        """A copy of the profile found by external_id, email or phone."""
        with self._lock:
            number = self._index[identifier].get(value)
            return copy.deepcopy(self._profiles[number]) if number is not None else None

    def profile_value(self, email: str, name: str) -> object | None:
        """A custom attribute of the profile with this email (``ProfileFake``)."""
        found = self.profile("email", email)
        return found.get(name) if found else None

    def profile_count(self) -> int:
        with self._lock:
            return len(self._profiles)

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"profiles": len(self._profiles), "rows_received": self._rows_received}

    def default_fault_body(self, status: int) -> Any:
        try:
            return {"message": HTTPStatus(status).phrase}
        except ValueError:
            return {"message": "Error"}

    # ------------------------------------------------------------------ handling

    def handle(self, request: Request) -> Response:
        if request.path != TRACK_PATH:
            return Response(404, {"message": "Not Found"})
        if request.method != "POST":
            return Response(405, {"message": "Method Not Allowed"})
        if request.header("authorization") != f"Bearer {self.api_key}":
            return Response(401, {"message": "Invalid API key"})
        if request.content_type != "application/json":
            return Response(415, {"message": "Content-Type must be application/json"})
        try:
            objects = rules.body_objects(request.json())
        except BodyError:
            return Response(400, {"message": rules.FATAL})
        except rules.ApiError as error:
            return Response(error.status, error.body)
        with self._lock:
            errors = []
            for index, item in enumerate(objects):
                problem = rules.object_problem(item) or (self._reject(copy.deepcopy(item)) if self._reject else None)
                if problem is not None:
                    errors.append({"type": problem, "input_array": "attributes", "index": index})
            if len(errors) == len(objects):
                return Response(400, {"message": rules.FATAL, "errors": errors})
            refused = {error["index"] for error in errors}
            for index, item in enumerate(objects):
                if index not in refused:
                    self._upsert(item)
            self.count_rows(len(objects))
        answer: dict[str, Any] = {"message": "success", "attributes_processed": len(objects) - len(errors)}
        return Response(201, {**answer, **({"errors": errors} if errors else {})})

    def _upsert(self, item: dict[str, Any]) -> None:
        """Resolve by external_id, else email, else phone; create unless ``_update_existing_only``."""
        primary = next(name for name in LOOKUP if item.get(name))
        number = self._index[primary].get(item[primary])
        if number is None:
            if item.get("_update_existing_only", False):
                return  # nothing to update: Braze skips the object
            number = next(self._ids)
            self._profiles[number] = {}
        profile = self._profiles[number]
        rules.apply(profile, item)
        for name in LOOKUP:
            if profile.get(name):
                self._index[name][profile[name]] = number


def _in_audience(profile: dict[str, Any], settings: Any, list_id: str) -> bool:
    if settings.membership == "array":
        return list_id in (profile.get(settings.attribute) or [])
    return profile.get(list_id) is True


def _label(profile: dict[str, Any]) -> str:
    if profile.get("email"):
        return str(profile["email"])
    return next(f"{name}:{profile[name]}" for name in LOOKUP if profile.get(name))
