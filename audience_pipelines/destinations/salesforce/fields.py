"""Which Contact / Lead fields a sync may write, and the ``check_sync`` validation of a sync's mapping."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from audience_pipelines.destinations.settings import DestinationConfig

MATCH_FIELD = "Email"
#: writable standard fields a sync may map to (system, id and formula fields are refused)
STANDARD_FIELDS: Mapping[str, frozenset[str]] = {
    "Contact": frozenset(
        [
            "Email",
            "FirstName",
            "LastName",
            "Salutation",
            "Title",
            "Department",
            "Phone",
            "MobilePhone",
            "HomePhone",
            "OtherPhone",
            "Fax",
            "Birthdate",
            "Description",
            "LeadSource",
            "HasOptedOutOfEmail",
            "DoNotCall",
            "MailingStreet",
            "MailingCity",
            "MailingState",
            "MailingPostalCode",
            "MailingCountry",
        ]
    ),
    "Lead": frozenset(
        [
            "Email",
            "FirstName",
            "LastName",
            "Salutation",
            "Title",
            "Company",
            "Phone",
            "MobilePhone",
            "Fax",
            "Description",
            "LeadSource",
            "Industry",
            "Website",
            "HasOptedOutOfEmail",
            "DoNotCall",
            "Street",
            "City",
            "State",
            "PostalCode",
            "Country",
        ]
    ),
}
#: a custom field's API name: optional namespace, letters/digits/single underscores, ``__c`` suffix
CUSTOM_FIELD = re.compile(r"^(?:[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*__)?[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*__c$")
CUSTOM_NAME_MAX = 43  # 40 characters plus "__c" (a namespace prefix adds up to 15 more)


def field_problem(name: str, person_object: str) -> str | None:
    """Why ``name`` cannot be written on a ``person_object`` (None when it can)."""
    if name in STANDARD_FIELDS[person_object]:
        return None
    if CUSTOM_FIELD.match(name):
        local = name.rsplit("__", 2)[-2] if name.count("__") == 2 else name.removesuffix("__c")
        return None if len(local) + 3 <= CUSTOM_NAME_MAX else f"{name!r} is longer than a custom field name can be"
    return (
        f"{name!r} is not a writable {person_object} field: use a custom field (API name ending in __c) or one of "
        f"{', '.join(sorted(STANDARD_FIELDS[person_object]))}"
    )


def field_problems(names: Iterable[str], person_object: str) -> list[str]:
    return [problem for name in names if (problem := field_problem(name, person_object)) is not None]


def check_sync(
    identifiers: Mapping[str, str], destination: DestinationConfig, fields: Mapping[str, str] | None = None
) -> list[str]:
    """The identifiers must map email to Email (people are matched by it); every target must be writable."""
    person_object = getattr(getattr(destination, "settings", None), "person_object", "Contact")
    problems = []
    if identifiers.get("email") != MATCH_FIELD:
        problems.append(
            f"field 'identifiers': a Salesforce sync matches {person_object}s by Email, so it maps email: Email"
        )
    for column, name in identifiers.items():
        if (problem := field_problem(name, person_object)) is not None:
            problems.append(f"field 'identifiers.{column}': {problem}")
    for column, name in (fields or {}).items():
        if (problem := field_problem(name, person_object)) is not None:
            problems.append(f"field 'fields.{column}': {problem}")
    return problems
