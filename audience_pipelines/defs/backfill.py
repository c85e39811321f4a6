"""Materialize a range of an audience's partitions in order, in this process, on the given instance.

The daemon-driven backfill (UI or ``dagster asset backfill``) is the production path; this is the finite,
headless path the demo and tests use. Each partition is its own run, recorded in the instance, so the runs
and per-partition metadata show in the UI afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import dagster as dg

from audience_pipelines.defs.audiences import refresh_job_name, snapshot_key
from audience_pipelines.defs.location import backfill_tags, location_tags, new_backfill_id, record_backfill

BACKFILL_TAG = "audience_pipelines/backfill"


class BackfillError(RuntimeError):
    """A partition's run failed; the message carries the failing step's error."""


def backfill_in_process(
    defs: dg.Definitions,
    audience: str,
    partition_keys: Sequence[str],
    instance: dg.DagsterInstance,
    *,
    label: str = "in-process",
    console_log_level: str = "DEBUG",
) -> list[dg.ExecuteInProcessResult]:
    """Run the audience's refresh job for each key in order; stop at the first failure.

    The runs are filed under the code location's refresh job and the range is recorded as a backfill (the
    UI's Backfills tab lists it with its runs). ``console_log_level`` only quiets this process's console;
    the instance keeps every event.
    """
    job = defs.resolve_job_def(refresh_job_name(audience))
    backfill_id, started, results = new_backfill_id(), time.time(), []
    try:
        for key in partition_keys:
            result = job.execute_in_process(
                run_config=console_level(console_log_level),
                partition_key=key,
                instance=instance,
                tags={BACKFILL_TAG: label, **backfill_tags(backfill_id)},
                raise_on_error=False,
            )
            if not result.success:
                failures = [
                    _root_cause(event.step_failure_data.error)
                    for event in result.all_events
                    if event.is_step_failure and event.step_failure_data.error
                ]
                raise BackfillError(f"{audience} {key}: run {result.run_id} failed: {'; '.join(failures)}")
            results.append(result)
    finally:
        if partition_keys:
            record_backfill(
                instance,
                backfill_id,
                job.name,
                partition_keys,
                started=started,
                succeeded=len(results) == len(partition_keys),
                title=f"{audience} {partition_keys[0]} .. {partition_keys[-1]} ({label})",
            )
    return results


def snapshot_in_process(
    defs: dg.Definitions,
    audience: str,
    partition_key: str,
    instance: dg.DagsterInstance,
    *,
    label: str = "in-process",
    console_log_level: str = "WARNING",
) -> dg.ExecuteInProcessResult:
    """Materialize only the snapshot of one partition: the baseline a range's first diff compares with."""
    result = defs.resolve_job_def(refresh_job_name(audience)).execute_in_process(
        run_config=console_level(console_log_level),
        partition_key=partition_key,
        instance=instance,
        asset_selection=[snapshot_key(audience)],
        tags={BACKFILL_TAG: label, **location_tags()},
        raise_on_error=False,
    )
    if not result.success:
        raise BackfillError(f"{audience} {partition_key}: snapshot run {result.run_id} failed")
    return result


def console_level(level: str) -> dict[str, object]:
    """Run config setting the console logger's level."""
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def _root_cause(error: dg.SerializableErrorInfo) -> str:
    """The innermost error's message: the user's exception rather than Dagster's wrapper."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()
