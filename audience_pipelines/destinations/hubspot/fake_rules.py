"""What the fake HubSpot API checks: its error shape and the shape of list, contacts and membership bodies."""

from __future__ import annotations

import re
import uuid
from http import HTTPStatus
from typing import Any

MAX_INPUTS = 100
#: record ids per membership request (UNCONFIRMED: HubSpot documents no number; ref §6)
MAX_MEMBERSHIP_IDS = 100_000
#: the test account's contact properties: HubSpot defaults plus the custom ``lifetime_value``
PROPERTIES = frozenset(
    {
        "email", "firstname", "lastname", "phone", "mobilephone", "company", "website", "address", "city",
        "state", "zip", "country", "jobtitle", "lifecyclestage", "hs_lead_status", "lifetime_value",
        "hs_object_id", "createdate", "lastmodifieddate",
    }
)  # fmt: skip
READ_ONLY = frozenset({"hs_object_id", "createdate", "lastmodifieddate"})
UPSERT_KEYS = frozenset({"idProperty", "id", "properties", "objectWriteTraceId"})
READ_KEYS = frozenset({"idProperty", "inputs", "properties", "propertiesWithHistory", "archived"})
CREATE_REQUIRED = frozenset({"name", "objectTypeId", "processingType"})
CREATE_OPTIONAL = frozenset({"filterBranch", "listFolderId", "customProperties"})
PROCESSING_TYPES = ("MANUAL", "DYNAMIC", "SNAPSHOT")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")


class ApiError(Exception):
    """An answer the fake gives instead of handling a request."""

    def __init__(self, status: int, category: str, message: str, sub_category: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(status, category, message, sub_category)


def error_body(
    status: int, category: str | None = None, message: str | None = None, sub_category: str | None = None
) -> dict[str, Any]:
    """HubSpot's error shape."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body = {
        "status": "error",
        "message": message or phrase,
        "correlationId": str(uuid.uuid4()),
        "category": category or phrase.upper().replace(" ", "_"),
    }
    return {**body, "subCategory": sub_category} if sub_category else body


def valid_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def inputs_of(body: Any, keys: frozenset[str], required: frozenset[str]) -> list[dict[str, Any]]:
    """The ``inputs`` of a batch body: 1..100 objects; the body and each input hold only known keys."""
    if not isinstance(body, dict) or not required <= set(body) or set(body) - keys:
        raise ApiError(400, "VALIDATION_ERROR", f"Body must be an object with {', '.join(sorted(required))}.")
    inputs = body["inputs"]
    if not isinstance(inputs, list) or not inputs:
        raise ApiError(400, "VALIDATION_ERROR", "inputs must be a non-empty array.")
    if len(inputs) > MAX_INPUTS:
        raise ApiError(400, "VALIDATION_ERROR", f"Batch input limit is {MAX_INPUTS}; got {len(inputs)}.")
    if body.get("idProperty", "email") != "email":
        raise ApiError(400, "VALIDATION_ERROR", "idProperty must be a unique property (email).")
    return inputs


def upsert_problem(item: Any) -> str | None:
    """Why one upsert input is malformed (None when it is well formed)."""
    if not isinstance(item, dict) or set(item) - UPSERT_KEYS or item.get("idProperty") != "email":
        return "each input is {idProperty: email, id, properties}"
    if not isinstance(item.get("id"), str) or not item["id"]:
        return "id must be a non-empty string"
    props = item.get("properties")
    if not isinstance(props, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in props.items()):
        return "properties must be an object of string values"
    if unknown := sorted(set(props) - PROPERTIES):
        return f"Property {unknown[0]!r} does not exist"
    if written := sorted(set(props) & READ_ONLY):
        return f"Property {written[0]!r} is read-only"
    if "email" in props and props["email"].lower() != item["id"].lower():
        return "properties.email differs from the id"
    return None


def create_problem(body: Any) -> ApiError | None:
    if not isinstance(body, dict) or not set(body) >= CREATE_REQUIRED or set(body) - CREATE_REQUIRED - CREATE_OPTIONAL:
        return ApiError(400, "VALIDATION_ERROR", "Body is {name, objectTypeId, processingType[, filterBranch]}.")
    if not isinstance(body["name"], str) or not body["name"].strip():
        return ApiError(400, "VALIDATION_ERROR", "name must be a non-empty string.")
    if body["objectTypeId"] != "0-1" or body["processingType"] not in PROCESSING_TYPES:
        return ApiError(400, "VALIDATION_ERROR", "objectTypeId 0-1 and processingType MANUAL|DYNAMIC|SNAPSHOT.")
    if body["processingType"] == "DYNAMIC" and "filterBranch" not in body:
        return ApiError(400, "VALIDATION_ERROR", "A DYNAMIC list needs a filterBranch.")
    return None
