"""One sync run end to end (plan, push, record), writing run history at each step.

The Dagster ops call the three steps separately; the CLI and tests call :func:`run_sync`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from audience_pipelines.config import ProjectConfig
from audience_pipelines.destinations.registry import build_client, destination_type
from audience_pipelines.privacy import describe_error
from audience_pipelines.sync.match_rates import read_match
from audience_pipelines.sync.plan import SyncPlan, plan_sync
from audience_pipelines.sync.runner import SyncFailed, SyncResult, SyncRunner
from audience_pipelines.warehouse.diffs import PartitionRef
from audience_pipelines.warehouse.locks import SyncBusyError, sync_lock
from audience_pipelines.warehouse.sync_runs import (
    RunCounts,
    fail_abandoned_runs,
    finish_run,
    save_match,
    save_position,
    start_run,
)


class GuardBlocked(RuntimeError):
    """A guard (min_size, max_exit_ratio) refused the run before anything was sent."""

    def __init__(self, plan: SyncPlan) -> None:
        super().__init__(plan.blocked_reason)
        self.plan = plan


@dataclass(frozen=True)
class RunSummary:
    """How a run ended."""

    run_id: str
    status: str
    plan: SyncPlan
    counts: RunCounts
    result: SyncResult | None = None
    message: str | None = None


def reconcile_abandoned_runs(engine: sa.Engine, sync: str, run_id: str) -> None:
    """Rows another run of this sync left ``running`` end as failed, when no run holds the sync's lock."""
    try:
        with sync_lock(engine, sync), engine.begin() as conn:
            fail_abandoned_runs(conn, sync, except_run=run_id)
    except SyncBusyError:
        pass  # a run is in progress: its row is not abandoned


def begin_run(
    engine: sa.Engine,
    config: ProjectConfig,
    sync_name: str,
    *,
    run_id: str,
    trigger: str,
    requested: PartitionRef | None = None,
) -> SyncPlan:
    """Record the run, plan it, and record a skip or a guard refusal (raising :class:`GuardBlocked`).

    ``requested``: the partition the run was asked for; a run for any but the newest snapshot is skipped."""
    sync = config.sync(sync_name)
    with engine.begin() as conn:
        start_run(
            conn,
            run_id=run_id,
            sync=sync.name,
            destination=sync.destination,
            audience=sync.audience,
            trigger=trigger,
        )
    reconcile_abandoned_runs(engine, sync.name, run_id)
    try:
        plan = plan_sync(engine, config, sync_name, requested, run_id=run_id)
    except Exception as error:
        _finish(engine, run_id, "failed", RunCounts(), None, f"planning failed: {describe_error(error)}")
        raise
    partition = requested.key if requested else plan.snapshot.partition_key if plan.snapshot else None
    counts = plan.initial_counts()
    if plan.skip_reason:
        with engine.begin() as conn:
            finish_run(
                conn,
                run_id,
                status="skipped",
                counts=counts,
                partition_key=partition,
                error_summary=plan.skip_reason,
            )
    elif plan.blocked_reason:
        with engine.begin() as conn:
            finish_run(
                conn,
                run_id,
                status="failed",
                counts=counts,
                partition_key=partition,
                error_summary=plan.blocked_reason,
            )
        raise GuardBlocked(plan)
    return plan


def push_run(
    engine: sa.Engine,
    config: ProjectConfig,
    plan: SyncPlan,
    *,
    run_id: str,
    log: Callable[[str], None] = lambda message: None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncResult:
    """Send the plan's changes; on failure record it (with progress so far) and re-raise."""
    sync = config.sync(plan.sync)
    destination_config = config.destination(sync.destination)
    platform = destination_type(destination_config.type).identity_rules(destination_config)
    partition = plan.snapshot.partition_key
    counts = plan.initial_counts()
    try:
        destination = build_client(destination_config, log=log, sleep=sleep)
    except Exception as error:  # a missing secret, a bad base_url: the run ends failed with the reason
        _finish(engine, run_id, "failed", counts, partition, describe_error(error))
        raise SyncFailed(f"sync '{sync.name}' could not start: {describe_error(error)}", counts) from None
    try:
        result = SyncRunner(engine, sync, destination, platform, run_id, log=log).run(plan)
        result.match_report, result.match = read_match(engine, destination, sync.name, result.list_ref, log)
        return result
    except SyncFailed as failure:
        _finish(engine, run_id, "failed", failure.counts, partition, str(failure))
        raise
    except SyncBusyError as busy:
        _finish(engine, run_id, "skipped", counts, partition, str(busy))
        raise
    finally:
        destination.close()


def _finish(engine: sa.Engine, run_id: str, status: str, counts: RunCounts, partition: str | None, reason: str) -> None:
    """Give a run its final status; if the warehouse itself is gone, the next run reconciles the row."""
    try:
        with engine.begin() as conn:
            finish_run(conn, run_id, status=status, counts=counts, partition_key=partition, error_summary=reason)
    except sa.exc.SQLAlchemyError:
        pass


def complete_run(engine: sa.Engine, plan: SyncPlan, result: SyncResult, *, run_id: str) -> str:
    """Record the snapshot the destination now reflects and the run's final status."""
    snapshot = plan.snapshot
    with engine.begin() as conn:
        save_position(conn, plan.sync, snapshot.partition_key, snapshot.partition_start, snapshot.computed_at)
        summary = f"{result.counts.rejected} member(s) rejected by the destination" if result.counts.rejected else None
        finish_run(
            conn,
            run_id,
            status=result.status,
            counts=result.counts,
            partition_key=snapshot.partition_key,
            error_summary=summary,
        )
        if result.match is not None:
            save_match(conn, run_id, result.match)
    return result.status


def run_sync(
    engine: sa.Engine,
    config: ProjectConfig,
    sync_name: str,
    *,
    run_id: str,
    trigger: str,
    log: Callable[[str], None] = lambda message: None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunSummary:
    """Plan, push and record one run; failures are recorded and returned, not raised."""
    try:
        plan = begin_run(engine, config, sync_name, run_id=run_id, trigger=trigger)
    except GuardBlocked as blocked:
        return RunSummary(run_id, "failed", blocked.plan, RunCounts(), message=str(blocked))
    if plan.skip_reason:
        return RunSummary(run_id, "skipped", plan, RunCounts(), message=plan.skip_reason)
    try:
        result = push_run(engine, config, plan, run_id=run_id, log=log, sleep=sleep)
    except SyncFailed as failure:
        return RunSummary(run_id, "failed", plan, failure.counts, message=str(failure))
    except SyncBusyError as busy:
        return RunSummary(run_id, "skipped", plan, RunCounts(), message=str(busy))
    status = complete_run(engine, plan, result, run_id=run_id)
    return RunSummary(run_id, status, plan, result.counts, result=result)
