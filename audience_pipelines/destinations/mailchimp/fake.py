"""A strict fake of the Mailchimp Marketing API v3 (audience members and tags), on 127.0.0.1.

Serves under ``/3.0`` (the prefix optional): ``POST /lists/{list}`` (batch subscribe/update), ``GET`` / ``POST
/lists/{list}/segments`` (find and create static segments), ``GET /lists/{list}/segments/{id}`` and ``POST
/lists/{list}/segments/{id}`` (batch add/remove). Every call needs HTTP Basic auth whose password is the API key,
and the key's ``-dc`` suffix must name the fake's data center. Members are keyed by subscriber hash (MD5 of the
lower-cased email) and keep their status and merge fields when untagged. Bodies and keys are never logged.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import os
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from audience_pipelines.destinations.mailchimp import fake_rules as rules
from audience_pipelines.destinations.mailchimp.payloads import subscriber_hash
from audience_pipelines.destinations.settings import DestinationConfig
from audience_pipelines.sandbox.server import BodyError, FakeServer, Request, Response

LIST_ID = "a1b2c3d4e5"
DATA_CENTER = "us21"
ROOT = "/3.0"
SANDBOX_KEY_ENV = "AUDIENCE_PIPELINES_MAILCHIMP_API_KEY"
TEST_KEY_ENV = "CONTRACT_MAILCHIMP_API_KEY"
TEST_KEY = "0123456789abcdef0123456789abcdef-us21"
_PATH = re.compile(r"^(?:/3\.0)?/lists/([A-Za-z0-9]+)(?:/segments(?:/(\d+))?)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def new_key(center: str = DATA_CENTER) -> str:
    return f"{secrets.token_hex(16)}-{center}"


@dataclass
class _Member:
    email: str
    status: str
    merge_fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Segment:
    id: int
    name: str
    type: str = "static"
    members: set[str] = field(default_factory=set)  # subscriber hashes


@dataclass
class _Audience:
    id: str
    members: dict[str, _Member] = field(default_factory=dict)  # subscriber hash -> member
    segments: dict[int, _Segment] = field(default_factory=dict)


class FakeMailchimp(FakeServer):
    """Strict fake Mailchimp Marketing API for tests and the local sandbox.

    Contract counts: members in accepted tag (segment) requests, one per member per operation.
    """

    url_env: ClassVar[str] = "AUDIENCE_PIPELINES_SANDBOX_MAILCHIMP_URL"

    def __init__(
        self,
        api_key: str = TEST_KEY,
        *,
        key_env: str = TEST_KEY_ENV,
        list_id: str = LIST_ID,
        data_center: str = DATA_CENTER,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self.key_env = key_env
        self.list_id = list_id
        self.data_center = data_center
        self._issued = [api_key]
        self._ids = itertools.count(30_001)
        self._audiences = {list_id: _Audience(list_id)}
        self._throttles: list[int] = []  # statuses of the next member requests (429, or a bare 403)
        self._member_delays: list[float] = []

    # ------------------------------------------------------------------ contract fake

    @classmethod
    def for_tests(cls) -> Self:
        return cls(TEST_KEY, key_env=TEST_KEY_ENV)

    @classmethod
    def for_sandbox(cls) -> Self:
        os.environ.setdefault(SANDBOX_KEY_ENV, new_key())
        key = os.environ[SANDBOX_KEY_ENV]
        center = key.rsplit("-", 1)[-1] if "-" in key else DATA_CENTER
        fake = cls(key, key_env=SANDBOX_KEY_ENV, data_center=center).start()
        os.environ[cls.url_env] = fake.base_url + ROOT
        return fake

    def environment(self) -> dict[str, str]:
        return {self.key_env: self.api_key}

    def destination(self, type_name: str) -> dict[str, Any]:
        return {
            "base_url": self.base_url + ROOT,
            "credentials": {"api_key": self.key_env},
            "settings": {"list_id": self.list_id},
        }

    def secrets(self) -> list[str]:
        with self._lock:
            keys = list(self._issued)
        return keys + [base64.b64encode(f"audience-pipelines:{key}".encode()).decode() for key in keys]

    def held(self, config: DestinationConfig, list_id: str | None, sync: str) -> set[str]:
        """The email addresses of the tag's members."""
        if list_id is None:
            return set()
        audience_id = getattr(getattr(config, "settings", None), "list_id", self.list_id)
        with self._lock:
            audience = self._audiences.get(audience_id)
            segment = audience.segments.get(int(list_id)) if audience else None
            return {audience.members[h].email for h in segment.members} if audience and segment else set()

    def throttle_next(self) -> float | None:
        """The next member request answers 429; Mailchimp sends no Retry-After, so None."""
        with self._lock:
            self._throttles.append(429)
        return None

    def throttle_next_with_bare_403(self) -> None:
        """The next member request answers the bare 403 Mailchimp gives at high volume."""
        with self._lock:
            self._throttles.append(403)

    def revoke_credentials(self) -> None:
        with self._lock:
            self.api_key = new_key(self.data_center)
            self._issued.append(self.api_key)

    def slow_down(self, seconds: float, times: int) -> None:
        with self._lock:
            self._member_delays.extend([seconds] * times)

    # ------------------------------------------------------------------ scripting and inspection

    def add_segment(self, name: str, *, segment_type: str = "static") -> str:
        """Create a segment directly; returns its id."""
        with self._lock:
            segment = _Segment(next(self._ids), name, segment_type)
            self._audiences[self.list_id].segments[segment.id] = segment
            return str(segment.id)

    def add_member(self, email: str, status: str = "subscribed", **merge_fields: Any) -> None:
        """Put a contact in the audience directly (e.g. one who unsubscribed earlier)."""
        with self._lock:
            self._audiences[self.list_id].members[subscriber_hash(email)] = _Member(email, status, merge_fields)

    def profile(self, email: str) -> dict[str, Any] | None:
        """A contact's status, merge fields and tag names (None when the audience has no such contact)."""
        with self._lock:
            audience = self._audiences[self.list_id]
            member = audience.members.get(subscriber_hash(email))
            if member is None:
                return None
            tags = sorted(s.name for s in audience.segments.values() if subscriber_hash(email) in s.members)
            return {"status": member.status, "merge_fields": dict(member.merge_fields), "tags": tags}

    def profile_value(self, email: str, name: str) -> object | None:
        """The merge field ``name`` of the contact with this email (``ProfileFake``)."""
        with self._lock:
            member = self._audiences[self.list_id].members.get(subscriber_hash(email))
            return member.merge_fields.get(name) if member is not None else None

    def segment_ids(self) -> list[str]:
        with self._lock:
            return [str(number) for number in self._audiences[self.list_id].segments]

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                audience.id: {
                    "members": len(audience.members),
                    "tags": {
                        str(s.id): {"name": s.name, "members": len(s.members)} for s in audience.segments.values()
                    },
                }
                for audience in self._audiences.values()
            }

    def default_fault_body(self, status: int) -> Any:
        return rules.problem(status)

    # ------------------------------------------------------------------ handling

    def handle(self, request: Request) -> Response:
        try:
            self._authorize(request)
            match = _PATH.match(request.path)
            if match is None:
                raise rules.ApiError(404, "Resource Not Found", "The requested resource could not be found.")
            with self._lock:
                audience = self._audiences.get(match.group(1))
            if audience is None:
                raise rules.ApiError(404, "Resource Not Found", "The requested resource could not be found.")
            return self._route(request, audience, request.path.endswith("/segments"), match.group(2))
        except rules.ApiError as error:
            return Response(error.status, error.body, {"Content-Type": "application/problem+json"})
        except _Bare403:
            return Response(403, "")

    def _authorize(self, request: Request) -> None:
        scheme, _, encoded = (request.header("authorization") or "").partition(" ")
        try:
            _, _, key = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            key = ""
        with self._lock:
            valid = scheme.lower() == "basic" and secrets.compare_digest(key, self.api_key)
        if not valid or not key.endswith(f"-{self.data_center}"):
            raise rules.ApiError(
                401,
                "API Key Invalid",
                "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
            )

    def _route(self, request: Request, audience: _Audience, collection: bool, segment_id: str | None) -> Response:
        if request.method == "GET" and collection:
            return self._list_segments(request, audience)
        if request.method == "GET" and segment_id is not None:
            with self._lock:
                return Response(200, self._segment_json(audience, self._segment(audience, segment_id)))
        if request.method != "POST":
            raise rules.ApiError(405, "Method Not Allowed", "The requested method is not allowed.")
        body = self._body(request)
        if collection:
            return self._create_segment(audience, body)
        self._member_request()
        if segment_id is None:
            return self._subscribe(audience, body)
        return self._batch_segment(audience, segment_id, body)

    def _body(self, request: Request) -> Any:
        if request.content_type != "application/json":
            raise rules.invalid("Send application/json.")
        try:
            return request.json()
        except BodyError:
            raise rules.ApiError(400, "JSON Parse Exception", "The body is not valid JSON.") from None

    def _member_request(self) -> None:
        with self._lock:
            delay = self._member_delays.pop(0) if self._member_delays else 0.0
        if delay:
            self._stopping.wait(delay)
        with self._lock:
            status = self._throttles.pop(0) if self._throttles else None
        if status == 403:
            raise _Bare403
        if status == 429:
            raise rules.ApiError(
                429, "Too Many Requests", "You have exceeded the limit of 10 simultaneous connections."
            )

    def _list_segments(self, request: Request, audience: _Audience) -> Response:
        try:
            count = min(int(request.query.get("count", "10")), 1000)
            offset = int(request.query.get("offset", "0"))
        except ValueError:
            raise rules.invalid("count and offset are integers.") from None
        with self._lock:
            found = [
                self._segment_json(audience, s)
                for s in audience.segments.values()
                if request.query.get("type", s.type) == s.type
            ]
        page = found[offset : offset + count]
        return Response(200, {"segments": page, "list_id": audience.id, "total_items": len(found)})

    def _create_segment(self, audience: _Audience, body: Any) -> Response:
        if not isinstance(body, dict) or set(body) != {"name", "static_segment"} or body["static_segment"] != []:
            raise rules.invalid("Create a tag with {name, static_segment: []}.")
        name = body["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise rules.invalid("name must be a non-empty string of at most 100 characters.")
        with self._lock:
            if any(s.name == name for s in audience.segments.values()):
                raise rules.invalid("A tag or segment with this name already exists.")
            segment = _Segment(next(self._ids), name)
            audience.segments[segment.id] = segment
            return Response(200, self._segment_json(audience, segment))

    def _subscribe(self, audience: _Audience, body: Any) -> Response:
        members = rules.check_subscribe(body)
        update = body.get("update_existing", False)
        new, updated, errors = [], [], []
        with self._lock:
            for row in members:
                email, status = row["email_address"], row["status"]
                existed = subscriber_hash(email) in audience.members
                error = self._upsert(audience, email, status, row.get("merge_fields", {}), update)
                if error is not None:
                    errors.append({"email_address": email, "error": error[1], "error_code": error[0], "field": ""})
                    continue
                member = audience.members[subscriber_hash(email)]
                answer = {"id": subscriber_hash(email), "email_address": member.email, "status": member.status}
                (updated if existed else new).append(answer)
            self.count_rows(len(members), received=False)
        return Response(
            200,
            {
                "new_members": new,
                "updated_members": updated,
                "errors": errors,
                "total_created": len(new),
                "total_updated": len(updated),
                "error_count": len(errors),
            },
        )

    def _upsert(
        self, audience: _Audience, email: str, status: str, merge: dict[str, Any], update: bool
    ) -> tuple[str, str] | None:
        """Create or update one contact; an (error_code, error) pair when Mailchimp refuses it."""
        if not _EMAIL.match(email):
            return "ERROR_GENERIC", f"{email} looks fake or invalid, please enter a real email address."
        if (problem := rules.merge_problem(merge)) is not None:
            return "ERROR_GENERIC", f"Your merge fields were invalid: {problem}"
        key = subscriber_hash(email)
        member = audience.members.get(key)
        if member is None:
            audience.members[key] = _Member(email, status, dict(merge))
            return None
        if not update:
            return "ERROR_CONTACT_EXISTS", f"{email} is already a list member."
        if member.status in ("unsubscribed", "cleaned") and status in ("subscribed", "pending"):
            return "ERROR_GENERIC", f"{email} is in a compliance state and cannot be subscribed."
        member.status = status
        member.merge_fields.update(merge)
        return None

    def _batch_segment(self, audience: _Audience, segment_id: str, body: Any) -> Response:
        to_add, to_remove = rules.check_segment(body)
        added, removed, errors = [], [], []
        with self._lock:
            segment = self._segment(audience, segment_id)
            if segment.type != "static":
                raise rules.invalid("Members can only be added to or removed from static segments.")
            missing = []
            for email in to_add:
                key = subscriber_hash(email)
                if key not in audience.members:
                    missing.append(email)
                elif key not in segment.members:
                    segment.members.add(key)
                    added.append({"id": key, "email_address": audience.members[key].email})
            for email in to_remove:
                key = subscriber_hash(email)
                if key in segment.members:
                    segment.members.discard(key)
                    removed.append({"id": key, "email_address": audience.members[key].email})
            if missing:
                errors.append({"email_addresses": missing, "error": "Email addresses are not list members."})
            items = len(to_add) + len(to_remove)
            self.count_rows(items)
        answer = {
            "members_added": added,
            "members_removed": removed,
            "errors": errors,
            "total_added": len(added),
            "total_removed": len(removed),
            "error_count": len(errors),
        }
        return Response(200, answer)

    @staticmethod
    def _segment(audience: _Audience, segment_id: str) -> _Segment:
        segment = audience.segments.get(int(segment_id))
        if segment is None:
            raise rules.ApiError(404, "Resource Not Found", "The requested segment could not be found.")
        return segment

    @staticmethod
    def _segment_json(audience: _Audience, segment: _Segment) -> dict[str, Any]:
        return {
            "id": segment.id,
            "name": segment.name,
            "type": segment.type,
            "member_count": len(segment.members),
            "list_id": audience.id,
        }


class _Bare403(Exception):
    """Internal: answer a bare 403 (no problem body), as Mailchimp does under heavy load."""
