"""What the fake LinkedIn API checks: its error shape, the version window and the shape of /users elements."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

MAX_ELEMENTS = 5_000
#: the LinkedIn-Version values the fake serves (monthly versions live about a year; ref §4)
ACTIVE_VERSIONS = ("202507", "202612")
ID_VALUE_RULES = {
    "SHA256_EMAIL": re.compile(r"^[0-9a-f]{64}$"),
    "SHA512_EMAIL": re.compile(r"^[0-9a-f]{128}$"),
    "GOOGLE_AID": re.compile(r"^[^\s]{1,256}$"),
}
ELEMENT_KEYS = frozenset({"action", "userIds", "firstName", "lastName", "title", "company", "country"})
CREATE_REQUIRED = frozenset({"name", "sourcePlatform", "sourceSegmentId", "account", "type", "destinations"})
CREATE_OPTIONAL = frozenset({"accessPolicy"})
_VERSION = re.compile(r"^20\d{2}(?:0[1-9]|1[0-2])$")


class ApiError(Exception):
    """An answer the fake gives instead of handling a request."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(status, code, message)


def error_body(status: int, code: str | None = None, message: str | None = None) -> dict[str, Any]:
    """LinkedIn's REST error shape."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {"status": status, "code": code or phrase.upper().replace(" ", "_"), "message": message or phrase}


def check_version(value: str | None, active: tuple[str, str]) -> None:
    """A missing version is a 400; a well-formed one outside the served window a 426 (UNCONFIRMED code)."""
    if not value:
        raise ApiError(400, "VERSION_MISSING", "A version must be present. Please specify a version.")
    if not _VERSION.match(value):
        raise ApiError(400, "INVALID_VERSION", "LinkedIn-Version must be YYYYMM.")
    if not active[0] <= value <= active[1]:
        raise ApiError(426, "NONEXISTENT_VERSION", f"Requested version {value} is not active")


def element_problem(element: Any) -> str | None:
    """Why one /users element is malformed (None when it is well formed)."""
    if not isinstance(element, dict):
        return "an element must be an object"
    if unknown := sorted(set(element) - ELEMENT_KEYS):
        return f"unknown element field(s): {', '.join(unknown)}"
    if element.get("action") not in ("ADD", "REMOVE"):
        return "action must be ADD or REMOVE"
    ids = element.get("userIds")
    if not isinstance(ids, list) or not ids:
        return "userIds must be a non-empty array"
    seen: set[str] = set()
    for user_id in ids:
        if not isinstance(user_id, dict) or set(user_id) != {"idType", "idValue"}:
            return "each userId is exactly {idType, idValue}"
        id_type, value = user_id["idType"], user_id["idValue"]
        rule = ID_VALUE_RULES.get(id_type) if isinstance(id_type, str) else None
        if rule is None:
            return "idType must be SHA256_EMAIL, SHA512_EMAIL or GOOGLE_AID"
        if not isinstance(value, str) or not rule.match(value):
            return f"idValue is not a valid {id_type}"
        if id_type in seen:
            return f"idType {id_type} given twice"
        seen.add(id_type)
    return None


def create_problem(body: Any, account: str) -> ApiError | None:
    """Why a create-segment body is refused."""
    if not isinstance(body, dict):
        return ApiError(400, "INVALID_BODY", "The body must be a JSON object.")
    if missing := sorted(CREATE_REQUIRED - set(body)):
        return ApiError(400, "FIELD_MISSING", f"Missing field(s): {', '.join(missing)}")
    if unknown := sorted(set(body) - CREATE_REQUIRED - CREATE_OPTIONAL):
        return ApiError(400, "UNPERMITTED_FIELDS", f"Unpermitted field(s): {', '.join(unknown)}")
    texts = ("name", "sourcePlatform", "sourceSegmentId")
    if not all(isinstance(body[k], str) and body[k].strip() for k in texts):
        return ApiError(400, "INVALID_VALUE", "name, sourcePlatform and sourceSegmentId must be non-empty strings")
    if body["account"] != account:
        return ApiError(403, "ACCESS_DENIED", "Not enough permissions to access the ad account.")
    if body["type"] not in ("USER", "COMPANY"):
        return ApiError(400, "INVALID_VALUE", "type must be USER or COMPANY")
    if body["destinations"] != [{"destination": "LINKEDIN"}]:
        return ApiError(400, "INVALID_VALUE", "destinations must be [{destination: LINKEDIN}]")
    return None
