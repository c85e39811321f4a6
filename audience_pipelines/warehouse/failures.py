"""Members a destination refused: retried by later runs, parked after too many attempts.

A member the destination rejected stays out of the ledger, so the next run plans it again, on the same
snapshot too. Each refusal is counted per sync, operation and member; once ``max_attempts`` is reached (or at
once, for a member with no usable identifier, which a retry cannot fix) the member is *parked*: planning
skips it until its source values change (a new fingerprint) or someone clears it. Parked members are counted
in run history.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from audience_pipelines.warehouse.schema import SCHEMA


@dataclass(frozen=True)
class MemberFailure:
    """One refusal of one member."""

    member_key: str
    reason: str
    source_fingerprint: str


@dataclass(frozen=True)
class ParkedMember:
    member_key: str
    operation: str
    attempts: int
    reason: str


def record_failures(
    conn: sa.Connection, sync: str, operation: str, failures: Sequence[MemberFailure], *, park_after: int
) -> int:
    """Count one more attempt for each member (starting over when its values changed); returns how many
    members are parked now that were not before."""
    if not failures:
        return 0
    rows = json.dumps([{"k": f.member_key, "r": f.reason, "fp": f.source_fingerprint} for f in failures])
    return conn.execute(
        sa.text(
            f"""with upserted as (
                    insert into {SCHEMA}.sync_member_failures as f
                        (sync, operation, member_key, source_fingerprint, attempts, reason, parked)
                    select :sync, :operation, r.k, r.fp, 1, r.r, :park_after <= 1
                    from jsonb_to_recordset(cast(:rows as jsonb)) as r(k text, r text, fp text)
                    on conflict (sync, operation, member_key) do update set
                        attempts = case when f.source_fingerprint = excluded.source_fingerprint
                                        then f.attempts + 1 else 1 end,
                        parked = case when f.source_fingerprint = excluded.source_fingerprint
                                      then f.attempts + 1 >= :park_after else :park_after <= 1 end,
                        source_fingerprint = excluded.source_fingerprint,
                        reason = excluded.reason, last_failed_at = now()
                    returning parked
                )
                select count(*) filter (where parked) from upserted"""
        ),
        {"sync": sync, "operation": operation, "rows": rows, "park_after": park_after},
    ).scalar_one()


def clear_failures(conn: sa.Connection, sync: str, operation: str, member_keys: Sequence[str]) -> None:
    """Members the destination has now accepted start with a clean slate."""
    if member_keys:
        conn.execute(
            sa.text(
                f"""delete from {SCHEMA}.sync_member_failures
                    where sync = :sync and operation = :operation and member_key = any(:keys)"""
            ),
            {"sync": sync, "operation": operation, "keys": list(member_keys)},
        )


def has_failures(conn: sa.Connection, sync: str, operation: str) -> bool:
    """Whether any member of the sync has a refusal on record for ``operation`` (parked or not)."""
    return conn.execute(
        sa.text(f"select exists (select 1 from {SCHEMA}.sync_member_failures where sync = :sync and operation = :op)"),
        {"sync": sync, "op": operation},
    ).scalar_one()


def parked_filter(operation: str, alias: str, fingerprint_sql: str | None, *, after: str | None = None) -> str:
    """SQL condition: the member at ``alias`` is not parked for ``operation`` (with these values).

    ``after``: the page's keyset bound (``:after``), so a page reads only its key range of the parked members.
    """
    # ``is not distinct from`` (both sides are never null) keeps the fingerprint out of the join keys: it is then
    # computed only for members that have a parked record, not for every snapshot row a plan reads
    same_values = f" and f.source_fingerprint is not distinct from {fingerprint_sql}" if fingerprint_sql else ""
    bound = f" and f.member_key > {after}" if after else ""
    return f"""not exists (select 1 from {SCHEMA}.sync_member_failures f
                           where f.sync = :sync and f.operation = '{operation}'{bound}
                             and f.member_key = {alias}.member_key and f.parked{same_values})"""


def parked_members(conn: sa.Connection, sync: str, limit: int = 20) -> tuple[int, list[ParkedMember]]:
    """How many members a sync has parked, and the most recent ones."""
    total = conn.execute(
        sa.text(f"select count(*) from {SCHEMA}.sync_member_failures where sync = :sync and parked"),
        {"sync": sync},
    ).scalar_one()
    rows = conn.execute(
        sa.text(
            f"""select member_key, operation, attempts, reason from {SCHEMA}.sync_member_failures
                where sync = :sync and parked order by last_failed_at desc, member_key limit :limit"""
        ),
        {"sync": sync, "limit": limit},
    ).all()
    return total, [ParkedMember(*row) for row in rows]
