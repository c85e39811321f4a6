"""Mailchimp request bodies, the subscriber hash, merge-tag rules and the sync check built on them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from audience_pipelines.destinations.settings import DestinationConfig

#: the destination field holding a member's (normalized, unhashed) email address
EMAIL = "email_address"
#: merge tags: upper-case letters, digits and underscores, at most 10 characters (UNCONFIRMED length)
MERGE_TAG = re.compile(r"^[A-Z][A-Z0-9_]{0,9}$")
#: tags Mailchimp keeps for itself (EMAIL is the address; the rest UNCONFIRMED)
RESERVED_TAGS = frozenset({"EMAIL", "LIST", "UNSUB", "FORWARD", "REWARDS", "ARCHIVE", "INTERESTS", "DATE", "USER_URL"})


def subscriber_hash(email: str) -> str:
    """A member's id in Mailchimp: MD5 hex of the trimmed, lower-cased email address."""
    return hashlib.md5(email.strip().lower().encode("utf-8"), usedforsecurity=False).hexdigest()


def merge_tag_problem(tag: str) -> str | None:
    """Why ``tag`` cannot be a merge field of a Mailchimp audience (None when it can)."""
    if tag in RESERVED_TAGS or tag.startswith("MC_"):
        return f"'{tag}' is a merge tag Mailchimp reserves"
    if not MERGE_TAG.match(tag):
        return f"'{tag}' is not a Mailchimp merge tag (A-Z, 0-9 and _, starting with a letter, at most 10 characters)"
    return None


def check_mapping(identifiers: Mapping[str, str], fields: Mapping[str, str] | None = None) -> list[str]:
    """Problems of a sync's mappings: exactly one email identifier; every other target a usable merge tag."""
    problems = []
    emails = [column for column, target in identifiers.items() if target == EMAIL]
    if len(emails) != 1:
        problems.append(
            f"field 'identifiers': Mailchimp matches members by email address; map exactly one email column to "
            f"'{EMAIL}' (found {len(emails)})"
        )
    for section, mapping in (("identifiers", identifiers), ("fields", fields or {})):
        for column, target in mapping.items():
            if section == "fields" and target == EMAIL:
                problems.append(f"field 'fields.{column}': '{EMAIL}' is the member's address, not a property")
            elif target != EMAIL and (problem := merge_tag_problem(target)):
                problems.append(f"field '{section}.{column}': {problem}")
    return problems


def check_sync(
    identifiers: Mapping[str, str], destination: DestinationConfig, fields: Mapping[str, str] | None = None
) -> list[str]:
    """The descriptor's ``check_sync``: the email mapping and every other target's merge-tag name."""
    return check_mapping(identifiers, fields)


def merge_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """Everything a member carries besides its email, as merge fields."""
    return {name: value for name, value in fields.items() if name != EMAIL}


def subscribe_body(members: Iterable[tuple[str, Mapping[str, str]]], status: str) -> dict[str, Any]:
    """``POST /lists/{id}`` batch subscribe/update: ``(email, merge fields)`` pairs, all with ``status``."""
    rows = []
    for email, fields in members:
        row: dict[str, Any] = {"email_address": email, "status": status}
        if fields:
            row["merge_fields"] = dict(fields)
        rows.append(row)
    return {"members": rows, "update_existing": True}


def segment_body(operation: str, emails: list[str]) -> dict[str, list[str]]:
    """``POST /lists/{id}/segments/{segment}``: add to or remove from a static segment (a tag)."""
    return {"members_to_add" if operation == "add" else "members_to_remove": emails}


def create_segment_body(name: str) -> dict[str, Any]:
    """A static segment (what the Mailchimp app shows as a tag), created empty."""
    return {"name": name, "static_segment": []}
