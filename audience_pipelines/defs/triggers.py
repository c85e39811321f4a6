"""Deciding what a destination sensor does with newly landed diff partitions.

Only the newest partition can move a destination forward: diffs of older partitions (a historical backfill,
or several partitions landing between two ticks) are recorded as skipped with the reason, so every
materialization is accounted for in run history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg
import sqlalchemy as sa

from audience_pipelines.config import ProjectConfig, SyncConfig
from audience_pipelines.defs.partitions import audience_partitions
from audience_pipelines.warehouse.ledger import newest_snapshot
from audience_pipelines.warehouse.sync_runs import get_state, record_skip


@dataclass
class TriggerDecision:
    """The run to request (storage id, partition key), how far the cursor moves, and what to log."""

    request: tuple[int, str] | None = None
    consumed_through: int | None = None
    log_lines: list[str] = field(default_factory=list)


def decide_trigger(
    engine: sa.Engine, config: ProjectConfig, sync: SyncConfig, records: Sequence[dg.EventLogRecord]
) -> TriggerDecision:
    """One request at most per sync and tick, for the newest diff partition; skips recorded for the rest."""
    decision = TriggerDecision(consumed_through=records[-1].storage_id)
    partitions = audience_partitions(config.audience(sync.audience))
    with engine.begin() as conn:
        newest = newest_snapshot(conn, sync.audience)
        unlinked = get_state(conn, sync.name).unlinked
        candidate = None
        for record in records:
            key = record.partition_key
            reason = None
            if not sync.is_active:
                reason = "sync is paused"
            elif unlinked:
                reason = f"sync is {unlinked}"
            elif newest is None or partitions.time_window_for_partition_key(key).start < newest.partition_start:
                reason = (
                    f"historical partition {key}: the newest snapshot is "
                    f"{newest.partition_key if newest else 'missing'}, and a sync never moves backwards"
                )
            if reason is None:
                if candidate is not None:
                    _skip(conn, sync, candidate, "superseded by a later materialization of the same partition")
                candidate = record
                continue
            _skip(conn, sync, record, reason)
            decision.log_lines.append(f"{sync.name}: diff {key} (storage id {record.storage_id}) skipped: {reason}")
        if candidate is not None:
            decision.request = (candidate.storage_id, candidate.partition_key)
            decision.log_lines.append(
                f"{sync.name}: requesting a run for diff {candidate.partition_key} (storage id {candidate.storage_id})"
            )
    return decision


def _skip(conn: sa.Connection, sync: SyncConfig, record: dg.EventLogRecord, reason: str) -> None:
    record_skip(
        conn,
        run_id=f"skip:{sync.name}:{record.storage_id}",
        sync=sync.name,
        destination=sync.destination,
        audience=sync.audience,
        trigger="sensor",
        partition_key=record.partition_key,
        reason=reason,
    )
