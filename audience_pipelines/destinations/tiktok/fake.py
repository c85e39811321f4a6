"""A strict fake of the TikTok Business API endpoints the TikTok destinations use, on 127.0.0.1.

Under ``/open_api/v1.3/``: ``GET dmp/custom_audience/list/`` (paged), ``GET dmp/custom_audience/get/``,
``POST segment/audience/`` (create; duplicate names allowed, like TikTok), ``POST segment/mapping/``
(add | delete), ``POST dmp/custom_audience/delete/`` and ``POST event/track/``. Every call needs the
``Access-Token`` header; application errors are HTTP 200 with ``code != 0`` (40104 no token, 40105 wrong token,
40001 another advertiser, 40002 parameter error, 40100 throttled). Bodies and tokens are never logged.
"""

from __future__ import annotations

import copy
import hmac
import itertools
import json
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from audience_pipelines.destinations.tiktok import fake_rules as rules
from audience_pipelines.destinations.tiktok.settings import AUDIENCE_FIELDS, EMAIL
from audience_pipelines.sandbox.server import BodyError, FakeServer, Request, Response, member_labels

URL_ENV = "AUDIENCE_PIPELINES_SANDBOX_TIKTOK_URL"
SANDBOX_TOKEN_ENV = "AUDIENCE_PIPELINES_TIKTOK_ACCESS_TOKEN"
TEST_TOKEN_ENV = "CONTRACT_TIKTOK_ACCESS_TOKEN"
ADVERTISER_ID = "7000000000000000001"
PIXEL_CODE = "CSANDBOXPIXEL0000001"
PREFIX = "/open_api/v1.3/"
MEMBER_ENDPOINTS = frozenset({"segment/mapping", "event/track"})
MAX_PAGE_SIZE = 100
MAX_NAME_LENGTH = 128


@dataclass
class _Audience:
    id: str
    name: str
    created: int
    #: identity (the exact identifiers sent) -> the member, insertion-ordered
    members: dict[frozenset[tuple[str, str]], dict[str, str]] = field(default_factory=dict)


@dataclass
class _Pixel:
    events: list[dict[str, Any]] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    duplicates: int = 0


def member_label(member: dict[str, str], *, whole: bool = False) -> str:
    """How ``held`` names a member: its EMAIL_SHA256, else ``<id type>:<hash>`` of its first identifier
    (``whole``: every identifier, for members that share an email)."""
    if whole:
        return "|".join(f"{name}={value}" for name, value in sorted(member.items()))
    if member.get(EMAIL):
        return member[EMAIL]
    name = next(name for name in AUDIENCE_FIELDS if name in member)
    return f"{name}:{member[name]}"


def _shares_id(member: dict[str, str], ids: dict[str, str]) -> bool:
    return any(member.get(name) == value for name, value in ids.items())


