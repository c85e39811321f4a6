"""Validation rules of the fake Meta Graph API: Graph errors, customer-file uploads and CAPI events.

Error messages name parameters, rows, event indexes and fields, never the submitted values (the one
place values are echoed is ``invalid_entry_samples``, as Meta does).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

SCHEMA_KEYS = frozenset(
    {
        "EXTERN_ID",
        "EMAIL",
        "PHONE",
        "GEN",
        "DOBY",
        "DOBM",
        "DOBD",
        "LN",
        "FN",
        "FI",
        "CT",
        "ST",
        "ZIP",
        "MADID",
        "COUNTRY",
    }
)
UNHASHED_SCHEMA_KEYS = frozenset({"EXTERN_ID", "MADID"})
IDENTITY_KEYS = ("EXTERN_ID", "EMAIL", "PHONE", "MADID")
CUSTOMER_FILE_SOURCES = frozenset({"USER_PROVIDED_ONLY", "PARTNER_PROVIDED_ONLY", "BOTH_USER_AND_PARTNER_PROVIDED"})
MAX_USERS_PER_REQUEST = 10_000
MAX_INVALID_ENTRY_SAMPLES = 100

ACTION_SOURCES = frozenset(
    {
        "email",
        "website",
        "app",
        "phone_call",
        "chat",
        "physical_store",
        "system_generated",
        "business_messaging",
        "other",
    }
)
HASHED_USER_DATA_FIELDS = ("em", "ph", "fn", "ln", "ct", "st", "zp", "country", "ge", "db")
MATCH_KEY_FIELDS = ("em", "ph", "external_id", "fbp", "fbc", "madid", "client_ip_address")
MAX_EVENTS_PER_REQUEST = 1_000
EVENT_MAX_AGE_SECONDS = 7 * 24 * 3600
EVENT_MAX_FUTURE_SECONDS = 60

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
FBP_PATTERN = re.compile(r"fb\.\d\.\d+\.\d+")
FBC_PATTERN = re.compile(r"fb\.\d\.\d+\..+")

THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80003: "(#80003) There have been too many calls to this ad-account. Wait a bit and try again. "
    "For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    80004: "(#80004) There have been too many calls to this ad-account. Wait a bit and try again. "
    "For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
}
THROTTLE_USAGE_TYPES = {80003: "custom_audience"}


def new_fbtrace_id() -> str:
    """A random trace id shaped like Meta's."""
    return "A" + secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")


class GraphError(Exception):
    """A Graph API error, rendered as ``{"error": {...}}`` with the given HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        code: int = 100,
        error_type: str = "OAuthException",
        subcode: int | None = None,
        status: int = 400,
        user_title: str | None = None,
        user_msg: str | None = None,
        is_transient: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.error_type = error_type
        self.subcode = subcode
        self.status = status
        self.user_title = user_title
        self.user_msg = user_msg
        self.is_transient = is_transient
        self.headers = dict(headers or {})

    def envelope(self, fbtrace_id: str | None = None) -> dict[str, Any]:
        """The JSON error body."""
        error: dict[str, Any] = {"message": self.message, "type": self.error_type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.is_transient is not None:
            error["is_transient"] = self.is_transient
        if self.user_title is not None:
            error["error_user_title"] = self.user_title
        if self.user_msg is not None:
            error["error_user_msg"] = self.user_msg
        error["fbtrace_id"] = fbtrace_id or new_fbtrace_id()
        return {"error": error}


def invalid_parameter(message: str) -> GraphError:
    """Code 100 (invalid parameter)."""
    return GraphError(message, code=100)


def unsupported_request(method: str, object_id: str) -> GraphError:
    """Code 100 / subcode 33, Meta's answer for an unknown or inaccessible object."""
    return GraphError(
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read the Graph "
        "API documentation at https://developers.facebook.com/docs/graph-api",
        code=100,
        subcode=33,
        error_type="GraphMethodException",
    )


# ---------------------------------------------------------------------- customer-file uploads


