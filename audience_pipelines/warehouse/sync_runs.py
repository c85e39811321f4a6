"""Run history and per-sync state: what each run did, and where each sync's destination stands."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import sqlalchemy as sa

from audience_pipelines.warehouse.schema import SCHEMA

RUN_STATUSES = ("running", "success", "partial", "failed", "skipped")


@dataclass
class RunCounts:
    """Numbers a sync run reports (also the destination asset's plotted metadata)."""

    planned_adds: int = 0
    planned_removes: int = 0
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped_invalid: int = 0
    parked: int = 0
    skipped_consent: int = 0


@dataclass(frozen=True)
class MatchFigures:
    """How many members the platform reported matching after a run; None where it reported nothing.

    ``matched_low``/``matched_high`` bound the matched count (equal when the platform gives one number);
    ``match_rate`` is a fraction of the members sent (the platform's own rate where it reports one).
    """

    matched_low: int | None = None
    matched_high: int | None = None
    match_rate: float | None = None


@dataclass(frozen=True)
class RejectedRow:
    """A member a run could not sync: key, what was attempted, why (never raw identifiers)."""

    member_key: str | None
    operation: str
    reason: str
    message: str = ""


@dataclass(frozen=True)
class SyncState:
    """Where a sync's destination stands."""

    list_id: str | None = None
    list_name: str | None = None
    list_url: str | None = None
    partition_key: str | None = None
    partition_start: dt.datetime | None = None
    snapshot_computed_at: dt.datetime | None = None
    synced_at: dt.datetime | None = None
    upload_job_id: str | None = None
    upload_operation: str | None = None
    unlinked_at: dt.datetime | None = None
    unlinked_reason: str | None = None

    @property
    def unlinked(self) -> str | None:
        """Why the sync does not run (unlinked or its list deleted), or None."""
        if self.unlinked_at is None:
            return None
        return f"{self.unlinked_reason or 'unlinked'} on {self.unlinked_at:%Y-%m-%d %H:%M} UTC"


@dataclass
class RunRecord:
    """One row of run history."""

    run_id: str
    sync: str
    destination: str
    audience: str
    trigger: str
    status: str
    partition_key: str | None = None
    counts: RunCounts = field(default_factory=RunCounts)
    match: MatchFigures = field(default_factory=MatchFigures)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    duration_seconds: float | None = None
    error_summary: str | None = None


def start_run(conn: sa.Connection, *, run_id: str, sync: str, destination: str, audience: str, trigger: str) -> None:
    """Record a run as running (a rerun of the same Dagster run id starts over)."""
    conn.execute(
        sa.text(
            f"""insert into {SCHEMA}.sync_runs (run_id, sync, destination, audience, trigger, status, dagster_run_id)
                values (:run_id, :sync, :destination, :audience, :trigger, 'running', :run_id)
                on conflict (run_id) do update set status = 'running', started_at = now(),
                    finished_at = null, error_summary = null"""
        ),
        {
            "run_id": run_id,
            "sync": sync,
            "destination": destination,
            "audience": audience,
            "trigger": trigger,
        },
    )


def finish_run(
    conn: sa.Connection,
    run_id: str,
    *,
    status: str,
    counts: RunCounts,
    partition_key: str | None,
    error_summary: str | None = None,
) -> None:
    """Write a run's outcome and counts."""
    conn.execute(
        sa.text(
            f"""update {SCHEMA}.sync_runs set status = :status, partition_key = :partition_key,
                    planned_adds = :planned_adds, planned_removes = :planned_removes, sent = :sent,
                    accepted = :accepted, rejected = :rejected, skipped_invalid = :skipped_invalid, parked = :parked,
                    skipped_consent = :skipped_consent,
                    finished_at = now(), duration_seconds = extract(epoch from now() - started_at),
                    error_summary = :error_summary
                where run_id = :run_id"""
        ),
        {
            "run_id": run_id,
            "status": status,
            "partition_key": partition_key,
            "error_summary": error_summary,
            **asdict(counts),
        },
    )


def save_match(conn: sa.Connection, run_id: str, match: MatchFigures) -> None:
    """Record what the platform reported matching for a run."""
    conn.execute(
        sa.text(
            f"""update {SCHEMA}.sync_runs set matched_low = :matched_low, matched_high = :matched_high,
                    match_rate = :match_rate
                where run_id = :run_id"""
        ),
        {"run_id": run_id, **asdict(match)},
    )


def fail_abandoned_runs(conn: sa.Connection, sync: str, *, except_run: str) -> int:
    """Runs of a sync still ``running`` although no run holds its lock: their process died. Mark them failed."""
    return conn.execute(
        sa.text(
            f"""update {SCHEMA}.sync_runs set status = 'failed', finished_at = now(),
                    duration_seconds = extract(epoch from now() - started_at),
                    error_summary = 'ended without a final status (its process was killed or lost the '
                                    || 'warehouse); reconciled by run ' || :current
                where sync = :sync and status = 'running' and run_id <> :current"""
        ),
        {"sync": sync, "current": except_run},
    ).rowcount


def other_runs_seen(conn: sa.Connection, sync: str, *, except_run: str) -> tuple[int, int, str]:
    """(runs, runs still going, latest start or finish) of a sync's other runs and lifecycle actions.

    Every write to a sync's ledger or retry records happens inside one of these (forget requests only take
    members out of the work): a plan taken while this stays the same still names all of the sync's work.
    """
    count, going, latest = conn.execute(
        sa.text(
            f"""select count(*), count(*) filter (where finished_at is null),
                       coalesce(max(greatest(started_at, finished_at))::text, '')
                from {SCHEMA}.sync_runs where sync = :sync and run_id <> :current"""
        ),
        {"sync": sync, "current": except_run},
    ).one()
    return int(count), int(going), latest


def record_skip(
    conn: sa.Connection,
    *,
    run_id: str,
    sync: str,
    destination: str,
    audience: str,
    trigger: str,
    partition_key: str | None,
    reason: str,
) -> None:
    """Record a run that was not launched or had nothing to do, with the reason (idempotent per id)."""
    conn.execute(
        sa.text(
            f"""insert into {SCHEMA}.sync_runs (run_id, sync, destination, audience, trigger, partition_key,
                    status, finished_at, duration_seconds, error_summary)
                values (:run_id, :sync, :destination, :audience, :trigger, :partition_key, 'skipped',
                        now(), 0, :reason)
                on conflict (run_id) do nothing"""
        ),
        {
            "run_id": run_id,
            "sync": sync,
            "destination": destination,
            "audience": audience,
            "trigger": trigger,
            "partition_key": partition_key,
            "reason": reason,
        },
    )


def record_rejections(conn: sa.Connection, run_id: str, sync: str, rows: Sequence[RejectedRow]) -> None:
    """Store one row per member not accepted (member key, reason code, scrubbed platform message)."""
    if not rows:
        return
    conn.execute(
        sa.text(
            f"""insert into {SCHEMA}.sync_rejections (run_id, sync, member_key, operation, reason, message)
                select :run_id, :sync, r.member_key, r.operation, r.reason, r.message
                from jsonb_to_recordset(cast(:rows as jsonb))
                     as r(member_key text, operation text, reason text, message text)"""
        ),
        {"run_id": run_id, "sync": sync, "rows": json.dumps([asdict(r) for r in rows])},
    )


def get_state(conn: sa.Connection, sync: str) -> SyncState:
    row = conn.execute(
        sa.text(
            f"""select list_id, list_name, list_url, partition_key, partition_start, snapshot_computed_at,
                       synced_at, upload_job_id, upload_operation, unlinked_at, unlinked_reason
                from {SCHEMA}.sync_state where sync = :sync"""
        ),
        {"sync": sync},
    ).one_or_none()
    return SyncState(*row) if row else SyncState()


def save_list(conn: sa.Connection, sync: str, list_id: str, list_name: str, list_url: str | None) -> None:
    conn.execute(
        sa.text(
            f"""insert into {SCHEMA}.sync_state (sync, list_id, list_name, list_url)
                values (:sync, :list_id, :list_name, :list_url)
                on conflict (sync) do update set list_id = excluded.list_id, list_name = excluded.list_name,
                    list_url = excluded.list_url"""
        ),
        {"sync": sync, "list_id": list_id, "list_name": list_name, "list_url": list_url},
    )


def save_unlinked(conn: sa.Connection, sync: str, reason: str | None) -> None:
    """Stop a sync (``reason``: unlinked, list deleted) or let it run again (None); its ledger is kept."""
    conn.execute(
        sa.text(
            f"""insert into {SCHEMA}.sync_state (sync, unlinked_at, unlinked_reason)
                values (:sync, case when cast(:reason as text) is null then null else now() end, :reason)
                on conflict (sync) do update set unlinked_at = excluded.unlinked_at,
                    unlinked_reason = excluded.unlinked_reason"""
        ),
        {"sync": sync, "reason": reason},
    )


def forget_list(conn: sa.Connection, sync: str) -> None:
    """The sync's list is gone: forget its id and the snapshot it reflected."""
    conn.execute(
        sa.text(
            f"""update {SCHEMA}.sync_state set list_id = null, list_name = null, list_url = null,
                    partition_key = null, partition_start = null, snapshot_computed_at = null
                where sync = :sync"""
        ),
        {"sync": sync},
    )


def save_upload(conn: sa.Connection, sync: str, job_id: str | None, operation: str | None) -> None:
    """Record the destination upload job a run is filling (None when it has ended)."""
    conn.execute(
        sa.text(
            f"""insert into {SCHEMA}.sync_state (sync, upload_job_id, upload_operation)
                values (:sync, :job, :operation)
                on conflict (sync) do update set upload_job_id = excluded.upload_job_id,
                    upload_operation = excluded.upload_operation"""
        ),
        {"sync": sync, "job": job_id, "operation": operation},
    )


def save_position(
    conn: sa.Connection, sync: str, partition_key: str, partition_start: dt.datetime, computed_at: dt.datetime
) -> None:
    """Record the snapshot the destination now reflects."""
    conn.execute(
        sa.text(
            f"""insert into {SCHEMA}.sync_state (sync, partition_key, partition_start, snapshot_computed_at,
                    synced_at)
                values (:sync, :partition_key, :partition_start, :computed_at, now())
                on conflict (sync) do update set partition_key = excluded.partition_key,
                    partition_start = excluded.partition_start,
                    snapshot_computed_at = excluded.snapshot_computed_at, synced_at = now()"""
        ),
        {
            "sync": sync,
            "partition_key": partition_key,
            "partition_start": partition_start,
            "computed_at": computed_at,
        },
    )


def recent_runs(
    conn: sa.Connection, sync: str | None = None, limit: int = 20, *, include_skips: bool = True
) -> list[RunRecord]:
    """Newest runs first, optionally for one sync; ``include_skips=False`` leaves out the sensor's records of
    partitions it did not run (historical or superseded ones)."""
    rows = conn.execute(
        sa.text(
            f"""select run_id, sync, destination, audience, trigger, status, partition_key, planned_adds,
                       planned_removes, sent, accepted, rejected, skipped_invalid, parked, skipped_consent,
                       matched_low, matched_high, match_rate, started_at, finished_at, duration_seconds,
                       error_summary
                from {SCHEMA}.sync_runs where (cast(:sync as text) is null or sync = :sync)
                  and (:skips or run_id not like 'skip:%')
                order by started_at desc limit :limit"""
        ),
        {"sync": sync, "limit": limit, "skips": include_skips},
    ).all()
    return [
        RunRecord(
            run_id=r.run_id,
            sync=r.sync,
            destination=r.destination,
            audience=r.audience,
            trigger=r.trigger,
            status=r.status,
            partition_key=r.partition_key,
            counts=RunCounts(
                r.planned_adds,
                r.planned_removes,
                r.sent,
                r.accepted,
                r.rejected,
                r.skipped_invalid,
                r.parked,
                r.skipped_consent,
            ),
            match=MatchFigures(r.matched_low, r.matched_high, r.match_rate),
            started_at=r.started_at,
            finished_at=r.finished_at,
            duration_seconds=r.duration_seconds,
            error_summary=r.error_summary,
        )
        for r in rows
    ]


def last_manual_run_started(conn: sa.Connection, sync: str) -> dt.datetime | None:
    """When the newest manually triggered run of a sync started (for its cooldown)."""
    return conn.execute(
        sa.text(
            f"""select max(started_at) from {SCHEMA}.sync_runs
                where sync = :sync and trigger = 'manual' and status <> 'skipped'"""
        ),
        {"sync": sync},
    ).scalar_one()


def rejections(conn: sa.Connection, run_id: str) -> list[RejectedRow]:
    rows = conn.execute(
        sa.text(
            f"""select member_key, operation, reason, message from {SCHEMA}.sync_rejections
                where run_id = :run_id order by member_key"""
        ),
        {"run_id": run_id},
    ).all()
    return [RejectedRow(*row) for row in rows]
