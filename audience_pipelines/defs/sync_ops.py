"""The ops every destination asset is made of: plan, then list sync or event sync, then record.

They are defined once and shared by every sync's graph-backed destination asset; the loaded configuration
reaches them as the ``project`` resource. A run syncs the partition it was asked for only when that partition
is the audience's newest snapshot; for any other it records why it did nothing (an observation on the
destination asset, a ``skipped`` row in run history) and the destination stays where it is.
"""

from dataclasses import replace

import dagster as dg
from pydantic import Field

from audience_pipelines.config import ProjectConfig, SyncConfig
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines.sync.plan import SyncPlan
from audience_pipelines.sync.preview import preview_sync
from audience_pipelines.sync.runner import SyncBusyError, SyncFailed, SyncResult
from audience_pipelines.sync.service import GuardBlocked, begin_run, complete_run, push_run
from audience_pipelines.warehouse.diffs import PartitionRef

PROJECT_RESOURCE = "project"
SYNCED_OUTPUT = "synced"


def destination_asset_key(sync: SyncConfig) -> dg.AssetKey:
    return dg.AssetKey(["destinations", sync.destination, sync.name])


class SyncRunConfig(dg.Config):
    """Which sync a run executes and what started it."""

    sync: str
    trigger: str = "sensor"
    dry_run: bool = Field(
        default=False, description="plan and log the exact requests the run would send, without sending anything"
    )


@dg.op(
    description="Plan from the newest snapshot against the sync's ledger; apply the guards.",
    required_resource_keys={PROJECT_RESOURCE, "warehouse"},
    ins={"diff": dg.In(dg.Nothing, description="the audience's diff partition this run follows")},
)
def plan(context: dg.OpExecutionContext, config: SyncRunConfig) -> SyncPlan:
    project, warehouse = _resources(context)
    if config.dry_run:
        preview = preview_sync(warehouse.engine(), project, config.sync)
        context.log.info("dry run:\n" + "\n".join(preview.summary_lines()))
        return replace(preview.plan, skip_reason=preview.plan.skip_reason or "dry run: nothing was sent")
    requested = _requested_partition(context)
    try:
        planned = begin_run(
            warehouse.engine(),
            project,
            config.sync,
            run_id=context.run.run_id,
            trigger=config.trigger,
            requested=requested,
        )
    except GuardBlocked as blocked:
        raise dg.Failure(description=str(blocked), allow_retries=False) from None
    if planned.skip_reason:
        context.log.info(f"{config.sync}: skipped: {planned.skip_reason}")
    else:
        context.log.info(
            f"{config.sync}: to snapshot {planned.snapshot.partition_key}: {planned.adds} to add, "
            f"{planned.removes} to remove; the destination holds {planned.held}"
        )
    return planned


def _requested_partition(context: dg.OpExecutionContext) -> PartitionRef | None:
    """The partition this run was asked to materialize (None outside a partitioned run)."""
    if not context.has_partition_key:
        return None
    return PartitionRef(context.partition_key, context.partition_time_window.start)


def _resources(context: dg.OpExecutionContext) -> tuple[ProjectConfig, WarehouseResource]:
    return getattr(context.resources, PROJECT_RESOURCE), context.resources.warehouse


def _push(context: dg.OpExecutionContext, planned: SyncPlan) -> SyncResult | None:
    if planned.skip_reason:
        return None
    project, warehouse = _resources(context)
    try:
        return push_run(warehouse.engine(), project, planned, run_id=context.run.run_id, log=context.log.info)
    except SyncBusyError as busy:
        context.log.warning(f"{planned.sync}: skipped: {busy}")
        return None
    except SyncFailed as failure:
        raise dg.Failure(
            description=str(failure),
            metadata={"sent": failure.counts.sent, "accepted": failure.counts.accepted},
            allow_retries=False,
        ) from None