@dataclass(frozen=True)
class UserUpload:
    """A validated POST/DELETE ``/{audience_id}/users`` request."""

    schema: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    session: dict[str, Any] | None


def parse_user_upload(params: dict[str, Any]) -> UserUpload:
    """Validate the ``payload`` (and optional ``session``) of a users add/remove call."""
    payload = params.get("payload")
    if not isinstance(payload, dict):
        raise invalid_parameter("(#100) The parameter payload is required and must be an object")
    schema = payload.get("schema")
    if not isinstance(schema, list) or not schema or not all(isinstance(key, str) for key in schema):
        raise invalid_parameter("(#100) payload.schema must be a non-empty array of multi-key schema names")
    unknown = sorted(set(schema) - SCHEMA_KEYS)
    if unknown:
        raise invalid_parameter(f"(#100) Invalid schema key(s) {unknown}; allowed: {sorted(SCHEMA_KEYS)}")
    if len(set(schema)) != len(schema):
        raise invalid_parameter("(#100) payload.schema must not repeat a key")
    data = payload.get("data")
    if not isinstance(data, list):
        raise invalid_parameter("(#100) payload.data must be an array of rows")
    if not data:
        raise invalid_parameter("(#100) payload.data is empty; send at least one user")
    if len(data) > MAX_USERS_PER_REQUEST:
        raise invalid_parameter(f"(#100) Too many users in one request, max {MAX_USERS_PER_REQUEST}")
    rows: list[tuple[str, ...]] = []
    for index, row in enumerate(data):
        if not isinstance(row, list):
            raise invalid_parameter(f"(#100) payload.data[{index}] must be an array aligned with the schema")
        if len(row) != len(schema):
            raise invalid_parameter(
                f"(#100) payload.data[{index}] has {len(row)} values but the schema has {len(schema)} keys"
            )
        if not all(isinstance(value, str) for value in row):
            raise invalid_parameter(f"(#100) payload.data[{index}] must contain only strings")
        rows.append(tuple(row))
    return UserUpload(tuple(schema), tuple(rows), _parse_session(params.get("session")))


def _parse_session(session: Any) -> dict[str, Any] | None:
    if session is None:
        return None
    if not isinstance(session, dict):
        raise invalid_parameter("(#100) session must be an object")
    for name in ("session_id", "batch_seq"):
        value = session.get(name)
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            raise invalid_parameter(f"(#100) session.{name} must be a positive integer")
    if int(session["batch_seq"]) < 1:
        raise invalid_parameter("(#100) session.batch_seq must be >= 1")
    if "last_batch_flag" in session and not isinstance(session["last_batch_flag"], bool):
        raise invalid_parameter("(#100) session.last_batch_flag must be a boolean")
    total = session.get("estimated_num_total")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
        raise invalid_parameter("(#100) session.estimated_num_total must be a non-negative integer")
    return dict(session)


def row_problem(schema: tuple[str, ...], row: tuple[str, ...]) -> tuple[str, str] | None:
    """Return ``(sample value, reason)`` if the row is an invalid entry, else None."""
    if all(value == "" for value in row):
        return json.dumps(list(row)), "Row has no identifier: every field is empty"
    for key, value in zip(schema, row, strict=True):
        if key in UNHASHED_SCHEMA_KEYS or value == "":
            continue
        if not SHA256_HEX.fullmatch(value):
            return value, f"Invalid {key}: expected a SHA-256 hash (64 lowercase hex characters)"
    return None


def member_identity(schema: tuple[str, ...], row: tuple[str, ...]) -> str:
    """Identity of a row: EXTERN_ID, else EMAIL, PHONE, MADID, else the whole row."""
    fields = dict(zip(schema, row, strict=True))
    for key in IDENTITY_KEYS:
        if fields.get(key):
            return fields[key]
    return json.dumps({key: value for key, value in sorted(fields.items()) if value}, separators=(",", ":"))


# ---------------------------------------------------------------------- Conversions API