class FakeTikTok(FakeServer):
    """Strict fake Business API for one advertiser and its pixels (see the module docstring)."""

    url_env: ClassVar[str] = URL_ENV

    def __init__(
        self,
        access_token: str,
        advertiser_id: str = ADVERTISER_ID,
        *,
        pixel_codes: Iterable[str] = (PIXEL_CODE,),
        token_env: str = TEST_TOKEN_ENV,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(host=host, port=port)
        self.advertiser_id = advertiser_id
        self.token_env = token_env
        self._token = access_token
        self._tokens = [access_token]
        self._clock = clock
        self._audiences: dict[str, _Audience] = {}
        self._pixels = {str(code): _Pixel() for code in pixel_codes}
        self._ids = itertools.count(1_800_000_001)
        self._throttles = 0
        self._counters = {"rows_received": 0, "largest_request": 0, "mapping_requests": 0, "track_requests": 0}

    # ------------------------------------------------------------------ contract fake

    @classmethod
    def for_tests(cls) -> Self:
        return cls("tt-contract-" + secrets.token_urlsafe(24))

    @classmethod
    def for_sandbox(cls) -> Self:
        if not os.environ.get(SANDBOX_TOKEN_ENV):
            os.environ[SANDBOX_TOKEN_ENV] = secrets.token_urlsafe(32)
        fake = cls(os.environ[SANDBOX_TOKEN_ENV], token_env=SANDBOX_TOKEN_ENV).start()
        os.environ[URL_ENV] = fake.base_url
        return fake

    def environment(self) -> dict[str, str]:
        with self._lock:
            return {self.token_env: self._token}

    def destination(self, type_name: str) -> dict[str, Any]:
        if type_name == "tiktok_audiences":
            settings: dict[str, Any] = {"advertiser_id": self.advertiser_id, "calculate_type": "multiple"}
        elif type_name == "tiktok_events":
            settings = {"event_source_id": next(iter(self._pixels))}
        else:
            raise ValueError(f"FakeTikTok serves tiktok_audiences and tiktok_events, not {type_name!r}")
        return {"base_url": self.base_url, "credentials": {"access_token": self.token_env}, "settings": settings}

    def secrets(self) -> list[str]:
        with self._lock:
            return list(self._tokens)

    def held(self, config: Any, list_id: str | None, sync: str) -> set[str]:
        """Audience members (by EMAIL_SHA256), or members whose latest event for ``sync`` is an add."""
        with self._lock:
            if list_id is not None:
                audience = self._audiences.get(list_id)
                members = audience.members.values() if audience else ()
                return member_labels((m.get(EMAIL), member_label(m, whole=True)) for m in members)
            pixel = self._pixels.get(config.settings.event_source_id)
            latest: dict[str, str] = {}
            for event in pixel.events if pixel else []:
                if event.get("properties", {}).get("sync") == sync:
                    user = event["user"]
                    key = (user.get("email") or [None])[0] or json.dumps(user, sort_keys=True)
                    latest[key] = event["event"]
        return {key for key, name in latest.items() if name == "added_to_segment"}

    def rows_received(self) -> int:
        return self._counter("rows_received")

    def largest_request(self) -> int:
        return self._counter("largest_request")

    def throttle_next(self, times: int = 1) -> float | None:
        """Answer the next member/event requests with code 40100; TikTok documents no wait, so None."""
        with self._lock:
            self._throttles += times
        return None

    def revoke_credentials(self) -> None:
        self.set_token("tt-rotated-" + secrets.token_urlsafe(24))

    def slow_down(self, seconds: float, times: int) -> None:
        self.delay_next(seconds, times=times)

    # ------------------------------------------------------------------ seeding and inspection

    def set_token(self, access_token: str) -> None:
        """Accept only ``access_token`` from now on."""
        with self._lock:
            self._token = access_token
            self._tokens.append(access_token)

    def create_audience(self, name: str) -> str:
        """Create an audience directly (no HTTP); returns its id."""
        with self._lock:
            audience_id = str(next(self._ids))
            self._audiences[audience_id] = _Audience(audience_id, name, int(self._clock()))
            return audience_id

    def audiences(self) -> dict[str, str]:
        """Every audience: id -> name (names may repeat)."""
        with self._lock:
            return {a.id: a.name for a in self._audiences.values()}

    def members(self, audience_id: str) -> list[dict[str, str]]:
        """An audience's members: id type -> hash, as received."""
        with self._lock:
            return copy.deepcopy(list(self._audiences[audience_id].members.values()))

    def events(self, pixel_code: str = PIXEL_CODE) -> list[dict[str, Any]]:
        """Unique events of a pixel (first of each event_id), as received."""
        with self._lock:
            return copy.deepcopy(self._pixels[pixel_code].events)

    def duplicate_events(self, pixel_code: str = PIXEL_CODE) -> int:
        """Events dropped as repeats of an earlier event_id."""
        with self._lock:
            return self._pixels[pixel_code].duplicates

    def default_fault_body(self, status: int) -> Any:
        return {"code": 50000 if status >= 500 else 40000, "message": "System error", "request_id": rules.request_id()}

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "advertiser_id": self.advertiser_id,
                "audiences": {
                    a.id: {
                        "name": a.name,
                        "member_count": len(a.members),
                        "members": copy.deepcopy(list(a.members.values())),
                    }
                    for a in self._audiences.values()
                },
                "pixels": {
                    code: {"events": copy.deepcopy(p.events), "duplicate_events": p.duplicates}
                    for code, p in self._pixels.items()
                },
                "counters": dict(self._counters),
            }

    def _counter(self, name: str) -> int:
        with self._lock:
            return self._counters[name]

    # ------------------------------------------------------------------ handling

    def handle(self, request: Request) -> Response:
        if not request.path.startswith(PREFIX) or not request.path.endswith("/"):
            return Response(404, {"code": 40400, "message": "Not found", "request_id": rules.request_id()})
        endpoint = request.path.removeprefix(PREFIX).strip("/")
        try:
            return Response(200, rules.ok(self._route(request, endpoint)))
        except rules.TikTokError as error:
            return Response(200, error.envelope())

    def _route(self, request: Request, endpoint: str) -> dict[str, Any]:
        self._authenticate(request)
        if endpoint in MEMBER_ENDPOINTS:
            with self._lock:
                if self._throttles:
                    self._throttles -= 1
                    raise rules.TikTokError(rules.THROTTLED, "Too many requests. Please retry in some time.")
        match (request.method, endpoint):
            case ("GET", "dmp/custom_audience/list"):
                return self._list(request.query)
            case ("GET", "dmp/custom_audience/get"):
                return self._get(request.query)
            case ("POST", "segment/audience"):
                return self._create(self._body(request))
            case ("POST", "segment/mapping"):
                return self._mapping(self._body(request))
            case ("POST", "dmp/custom_audience/delete"):
                return self._delete(self._body(request))
            case ("POST", "event/track"):
                return self._track(self._body(request))
        raise rules.parameter_error(f"{request.method} {endpoint} is not supported")

    def _authenticate(self, request: Request) -> None:
        token = request.header("access-token")
        if not token:
            raise rules.TikTokError(rules.EMPTY_TOKEN, "Access token is required (Access-Token header)")
        with self._lock:
            expected = self._token
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise rules.TikTokError(rules.INVALID_TOKEN, "Access token is invalid or expired")

    @staticmethod
    def _body(request: Request) -> Any:
        if request.content_type != "application/json":
            raise rules.parameter_error("Content-Type must be application/json")
        try:
            return request.json()
        except BodyError as exc:
            raise rules.parameter_error(str(exc)) from None

    def _advertiser(self, value: Any) -> None:
        if not isinstance(value, str) or not value:
            raise rules.parameter_error("advertiser_id is required")
        if value != self.advertiser_id:
            raise rules.TikTokError(rules.NO_PERMISSION, "No permission to operate advertiser_id")

    # ------------------------------------------------------------------ audiences

    def _list(self, query: dict[str, str]) -> dict[str, Any]:
        self._advertiser(query.get("advertiser_id"))
        page, size = query.get("page", "1"), query.get("page_size", "10")
        if not page.isdigit() or int(page) < 1 or not size.isdigit() or not 1 <= int(size) <= MAX_PAGE_SIZE:
            raise rules.parameter_error(f"page must be >= 1 and page_size 1..{MAX_PAGE_SIZE}")
        page_number, page_size = int(page), int(size)
        with self._lock:
            audiences = list(self._audiences.values())
        chunk = audiences[(page_number - 1) * page_size : page_number * page_size]
        return {
            "list": [self._render(a) for a in chunk],
            "page_info": {
                "page": page_number,
                "page_size": page_size,
                "total_number": len(audiences),
                "total_page": -(-len(audiences) // page_size),
            },
        }

    def _get(self, query: dict[str, str]) -> dict[str, Any]:
        self._advertiser(query.get("advertiser_id"))
        try:
            ids = json.loads(query.get("custom_audience_ids", ""))
        except json.JSONDecodeError:
            ids = None
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100 or not all(isinstance(i, str) for i in ids):
            raise rules.parameter_error("custom_audience_ids must be a JSON list of 1..100 audience id strings")
        with self._lock:
            missing = [i for i in ids if i not in self._audiences]
            if missing:
                raise rules.parameter_error("custom_audience_ids: audience not found for this advertiser")
            found = [self._render(self._audiences[i]) for i in ids]
        return {"list": [{"audience_details": details, "audience_history": []} for details in found]}

    def _render(self, audience: _Audience) -> dict[str, Any]:
        return {
            "audience_id": audience.id,
            "name": audience.name,
            "audience_type": "Customer File",
            "cover_num": len(audience.members),
            "create_time": audience.created,
            "is_valid": True,
        }

    def _create(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise rules.parameter_error("request body must be a JSON object")
        self._advertiser(body.get("advertiser_id"))
        name = body.get("custom_audience_name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
            raise rules.parameter_error(f"custom_audience_name is required, at most {MAX_NAME_LENGTH} characters")
        if body.get("action") != "create":
            raise rules.parameter_error("action must be create")
        return {"audience_id": self.create_audience(name)}

    def _delete(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise rules.parameter_error("request body must be a JSON object")
        self._advertiser(body.get("advertiser_id"))
        ids = body.get("custom_audience_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100 or not all(isinstance(i, str) for i in ids):
            raise rules.parameter_error("custom_audience_ids must be a list of 1..100 audience id strings")
        with self._lock:
            if any(i not in self._audiences for i in ids):
                raise rules.parameter_error("custom_audience_ids: audience not found for this advertiser")
            for audience_id in ids:
                del self._audiences[audience_id]
        return {}

    def _mapping(self, body: Any) -> dict[str, Any]:
        action, rows = rules.parse_mapping(body, self.advertiser_id)
        with self._lock:
            targets = {audience_id for row in rows for audience_id in row.audience_ids}
            if any(audience_id not in self._audiences for audience_id in targets):
                raise rules.parameter_error("audience_ids: audience not found for this advertiser")
            for row in rows:
                for audience_id in sorted(row.audience_ids):
                    self._apply(self._audiences[audience_id], action, row.ids)
            self._counters["mapping_requests"] += 1
            self._count_rows(len(rows))
        return {}

    @staticmethod
    def _apply(audience: _Audience, action: str, ids: dict[str, str]) -> None:
        """Members are kept as the exact identifiers sent (TikTok's matching to accounts is not modelled); a
        delete takes out the identical member, or, when none is identical, every member sharing an identifier."""
        identity = frozenset(ids.items())
        if action == "add":
            audience.members[identity] = dict(ids)
        elif identity in audience.members:
            del audience.members[identity]
        else:
            audience.members = {k: m for k, m in audience.members.items() if not _shares_id(m, ids)}

    def _count_rows(self, rows: int) -> None:
        self._counters["rows_received"] += rows
        self._counters["largest_request"] = max(self._counters["largest_request"], rows)

    # ------------------------------------------------------------------ events

    def _track(self, body: Any) -> dict[str, Any]:
        events = rules.validate_track(body, set(self._pixels), self._clock())
        with self._lock:
            pixel = self._pixels[body["event_source_id"]]
            for event in events:
                if event["event_id"] in pixel.ids:
                    pixel.duplicates += 1
                    continue
                pixel.ids.add(event["event_id"])
                stored = copy.deepcopy(event)
                if body.get("test_event_code"):
                    stored["test_event_code"] = body["test_event_code"]
                pixel.events.append(stored)
            self._counters["track_requests"] += 1
            self._count_rows(len(events))
        return {}
