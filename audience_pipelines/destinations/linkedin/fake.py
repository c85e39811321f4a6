"""A strict fake of LinkedIn's Matched Audiences (DMP segment) API, on 127.0.0.1.

Serves the OAuth token endpoint (``POST /oauth/v2/accessToken``, refresh-token grant, expiring access tokens)
and, under ``/rest``: ``GET dmpSegments?q=account`` (finder), ``POST dmpSegments`` (create; id in the
``x-linkedin-id`` and ``x-restli-id`` headers), ``GET`` / ``DELETE dmpSegments/{id}`` and
``POST dmpSegments/{id}/users`` (BATCH_CREATE, one status per element). Every /rest call needs a live bearer
token, a served ``LinkedIn-Version`` and ``X-Restli-Protocol-Version: 2.0.0``. Bodies and tokens are never
logged.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from audience_pipelines.destinations.linkedin import fake_rules as rules
from audience_pipelines.destinations.settings import DestinationConfig
from audience_pipelines.sandbox.matching import count_matched
from audience_pipelines.sandbox.oauth import FakeTokenEndpoint, OAuthCredentialsFake, fresh_credentials
from audience_pipelines.sandbox.server import BodyError, FakeServer, Request, Response, member_labels

AD_ACCOUNT = "508123456"
SOURCE_PLATFORM = "AUDIENCE_PIPELINES"
TOKEN_PATH = "/oauth/v2/accessToken"
SANDBOX_PREFIX = "AUDIENCE_PIPELINES_LINKEDIN_"
TEST_PREFIX = "CONTRACT_LINKEDIN_"
CREDENTIALS = ("client_id", "client_secret", "refresh_token")
_SEGMENT = re.compile(r"^/rest/dmpSegments/(\d+)(/users)?$")
Identity = frozenset[tuple[str, str]]


@dataclass
class _Segment:
    id: int
    name: str
    type: str
    source_platform: str
    source_segment_id: str
    members: dict[Identity, None] = field(default_factory=dict)  # an ordered set


class FakeLinkedIn(OAuthCredentialsFake, FakeServer):
    """Strict fake LinkedIn Marketing API (DMP segments) with OAuth, for tests and the local sandbox."""

    credential_fields: ClassVar[tuple[str, ...]] = CREDENTIALS
    test_prefix: ClassVar[str] = TEST_PREFIX
    sandbox_prefix: ClassVar[str] = SANDBOX_PREFIX

    url_env: ClassVar[str] = "AUDIENCE_PIPELINES_SANDBOX_LINKEDIN_URL"

    def __init__(
        self,
        credentials: dict[str, str] | None = None,
        *,
        ad_account: str = AD_ACCOUNT,
        env_prefix: str = TEST_PREFIX,
        token_lifetime: int = 5_183_999,
        active_versions: tuple[str, str] = rules.ACTIVE_VERSIONS,
        max_elements: int = rules.MAX_ELEMENTS,
        clock: Callable[[], float] = time.monotonic,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.credentials = dict(credentials or fresh_credentials(CREDENTIALS))
        self.ad_account = ad_account
        self.env_prefix = env_prefix
        self.active_versions = active_versions
        self.max_elements = max_elements
        self._clock = clock
        self._ids = itertools.count(7_000_001)
        self.tokens = FakeTokenEndpoint(
            self.credentials,
            lifetime=token_lifetime,
            token_prefix="AQV-fake-",
            clock=clock,
            answer={"refresh_token_expires_in": 31_535_999, "scope": "rw_dmp_segments"},
        )
        self._segments: dict[int, _Segment] = {}
        self._throttles = 0
        self._member_delays: list[float] = []

    @property
    def account_urn(self) -> str:
        return f"urn:li:sponsoredAccount:{self.ad_account}"

    # ------------------------------------------------------------------ contract fake

    def destination(self, type_name: str) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "credentials": self.credential_variables(),
            "settings": {
                "ad_account_id": self.ad_account,
                "source_platform": SOURCE_PLATFORM,
                "token_url": self.url(TOKEN_PATH),
            },
        }

    def held(self, config: DestinationConfig, list_id: str | None, sync: str) -> set[str]:
        """Each member's SHA256_EMAIL, or all its ids when it has none (one label per member)."""
        if list_id is None:
            return set()
        with self._lock:
            segment = self._segments.get(int(list_id.rsplit(":", 1)[-1]))
            return member_labels(_label_pair(member) for member in (segment.members if segment else {}))

    @property
    def token_requests(self) -> int:
        """Grants asked of the token endpoint so far."""
        return self.tokens.requests

    def throttle_next(self) -> float | None:
        """The next /users request answers 429; LinkedIn documents no wait, so None."""
        with self._lock:
            self._throttles += 1
        return None

    def revoke_credentials(self) -> None:
        self.tokens.revoke()

    def slow_down(self, seconds: float, times: int) -> None:
        with self._lock:
            self._member_delays.extend([seconds] * times)

    # ------------------------------------------------------------------ scripting and inspection

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (the refresh token still works)."""
        self.tokens.expire()

    def add_segment(self, name: str, *, segment_type: str = "USER", source_platform: str = SOURCE_PLATFORM) -> str:
        """Create a segment directly (``sourceSegmentId`` = name); returns its id."""
        with self._lock:
            segment = _Segment(next(self._ids), name, segment_type, source_platform, name)
            self._segments[segment.id] = segment
            return str(segment.id)

    def members(self, segment_id: str) -> list[set[tuple[str, str]]]:
        """Members of a segment, each as its set of ``(idType, idValue)``."""
        with self._lock:
            return [set(member) for member in self._segments[int(segment_id)].members]

    def matched_members(self, list_id: str) -> int:
        """Members of the segment the fake counts as matched (its matchedCount)."""
        with self._lock:
            return _matched(self._segment(int(list_id)).members)

    def segment_ids(self) -> list[str]:
        with self._lock:
            return [str(number) for number in self._segments]

    def state(self) -> dict[str, Any]:
        with self._lock:
            segments = {
                str(s.id): {"name": s.name, "type": s.type, "members": len(s.members)} for s in self._segments.values()
            }
            return {"ad_account": self.ad_account, "segments": segments}

    def default_fault_body(self, status: int) -> Any:
        return rules.error_body(status)

    # ------------------------------------------------------------------ handling

    def handle(self, request: Request) -> Response:
        if request.path == TOKEN_PATH:
            return self.tokens.grant(request)
        if not request.path.startswith("/rest/"):
            return Response(404, rules.error_body(404, "NOT_FOUND", "No such resource."))
        try:
            self._authorize(request)
            return self._route(request)
        except rules.ApiError as error:
            return Response(error.status, error.body)

    def _route(self, request: Request) -> Response:
        if request.path == "/rest/dmpSegments":
            if request.method == "GET":
                return self._find(request)
            if request.method == "POST":
                return self._create(request)
            raise rules.ApiError(405, "METHOD_NOT_ALLOWED", "Method not allowed.")
        route = _SEGMENT.match(request.path)
        if route is None:
            raise rules.ApiError(404, "NOT_FOUND", "No such resource.")
        number = int(route.group(1))
        if route.group(2):
            if request.method != "POST":
                raise rules.ApiError(405, "METHOD_NOT_ALLOWED", "Method not allowed.")
            return self._users(request, number)
        if request.method == "GET":
            with self._lock:
                return Response(200, self._json(self._segment(number)))
        if request.method == "DELETE":
            with self._lock:
                self._segment(number)
                del self._segments[number]
            return Response(204)
        raise rules.ApiError(405, "METHOD_NOT_ALLOWED", "Method not allowed.")

    def _authorize(self, request: Request) -> None:
        state = self.tokens.state(request.header("authorization"))
        if state != "live":
            code = "EXPIRED_ACCESS_TOKEN" if state == "expired" else "INVALID_ACCESS_TOKEN"
            raise rules.ApiError(401, code, "Invalid access token")
        rules.check_version(request.header("linkedin-version"), self.active_versions)
        if request.header("x-restli-protocol-version") != "2.0.0":
            raise rules.ApiError(400, "PROTOCOL_VERSION", "X-Restli-Protocol-Version: 2.0.0 is required.")

    def _segment(self, number: int) -> _Segment:
        segment = self._segments.get(number)
        if segment is None:
            raise rules.ApiError(404, "NOT_FOUND", f"DmpSegment {number} does not exist.")
        return segment

    def _json(self, segment: _Segment) -> dict[str, Any]:
        return {
            "id": segment.id,
            "name": segment.name,
            "type": segment.type,
            "account": self.account_urn,
            "sourcePlatform": segment.source_platform,
            "sourceSegmentId": segment.source_segment_id,
            "inputCount": len(segment.members),
            "destinations": [
                {
                    "destination": "LINKEDIN",
                    "status": "READY",
                    "matchedCount": _matched(segment.members),
                    "audienceSize": _matched(segment.members) * 9 // 10,
                }
            ],
        }

    @staticmethod
    def _body(request: Request) -> Any:
        if request.content_type != "application/json":
            raise rules.ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json.")
        try:
            return request.json()
        except BodyError:
            raise rules.ApiError(400, "INVALID_BODY", "The body is not JSON.") from None

    def _find(self, request: Request) -> Response:
        query = request.query
        if query.get("q") != "account" or "account" not in query:
            raise rules.ApiError(400, "QUERY_PARAM_MISSING", "q=account and account are required.")
        if query["account"] != self.account_urn:
            raise rules.ApiError(403, "ACCESS_DENIED", "Not enough permissions to access the ad account.")
        with self._lock:
            found = [
                self._json(s)
                for s in self._segments.values()
                if query.get("sourceSegmentId", s.source_segment_id) == s.source_segment_id
                and query.get("sourcePlatform", s.source_platform) == s.source_platform
            ]
        return Response(200, {"elements": found, "paging": {"start": 0, "count": len(found), "total": len(found)}})

    def _create(self, request: Request) -> Response:
        body = self._body(request)
        if (problem := rules.create_problem(body, self.account_urn)) is not None:
            raise problem
        with self._lock:
            key = (body["sourcePlatform"], body["sourceSegmentId"])
            if any((s.source_platform, s.source_segment_id) == key for s in self._segments.values()):
                raise rules.ApiError(409, "DUPLICATE", "A segment with this sourceSegmentId already exists.")
            segment = _Segment(next(self._ids), body["name"], body["type"], *key)
            self._segments[segment.id] = segment
        ids = {"x-linkedin-id": str(segment.id), "x-restli-id": str(segment.id)}
        return Response(201, None, {**ids, "Location": f"/rest/dmpSegments/{segment.id}"})

    def _users(self, request: Request, number: int) -> Response:
        with self._lock:
            delay = self._member_delays.pop(0) if self._member_delays else 0.0
        if delay:
            self._stopping.wait(delay)
        with self._lock:
            if self._throttles:
                self._throttles -= 1
                raise rules.ApiError(429, "TOO_MANY_REQUESTS", "Resource level throttle limit reached.")
        if request.header("x-restli-method") != "BATCH_CREATE":
            raise rules.ApiError(400, "INVALID_METHOD", "X-RestLi-Method: BATCH_CREATE is required.")
        body = self._body(request)
        elements = body.get("elements") if isinstance(body, dict) and set(body) == {"elements"} else None
        if not isinstance(elements, list) or not elements:
            raise rules.ApiError(400, "INVALID_BODY", "The body must be {elements: [...]} with at least one element.")
        if len(elements) > self.max_elements:
            raise rules.ApiError(400, "TOO_MANY_ELEMENTS", f"At most {self.max_elements} elements per request.")
        with self._lock:
            segment = self._segment(number)
            if segment.type != "USER":
                raise rules.ApiError(400, "INVALID_SEGMENT_TYPE", "Users can only be added to USER segments.")
            statuses = [self._apply(segment, element) for element in elements]
            self.count_rows(len(elements))
        return Response(200, {"elements": statuses})

    @staticmethod
    def _apply(segment: _Segment, element: Any) -> dict[str, Any]:
        """Apply one element; adding a present member or removing an absent one is still 201 (by design).

        A removal takes out the identical member, or, when none is identical, every member sharing an id.
        """
        if (problem := rules.element_problem(element)) is not None:
            return {"status": 400, "error": {"code": "INVALID_ELEMENT", "message": problem}}
        identity = frozenset((user_id["idType"], user_id["idValue"]) for user_id in element["userIds"])
        if element["action"] == "ADD":
            segment.members[identity] = None
        elif identity in segment.members:
            del segment.members[identity]
        else:
            segment.members = {member: None for member in segment.members if not member & identity}
        return {"status": 201}


def _matched(members: Any) -> int:
    return count_matched((value for _, value in member) for member in members)


def _label_pair(member: Identity) -> tuple[str | None, str]:
    """A member's SHA256_EMAIL (if any) and its whole identity, for :func:`member_labels`."""
    emails = sorted(value for kind, value in member if kind == "SHA256_EMAIL")
    return (emails[0] if emails else None), "|".join(f"{kind}={value}" for kind, value in sorted(member))
