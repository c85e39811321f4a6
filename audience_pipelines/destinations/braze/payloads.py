"""Braze /users/track attributes objects, and the rules for property names a sync may write."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audience_pipelines.destinations.settings import DestinationConfig

#: the identifiers a sync may map, in the order Braze resolves a profile by (external_id is primary)
IDENTIFIERS = ("external_id", "email", "phone")
#: keys of an attributes object that are not profile properties a trait may be written to
RESERVED = frozenset(
    {
        *IDENTIFIERS,
        "braze_id",
        "user_alias",
        "_update_existing_only",
        "push_token_import",
        "push_tokens",
        "subscription_groups",
        "_merge_objects",
    }
)
MAX_NAME_LENGTH = 255
TRACK_PATH = "/users/track"


def property_problem(name: str) -> str | None:
    """Why ``name`` cannot be a custom attribute key (None when it can)."""
    if not name or name != name.strip():
        return f"{name!r} must be non-empty without leading or trailing spaces"
    if len(name) > MAX_NAME_LENGTH:
        return f"{name[:20]!r}... is longer than {MAX_NAME_LENGTH} characters"
    if name.startswith("$"):
        return f"{name!r} starts with '$', which Braze reserves"
    if any(ord(ch) < 32 for ch in name):
        return f"{name!r} contains control characters"
    return None


def field_problem(name: str, membership_key: str | None) -> str | None:
    """Why a sync's extra field may not be written to property ``name``."""
    if name in RESERVED:
        return f"'{name}' is reserved in a Braze attributes object (identifiers go under identifiers:)"
    if name == membership_key:
        return f"'{name}' is the attribute that holds audience membership"
    return property_problem(name)


def membership_key(config: DestinationConfig) -> str | None:
    """The array attribute holding memberships (None in boolean mode: each list is its own attribute)."""
    settings = config.settings  # type: ignore[attr-defined]
    return settings.attribute if settings.membership == "array" else None


def check_sync(
    identifiers: Mapping[str, str], destination: DestinationConfig, fields: Mapping[str, str] | None = None
) -> list[str]:
    """Identifiers must be external_id, email or phone; extra fields must be writable custom properties."""
    problems = [
        f"field 'identifiers.{column}': Braze identifies users by {', '.join(IDENTIFIERS)}, not '{name}'"
        for column, name in identifiers.items()
        if name not in IDENTIFIERS
    ]
    key = membership_key(destination)
    for column, name in (fields or {}).items():
        if problem := field_problem(name, key):
            problems.append(f"field 'fields.{column}': {problem}")
    return problems


def primary_identifier(fields: Mapping[str, str]) -> str | None:
    """The identifier Braze resolves this member's profile by: external_id, else email, else phone."""
    return next((name for name in IDENTIFIERS if fields.get(name)), None)


def membership_value(membership: str, attribute: str, list_name: str, operation: str) -> dict[str, Any]:
    """``{attribute: {"add"|"remove": [list]}}`` or ``{list: true|false}``."""
    if membership == "array":
        return {attribute: {"add" if operation == "add" else "remove": [list_name]}}
    return {list_name: operation == "add"}


def attributes_object(
    fields: Mapping[str, str], primary: str, operation: str, membership: dict[str, Any]
) -> dict[str, Any]:
    """One attributes object: an add upserts identifiers and traits (creating the profile); a removal only
    takes the membership away from an existing profile and never deletes anything."""
    if operation == "remove":
        return {primary: fields[primary], "_update_existing_only": True, **membership}
    extra = {name: value for name, value in fields.items() if name not in IDENTIFIERS}
    ids = {name: fields[name] for name in IDENTIFIERS if fields.get(name)}
    return {**ids, "_update_existing_only": False, **extra, **membership}
