"""Turning pending ledger work into outbound batches: identifiers normalized and hashed per platform,
rows without a usable identifier skipped and counted, stable ids for idempotent re-sends."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from audience_pipelines.config import SyncConfig
from audience_pipelines.destinations.kit import Batch, OutboundEvent, OutboundMember
from audience_pipelines.identity import FieldSpec, IdentifierType, PlatformRules, prepare_identifiers
from audience_pipelines.warehouse.ledger import LedgerEntry, PendingMember, PendingPage
from audience_pipelines.warehouse.sync_runs import RejectedRow


@dataclass(frozen=True)
class PreparedMembers:
    """Members ready to send, plus the ones skipped because no identifier survived normalization."""

    members: list[OutboundMember]
    fingerprints: dict[str, str]
    skipped: list[RejectedRow]
    drop_counts: dict[str, int]


def batch_id(
    sync: str, operation: str, members: Sequence[OutboundMember], fingerprints: dict[str, str], snapshot: str = ""
) -> str:
    """Same members with the same values for the same snapshot -> same id, so a batch re-sent after a crash is
    deduplicated downstream, while the same members added again after leaving (a later snapshot) are not."""
    digest = hashlib.sha256(f"{sync}|{operation}|{snapshot}".encode())
    for member in members:
        digest.update(f"|{member.member_key}:{fingerprints.get(member.member_key, '')}".encode())
    return digest.hexdigest()[:32]


def event_id(sync: str, event_name: str, member_key: str, transition: str) -> str:
    """Deterministic per membership transition: a rerun re-sends the same id, a later re-entry gets a new one."""
    return hashlib.sha256(f"{sync}|{event_name}|{member_key}|{transition}".encode()).hexdigest()[:40]


def prepare_members(
    page: PendingPage,
    sync: SyncConfig,
    *,
    platform: PlatformRules | str,
    operation: str,
    default_region: str = "US",
) -> PreparedMembers:
    """Normalize and hash a page of snapshot members for one destination platform (column by column)."""
    columns = list(dict.fromkeys([*sync.identifiers, *sync.fields]))
    frame = pd.DataFrame({column: page.columns[column] for column in columns}, columns=columns, dtype=object)
    specs = {field: FieldSpec(column, IdentifierType(column)) for column, field in sync.identifiers.items()}
    country = "country" if "country" in frame.columns else None
    prepared = prepare_identifiers(frame, specs, platform, default_region=default_region, country_column=country)
    names = [*prepared.values.columns, *sync.fields.values()]
    values = [prepared.values[field].to_numpy() for field in prepared.values.columns]
    values += [page.columns[column] for column in sync.fields]
    rows = zip(*values, strict=True) if values else [()] * len(page)
    usable = prepared.usable.to_numpy()
    members, skipped, fingerprints = [], [], {}
    for position, (key, fingerprint, row) in enumerate(zip(page.member_keys, page.fingerprints, rows, strict=True)):
        if not usable[position]:
            reasons = prepared.drop_reasons.iloc[position].dropna()
            detail = ", ".join(f"{field}: {reason}" for field, reason in reasons.items()) or "no identifier"
            skipped.append(RejectedRow(key, operation, "no_valid_identifier", detail))
            continue
        # absent values are None (or NaN); a plain field named like an identifier field wins, as it did before
        fields = {
            name: str(value) for name, value in zip(names, row, strict=True) if value is not None and value == value
        }
        members.append(OutboundMember(key, fields))
        fingerprints[key] = fingerprint
    return PreparedMembers(members, fingerprints, skipped, prepared.drop_counts())


def member_batch(
    sync: SyncConfig, operation: str, members: Sequence[OutboundMember], fingerprints: dict[str, str], snapshot: str
) -> Batch:
    """A list-sync batch with its stable id (per snapshot synced to); adds of a sync with a consent rule carry
    only members whose consent column grants it, and say so."""
    return Batch(
        batch_id(sync.name, operation, members, fingerprints, snapshot),
        members=list(members),
        sync=sync.name,
        audience=sync.audience,
        consent_granted=operation == "add" and sync.consent is not None,
    )


def removal_members(pending: Sequence[PendingMember]) -> list[OutboundMember]:
    """Members to remove carry exactly the fields sent when they were added (from the ledger)."""
    return [OutboundMember(m.member_key, {k: str(v) for k, v in m.values.items()}) for m in pending]


def event_batch(
    sync: SyncConfig,
    event_name: str,
    members: Sequence[OutboundMember],
    transitions: dict[str, str],
    sent_at: int,
) -> Batch:
    """Events for members, each with a deterministic id."""
    events = [
        OutboundEvent(
            event_id=event_id(sync.name, event_name, m.member_key, transitions.get(m.member_key, "")),
            event_name=event_name,
            event_time=sent_at,
            member_key=m.member_key,
            fields=m.fields,
            properties={"audience": sync.audience, "sync": sync.name},
        )
        for m in members
    ]
    ids = {e.member_key: e.event_id for e in events}
    return Batch(batch_id(sync.name, event_name, members, ids), events=events, sync=sync.name, audience=sync.audience)


def ledger_entries(
    members: Sequence[OutboundMember],
    fingerprints: dict[str, str],
    keys: set[str],
    snapshot_fingerprints: Mapping[str, int | None],
) -> list[LedgerEntry]:
    """Ledger rows for the members in ``keys`` (the ones the platform accepted), with their snapshot fingerprints."""
    return [
        LedgerEntry(m.member_key, m.fields, fingerprints.get(m.member_key, ""), snapshot_fingerprints.get(m.member_key))
        for m in members
        if m.member_key in keys
    ]
