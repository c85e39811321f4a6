"""HubSpot request bodies, paths and property-name rules (shared by the client, validation and the fake)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from audience_pipelines.destinations.kit import Operation

CONTACTS = "0-1"
LISTS = "/crm/v3/lists"
UPSERT = "/crm/v3/objects/contacts/batch/upsert"
READ = "/crm/v3/objects/contacts/batch/read"
#: the destination field (HubSpot property) contacts are matched by
EMAIL = "email"
#: property internal names: lowercase letters, digits and underscores, starting with a letter (UNCONFIRMED length)
PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
#: properties HubSpot computes itself; a write is refused or ignored (UNCONFIRMED: not an exhaustive list)
READ_ONLY = frozenset(
    {
        "hs_object_id",
        "createdate",
        "lastmodifieddate",
        "hs_createdate",
        "hs_lastmodifieddate",
        "hs_email_domain",
        "hs_all_contact_vids",
        "hs_merged_object_ids",
        "hs_calculated_merged_vids",
        "hs_is_contact",
        "hs_is_unworked",
        "hs_object_source",
        "hs_object_source_id",
        "num_associated_deals",
        "associatedcompanyid",
    }
)
MEMBERSHIP_KEYS: Mapping[Operation, str] = {"add": "recordsIdsAdded", "remove": "recordIdsRemoved"}
#: what a planned membership request carries before the contacts request resolved the record ids
RECORD_IDS_PLACEHOLDER = "<record ids of the contacts above>"


def property_problem(name: str) -> str | None:
    """Why ``name`` cannot be written as a contact property (None when it can)."""
    if not PROPERTY_NAME.match(name):
        return (
            f"'{name}' is not a HubSpot property internal name "
            "(lowercase letters, digits and underscores, starting with a letter)"
        )
    if name in READ_ONLY:
        return f"'{name}' is a read-only HubSpot property (HubSpot computes it)"
    return None


def by_name_path(name: str) -> str:
    return f"{LISTS}/object-type-id/{CONTACTS}/name/{quote(name, safe='')}"


def create_list_body(name: str) -> dict[str, Any]:
    return {"name": name, "objectTypeId": CONTACTS, "processingType": "MANUAL"}


def upsert_body(profiles: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """One input per distinct email; ``properties`` carries the email and every mapped property."""
    return {
        "inputs": [
            {"idProperty": EMAIL, "id": email, "properties": {**properties, EMAIL: email}}
            for email, properties in profiles.items()
        ]
    }


def read_body(emails: Iterable[str]) -> dict[str, Any]:
    return {"idProperty": EMAIL, "inputs": [{"id": email} for email in emails], "properties": [EMAIL]}


def membership_path(list_id: str, operation: Operation) -> str:
    return f"{LISTS}/{quote(list_id, safe='')}/memberships/{operation}"
