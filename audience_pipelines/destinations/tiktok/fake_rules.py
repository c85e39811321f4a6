"""Validation rules of the fake TikTok Business API: the envelope errors, ``segment/mapping`` bodies and
``event/track`` events.

Messages name parameters, rows, cells, event indexes and fields, never the submitted values.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from audience_pipelines.destinations.tiktok.settings import AUDIENCE_FIELDS, MAX_BATCH_SIZE, MAX_EVENT_BATCH_SIZE

PARAMETER_ERROR = 40002
NO_PERMISSION = 40001
THROTTLED = 40100
EMPTY_TOKEN = 40104
INVALID_TOKEN = 40105
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MAPPING_ACTIONS = frozenset({"add", "delete"})
EVENT_SOURCES = frozenset({"web", "app", "offline", "crm"})
HASHED_USER_LISTS = ("email", "phone", "external_id")
HASHED_USER_STRINGS = ("first_name", "last_name", "zip_code")
PLAIN_USER_STRINGS = ("ttclid", "ttp", "ip", "user_agent", "city", "state", "country", "locale")
MATCH_KEYS = ("email", "phone", "external_id", "ttclid", "ttp")
EVENT_MAX_AGE_SECONDS = 7 * 24 * 3600  # UNCONFIRMED for TikTok; the fake's own bound
EVENT_MAX_FUTURE_SECONDS = 300


def request_id() -> str:
    """A random request id shaped like TikTok's."""
    return "2026" + secrets.token_hex(14)


