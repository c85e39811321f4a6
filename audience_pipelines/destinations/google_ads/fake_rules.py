"""Rules of the fake Google Ads API: strict JSON field checks, identifier checks, a GAQL subset, error bodies.

Like the REST API, unknown JSON field names anywhere are refused (snake_case and lowerCamelCase names are
both accepted), a oneof set twice is refused, and errors use the ``google.rpc.Status`` envelope with a
``GoogleAdsFailure`` in ``details``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
CONSENT_VALUES = frozenset({"UNSPECIFIED", "UNKNOWN", "GRANTED", "DENIED"})
KEY_TYPES = frozenset({"CONTACT_INFO", "CRM_ID", "MOBILE_ADVERTISING_ID"})
MAX_IDENTIFIERS_PER_USER_DATA = 20
MAX_IDENTIFIERS_PER_REQUEST = 100_000
HEX64 = re.compile(r"^[0-9a-f]{64}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")

# ------------------------------------------------------------------ request schemas (lowerCamelCase names)

CONSENT: dict[str, Any] = {"adUserData": CONSENT_VALUES, "adPersonalization": CONSENT_VALUES}
ADDRESS: dict[str, Any] = {
    name: str
    for name in (
        "hashedFirstName",
        "hashedLastName",
        "city",
        "state",
        "countryCode",
        "postalCode",
        "hashedStreetAddress",
    )
}
IDENTIFIER: dict[str, Any] = {
    "userIdentifierSource": frozenset({"UNSPECIFIED", "UNKNOWN", "FIRST_PARTY", "THIRD_PARTY"}),
    "hashedEmail": str,
    "hashedPhoneNumber": str,
    "mobileId": str,
    "thirdPartyUserId": str,
    "addressInfo": ADDRESS,
}
USER_DATA: dict[str, Any] = {"userIdentifiers": [IDENTIFIER], "consent": CONSENT}
ADD_OPERATIONS: dict[str, Any] = {
    "operations": [{"create": USER_DATA, "remove": USER_DATA, "removeAll": bool}],
    "enablePartialFailure": bool,
    "enableWarnings": bool,
    "validateOnly": bool,
}
CREATE_JOB: dict[str, Any] = {
    "job": {
        "type": frozenset({"CUSTOMER_MATCH_USER_LIST"}),
        "externalId": int,
        "customerMatchUserListMetadata": {"userList": str, "consent": CONSENT},
    },
    "validateOnly": bool,
    "enableMatchRateRangePreview": bool,
}
RUN_JOB: dict[str, Any] = {"validateOnly": bool}
MUTATE_LISTS: dict[str, Any] = {
    "operations": [
        {
            "create": {
                "name": str,
                "description": str,
                "membershipLifeSpan": int,
                "membershipStatus": frozenset({"OPEN", "CLOSED"}),
                "crmBasedUserList": {
                    "uploadKeyType": KEY_TYPES,
                    "appId": str,
                    "dataSourceType": frozenset({"FIRST_PARTY", "THIRD_PARTY_CREDIT_BUREAU", "THIRD_PARTY_VOTER_FILE"}),
                },
            },
            "remove": str,
        }
    ],
    "partialFailure": bool,
    "validateOnly": bool,
    "responseContentType": frozenset({"RESOURCE_NAME_ONLY", "MUTABLE_RESOURCE"}),
}
SEARCH: dict[str, Any] = {"query": str, "pageToken": str, "validateOnly": bool}


class ApiError(Exception):
    """An error answer: HTTP status and body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def request_id() -> str:
    return secrets.token_urlsafe(16)


def failure_type(version: str) -> str:
    return f"type.googleapis.com/google.ads.googleads.{version}.errors.GoogleAdsFailure"