@dg.op(
    description="Send the planned adds and removes as list updates, checkpointing each acknowledged batch.",
    required_resource_keys={PROJECT_RESOURCE, "warehouse"},
)
def list_sync(context: dg.OpExecutionContext, planned: SyncPlan) -> SyncResult | None:
    return _push(context, planned)


@dg.op(
    description="Send added_to_segment / removed_from_segment events, checkpointing each acknowledged batch.",
    required_resource_keys={PROJECT_RESOURCE, "warehouse"},
)
def event_sync(context: dg.OpExecutionContext, planned: SyncPlan) -> SyncResult | None:
    return _push(context, planned)


@dg.op(
    description="Record the snapshot the destination now reflects and materialize the destination audience.",
    required_resource_keys={PROJECT_RESOURCE, "warehouse"},
    out={SYNCED_OUTPUT: dg.Out(dg.Nothing, is_required=False, description="the destination audience")},
)
def record(context: dg.OpExecutionContext, planned: SyncPlan, result: SyncResult | None):
    project, warehouse = _resources(context)
    if result is None:
        yield _skip_observation(context, project, planned)
        return
    status = complete_run(warehouse.engine(), planned, result, run_id=context.run.run_id)
    yield dg.Output(None, output_name=SYNCED_OUTPUT, metadata=materialization_metadata(status, result))
    counts = result.counts
    context.log.info(f"{planned.sync}: {status}: {counts.accepted} accepted, {counts.rejected} rejected")


def match_metadata(result: SyncResult) -> dict[str, float]:
    """What the platform reported matching, as numbers (plotted per partition): ``match/rate`` (0-1), the
    matched range, the platform's own rate range and any other figure it reports; nothing it did not report."""
    report, match = result.match_report, result.match
    if report is None or match is None:
        return {}
    values = {
        "match/rate": match.match_rate,
        "match/matched_low": match.matched_low,
        "match/matched_high": match.matched_high,
        "match/platform_rate_low": report.rate_low,
        "match/platform_rate_high": report.rate_high,
        **{f"match/{name}": value for name, value in sorted(report.figures.items())},
    }
    return {key: value for key, value in values.items() if value is not None}


def _skip_observation(context: dg.OpExecutionContext, project: ProjectConfig, planned: SyncPlan) -> dg.AssetObservation:
    """What a run that moved nothing says on the destination asset's page (its partition stays as it was)."""
    reason = planned.skip_reason or "another run of this sync holds its lock"
    requested = _requested_partition(context)
    not_newest = (
        requested is not None and planned.snapshot is not None and requested.key != planned.snapshot.partition_key
    )
    log = context.log.warning if not_newest else context.log.info
    log(f"{planned.sync}: nothing was sent and the destination asset is not materialized: {reason}")
    metadata: dict[str, object] = {"status": "skipped", "reason": reason}
    if planned.snapshot is not None:
        metadata["newest_snapshot"] = planned.snapshot.partition_key
    return dg.AssetObservation(
        asset_key=destination_asset_key(project.sync(planned.sync)),
        partition=requested.key if requested else None,
        metadata=metadata,
    )


def materialization_metadata(status: str, result: SyncResult) -> dict[str, object]:
    """Numeric metadata the UI plots per partition, plus the destination list."""
    counts = result.counts
    metadata: dict[str, object] = {
        "status": status,
        "planned_adds": counts.planned_adds,
        "planned_removes": counts.planned_removes,
        "sent": counts.sent,
        "accepted": counts.accepted,
        "rejected": counts.rejected,
        "skipped_invalid": counts.skipped_invalid,
        "parked": counts.parked,
        "skipped_consent": counts.skipped_consent,
        "batches": result.batches,
        "duration_seconds": round(result.seconds, 3),
        **{f"dropped/{key}": count for key, count in sorted(result.drop_counts.items())},
        **match_metadata(result),
    }
    if result.list_ref is not None:
        metadata["list_id"] = result.list_ref.id
        if result.list_ref.url:
            metadata["list_url"] = dg.MetadataValue.url(result.list_ref.url)
    return metadata