class TikTokError(Exception):
    """An application error: HTTP 200 with ``{"code": <not 0>, "message", "request_id", "data": {}}``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def envelope(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "request_id": request_id(), "data": {}}


def parameter_error(message: str) -> TikTokError:
    return TikTokError(PARAMETER_ERROR, message)


def ok(data: dict[str, Any]) -> dict[str, Any]:
    """A success envelope."""
    return {"code": 0, "message": "OK", "request_id": request_id(), "data": data}


# ---------------------------------------------------------------------- segment/mapping


@dataclass(frozen=True)
class MappingRow:
    """One member of a ``batch_data``: schema name -> hash, and the audiences it goes into or out of."""

    ids: dict[str, str]
    audience_ids: frozenset[str]


def parse_mapping(body: Any, advertiser_id: str) -> tuple[str, list[MappingRow]]:
    """Validate a ``segment/mapping`` body; returns the action and the rows."""
    if not isinstance(body, dict):
        raise parameter_error("request body must be a JSON object")
    advertisers = body.get("advertiser_ids")
    if not isinstance(advertisers, list) or not advertisers or not all(isinstance(a, str) for a in advertisers):
        raise parameter_error("advertiser_ids: a non-empty list of advertiser id strings is required")
    if any(a != advertiser_id for a in advertisers):
        raise TikTokError(NO_PERMISSION, "No permission to operate one of advertiser_ids")
    action = body.get("action")
    if action not in MAPPING_ACTIONS:
        raise parameter_error(f"action must be one of {sorted(MAPPING_ACTIONS)}")
    schema = body.get("id_schema")
    if not isinstance(schema, list) or not schema or not all(isinstance(s, str) for s in schema):
        raise parameter_error("id_schema: a non-empty list of id types is required")
    unknown = sorted(set(schema) - set(AUDIENCE_FIELDS))
    if unknown or len(set(schema)) != len(schema):
        raise parameter_error(f"id_schema must list distinct id types from {list(AUDIENCE_FIELDS)}")
    data = body.get("batch_data")
    if not isinstance(data, list) or not data:
        raise parameter_error("batch_data: a non-empty list of users is required")
    if len(data) > MAX_BATCH_SIZE:
        raise parameter_error(f"batch_data has {len(data)} users; at most {MAX_BATCH_SIZE} per request")
    return action, [_row(index, schema, row) for index, row in enumerate(data)]


def _row(index: int, schema: list[str], row: Any) -> MappingRow:
    if not isinstance(row, list) or len(row) != len(schema):
        raise parameter_error(f"batch_data[{index}] must be a list of {len(schema)} cells aligned with id_schema")
    ids: dict[str, str] = {}
    audiences: set[str] = set()
    for position, (name, cell) in enumerate(zip(schema, row, strict=True)):
        where = f"batch_data[{index}][{position}] ({name})"
        if cell == {}:
            continue
        if not isinstance(cell, dict) or set(cell) != {"id", "audience_ids"}:
            raise parameter_error(f"{where} must be {{}} or an object with exactly id and audience_ids")
        if not isinstance(cell["id"], str) or not SHA256_HEX.fullmatch(cell["id"]):
            raise parameter_error(f"{where}.id must be a SHA-256 hash (64 lowercase hex characters)")
        targets = cell["audience_ids"]
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets):
            raise parameter_error(f"{where}.audience_ids must be a non-empty list of audience id strings")
        ids[name] = cell["id"]
        audiences.update(targets)
    if not ids:
        raise parameter_error(f"batch_data[{index}] has no identifier: every cell is {{}}")
    return MappingRow(ids, frozenset(audiences))


# ---------------------------------------------------------------------- event/track


def validate_track(body: Any, pixels: set[str], now: float) -> list[dict[str, Any]]:
    """Validate an ``event/track`` body; one bad event refuses the whole request."""
    if not isinstance(body, dict):
        raise parameter_error("request body must be a JSON object")
    if body.get("event_source") not in EVENT_SOURCES:
        raise parameter_error(f"event_source must be one of {sorted(EVENT_SOURCES)}")
    if body.get("event_source_id") not in pixels:
        raise parameter_error("event_source_id: no such pixel for this access token")
    code = body.get("test_event_code")
    if code is not None and (not isinstance(code, str) or not code):
        raise parameter_error("test_event_code must be a non-empty string")
    data = body.get("data")
    if not isinstance(data, list) or not data:
        raise parameter_error("data: a non-empty list of events is required")
    if len(data) > MAX_EVENT_BATCH_SIZE:
        raise parameter_error(f"data has {len(data)} events; at most {MAX_EVENT_BATCH_SIZE} per request")
    for index, event in enumerate(data):
        _event(index, event, now)
    return data


def _event(index: int, event: Any, now: float) -> None:
    where = f"data[{index}]"
    if not isinstance(event, dict):
        raise parameter_error(f"{where} must be an object")
    if not isinstance(event.get("event"), str) or not event["event"]:
        raise parameter_error(f"{where}.event is required")
    event_time = event.get("event_time")
    if isinstance(event_time, bool) or not isinstance(event_time, int):
        raise parameter_error(f"{where}.event_time must be integer unix seconds")
    if not now - EVENT_MAX_AGE_SECONDS <= event_time <= now + EVENT_MAX_FUTURE_SECONDS:
        raise parameter_error(f"{where}.event_time is outside the accepted window")
    if not isinstance(event.get("event_id"), str) or not event["event_id"]:
        raise parameter_error(f"{where}.event_id must be a non-empty string")
    if "properties" in event and not isinstance(event["properties"], dict):
        raise parameter_error(f"{where}.properties must be an object")
    user = event.get("user")
    if not isinstance(user, dict):
        raise parameter_error(f"{where}.user is required and must be an object")
    _user(where, user)


def _user(where: str, user: dict[str, Any]) -> None:
    known = {*HASHED_USER_LISTS, *HASHED_USER_STRINGS, *PLAIN_USER_STRINGS}
    if unknown := sorted(set(user) - known):
        raise parameter_error(f"{where}.user has unknown field(s) {unknown}")
    for key in HASHED_USER_LISTS:
        if key in user:
            values = user[key]
            if not isinstance(values, list) or not values or not all(_hashed(v) for v in values):
                raise parameter_error(f"{where}.user.{key} must be a list of SHA-256 hashes")
    for key in HASHED_USER_STRINGS:
        if key in user and not _hashed(user[key]):
            raise parameter_error(f"{where}.user.{key} must be a SHA-256 hash")
    for key in PLAIN_USER_STRINGS:
        if key in user and (not isinstance(user[key], str) or not user[key]):
            raise parameter_error(f"{where}.user.{key} must be a non-empty string")
    if not any(user.get(key) for key in MATCH_KEYS):
        raise parameter_error(f"{where}.user needs at least one of {list(MATCH_KEYS)}")


def _hashed(value: Any) -> bool:
    return isinstance(value, str) and SHA256_HEX.fullmatch(value) is not None
