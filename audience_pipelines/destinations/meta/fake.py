"""Fake Meta Graph API: customer-file Custom Audiences and the Conversions API.

Strict like the real API: every call needs the access token, errors use Meta's
``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`` envelope with HTTP 400, and
throttling is a 400 with code 80004 (or 4/17/613/80003) plus ``X-Business-Use-Case-Usage``.
Validation rules live in :mod:`audience_pipelines.destinations.meta.fake_rules`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import itertools
import json
import math
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self
from urllib.parse import urlencode

from audience_pipelines.destinations.meta.fake_rules import (
    CUSTOMER_FILE_SOURCES,
    MAX_INVALID_ENTRY_SAMPLES,
    THROTTLE_MESSAGES,
    THROTTLE_USAGE_TYPES,
    GraphError,
    UserUpload,
    invalid_parameter,
    member_identity,
    new_fbtrace_id,
    parse_user_upload,
    row_problem,
    unsupported_request,
    validate_events,
)
from audience_pipelines.sandbox.matching import count_matched
from audience_pipelines.sandbox.server import BodyError, FakeServer, Request, Response

JSON_PARAMS = ("payload", "session", "data")
AUDIENCE_FIELDS = frozenset(
    {
        "id",
        "name",
        "description",
        "subtype",
        "customer_file_source",
        "account_id",
        "operation_status",
        "approximate_count_lower_bound",
        "approximate_count_upper_bound",
    }
)
DEFAULT_PAGE_SIZE = 25
UPLOAD_BLOCKED_SUBCODE = 1713230
SANDBOX_URL_ENV = "AUDIENCE_PIPELINES_SANDBOX_META_URL"
SANDBOX_TOKEN_ENV = "AUDIENCE_PIPELINES_META_TOKEN"
SANDBOX_AD_ACCOUNT = "act_1000000001"
SANDBOX_PIXEL = "2000000002"
TEST_TOKEN_ENV = "CONTRACT_META_TOKEN"
EXPIRED_TOKEN_SUBCODE = 463


@dataclass
class _Audience:
    id: str
    name: str
    description: str | None
    subtype: str
    customer_file_source: str
    rows: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class _Pixel:
    events: list[dict[str, Any]] = field(default_factory=list)
    keys: set[tuple[str, str]] = field(default_factory=set)
    duplicates: int = 0


def _size_bounds(matched: int) -> dict[str, int]:
    """Meta's approximate size as a range around the matched count (about 5% either side, never below 0)."""
    spread = math.ceil(matched * 0.05)
    return {
        "approximate_count_lower_bound": max(0, matched - spread),
        "approximate_count_upper_bound": matched + spread,
    }


def _normalize_account(ad_account_id: str) -> str:
    digits = ad_account_id.removeprefix("act_")
    if not digits.isdigit():
        raise ValueError("ad_account_id must look like act_<digits> or <digits>")
    return f"act_{digits}"


