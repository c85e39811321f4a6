"""``audience-pipelines runs`` and ``audience-pipelines sync``: run history and the manual trigger."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import sqlalchemy as sa

from audience_pipelines.config import FOLLOW, MANUAL, ProjectConfig, SyncConfig
from audience_pipelines.config.audiences import DynamicAudience
from audience_pipelines.config.durations import format_duration
from audience_pipelines.config.refresh import next_tick
from audience_pipelines.defs.backfill import console_level
from audience_pipelines.defs.location import location_tags
from audience_pipelines.defs.syncs import sync_job_name, sync_partition_key, sync_run_request_parts
from audience_pipelines.warehouse.failures import parked_members
from audience_pipelines.warehouse.sync_runs import MatchFigures, get_state, last_manual_run_started, recent_runs


class CooldownError(RuntimeError):
    """A manual trigger was refused: inside the sync's cooldown, paused, or nothing to sync yet."""


def next_run_text(config: ProjectConfig, sync: SyncConfig, now: dt.datetime) -> str:
    """When the sync will next run, in words."""
    if not sync.is_active:
        return "paused"
    if sync.schedule == MANUAL:
        return "when triggered (schedule: manual)"
    if sync.schedule != FOLLOW:
        return f"{next_tick(sync.schedule, now):%Y-%m-%d %H:%M} UTC (schedule {sync.schedule})"
    audience = config.audience(sync.audience)
    if isinstance(audience, DynamicAudience) and audience.status == "active":
        return f"after the refresh at {next_tick(audience.refresh, now):%Y-%m-%d %H:%M} UTC"
    return "when the audience is next materialized"


def matched_text(match: MatchFigures) -> str:
    """``1,200`` or ``1,140-1,260`` (a platform's range), ``-`` when the platform reported nothing."""
    low, high = match.matched_low, match.matched_high
    if low is None or high is None:
        return "-"
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def rate_text(match: MatchFigures) -> str:
    return f"{match.match_rate:.0%}" if match.match_rate is not None else "-"


def print_runs(
    engine: sa.Engine, config: ProjectConfig, sync_name: str | None, limit: int, *, include_skips: bool = False
) -> None:
    """Each sync's state and recent runs, newest first (the sensor's skipped partitions only with include_skips)."""
    now = dt.datetime.now(dt.UTC)
    syncs = [config.sync(sync_name)] if sync_name else config.syncs
    with engine.connect() as conn:
        for sync in syncs:
            state = get_state(conn, sync.name)
            synced = f"{state.synced_at:%Y-%m-%d %H:%M} UTC to {state.partition_key}" if state.synced_at else "never"
            print(f"\n{sync.name}  ({sync.audience} -> {sync.destination}, {sync.type} sync, {sync.mode})")
            print(f"  last synced: {synced}   next run: {next_run_text(config, sync, now)}")
            header = f"  {'started (UTC)':<17}{'trigger':<9}{'status':<9}{'partition':<12}"
            columns = (
                f"{'+plan':>7}{'-plan':>7}{'sent':>7}{'ok':>7}{'rej':>6}{'inval':>6}{'park':>5}{'nocons':>7}"
                f"{'matched':>16}{'rate':>6}{'secs':>7}"
            )
            print(header + columns + "  note")
            for run in recent_runs(conn, sync.name, limit, include_skips=include_skips):
                c = run.counts
                seconds = f"{run.duration_seconds:.1f}" if run.duration_seconds is not None else "-"
                print(
                    f"  {run.started_at:%Y-%m-%d %H:%M} {run.trigger:<9}{run.status:<9}{run.partition_key or '-':<12}"
                    f"{c.planned_adds:>7}{c.planned_removes:>7}{c.sent:>7}{c.accepted:>7}{c.rejected:>6}"
                    f"{c.skipped_invalid:>6}{c.parked:>5}{c.skipped_consent:>7}{matched_text(run.match):>16}"
                    f"{rate_text(run.match):>6}{seconds:>7}  {(run.error_summary or '')[:120]}"
                )
            total, parked = parked_members(conn, sync.name, limit=5)
            if total:
                shown = ", ".join(f"{p.member_key} ({p.operation}, {p.attempts}x: {p.reason})" for p in parked)
                print(f"  parked (not retried until their values change): {total}: {shown}")


def check_cooldown(engine: sa.Engine, sync: SyncConfig, now: dt.datetime) -> None:
    with engine.connect() as conn:
        last = last_manual_run_started(conn, sync.name)
    if last is not None and now - last < sync.cooldown:
        allowed = last + sync.cooldown
        raise CooldownError(
            f"sync '{sync.name}' was triggered manually at {last:%H:%M:%S} UTC; its cooldown is "
            f"{format_duration(sync.cooldown)}, so the next manual run is allowed at {allowed:%H:%M:%S} UTC"
        )


def run_manual_sync(
    defs: dg.Definitions, engine: sa.Engine, config: ProjectConfig, name: str, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    """Run a sync now through its Dagster job (recorded in the instance), unless it is paused or cooling down.

    The run materializes the destination asset's partition of the audience's newest snapshot, as the UI's
    Materialize of that partition does."""
    sync = config.sync(name)
    if not sync.is_active:
        raise CooldownError(f"sync '{name}' is paused; set status: active to run it")
    check_cooldown(engine, sync, dt.datetime.now(dt.UTC))
    partition = sync_partition_key(engine, config, sync)
    if partition is None:
        raise CooldownError(f"sync '{name}': audience '{sync.audience}' has no complete partition yet")
    run_config, tags = sync_run_request_parts(sync, "manual")
    tags = {**tags, **location_tags()}
    job = defs.resolve_job_def(sync_job_name(sync))
    quiet = {**run_config.to_config_dict(), **console_level("WARNING")}  # the run's summary follows, not its log
    return job.execute_in_process(
        run_config=quiet, instance=instance, tags=tags, partition_key=partition, raise_on_error=False
    )
