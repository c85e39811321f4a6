"""Turning pending ledger work into outbound batches: identifiers normalized and hashed per platform,
rows without a usable identifier skipped and counted, stable ids for idempotent re-sends."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import pandas as pd

from audience_pipelines.config import SyncConfig
from audience_pipelines.destinations.kit import Batch, OutboundEvent, OutboundMember
from audience_pipelines.identity import FieldSpec, IdentifierType, PlatformRules, prepare_identifiers
from audience_pipelines.warehouse.ledger import LedgerRows, PendingMember, PendingPage
from audience_pipelines.warehouse.sync_runs import RejectedRow

T = TypeVar("T")


@dataclass(frozen=True)
class PreparedMembers:
    """Members ready to send, plus the ones skipped because no identifier survived normalization.

    ``positions`` holds each member's row in its page, so a page's other columns line up with ``members``.
    """

    members: list[OutboundMember]
    positions: list[int]
    skipped: list[RejectedRow]
    drop_counts: dict[str, int]
    page: PendingPage

    @property
    def fingerprints(self) -> list[str]:
        """Each member's source fingerprint, in the order of ``members``."""
        return _pick(self.page.fingerprints, self.positions)

    @property
    def snapshot_fingerprints(self) -> list[int | None]:
        return _pick(self.page.snapshot_fingerprints, self.positions)

    @property
    def transitions(self) -> list[str]:
        return _pick(self.page.transitions, self.positions)

    @property
    def held(self) -> list[bool]:
        """Whether the ledger held each member when its page was read."""
        return _pick(self.page.held, self.positions)


def _pick(values: Sequence[T], positions: list[int]) -> list[T]:
    return [values[position] for position in positions]


def batch_id(
    sync: str, operation: str, members: Sequence[OutboundMember], fingerprints: Sequence[str], snapshot: str = ""
) -> str:
    """Same members with the same values for the same snapshot -> same id, so a batch re-sent after a crash is
    deduplicated downstream, while the same members added again after leaving (a later snapshot) are not.
    ``fingerprints``: each member's source fingerprint, in the order of ``members``."""
    digest = hashlib.sha256(f"{sync}|{operation}|{snapshot}".encode())
    digest.update("".join(f"|{m.member_key}:{fp}" for m, fp in zip(members, fingerprints, strict=True)).encode())
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
    # each column as a list with None where a value is absent (identity leaves NaN there); fields as read
    values = [_as_list(prepared.values[field]) for field in prepared.values.columns]
    values += [page.columns[column] for column in sync.fields]
    rows = zip(*values, strict=True) if values else [()] * len(page)
    usable = prepared.usable.tolist()
    members, skipped, positions = [], [], []
    # the per-member loop of a sync: rows and names have one value per column by construction, so the zips
    # below skip ``strict`` (its check doubled the cost of building each member's fields)
    for position, (key, row) in enumerate(zip(page.member_keys, rows, strict=True)):
        if not usable[position]:
            reasons = prepared.drop_reasons.iloc[position].dropna()
            detail = ", ".join(f"{field}: {reason}" for field, reason in reasons.items()) or "no identifier"
            skipped.append(RejectedRow(key, operation, "no_valid_identifier", detail))
            continue
        # a plain field named like an identifier field wins, as it did before (the later key of a dict)
        if None in row:
            fields = {name: value for name, value in zip(names, row) if value is not None}  # noqa: B905
        else:
            fields = dict(zip(names, row))  # noqa: B905
        members.append(OutboundMember(key, fields))
        positions.append(position)
    return PreparedMembers(members, positions, skipped, prepared.drop_counts(), page)


def _as_list(column: pd.Series) -> list[str | None]:
    """A column's values as text, None where absent."""
    return [None if value is None or value != value else str(value) for value in column.tolist()]


def member_batch(
    sync: SyncConfig,
    operation: str,
    members: Sequence[OutboundMember],
    fingerprints: Sequence[str],
    snapshot: str,
) -> Batch:
    """A list-sync batch with its stable id (per snapshot synced to); adds of a sync with a consent rule carry
    only members whose consent column grants it, and say so. ``fingerprints`` line up with ``members``."""
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
    ids = [e.event_id for e in events]
    return Batch(batch_id(sync.name, event_name, members, ids), events=events, sync=sync.name, audience=sync.audience)


def ledger_rows(
    members: Sequence[OutboundMember],
    fingerprints: Sequence[str],
    snapshot_fingerprints: Sequence[int | None],
    held: Sequence[bool],
    rejected: set[str],
) -> LedgerRows:
    """Ledger rows for the members the platform accepted (all but ``rejected``), with both fingerprints and
    whether the ledger held each already; ``fingerprints``, ``snapshot_fingerprints`` and ``held`` line up
    with ``members``."""
    keys = [m.member_key for m in members]
    rows = LedgerRows(keys, [m.fields for m in members], fingerprints, snapshot_fingerprints, held)
    if not rejected:
        return rows
    return rows.take([i for i, key in enumerate(keys) if key not in rejected])
