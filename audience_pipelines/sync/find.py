"""Finding one person: the identifiers a user typed, normalized, then looked up in snapshots and ledgers.

Snapshots keep raw source values, so they are searched by *identity keys* the warehouse derives from them
(email lowercased, phone digits, ids trimmed). Ledgers keep identifiers as each platform received them (hashed
for some), so each sync is probed with the value that sync would have sent, and with the plain normalized one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, fields

import pandas as pd
import phonenumbers
import sqlalchemy as sa

from audience_pipelines.config import ProjectConfig
from audience_pipelines.destinations.registry import destination_type
from audience_pipelines.identity import FieldSpec, IdentifierType, normalize_values, prepare_identifiers
from audience_pipelines.privacy import mask_value
from audience_pipelines.warehouse.people import (
    AudienceNow,
    Change,
    Holding,
    audiences_now,
    forgotten_of,
    holdings_of,
    ledger_syncs_holding,
    member_key_held,
    members_by_identity,
    members_in_ledgers,
    membership_changes_of,
)

#: The platform whose rules normalize typed identifiers (plain normalization, nothing hashed, E.164 phones).
PLAIN = "webhook"


class PersonQueryError(ValueError):
    """A typed identifier that cannot be used; the message names the option, never the value."""


@dataclass(frozen=True)
class PersonQuery:
    """The identifiers a user typed (at least one)."""

    member_key: str | None = None
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    fbp: str | None = None
    ga_client_id: str | None = None
    phone_region: str = "US"

    def typed(self) -> dict[str, str]:
        """Option name -> value, for the identifiers given."""
        given = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "phone_region"}
        return {name: value.strip() for name, value in given.items() if value is not None and value.strip()}

    def check(self) -> None:
        if not self.typed():
            options = ", ".join(f"--{name.replace('_', '-')}" for name in self.typed_names())
            raise PersonQueryError(f"give one of {options}")

    @staticmethod
    def typed_names() -> list[str]:
        return [f.name for f in fields(PersonQuery) if f.name != "phone_region"]

    def masked(self) -> str:
        """What was typed, masked (member keys are pseudonymous ids, shown as typed), for output."""
        typed = self.typed().items()
        return ", ".join(f"{name} {value if name == 'member_key' else mask_value(value)}" for name, value in typed)


def normalized_identifiers(query: PersonQuery) -> dict[str, str]:
    """Identifier type -> normalized value (the identity package's plain rules), for the identifiers typed."""
    out: dict[str, str] = {}
    for name, value in query.typed().items():
        if name == "member_key":
            continue
        normalized, reasons = normalize_values(
            pd.Series([value], dtype=object), name, PLAIN, default_region=query.phone_region
        )
        if normalized.iloc[0] is None or pd.isna(normalized.iloc[0]):
            raise PersonQueryError(
                f"--{name.replace('_', '-')}: the value is not a usable {name.replace('_', ' ')} ({reasons.iloc[0]})"
            )
        out[name] = str(normalized.iloc[0])
    return out


def identity_keys(query: PersonQuery) -> list[str]:
    """The typed identifiers as the warehouse's identity keys, in every form a source may hold them."""
    typed = query.typed()
    keys: set[str] = set()
    for kind, value in normalized_identifiers(query).items():
        if kind == "phone":
            keys.update(f"phone:{digits}" for digits in phone_digit_forms(value, query.phone_region))
        elif kind == "email":
            keys.add(f"email:{value.lower()}")
        else:
            keys.update({f"{kind}:{value}", f"{kind}:{typed[kind]}"})
    return sorted(keys)


def phone_digit_forms(phone: str, region: str = "US") -> set[str]:
    """The digits of a phone number as sources write them: as given, with the country code, and national (with
    and without a leading trunk zero), for each reading of it that is a valid number."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    forms = {digits} if digits else set()
    for candidate, default_region in ((f"+{digits}", None), (digits, region)):
        try:
            number = phonenumbers.parse(candidate, default_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            forms |= {f"{number.country_code}{number.national_number}", str(number.national_number)}
            forms.add("".join(ch for ch in national if ch.isdigit()))
    return forms


def ledger_probes(config: ProjectConfig, query: PersonQuery) -> Iterator[tuple[str, str, str]]:
    """(sync, destination field, value) for each configured sync mapping a typed identifier: the value as that
    sync sends it (hashed where its platform hashes) and the plain normalized value."""
    typed = {k: v for k, v in query.typed().items() if k != "member_key"}
    if not typed:
        return
    frame = pd.DataFrame([typed], dtype=object)
    for sync in config.syncs:
        mapped = {column: field for column, field in sync.identifiers.items() if column in typed}
        specs = {field: FieldSpec(column, IdentifierType(column)) for column, field in mapped.items()}
        if not specs:
            continue
        destination = config.destination(sync.destination)
        rules = destination_type(destination.type).identity_rules(destination)
        prepared = prepare_identifiers(frame, specs, rules, default_region=query.phone_region, keep_normalized=True)
        for field in specs:
            for value in {prepared.values[field].iloc[0], prepared.normalized[field].iloc[0]}:
                if value is not None and not pd.isna(value):
                    yield sync.name, field, str(value)


@dataclass(frozen=True)
class PersonReport:
    """What the pipeline holds about the members matching a query (no identifier values)."""

    member_keys: tuple[str, ...]
    audiences_now: list[AudienceNow]
    changes: list[Change]
    holdings: list[Holding]
    unconfigured_syncs: list[str]
    forgotten: list[tuple[str, str, dt.datetime]]


def find_member_keys(
    conn: sa.Connection,
    config: ProjectConfig,
    query: PersonQuery,
    *,
    with_history: bool = False,
    everywhere: bool = False,
) -> set[str]:
    """Member keys matching any typed identifier in the newest snapshots or a sync's ledger, else (or,
    ``everywhere``, also) in retained snapshot history; a typed member key when a snapshot or a ledger holds
    it (or, ``with_history``, membership history has it)."""
    query.check()
    typed_identities = identity_keys(query)
    keys = members_by_identity(conn, typed_identities, history=everywhere)
    keys |= members_in_ledgers(conn, ledger_probes(config, query))
    if not keys and not everywhere:  # left every audience and every destination: look through history
        keys = members_by_identity(conn, typed_identities, history=True)
    typed = (query.member_key or "").strip()
    if typed and member_key_held(conn, typed, with_history=with_history):
        keys.add(typed)
    return keys


def find_person(engine: sa.Engine, config: ProjectConfig, query: PersonQuery) -> PersonReport:
    """Audiences now, membership history and destination holdings of the members matching ``query``."""
    audiences = [a.name for a in config.audiences]
    syncs = [s.name for s in config.syncs]
    with engine.connect() as conn:
        keys = sorted(find_member_keys(conn, config, query, with_history=True))
        if not keys:
            return PersonReport((), [], [], [], [], [])
        return PersonReport(
            tuple(keys),
            audiences_now(conn, keys, audiences),
            membership_changes_of(conn, keys, audiences),
            holdings_of(conn, keys, syncs),
            [s for s in ledger_syncs_holding(conn, keys) if s not in syncs],
            forgotten_of(conn, keys),
        )
