"""A strict fake of Klaviyo's lists, profiles and bulk profile import API, on 127.0.0.1.

Serves ``GET/POST /api/lists``, ``GET/DELETE /api/lists/{id}``, ``DELETE /api/lists/{id}/relationships/profiles``
(at most 1,000, answers 204), ``GET /api/profiles?filter=any(<identifier>,[...])`` (at most 100 values),
``POST /api/profile-bulk-import-jobs`` (at most 10,000 profiles and 5 MB, answers 202 with a queued job),
``GET /api/profile-bulk-import-jobs/{id}`` and ``.../import-errors``. Every call needs
``Authorization: Klaviyo-API-Key <key>`` and a ``revision`` header; bodies must be JSON:API documents.
Profiles keep their attributes and properties when they leave a list. A member request is an import job or
a removal's profile lookup; ``rows_received`` counts the profiles of one and the values looked up by the other.
Bodies, query strings and keys are never logged.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from audience_pipelines.destinations.settings import DestinationConfig
from audience_pipelines.sandbox.server import BodyError, FakeServer, Request, Response, member_labels

SANDBOX_PREFIX = "AUDIENCE_PIPELINES_KLAVIYO_"
TEST_PREFIX = "CONTRACT_KLAVIYO_"
MAX_IMPORT, MAX_RELATIONSHIPS, MAX_LOOKUP, MAX_BYTES = 10_000, 1_000, 100, 5_000_000
DAILY_LISTS = 150
IDENTIFIERS = ("email", "phone_number", "external_id")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_REVISION = re.compile(r"^20\d{2}-\d{2}-\d{2}(\.pre)?$")
_FILTER = re.compile(r"^any\((email|phone_number|external_id),(\[.*\])\)$")
_NAME_FILTER = re.compile(r"^equals\(name,(\".*\")\)$")
_LIST = re.compile(r"^/api/lists/([^/]+)(/relationships/profiles)?/?$")
_JOB = re.compile(r"^/api/profile-bulk-import-jobs/([^/]+)(/import-errors)?/?$")
Rejector = Callable[[dict[str, Any]], str | None]


def new_key() -> str:
    return "pk_" + secrets.token_hex(17)


def _error(status: int, code: str, detail: str, pointer: str | None = None) -> Response:
    error: dict[str, Any] = {
        "id": secrets.token_hex(8),
        "status": status,
        "code": code,
        "title": code,
        "detail": detail,
    }
    if pointer:
        error["source"] = {"pointer": pointer}
    return Response(status, {"errors": [error]})


@dataclass
class _Job:
    id: str
    total: int
    errors: list[dict[str, Any]]
    polls_left: int


@dataclass
class _List:
    id: str
    name: str
    members: dict[str, None] = field(default_factory=dict)  # profile id -> None (an ordered set)


class FakeKlaviyo(FakeServer):
    """Strict fake Klaviyo API (lists, profiles, bulk profile import jobs) for tests and the local sandbox."""

    url_env: ClassVar[str] = "AUDIENCE_PIPELINES_SANDBOX_KLAVIYO_URL"

    def __init__(
        self, api_key: str | None = None, *, env_prefix: str = TEST_PREFIX, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key or new_key()
        self.env_prefix = env_prefix
        self.job_polls = 0  # status reads a job stays "processing" for
        self._ids = itertools.count(1)
        self._lists: dict[str, _List] = {}
        self._profiles: dict[str, dict[str, Any]] = {}
        self._index: dict[tuple[str, str], str] = {}  # (identifier, value) -> profile id
        self._jobs: dict[str, _Job] = {}
        self._reject: Rejector | None = None
        self._throttles: list[str | None] = []
        self._delays: list[float] = []
        self.lists_created = 0

    # ------------------------------------------------------------------ contract fake

    @classmethod
    def for_tests(cls) -> Self:
        return cls(env_prefix=TEST_PREFIX)

    @classmethod
    def for_sandbox(cls) -> Self:
        os.environ.setdefault(SANDBOX_PREFIX + "API_KEY", new_key())
        fake = cls(os.environ[SANDBOX_PREFIX + "API_KEY"], env_prefix=SANDBOX_PREFIX).start()
        os.environ[cls.url_env] = fake.base_url
        return fake

    def environment(self) -> dict[str, str]:
        return {self.env_prefix + "API_KEY": self.api_key}

    def destination(self, type_name: str) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "credentials": {"api_key": self.env_prefix + "API_KEY"},
            "settings": {"job_poll_seconds": 0.05},
        }

    def secrets(self) -> list[str]:
        return [self.api_key]

    def held(self, config: DestinationConfig, list_id: str | None, sync: str) -> set[str]:
        """The emails of the list's members (a member without one by all its identifiers)."""
        with self._lock:
            found = self._lists.get(list_id or "")
            profiles = [self._profiles[pid] for pid in (found.members if found else {})]
            return member_labels((pr.get("email"), json.dumps([pr.get(n) for n in IDENTIFIERS])) for pr in profiles)

    def throttle_next(self, retry_after: str | None = "2") -> float | None:
        with self._lock:
            self._throttles.append(retry_after)
        return float(retry_after) if retry_after is not None else None

    def revoke_credentials(self) -> None:
        self.api_key = new_key()

    def slow_down(self, seconds: float, times: int) -> None:
        with self._lock:
            self._delays.extend([seconds] * times)

    # ------------------------------------------------------------------ test hooks and inspection

    def reject_profiles(self, predicate: Rejector | None) -> None:
        """Make import jobs report an error for profiles whose attributes ``predicate`` gives a reason for."""
        with self._lock:
            self._reject = predicate

    def add_list(self, name: str) -> str:
        with self._lock:
            list_id = f"L{next(self._ids):05d}"
            self._lists[list_id] = _List(list_id, name)
            return list_id

    def list_ids(self) -> list[str]:
        with self._lock:
            return list(self._lists)

    def profile(self, email: str) -> dict[str, Any] | None:
        """A profile's attributes (properties included), found by email."""
        with self._lock:
            found = self._index.get(("email", email))
            return json.loads(json.dumps(self._profiles[found])) if found else None

    def profile_value(self, email: str, name: str) -> object | None:
        """A profile attribute or custom property of the profile with this email (``ProfileFake``)."""
        found = self.profile(email)
        if not found:
            return None
        return found.get(name, (found.get("properties") or {}).get(name))

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "lists": {i: {"name": x.name, "profiles": len(x.members)} for i, x in self._lists.items()},
                "profiles": len(self._profiles),
                "jobs": len(self._jobs),
            }

    def default_fault_body(self, status: int) -> Any:
        return {"errors": [{"id": "fault", "status": status, "code": "error", "title": "Error", "detail": "fault"}]}

    # ------------------------------------------------------------------ handling

    def handle(self, request: Request) -> Response:
        if request.header("authorization") != f"Klaviyo-API-Key {self.api_key}":
            return _error(401, "not_authenticated", "Missing or invalid private key.")
        if not _REVISION.match(request.header("revision") or ""):
            return _error(400, "invalid", "A valid revision header is required.")
        body: Any = None
        if request.method in ("POST", "DELETE") and request.body:
            if request.content_type not in ("application/json", "application/vnd.api+json"):
                return _error(415, "unsupported_media_type", "Send JSON:API documents.")
            try:
                body = request.json()
            except BodyError:
                return _error(400, "invalid", "Body is not valid JSON.")
        member = self._is_member_request(request)
        if member:
            with self._lock:
                delay = self._delays.pop(0) if self._delays else 0.0
                throttled = bool(self._throttles)
                wait = self._throttles.pop(0) if throttled else None
            if delay:
                self._stopping.wait(delay)
            if throttled:
                response = _error(429, "throttled", "Request was throttled.")
                if wait is not None:
                    response.headers["Retry-After"] = wait
                return response
        with self._lock:
            return self._route(request, body)

    @staticmethod
    def _is_member_request(request: Request) -> bool:
        return (request.method, request.path.rstrip("/")) in (
            ("POST", "/api/profile-bulk-import-jobs"),
            ("GET", "/api/profiles"),
        ) or (request.method == "DELETE" and request.path.endswith("/relationships/profiles"))

    def _route(self, request: Request, body: Any) -> Response:
        path, method = request.path.rstrip("/") or "/", request.method
        if path == "/api/lists":
            return (
                self._find_lists(request)
                if method == "GET"
                else self._create_list(body)
                if method == "POST"
                else (_error(405, "method_not_allowed", "Method not allowed."))
            )
        if match := _LIST.match(path):
            return self._list(method, match.group(1), bool(match.group(2)), body)
        if path == "/api/profiles" and method == "GET":
            return self._lookup(request)
        if path == "/api/profile-bulk-import-jobs" and method == "POST":
            return self._import(body)
        if (match := _JOB.match(path)) and method == "GET":
            return self._job(match.group(1), bool(match.group(2)))
        return _error(404, "not_found", "Not found.")

    def _find_lists(self, request: Request) -> Response:
        wanted = None
        if "filter" in request.query:
            match = _NAME_FILTER.match(request.query["filter"])
            if match is None:
                return _error(400, "invalid", "Unsupported filter.", "/filter")
            wanted = json.loads(match.group(1))
        found = [x for x in self._lists.values() if wanted is None or x.name == wanted]
        return Response(200, {"data": [self._list_resource(x) for x in found], "links": {"next": None}})

    def _create_list(self, body: Any) -> Response:
        data = body.get("data") if isinstance(body, dict) else None
        name = (data.get("attributes") or {}).get("name") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("type") != "list" or not isinstance(name, str) or not name:
            return _error(400, "invalid", "Expected a list resource with a name.", "/data")
        if self.lists_created >= DAILY_LISTS:
            response = _error(429, "throttled", "Daily limit of new lists reached.")
            response.headers["Retry-After"] = "86400"
            return response
        self.lists_created += 1
        return Response(201, {"data": self._list_resource(self._lists[self.add_list(name)])})

    def _list(self, method: str, list_id: str, relationships: bool, body: Any) -> Response:
        found = self._lists.get(list_id)
        if found is None:
            return _error(404, "not_found", "List not found.")
        if not relationships:
            if method == "GET":
                return Response(200, {"data": self._list_resource(found)})
            if method == "DELETE":
                del self._lists[list_id]
                return Response(204)
            return _error(405, "method_not_allowed", "Method not allowed.")
        if method != "DELETE":
            return _error(405, "method_not_allowed", "Only removal is served here.")
        data = body.get("data") if isinstance(body, dict) else None
        if (
            not isinstance(data, list)
            or not data
            or not all(
                isinstance(i, dict) and i.get("type") == "profile" and isinstance(i.get("id"), str) for i in data
            )
        ):
            return _error(400, "invalid", "Expected profile identifiers.", "/data")
        if len(data) > MAX_RELATIONSHIPS:
            return _error(400, "invalid", f"At most {MAX_RELATIONSHIPS} profiles per request.", "/data")
        for item in data:
            found.members.pop(item["id"], None)
        self.count_rows(len(data), received=False)
        return Response(204)

    def _lookup(self, request: Request) -> Response:
        match = _FILTER.match(request.query.get("filter", ""))
        values = json.loads(match.group(2)) if match else None
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            return _error(400, "invalid", "Expected any(<identifier>,[...]).", "/filter")
        if len(values) > MAX_LOOKUP or int(request.query.get("page[size]", "20")) > MAX_LOOKUP:
            return _error(400, "invalid", f"At most {MAX_LOOKUP} values and profiles per page.", "/filter")
        ids = dict.fromkeys(pid for v in values if (pid := self._index.get((match.group(1), v))))
        self.count_rows(len(values))
        data = [{"type": "profile", "id": pid, "attributes": self._identity(pid)} for pid in ids]
        return Response(200, {"data": data, "links": {"next": None}})

    def _import(self, body: Any) -> Response:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or data.get("type") != "profile-bulk-import-job":
            return _error(400, "invalid", "Expected a profile-bulk-import-job.", "/data/type")
        profiles = ((data.get("attributes") or {}).get("profiles") or {}).get("data")
        lists = ((data.get("relationships") or {}).get("lists") or {}).get("data")
        if not isinstance(profiles, list) or not profiles or not all(isinstance(x, dict) for x in profiles):
            return _error(400, "invalid", "Expected profiles.", "/data/attributes/profiles/data")
        if len(profiles) > MAX_IMPORT or len(json.dumps(body)) > MAX_BYTES:
            return _error(413, "too_large", f"At most {MAX_IMPORT} profiles and 5 MB per job.")
        if not isinstance(lists, list) or len(lists) != 1 or not isinstance(lists[0], dict):
            return _error(400, "invalid", "Expected one list relationship.", "/data/relationships/lists")
        target = self._lists.get(lists[0].get("id"))
        if lists[0].get("type") != "list" or target is None:
            return _error(404, "not_found", "List not found.", "/data/relationships/lists/data/0")
        errors = []
        for index, item in enumerate(profiles):
            reason = self._profile_problem(item)
            if reason is None:
                target.members[self._upsert(item["attributes"])] = None
            else:
                attributes = item.get("attributes") if isinstance(item.get("attributes"), dict) else {}
                pointer = f"/data/attributes/profiles/data/{index}/attributes"
                errors.append(
                    {
                        "type": "import-error",
                        "id": secrets.token_hex(6),
                        "attributes": {
                            "code": "invalid",
                            "title": "Invalid profile",
                            "detail": reason,
                            "source": {"pointer": pointer},
                            "original_payload": attributes,
                        },
                    }
                )
        job = _Job(f"J{next(self._ids):06d}", len(profiles), errors, self.job_polls)
        self._jobs[job.id] = job
        self.count_rows(len(profiles))
        return Response(202, {"data": self._job_resource(job, "queued")})

    def _profile_problem(self, item: dict[str, Any]) -> str | None:
        attributes = item.get("attributes")
        if item.get("type") != "profile" or not isinstance(attributes, dict):
            return "Expected a profile resource."
        if not any(isinstance(attributes.get(n), str) and attributes[n] for n in IDENTIFIERS):
            return "A profile needs an email, phone_number or external_id."
        if "email" in attributes and not _EMAIL.match(str(attributes["email"])):
            return "Invalid email address."
        if "phone_number" in attributes and not _E164.match(str(attributes["phone_number"])):
            return "Invalid phone number (E.164 expected)."
        if len(str(attributes.get("external_id", ""))) > 255:
            return "external_id is longer than 255 characters."
        properties = attributes.get("properties", {})
        if not isinstance(properties, dict) or any(str(name).startswith("$") for name in properties):
            return "properties must be an object without '$' names."
        return self._reject(json.loads(json.dumps(attributes))) if self._reject else None

    def _upsert(self, attributes: dict[str, Any]) -> str:
        found = next((pid for n in IDENTIFIERS if (pid := self._index.get((n, attributes.get(n) or "")))), None)
        profile_id = found or f"01P{next(self._ids):023d}"
        current = self._profiles.setdefault(profile_id, {})
        properties = {**current.get("properties", {}), **attributes.get("properties", {})}
        current.update({k: v for k, v in attributes.items() if k != "properties"})
        current["properties"] = properties
        for name in IDENTIFIERS:
            if current.get(name):
                self._index[(name, current[name])] = profile_id
        return profile_id

    def _job(self, job_id: str, errors: bool) -> Response:
        job = self._jobs.get(job_id)
        if job is None:
            return _error(404, "not_found", "Job not found.")
        if errors:
            return Response(200, {"data": job.errors, "links": {"next": None}})
        if job.polls_left > 0:
            job.polls_left -= 1
            return Response(200, {"data": self._job_resource(job, "processing")})
        return Response(200, {"data": self._job_resource(job, "complete")})

    def _identity(self, profile_id: str) -> dict[str, Any]:
        return {n: self._profiles[profile_id].get(n) for n in IDENTIFIERS}

    @staticmethod
    def _job_resource(job: _Job, status: str) -> dict[str, Any]:
        done = status == "complete"
        return {
            "type": "profile-bulk-import-job",
            "id": job.id,
            "attributes": {
                "status": status,
                "total_count": job.total,
                "completed_count": job.total - len(job.errors) if done else 0,
                "failed_count": len(job.errors) if done else 0,
            },
        }

    @staticmethod
    def _list_resource(found: _List) -> dict[str, Any]:
        return {"type": "list", "id": found.id, "attributes": {"name": found.name}}