def _usage_header(account_digits: str, usage_type: str, calls: int, regain_minutes: int) -> str:
    usage = {
        account_digits: [
            {
                "type": usage_type,
                "call_count": calls,
                "total_cputime": max(1, calls // 4),
                "total_time": max(1, calls // 4),
                "estimated_time_to_regain_access": regain_minutes,
            }
        ]
    }
    return json.dumps(usage, separators=(",", ":"))


class FakeMeta(FakeServer):
    """Strict fake of the Graph API endpoints our Meta destination uses.

    Endpoints (``{ver}`` is ``api_version``): ``POST|GET /{ver}/act_{id}/customaudiences``,
    ``GET|DELETE /{ver}/{audience_id}``, ``POST|DELETE /{ver}/{audience_id}/users`` and
    ``POST /{ver}/{pixel_id}/events``. Requests may be JSON or form-encoded; the token is accepted as
    ``Authorization: Bearer`` or an ``access_token`` parameter.
    """

    def __init__(
        self,
        access_token: str,
        ad_account_id: str = "act_1234567890",
        api_version: str = "v25.0",
        *,
        pixel_ids: Iterable[str] = (),
        app_secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(host=host, port=port)
        self.ad_account_id = _normalize_account(ad_account_id)
        self.api_version = api_version
        self._token = access_token
        self._token_expired = False
        self._app_secret = app_secret
        self._clock = clock
        self._audiences: dict[str, _Audience] = {}
        self._blocked: set[str] = set()
        self._pixels: dict[str, _Pixel] = {str(pixel_id): _Pixel() for pixel_id in pixel_ids}
        self._ids = itertools.count(23_850_000_000_000_001)
        self._counters = {
            "add_requests": 0,
            "remove_requests": 0,
            "rows_received": 0,
            "invalid_entries": 0,
            "largest_request": 0,
        }
        self.token_env = TEST_TOKEN_ENV

    @property
    def account_digits(self) -> str:
        """The ad account id without its ``act_`` prefix."""
        return self.ad_account_id.removeprefix("act_")

    @property
    def graph_url(self) -> str:
        """Versioned Graph root of the running fake, e.g. ``http://127.0.0.1:54321/v25.0``."""
        return f"{self.base_url}/{self.api_version}"

    # ------------------------------------------------------------------ contract fake

    url_env: ClassVar[str] = SANDBOX_URL_ENV

    @classmethod
    def for_tests(cls) -> Self:
        return cls("EAAB-contract-" + secrets.token_urlsafe(16), SANDBOX_AD_ACCOUNT, pixel_ids=(SANDBOX_PIXEL,))

    @classmethod
    def for_sandbox(cls) -> Self:
        os.environ.setdefault(SANDBOX_TOKEN_ENV, secrets.token_urlsafe(32))
        fake = cls(os.environ[SANDBOX_TOKEN_ENV], SANDBOX_AD_ACCOUNT, pixel_ids=(SANDBOX_PIXEL,)).start()
        fake.token_env = SANDBOX_TOKEN_ENV
        os.environ[SANDBOX_URL_ENV] = fake.base_url
        return fake

    def environment(self) -> dict[str, str]:
        return {self.token_env: self._token}

    def destination(self, type_name: str) -> dict[str, Any]:
        settings = (
            {"ad_account_id": self.ad_account_id, "api_version": self.api_version}
            if type_name == "meta_custom_audiences"
            else {"pixel_id": next(iter(self._pixels)), "api_version": self.api_version}
        )
        return {"base_url": self.base_url, "credentials": {"access_token": self.token_env}, "settings": settings}

    def secrets(self) -> list[str]:
        return [self._token, *([self._app_secret] if self._app_secret else [])]

    def held(self, config: Any, list_id: str | None, sync: str) -> set[str]:
        """Custom audience members (by EMAIL, else their identity), or CAPI members in (by ``em``)."""
        if list_id is not None:
            rows = self.audience_rows(list_id) if list_id in self.audiences() else {}
            return {row.get("EMAIL") or identity for identity, row in rows.items()}
        latest: dict[str, str] = {}
        for event in self.events(config.settings.pixel_id):
            if event.get("custom_data", {}).get("sync") == sync:
                user = event.get("user_data", {})
                key = (user.get("em") or [None])[0] or user.get("fbp") or json.dumps(user, sort_keys=True)
                latest[key] = event["event_name"]
        return {key for key, name in latest.items() if name == "added_to_segment"}

    def largest_request(self) -> int:
        return self._counter("largest_request")

    def throttle_next(self) -> float | None:
        """A usage throttle (code 80004) asking to wait one minute."""
        self.throttle_graph(regain_minutes=1)
        return 60.0

    def revoke_credentials(self) -> None:
        self.set_token("EAAB-rotated-" + secrets.token_urlsafe(16))

    def slow_down(self, seconds: float, times: int) -> None:
        self.delay_next(seconds, times=times)

    # ------------------------------------------------------------------ fault injection

    def throttle_graph(
        self,
        times: int = 1,
        code: int = 80004,
        regain_minutes: int = 0,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next matching requests with a throttling error (HTTP 400) and usage headers."""
        if code not in THROTTLE_MESSAGES:
            raise ValueError(f"throttle code must be one of {sorted(THROTTLE_MESSAGES)}")
        error = GraphError(
            THROTTLE_MESSAGES[code],
            code=code,
            subcode=1487742 if code == 613 else None,
            is_transient=True,
        )
        usage_type = THROTTLE_USAGE_TYPES.get(code, "ads_management")
        headers = {"X-Business-Use-Case-Usage": _usage_header(self.account_digits, usage_type, 100, regain_minutes)}
        if code in (4, 17):
            headers["X-App-Usage"] = json.dumps({"call_count": 100, "total_cputime": 25, "total_time": 25})
        self.fail_next(400, error.envelope(), headers, times, method=method, path=path)

    def expire_token(self) -> None:
        """Make the current token expired: every call now gets code 190 / subcode 463."""
        with self._lock:
            self._token_expired = True

    def set_token(self, access_token: str) -> None:
        """Accept a new token (the old one becomes invalid) and clear any expiry."""
        with self._lock:
            self._token = access_token
            self._token_expired = False

    def block_uploads(self, audience_id: str) -> None:
        """Fail writes to this audience with code 100 / subcode 1713230 ("Audience Upload Blocked")."""
        with self._lock:
            self._blocked.add(str(audience_id))

    def unblock_uploads(self, audience_id: str) -> None:
        """Undo :meth:`block_uploads`."""
        with self._lock:
            self._blocked.discard(str(audience_id))

    def default_fault_body(self, status: int) -> Any:
        if status == 429:
            return GraphError(THROTTLE_MESSAGES[17], code=17, is_transient=True).envelope()
        if status >= 500:
            return GraphError(
                "An unexpected error has occurred. Please retry your request later.",
                code=2,
                is_transient=True,
            ).envelope()
        return GraphError("An unknown error occurred", code=1).envelope()

    # ------------------------------------------------------------------ seeding and inspection

    def create_audience(
        self, name: str, description: str | None = None, customer_file_source: str = "USER_PROVIDED_ONLY"
    ) -> str:
        """Create an audience directly (no HTTP) and return its id."""
        with self._lock:
            audience_id = str(next(self._ids))
            self._audiences[audience_id] = _Audience(audience_id, name, description, "CUSTOM", customer_file_source)
            return audience_id

    def audiences(self) -> dict[str, str]:
        """Every audience: id -> name."""
        with self._lock:
            return {audience.id: audience.name for audience in self._audiences.values()}

    def audience_member_ids(self, audience_id: str) -> set[str]:
        """Member identities (EXTERN_ID, else EMAIL, PHONE, MADID, else the row) of an audience."""
        with self._lock:
            return set(self._require_audience(audience_id).rows)

    def matched_members(self, list_id: str) -> int:
        """Members of the audience the fake counts as matched (its size bounds are built around this)."""
        with self._lock:
            return count_matched(row.values() for row in self._require_audience(list_id).rows.values())

    def audience_rows(self, audience_id: str) -> dict[str, dict[str, str]]:
        """Members of an audience: identity -> {schema key: value as sent}."""
        with self._lock:
            return copy.deepcopy(self._require_audience(audience_id).rows)

    @property
    def add_requests(self) -> int:
        """Successful POST /users calls."""
        return self._counter("add_requests")

    @property
    def remove_requests(self) -> int:
        """Successful DELETE /users calls."""
        return self._counter("remove_requests")

    def rows_received(self) -> int:
        """Rows received by successful add/remove calls (valid and invalid) plus CAPI events received."""
        return self._counter("rows_received")

    @property
    def invalid_entries(self) -> int:
        """Rows reported in ``num_invalid_entries`` so far."""
        return self._counter("invalid_entries")

    def events(self, pixel_id: str) -> list[dict[str, Any]]:
        """Unique CAPI events of a pixel (deduplicated on event_name + event_id), as sent."""
        with self._lock:
            return copy.deepcopy(self._require_pixel(pixel_id).events)

    def duplicate_events(self, pixel_id: str) -> int:
        """CAPI events dropped as repeats of an earlier (event_name, event_id)."""
        with self._lock:
            return self._require_pixel(pixel_id).duplicates

    def state(self) -> dict[str, Any]:
        """Audiences with their members, pixels with their events, and counters."""
        with self._lock:
            return {
                "ad_account_id": self.ad_account_id,
                "api_version": self.api_version,
                "token_expired": self._token_expired,
                "audiences": {
                    audience.id: {
                        "name": audience.name,
                        "customer_file_source": audience.customer_file_source,
                        "uploads_blocked": audience.id in self._blocked,
                        "member_count": len(audience.rows),
                        "members": copy.deepcopy(audience.rows),
                    }
                    for audience in self._audiences.values()
                },
                "pixels": {
                    pixel_id: {"events": copy.deepcopy(pixel.events), "duplicate_events": pixel.duplicates}
                    for pixel_id, pixel in self._pixels.items()
                },
                "counters": dict(self._counters),
            }

    def _counter(self, name: str) -> int:
        with self._lock:
            return self._counters[name]

    def _require_audience(self, audience_id: str) -> _Audience:
        audience = self._audiences.get(str(audience_id))
        if audience is None:
            raise KeyError(f"no audience {audience_id}")
        return audience

    def _require_pixel(self, pixel_id: str) -> _Pixel:
        pixel = self._pixels.get(str(pixel_id))
        if pixel is None:
            raise KeyError(f"no pixel {pixel_id}; register it with FakeMeta(..., pixel_ids=...)")
        return pixel

    # ------------------------------------------------------------------ handling

    def handle(self, request: Request) -> Response:
        trace = new_fbtrace_id()
        try:
            body, headers = self._route(request, trace)
        except GraphError as error:
            headers = {"x-fb-trace-id": trace, **error.headers}
            if error.code == 190:
                headers["WWW-Authenticate"] = 'OAuth "Facebook Platform" "invalid_token"'
            return Response(error.status, error.envelope(trace), headers)
        return Response(200, body, {"x-fb-trace-id": trace, **headers})

    def _route(self, request: Request, trace: str) -> tuple[dict[str, Any], dict[str, str]]:
        try:
            params: dict[str, Any] = request.params(JSON_PARAMS)
            body_error = None
        except BodyError as exc:
            params, body_error = dict(request.query), str(exc)
        self._authenticate(request, params)
        if body_error is not None:
            raise invalid_parameter(f"(#100) {body_error}")
        parts = [part for part in request.path.split("/") if part]
        if not parts or parts[0] != self.api_version:
            raise GraphError(f"Unknown path components: {request.path}", code=2500)
        method = request.method
        usage = {"X-Business-Use-Case-Usage": _usage_header(self.account_digits, "ads_management", 1, 0)}
        match parts[1:]:
            case [account, "customaudiences"] if account.startswith("act_"):
                if account != self.ad_account_id or method not in ("GET", "POST"):
                    raise unsupported_request(method, account)
                if method == "POST":
                    return self._create_audience_call(params), usage
                return self._list_audiences(request, params), usage
            case [object_id] if object_id in self._audiences and method in ("GET", "DELETE"):
                if method == "DELETE":
                    return self._delete_audience(object_id), usage
                return self._audience_fields(object_id, params), usage
            case [object_id, "users"] if object_id in self._audiences and method in ("POST", "DELETE"):
                return self._users(method, object_id, params), usage
            case [object_id, "events"] if object_id in self._pixels and method == "POST":
                return self._capi(object_id, params, trace), {}
            case [object_id, *_] if object_id.isdigit() or object_id.startswith("act_"):
                raise unsupported_request(method, object_id)
        raise GraphError(f"Unknown path components: {request.path}", code=2500)

    def _authenticate(self, request: Request, params: dict[str, Any]) -> None:
        token: str | None = None
        authorization = (request.header("authorization") or "").strip()
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() not in ("bearer", "oauth") or not value.strip():
                raise GraphError("Invalid OAuth access token - Cannot parse access token", code=190)
            token = value.strip()
        elif isinstance(params.get("access_token"), str) and params["access_token"]:
            token = params["access_token"]
        if token is None:
            raise GraphError("An access token is required to request this resource.", code=190)
        with self._lock:
            expected, expired = self._token, self._token_expired
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise GraphError("Invalid OAuth access token - Cannot parse access token", code=190)
        if expired:
            raise GraphError(
                "Error validating access token: Session has expired.", code=190, subcode=EXPIRED_TOKEN_SUBCODE
            )
        if self._app_secret is not None:
            proof = params.get("appsecret_proof")
            if not isinstance(proof, str) or not proof:
                raise invalid_parameter("API calls from the server require an appsecret_proof argument")
            digest = hmac.new(self._app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(proof.encode(), digest.encode()):
                raise invalid_parameter("Invalid appsecret_proof provided in the API argument")

    # ------------------------------------------------------------------ custom audiences

    def _create_audience_call(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("name")
        if not isinstance(name, str) or not name.strip():
            raise invalid_parameter("(#100) The parameter name is required")
        if params.get("subtype") != "CUSTOM":
            raise invalid_parameter("(#100) The parameter subtype is required and must be CUSTOM")
        source = params.get("customer_file_source")
        if source not in CUSTOMER_FILE_SOURCES:
            raise invalid_parameter(
                f"(#100) customer_file_source is required and must be one of {sorted(CUSTOMER_FILE_SOURCES)}"
            )
        description = params.get("description")
        if description is not None and not isinstance(description, str):
            raise invalid_parameter("(#100) description must be a string")
        return {"id": self.create_audience(name, description, source)}

    def _requested_fields(self, params: dict[str, Any]) -> list[str]:
        raw = params.get("fields", "id")
        if not isinstance(raw, str):
            raise invalid_parameter("(#100) fields must be a comma-separated string")
        names = [name.strip() for name in raw.split(",") if name.strip()] or ["id"]
        for name in names:
            if name not in AUDIENCE_FIELDS:
                raise invalid_parameter(
                    f"(#100) Tried accessing nonexisting field ({name}) on node type (CustomAudience)"
                )
        return names

    def _render(self, audience: _Audience, names: list[str]) -> dict[str, Any]:
        blocked = audience.id in self._blocked
        values: dict[str, Any] = {
            "id": audience.id,
            "name": audience.name,
            "description": audience.description,
            "subtype": audience.subtype,
            "customer_file_source": audience.customer_file_source,
            "account_id": self.account_digits,
            "operation_status": {"code": 471, "description": "Audience upload blocked"}
            if blocked
            else {"code": 200, "description": "Normal"},
            **_size_bounds(count_matched(row.values() for row in audience.rows.values())),
        }
        rendered = {"id": audience.id}
        rendered.update({name: values[name] for name in names if values[name] is not None})
        return rendered

    def _audience_fields(self, audience_id: str, params: dict[str, Any]) -> dict[str, Any]:
        names = self._requested_fields(params)
        with self._lock:
            audience = self._audiences.get(audience_id)
            if audience is None:
                raise unsupported_request("GET", audience_id)
            return self._render(audience, names)

    def _delete_audience(self, audience_id: str) -> dict[str, Any]:
        with self._lock:
            self._audiences.pop(audience_id, None)
            self._blocked.discard(audience_id)
        return {"success": True}

    def _list_audiences(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        names = self._requested_fields(params)
        limit_raw = params.get("limit", DEFAULT_PAGE_SIZE)
        if isinstance(limit_raw, bool) or not str(limit_raw).isdigit() or int(limit_raw) < 1:
            raise invalid_parameter("(#100) limit must be a positive integer")
        limit = int(limit_raw)
        with self._lock:
            audiences = list(self._audiences.values())
            start = 0
            if "after" in params:
                after = self._decode_cursor(params["after"])
                ids = [audience.id for audience in audiences]
                start = ids.index(after) + 1 if after in ids else len(ids)
            page = audiences[start : start + limit]
            data = [self._render(audience, names) for audience in page]
        if not page:
            return {"data": [], "paging": {}}
        paging: dict[str, Any] = {
            "cursors": {"before": self._encode_cursor(page[0].id), "after": self._encode_cursor(page[-1].id)}
        }
        if start + limit < len(audiences):
            query = {"fields": ",".join(names), "limit": limit, "after": paging["cursors"]["after"]}
            paging["next"] = f"{self.base_url}{request.path}?{urlencode(query)}"
        return {"data": data, "paging": paging}

    @staticmethod
    def _encode_cursor(audience_id: str) -> str:
        return base64.urlsafe_b64encode(audience_id.encode()).decode()

    @staticmethod
    def _decode_cursor(cursor: Any) -> str:
        try:
            return base64.urlsafe_b64decode(str(cursor).encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise invalid_parameter("(#100) Invalid paging cursor") from None

    def _users(self, method: str, audience_id: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if audience_id in self._blocked:
                raise GraphError(
                    "Invalid parameter",
                    code=100,
                    subcode=UPLOAD_BLOCKED_SUBCODE,
                    user_title="Audience Upload Blocked",
                    user_msg="This audience has been flagged and can't be updated. Create a new audience.",
                )
        upload = parse_user_upload(params)
        with self._lock:
            audience = self._audiences.get(audience_id)
            if audience is None:
                raise unsupported_request(method, audience_id)
            samples, invalid = self._apply_rows(audience, upload, adding=method == "POST")
            self._counters["add_requests" if method == "POST" else "remove_requests"] += 1
            self._counters["rows_received"] += len(upload.rows)
            self._counters["largest_request"] = max(self._counters["largest_request"], len(upload.rows))
            self._counters["invalid_entries"] += invalid
        session_id = upload.session["session_id"] if upload.session else secrets.randbelow(10**15) + 10**14
        return {
            "audience_id": audience_id,
            "session_id": str(session_id),
            "num_received": len(upload.rows),
            "num_invalid_entries": invalid,
            "invalid_entry_samples": samples,
        }

    @staticmethod
    def _apply_rows(audience: _Audience, upload: UserUpload, *, adding: bool) -> tuple[dict[str, str], int]:
        samples: dict[str, str] = {}
        invalid = 0
        for row in upload.rows:
            problem = row_problem(upload.schema, row)
            if problem is not None:
                invalid += 1
                if len(samples) < MAX_INVALID_ENTRY_SAMPLES:
                    samples.setdefault(problem[0], problem[1])
                continue
            identity = member_identity(upload.schema, row)
            if adding:
                audience.rows[identity] = dict(zip(upload.schema, row, strict=True))
            else:
                audience.rows.pop(identity, None)
        return samples, invalid

    # ------------------------------------------------------------------ conversions API

    def _capi(self, pixel_id: str, params: dict[str, Any], trace: str) -> dict[str, Any]:
        events = validate_events(params.get("data"), self._clock())
        test_code = params.get("test_event_code")
        if test_code is not None and (not isinstance(test_code, str) or not test_code):
            raise invalid_parameter("(#100) test_event_code must be a non-empty string")
        with self._lock:
            pixel = self._pixels[pixel_id]
            self._counters["rows_received"] += len(events)
            self._counters["largest_request"] = max(self._counters["largest_request"], len(events))
            for event in events:
                event_id = event.get("event_id")
                if event_id is not None:
                    key = (event["event_name"], event_id)
                    if key in pixel.keys:
                        pixel.duplicates += 1
                        continue
                    pixel.keys.add(key)
                stored = copy.deepcopy(event)
                if test_code is not None:
                    stored["test_event_code"] = test_code
                pixel.events.append(stored)
        return {"events_received": len(events), "messages": [], "fbtrace_id": trace}
