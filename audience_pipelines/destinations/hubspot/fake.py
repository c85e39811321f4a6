"""A strict fake of HubSpot's CRM v3 lists and contacts batch API, on 127.0.0.1.

Serves ``POST /crm/v3/lists`` (create), ``GET /crm/v3/lists/object-type-id/0-1/name/{name}`` (find),
``GET`` / ``DELETE /crm/v3/lists/{id}``, ``PUT /crm/v3/lists/{id}/memberships/add|remove`` (a JSON array of
record ids) and ``POST /crm/v3/objects/contacts/batch/upsert|read`` (``inputs`` by email, at most 100; 200, or
207 with per-input ``errors``). Every call needs ``Authorization: Bearer <private app token>``. Contacts keep
their properties when they leave a list. Bodies and tokens are never logged.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from audience_pipelines.destinations.hubspot import fake_rules as rules
from audience_pipelines.destinations.settings import DestinationConfig
from audience_pipelines.sandbox.oauth import sandbox_credentials
from audience_pipelines.sandbox.server import BodyError, FakeServer, Request, Response

TEST_ENV = "CONTRACT_HUBSPOT_ACCESS_TOKEN"
SANDBOX_PREFIX = "AUDIENCE_PIPELINES_HUBSPOT_"
TEST_TOKEN = "pat-na1-contract-0000-1111-2222-hubspot-token"
UPSERT = "/crm/v3/objects/contacts/batch/upsert"
READ = "/crm/v3/objects/contacts/batch/read"
_BY_NAME = re.compile(r"^/crm/v3/lists/object-type-id/([^/]+)/name/(.+)$")
_LIST = re.compile(r"^/crm/v3/lists/(\d+)$")
_MEMBERSHIPS = re.compile(r"^/crm/v3/lists/(\d+)/memberships/(add|remove)$")
THROTTLE_BODY = {
    "status": "error",
    "message": "You have reached your ten_secondly_rolling limit.",
    "errorType": "RATE_LIMIT",
    "correlationId": "00000000-0000-0000-0000-000000000429",
    "policyName": "TEN_SECONDLY_ROLLING",
}


@dataclass
class _List:
    id: int
    name: str
    processing_type: str
    members: set[int] = field(default_factory=set)

    def json(self) -> dict[str, Any]:
        return {
            "listId": str(self.id),
            "name": self.name,
            "objectTypeId": "0-1",
            "processingType": self.processing_type,
            "size": len(self.members),
        }


class FakeHubSpot(FakeServer):
    """Strict fake HubSpot (lists, contacts batch upsert/read) for tests and the local sandbox.

    Contract counts: inputs of accepted contacts upsert / read requests (each member add or removal starts
    with one); the largest request is the most inputs or record ids one accepted contacts or membership
    request carried.
    """

    url_env: ClassVar[str] = "AUDIENCE_PIPELINES_SANDBOX_HUBSPOT_URL"

    def __init__(self, token: str = TEST_TOKEN, *, env_var: str = TEST_ENV, host: str = "127.0.0.1", port: int = 0):
        super().__init__(host=host, port=port)
        self.issued = token
        self.token = token
        self.env_var = env_var
        self._contact_ids = itertools.count(51)
        self._list_ids = itertools.count(1001)
        self._contacts: dict[int, dict[str, str]] = {}
        self._by_email: dict[str, int] = {}
        self._lists: dict[int, _List] = {}
        self._refused: dict[str, str] = {}
        self._throttles = 0
        self._member_delays: list[float] = []

    # ------------------------------------------------------------------ contract fake

    @classmethod
    def for_tests(cls) -> Self:
        return cls(TEST_TOKEN, env_var=TEST_ENV)

    @classmethod
    def for_sandbox(cls) -> Self:
        token = sandbox_credentials(SANDBOX_PREFIX, ["access_token"])["access_token"]
        fake = cls(token, env_var=SANDBOX_PREFIX + "ACCESS_TOKEN").start()
        os.environ[cls.url_env] = fake.base_url
        return fake

    def environment(self) -> dict[str, str]:
        return {self.env_var: self.issued}

    def destination(self, type_name: str) -> dict[str, Any]:
        return {"base_url": self.base_url, "credentials": {"access_token": self.env_var}, "settings": {}}

    def secrets(self) -> list[str]:
        return [self.issued]

    def held(self, config: DestinationConfig, list_id: str | None, sync: str) -> set[str]:
        """The emails of the list's members."""
        with self._lock:
            found = self._lists.get(int(list_id)) if list_id and list_id.isdigit() else None
            return {self._contacts[record]["email"] for record in (found.members if found else ())}

    def throttle_next(self) -> float | None:
        """The next contacts or membership request answers 429; HubSpot sends no Retry-After, so None."""
        self.throttle(1)
        return None

    def revoke_credentials(self) -> None:
        self.token = "revoked-" + self.issued

    def slow_down(self, seconds: float, times: int) -> None:
        with self._lock:
            self._member_delays.extend([seconds] * times)

    # ------------------------------------------------------------------ scripting and inspection

    def throttle(self, times: int) -> None:
        """The next ``times`` contacts or membership requests answer 429 (a storm)."""
        with self._lock:
            self._throttles += times

    def refuse_email(self, email: str, message: str = "Email address is invalid") -> None:
        """Upserts of this email get a per-input VALIDATION_ERROR (a 207)."""
        with self._lock:
            self._refused[email.lower()] = message

    def add_list(self, name: str, processing_type: str = "MANUAL") -> str:
        with self._lock:
            found = _List(next(self._list_ids), name, processing_type)
            self._lists[found.id] = found
            return str(found.id)

    def add_contact(self, email: str, **properties: str) -> str:
        with self._lock:
            return str(self._upsert_one(email.lower(), properties)[0])

    def delete_contact(self, email: str) -> None:
        """Delete a contact (it leaves every list), as a HubSpot user might."""
        with self._lock:
            record = self._by_email.pop(email.lower())
            del self._contacts[record]
            for found in self._lists.values():
                found.members.discard(record)

    def profile(self, email: str) -> dict[str, str] | None:
        with self._lock:
            record = self._by_email.get(email.lower())
            return dict(self._contacts[record]) if record is not None else None

    def profile_value(self, email: str, name: str) -> object | None:
        """A property of the contact with this email (``ProfileFake``)."""
        found = self.profile(email)
        return found.get(name) if found else None

    def list_ids(self) -> list[str]:
        with self._lock:
            return [str(number) for number in self._lists]

    def members(self, list_id: str) -> set[str]:
        return self.held(None, list_id, "")  # type: ignore[arg-type]

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "lists": {str(i): found.json() for i, found in self._lists.items()},
                "contacts": len(self._contacts),
            }

    def default_fault_body(self, status: int) -> Any:
        return rules.error_body(status)

    # ------------------------------------------------------------------ handling

    def handle(self, request: Request) -> Response:
        if request.header("authorization") != f"Bearer {self.token}":
            message = "Authentication credentials not found or invalid."
            return Response(401, rules.error_body(401, "INVALID_AUTHENTICATION", message))
        try:
            return self._route(request)
        except rules.ApiError as error:
            return Response(error.status, error.body)
        except _Throttled:
            limits = {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000", "X-HubSpot-RateLimit-Remaining": "0"}
            return Response(429, dict(THROTTLE_BODY), limits)

    def _route(self, request: Request) -> Response:
        method, path = request.method, request.path
        if path == "/crm/v3/lists" and method == "POST":
            return self._create(self._body(request))
        if (match := _BY_NAME.match(path)) and method == "GET":
            return self._find(match.group(1), match.group(2))
        if match := _LIST.match(path):
            if method == "GET":
                return Response(200, {"list": self._list(int(match.group(1))).json()})
            if method == "DELETE":
                with self._lock:
                    self._list(int(match.group(1)))
                    del self._lists[int(match.group(1))]
                return Response(204)
        if path in (UPSERT, READ) and method == "POST":
            self._member_request()
            return self._upsert(self._body(request)) if path == UPSERT else self._read(self._body(request))
        if (match := _MEMBERSHIPS.match(path)) and method == "PUT":
            self._member_request()
            return self._membership(int(match.group(1)), match.group(2), self._body(request))
        raise rules.ApiError(404, "OBJECT_NOT_FOUND", "No route for this method and path.")

    def _member_request(self) -> None:
        with self._lock:
            delay = self._member_delays.pop(0) if self._member_delays else 0.0
        if delay:
            self._stopping.wait(delay)
        with self._lock:
            if self._throttles:
                self._throttles -= 1
                raise _Throttled

    @staticmethod
    def _body(request: Request) -> Any:
        if request.content_type != "application/json":
            raise rules.ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json.")
        try:
            return request.json()
        except BodyError:
            raise rules.ApiError(400, "VALIDATION_ERROR", "Invalid input JSON.") from None

    def _list(self, number: int) -> _List:
        with self._lock:
            found = self._lists.get(number)
        if found is None:
            raise rules.ApiError(404, "OBJECT_NOT_FOUND", f"List {number} does not exist.")
        return found

    def _find(self, object_type: str, name: str) -> Response:
        if object_type != "0-1":
            raise rules.ApiError(400, "VALIDATION_ERROR", "This account has contact lists (0-1) only.")
        with self._lock:
            found = next((item for item in self._lists.values() if item.name.lower() == name.lower()), None)
        if found is None:
            raise rules.ApiError(404, "OBJECT_NOT_FOUND", "List does not exist with the given name.")
        return Response(200, {"list": found.json()})

    def _create(self, body: Any) -> Response:
        if (problem := rules.create_problem(body)) is not None:
            raise problem
        with self._lock:
            if any(item.name.lower() == body["name"].lower() for item in self._lists.values()):
                raise rules.ApiError(
                    400, "VALIDATION_ERROR", "A list with this name exists.", "ILS.DUPLICATE_LIST_NAMES"
                )
            created = _List(next(self._list_ids), body["name"], body["processingType"])
            self._lists[created.id] = created
        return Response(200, {"list": created.json()})

    def _upsert_one(self, email: str, properties: dict[str, str]) -> tuple[int, bool]:
        record = self._by_email.get(email)
        new = record is None
        if record is None:
            record = next(self._contact_ids)
            self._by_email[email] = record
            self._contacts[record] = {"email": email, "hs_object_id": str(record)}
        self._contacts[record].update({**properties, "email": email})
        return record, new

    def _upsert(self, body: Any) -> Response:
        inputs = rules.inputs_of(body, frozenset({"inputs"}), frozenset({"inputs"}))
        emails = [
            item.get("id", "").lower() if isinstance(item, dict) and isinstance(item.get("id"), str) else ""
            for item in inputs
        ]
        if len(set(emails)) != len(emails):
            raise rules.ApiError(400, "VALIDATION_ERROR", "Duplicate IDs found in batch input.")
        results, errors = [], []
        with self._lock:
            for item, email in zip(inputs, emails, strict=True):
                problem = rules.upsert_problem(item)
                if problem is None and not rules.valid_email(email):
                    problem = "Email address is invalid"
                problem = problem or self._refused.get(email)
                if problem is not None:
                    errors.append(
                        {
                            "status": "error",
                            "category": "VALIDATION_ERROR",
                            "message": problem,
                            "context": {"ids": [item.get("id") if isinstance(item, dict) else ""]},
                        }
                    )
                    continue
                record, new = self._upsert_one(email, item["properties"])
                results.append(
                    {"id": str(record), "properties": dict(self._contacts[record]), "new": new, "archived": False}
                )
            self.count_rows(len(inputs))
        return self._batch_answer(results, errors)

    def _read(self, body: Any) -> Response:
        inputs = rules.inputs_of(body, rules.READ_KEYS, frozenset({"inputs"}))
        if not all(isinstance(item, dict) and set(item) == {"id"} and isinstance(item["id"], str) for item in inputs):
            raise rules.ApiError(400, "VALIDATION_ERROR", "Each input is {id}.")
        wanted = body.get("properties", [])
        results, missing = [], []
        with self._lock:
            for item in inputs:
                record = self._by_email.get(item["id"].lower())
                if record is None:
                    missing.append(item["id"])
                    continue
                props = {k: v for k, v in self._contacts[record].items() if k in wanted or k == "hs_object_id"}
                results.append({"id": str(record), "properties": props, "archived": False})
            self.count_rows(len(inputs))
        message = "Could not get some CONTACT objects, they may be deleted or not exist."
        errors = [{"status": "error", "category": "OBJECT_NOT_FOUND", "message": message, "context": {"ids": missing}}]
        return self._batch_answer(results, errors if missing else [])

    @staticmethod
    def _batch_answer(results: list[dict[str, Any]], errors: list[dict[str, Any]]) -> Response:
        stamps = {"startedAt": "2026-06-01T00:00:00Z", "completedAt": "2026-06-01T00:00:01Z"}
        answer = {"status": "COMPLETE", "results": results[::-1], **stamps}  # HubSpot promises no order
        if not errors:
            return Response(200, answer)
        return Response(207, {**answer, "numErrors": len(errors), "errors": errors})

    def _membership(self, number: int, operation: str, body: Any) -> Response:
        if not isinstance(body, list) or not all(isinstance(i, str) and i.isdigit() for i in body):
            raise rules.ApiError(400, "VALIDATION_ERROR", "The body is a JSON array of record id strings.")
        if len(body) > rules.MAX_MEMBERSHIP_IDS:
            raise rules.ApiError(400, "VALIDATION_ERROR", f"At most {rules.MAX_MEMBERSHIP_IDS} record ids.")
        with self._lock:
            target = self._list(number)
            if target.processing_type == "DYNAMIC":
                raise rules.ApiError(400, "VALIDATION_ERROR", "Memberships of DYNAMIC lists cannot be changed.")
            ids = list(dict.fromkeys(int(i) for i in body))
            missing = [i for i in ids if i not in self._contacts]
            present = [i for i in ids if i in self._contacts]
            if operation == "add":
                changed = [i for i in present if i not in target.members]
                target.members.update(changed)
                key = "recordsIdsAdded"
            else:
                changed = [i for i in present if i in target.members]
                target.members.difference_update(changed)
                key = "recordIdsRemoved"
            self.count_rows(len(body), received=False)
        return Response(200, {"recordIdsMissing": [str(i) for i in missing], key: [str(i) for i in changed]})


class _Throttled(Exception):
    """Raised inside handling to answer HubSpot's 429."""
