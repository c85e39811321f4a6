"""Klaviyo JSON:API documents, the profile lookup filter, and the checks of a sync's field names."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from audience_pipelines.destinations.kit import OutboundMember

IMPORT_JOBS = "/api/profile-bulk-import-jobs"
PROFILES = "/api/profiles"
LISTS = "/api/lists"
IMPORT_JOB_TYPE = "profile-bulk-import-job"
#: profile identifiers, in the order a removal looks a member up by
IDENTIFIERS = ("email", "phone_number", "external_id")
#: other standard profile attributes a sync may write
ATTRIBUTES = ("first_name", "last_name", "organization", "title")
#: which audience identifier column may feed which profile attribute
IDENTIFIER_COLUMNS = {
    "email": "email",
    "phone": "phone_number",
    "external_id": "external_id",
    "first_name": "first_name",
    "last_name": "last_name",
}
MAX_PAYLOAD_BYTES = 5_000_000
#: values in one ``any(...)`` profile filter and profiles in one page ([UNCONFIRMED] 100)
LOOKUP_SIZE = 100
MAX_PROPERTY_NAME = 255
_PROPERTY = re.compile(r"^[^\x00-\x1f$][^\x00-\x1f]*$")
_INDEX = re.compile(r"^/data/attributes/profiles/data/(\d+)(?:/|$)")


def check_sync(identifiers: Mapping[str, str]) -> list[str]:
    """Problems with a sync's identifiers mapping (audience column -> profile attribute)."""
    problems = []
    for column, name in identifiers.items():
        expected = IDENTIFIER_COLUMNS.get(column)
        if expected is None:
            problems.append(
                f"field 'identifiers.{column}': klaviyo takes no identifier column '{column}' "
                f"(takes: {', '.join(IDENTIFIER_COLUMNS)})"
            )
        elif name != expected:
            problems.append(f"field 'identifiers.{column}': klaviyo calls this profile attribute '{expected}'")
    if not any(IDENTIFIER_COLUMNS.get(column) in IDENTIFIERS for column in identifiers):
        problems.append("field 'identifiers': map at least one of email, phone or external_id (a profile identifier)")
    return problems


def check_fields(fields: Mapping[str, str]) -> list[str]:
    """Problems with a sync's ``fields`` mapping (trait -> profile attribute or custom property)."""
    problems = []
    for trait, name in fields.items():
        if name in IDENTIFIERS:
            problems.append(f"field 'fields.{trait}': '{name}' is a profile identifier; map it under identifiers")
        elif name not in ATTRIBUTES and (problem := property_problem(name)):
            problems.append(f"field 'fields.{trait}': {problem}")
    return problems


def property_problem(name: str) -> str | None:
    """Why ``name`` cannot be a custom profile property, or None."""
    if not name or len(name) > MAX_PROPERTY_NAME:
        return f"property name must have 1 to {MAX_PROPERTY_NAME} characters"
    if not _PROPERTY.match(name):
        return f"property '{name}' is reserved ('$' names are Klaviyo's own) or holds control characters"
    return None


def profile(member: OutboundMember) -> dict[str, Any]:
    """One profile resource: identifiers and standard attributes, other fields under ``properties``."""
    attributes: dict[str, Any] = {}
    properties: dict[str, str] = {}
    for name, value in member.fields.items():
        if name in IDENTIFIERS or name in ATTRIBUTES:
            attributes[name] = value
        else:
            properties[name] = value
    if properties:
        attributes["properties"] = properties
    return {"type": "profile", "attributes": attributes}


def import_body(list_id: str, members: Sequence[OutboundMember]) -> dict[str, Any]:
    """The bulk import document: profiles upserted and added to the list."""
    return {
        "data": {
            "type": IMPORT_JOB_TYPE,
            "attributes": {"profiles": {"data": [profile(m) for m in members]}},
            "relationships": {"lists": {"data": [{"type": "list", "id": list_id}]}},
        }
    }


def import_chunks(list_id: str, members: Sequence[OutboundMember]) -> Iterator[tuple[Sequence[OutboundMember], Any]]:
    """(members, body) per import job, halving any chunk whose document exceeds the 5 MB payload limit."""
    body = import_body(list_id, members)
    if len(members) > 1 and len(json.dumps(body).encode()) > MAX_PAYLOAD_BYTES:
        half = len(members) // 2
        yield from import_chunks(list_id, members[:half])
        yield from import_chunks(list_id, members[half:])
    else:
        yield members, body


def lookup_key(member: OutboundMember) -> tuple[str, str] | None:
    """The identifier a removal finds the member's profile by: email, else phone_number, else external_id."""
    return next(((name, member.fields[name]) for name in IDENTIFIERS if member.fields.get(name)), None)


def lookup_path(identifier: str, values: Sequence[str]) -> str:
    """``GET /api/profiles`` filtered to profiles whose ``identifier`` is one of ``values``."""
    listed = json.dumps(list(values), separators=(",", ":"))
    query = {
        "filter": f"any({identifier},{listed})",
        "fields[profile]": ",".join(IDENTIFIERS),
        "page[size]": str(LOOKUP_SIZE),
    }
    return f"{PROFILES}?{urlencode(query, quote_via=quote)}"


def relationships_body(profile_ids: Sequence[str]) -> dict[str, Any]:
    return {"data": [{"type": "profile", "id": profile_id} for profile_id in profile_ids]}


def error_index(error: Mapping[str, Any]) -> int | None:
    """The position of the profile an import error names through its JSON pointer, if it does."""
    attributes = error.get("attributes") if isinstance(error.get("attributes"), dict) else error
    source = attributes.get("source") if isinstance(attributes, dict) else None
    pointer = source.get("pointer") if isinstance(source, dict) else None
    match = _INDEX.match(pointer) if isinstance(pointer, str) else None
    return int(match.group(1)) if match else None


def error_identity(error: Mapping[str, Any]) -> tuple[str, str] | None:
    """The identifier in an import error's ``original_payload``, if it gives one."""
    attributes = error.get("attributes")
    payload = attributes.get("original_payload") if isinstance(attributes, dict) else None
    if not isinstance(payload, dict):
        return None
    return next(((n, payload[n]) for n in IDENTIFIERS if isinstance(payload.get(n), str) and payload[n]), None)


def same_origin_path(next_url: str, base_url: str) -> str | None:
    """A pagination link as a path on our own base URL; None when it points anywhere else."""
    if next_url.startswith("/"):
        return next_url
    if not next_url.startswith(base_url + "/"):
        return None
    return next_url[len(base_url) :]