def validate_events(data: Any, now: float) -> list[dict[str, Any]]:
    """Validate a CAPI ``data`` array; one bad event rejects the whole batch."""
    if not isinstance(data, list) or not data:
        raise invalid_parameter("(#100) The parameter data is required and must be a non-empty array of events")
    if len(data) > MAX_EVENTS_PER_REQUEST:
        raise invalid_parameter(f"(#100) Too many events in one request ({len(data)}), max {MAX_EVENTS_PER_REQUEST}")
    for index, event in enumerate(data):
        _validate_event(index, event, now)
    return data


def _event_error(index: int, field: str, problem: str) -> GraphError:
    return GraphError(
        f"(#100) Invalid parameter: event data[{index}] field '{field}' {problem}",
        code=100,
        user_title="Invalid event",
        user_msg=f"Event at index {index}: '{field}' {problem}",
    )


def _validate_event(index: int, event: Any, now: float) -> None:
    if not isinstance(event, dict):
        raise _event_error(index, "data", "must be an object")
    name = event.get("event_name")
    if not isinstance(name, str) or not name:
        raise _event_error(index, "event_name", "is required and must be a non-empty string")
    event_time = event.get("event_time")
    if isinstance(event_time, bool) or not isinstance(event_time, int):
        raise _event_error(index, "event_time", "is required and must be integer unix seconds")
    if event_time < now - EVENT_MAX_AGE_SECONDS:
        raise _event_error(index, "event_time", "is more than 7 days in the past")
    if event_time > now + EVENT_MAX_FUTURE_SECONDS:
        raise _event_error(index, "event_time", "is in the future")
    source = event.get("action_source")
    if source not in ACTION_SOURCES:
        raise _event_error(index, "action_source", f"is required and must be one of {sorted(ACTION_SOURCES)}")
    if "event_id" in event and (not isinstance(event["event_id"], str) or not event["event_id"]):
        raise _event_error(index, "event_id", "must be a non-empty string")
    if "custom_data" in event and not isinstance(event["custom_data"], dict):
        raise _event_error(index, "custom_data", "must be an object")
    url = event.get("event_source_url")
    if url is not None and not isinstance(url, str):
        raise _event_error(index, "event_source_url", "must be a string")
    user_data = event.get("user_data")
    if not isinstance(user_data, dict):
        raise _event_error(index, "user_data", "is required and must be an object")
    _validate_user_data(index, user_data)
    if source == "website":
        if not user_data.get("client_user_agent"):
            raise _event_error(index, "user_data.client_user_agent", "is required for action_source website")
        if not url:
            raise _event_error(index, "event_source_url", "is required for action_source website")


def _string_values(index: int, field: str, value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(item, str) and item for item in values):
        raise _event_error(index, field, "must be a non-empty string or array of non-empty strings")
    return values


def _validate_user_data(index: int, user_data: dict[str, Any]) -> None:
    for field in HASHED_USER_DATA_FIELDS:
        if field in user_data:
            for value in _string_values(index, f"user_data.{field}", user_data[field]):
                if not SHA256_HEX.fullmatch(value):
                    raise _event_error(
                        index, f"user_data.{field}", "must be a SHA-256 hash (64 lowercase hex characters)"
                    )
    if "external_id" in user_data:
        _string_values(index, "user_data.external_id", user_data["external_id"])
    for field in ("madid", "client_ip_address", "client_user_agent", "fbp", "fbc"):
        if field in user_data and (not isinstance(user_data[field], str) or not user_data[field]):
            raise _event_error(index, f"user_data.{field}", "must be a non-empty string")
    if "fbp" in user_data and not FBP_PATTERN.fullmatch(user_data["fbp"]):
        raise _event_error(index, "user_data.fbp", "must look like fb.<subdomain>.<creation>.<random>")
    if "fbc" in user_data and not FBC_PATTERN.fullmatch(user_data["fbc"]):
        raise _event_error(index, "user_data.fbc", "must look like fb.<subdomain>.<creation>.<fbclid>")
    if not any(user_data.get(field) for field in MATCH_KEY_FIELDS):
        raise _event_error(index, "user_data", f"needs at least one of {list(MATCH_KEY_FIELDS)}")