def failure(category: str, code: str, message: str, path: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One GoogleAdsError: ``{"errorCode": {category: code}, "message", "location"?}``."""
    error: dict[str, Any] = {"errorCode": {category: code}, "message": message}
    if path:
        error["location"] = {"fieldPathElements": path}
    return error


def status_body(status: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": status, "message": message, "status": STATUS_NAMES.get(status, "UNKNOWN")}
    if details:
        error["details"] = details
    return {"error": error}


def ads_error(status: int, version: str, errors: list[dict[str, Any]], message: str = "") -> ApiError:
    """A Google Ads API error with a GoogleAdsFailure detail."""
    detail = {"@type": failure_type(version), "errors": errors, "requestId": request_id()}
    text = message or ("Request contains an invalid argument." if status == 400 else STATUS_NAMES.get(status, ""))
    return ApiError(status, status_body(status, text, [detail]))


def invalid_json(where: str, problem: str) -> ApiError:
    """The REST front end's answer to a body that does not fit the request message."""
    at = f" at '{where}'" if where else ""
    text = f"Invalid JSON payload received. {problem.format(at=at)}"
    violation = {"field": where, "description": text}
    detail = {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]}
    return ApiError(400, status_body(400, text, [detail]))


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def strict(value: Any, schema: Any, where: str = "") -> Any:
    """``value`` checked against ``schema`` with names turned lowerCamelCase; unknown names are errors."""
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise invalid_json(where, "Expected an object{at}.")
        checked: dict[str, Any] = {}
        for key, item in value.items():
            name = camel(str(key))
            if name not in schema:
                raise invalid_json(where, f'Unknown name "{key}"{{at}}: Cannot find field.')
            checked[name] = strict(item, schema[name], _join(where, name))
        return checked
    if isinstance(schema, list):
        if not isinstance(value, list):
            raise invalid_json(where, "Expected a list{at}.")
        return [strict(item, schema[0], f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(schema, frozenset):
        if value not in schema:
            raise invalid_json(where, "Invalid value{at}: not a value of the enum.")
        return value
    if schema is int:
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise invalid_json(where, "Invalid value{at}: expected an integer.")
    if not isinstance(value, schema):
        raise invalid_json(where, f"Invalid value{{at}}: expected {schema.__name__}.")
    return value


def one_of(message: Mapping[str, Any], names: frozenset[str], where: str) -> str | None:
    """The one member of a oneof that is set (None when none is); two set is an error, as in the API."""
    present = [name for name in message if name in names]
    if len(present) > 1:
        raise invalid_json(where, f'Oneof field is already set. Cannot set "{present[1]}"{{at}}.')
    return present[0] if present else None


# ------------------------------------------------------------------ identifiers

IDENTIFIER_KINDS = frozenset({"hashedEmail", "hashedPhoneNumber", "mobileId", "thirdPartyUserId", "addressInfo"})
KIND_KEY_TYPE = {
    "hashedEmail": "CONTACT_INFO",
    "hashedPhoneNumber": "CONTACT_INFO",
    "addressInfo": "CONTACT_INFO",
    "thirdPartyUserId": "CRM_ID",
    "mobileId": "MOBILE_ADVERTISING_ID",
}
SNAKE = {
    "hashedEmail": "hashed_email",
    "hashedPhoneNumber": "hashed_phone_number",
    "mobileId": "mobile_id",
    "thirdPartyUserId": "third_party_user_id",
    "addressInfo": "address_info",
    "hashedFirstName": "hashed_first_name",
    "hashedLastName": "hashed_last_name",
    "hashedStreetAddress": "hashed_street_address",
    "countryCode": "country_code",
    "postalCode": "postal_code",
}
ADDRESS_HASHED = ("hashedFirstName", "hashedLastName", "hashedStreetAddress")


@dataclass(frozen=True)
class Problem:
    """What is wrong with one identifier: error code, message and the field path below it."""

    code: str
    message: str
    fields: tuple[str, ...]


def identifier_problem(kind: str, identifier: Mapping[str, Any], key_type: str) -> Problem | None:
    """Value-level checks for one UserIdentifier (the kind is already known to be set once)."""
    if KIND_KEY_TYPE[kind] != key_type:
        return Problem("INCOMPATIBLE_UPLOAD_KEY_TYPE", "Upload data is not compatible with the list.", (kind,))
    value = identifier[kind]
    if kind in ("hashedEmail", "hashedPhoneNumber"):
        if not HEX64.match(value):
            return Problem("INVALID_SHA256_FORMAT", "The SHA256 encoded value is malformed.", (kind,))
        return None
    if kind != "addressInfo":
        return None if value else Problem("MISSING_USER_IDENTIFIER", "The user identifier is missing.", (kind,))
    for name in ADDRESS_HASHED:
        if name in value and not HEX64.match(value[name]):
            return Problem("INVALID_SHA256_FORMAT", "The SHA256 encoded value is malformed.", (kind, name))
    if not COUNTRY.match(value.get("countryCode", "")):
        return Problem("INVALID_COUNTRY_CODE", "The country code is invalid.", (kind, "countryCode"))
    if not all(value.get(name) for name in ("hashedFirstName", "hashedLastName", "postalCode")):
        return Problem("MISSING_USER_IDENTIFIER", "The address is incomplete.", (kind,))
    return None


def identifier_key(kind: str, identifier: Mapping[str, Any]) -> tuple[str, str]:
    """A hashable key of one identifier, for membership."""
    value = identifier[kind]
    if kind == "addressInfo":
        parts = (value.get(name, "") for name in ("hashedFirstName", "hashedLastName", "countryCode", "postalCode"))
        return kind, "|".join(parts)
    return kind, str(value)


def operation_path(index: int, kind: str, position: int, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """``operations[i].create.user_identifiers[j].hashed_email`` as fieldPathElements."""
    path: list[dict[str, Any]] = [{"fieldName": "operations", "index": index}, {"fieldName": kind}]
    path.append({"fieldName": "user_identifiers", "index": position})
    path.extend({"fieldName": SNAKE.get(name, name)} for name in fields)
    return path


# ------------------------------------------------------------------ GAQL subset

_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<resource>[a-z_]+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(
    r"^\s*(?P<field>[a-z_.]+)\s*(?P<op>!=|=)\s*(?P<value>'[^'\\\n]*'|\"[^\"\\\n]*\"|-?\d+|[A-Z][A-Z_]*)\s*$"
)


@dataclass(frozen=True)
class Query:
    resource: str
    fields: tuple[str, ...]
    conditions: tuple[tuple[str, str, str], ...]
    limit: int | None


def parse_query(text: str, known: Mapping[str, frozenset[str]], version: str) -> Query:
    """A GAQL query over the resources and fields in ``known``; anything else is a QUERY_ERROR."""

    def refuse(code: str, message: str) -> ApiError:
        return ads_error(400, version, [failure("queryError", code, message)])

    match = _QUERY.match(text)
    if match is None:
        raise refuse("UNEXPECTED_INPUT", "Error in query: unexpected input.")
    resource = match.group("resource")
    if resource not in known:
        raise refuse("PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE", f"Cannot select from {resource}.")
    fields = tuple(field.strip() for field in match.group("fields").split(","))
    for field in fields:
        if field not in known[resource]:
            raise refuse("UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{field}'.")
    conditions = []
    for part in re.split(r"\s+AND\s+", match.group("where") or "", flags=re.IGNORECASE) if match["where"] else []:
        condition = _CONDITION.match(part)
        if condition is None:
            raise refuse("UNEXPECTED_INPUT", "Error in query: bad condition.")
        if condition.group("field") not in known[resource]:
            raise refuse("UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{condition.group('field')}'.")
        value = condition.group("value").strip("'\"")
        conditions.append((condition.group("field"), condition.group("op"), value))
    limit = int(match.group("limit")) if match.group("limit") else None
    return Query(resource, fields, tuple(conditions), limit)


def matches(query: Query, values: Mapping[str, Any]) -> bool:
    """Whether a resource's GAQL field values meet every condition (compared as strings)."""
    for field, op, expected in query.conditions:
        actual = str(values.get(field, ""))
        if (actual == expected) != (op == "="):
            return False
    return True


def render_row(query: Query, values: Mapping[str, Any]) -> dict[str, Any]:
    """The REST row for one resource: selected fields nested in lowerCamelCase, defaults left out."""
    root: dict[str, Any] = {"resourceName": values[f"{query.resource}.resource_name"]}
    for field in query.fields:
        value = values.get(field)
        if value is None:
            continue
        node = root
        *parents, leaf = [camel(part) for part in field.split(".")[1:]]
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    return {camel(query.resource): root}


def field_mask(query: Query) -> str:
    return ",".join(".".join(camel(part) for part in field.split(".")) for field in query.fields)


# ------------------------------------------------------------------ match rates

#: OfflineUserDataJobMatchRateRange values by the lowest whole percentage each covers, highest first
MATCH_RATE_RANGES = (
    (91, "MATCH_RANGE_91_TO_100"),
    (81, "MATCH_RANGE_81_TO_90"),
    (71, "MATCH_RANGE_71_TO_80"),
    (61, "MATCH_RANGE_61_TO_70"),
    (51, "MATCH_RANGE_51_TO_60"),
    (41, "MATCH_RANGE_41_TO_50"),
    (31, "MATCH_RANGE_31_TO_40"),
    (20, "MATCH_RANGE_20_TO_30"),
    (0, "MATCH_RANGE_LESS_THAN_20"),
)


def match_rate_range(matched: int, uploaded: int) -> str:
    """The range enum for ``matched`` of ``uploaded`` members (UNKNOWN for a job that uploaded nobody)."""
    if uploaded == 0:
        return "UNKNOWN"
    percent = int(100 * matched / uploaded)
    return next(name for floor, name in MATCH_RATE_RANGES if percent >= floor)
