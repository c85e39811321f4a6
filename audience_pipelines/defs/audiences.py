"""Per-audience Dagster definitions: snapshot and diff assets, their checks, a job and a schedule."""

import dagster as dg

from audience_pipelines.config import Audience, DynamicAudience
from audience_pipelines.config.durations import format_duration
from audience_pipelines.defs.combined import combined_audience_automation
from audience_pipelines.defs.partitions import audience_partitions, previous_partition
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines.warehouse import PartitionRef, materialize_diff, materialize_snapshot

WAREHOUSE_POOL = "warehouse"


def snapshot_key(audience_name: str) -> dg.AssetKey:
    return dg.AssetKey(["audiences", audience_name, "snapshot"])


def diff_key(audience_name: str) -> dg.AssetKey:
    return dg.AssetKey(["audiences", audience_name, "diff"])


def refresh_job_name(audience_name: str) -> str:
    return f"refresh_{audience_name}"


def _describe(audience: Audience) -> dict[str, str]:
    if audience.is_combined:
        return {
            "type": audience.type,
            "include": f"{audience.combine} of {', '.join(audience.include or ())}",
            "exclude": ", ".join(audience.exclude) or "nobody",
        }
    if isinstance(audience, DynamicAudience):
        return {"type": "dynamic", "window": format_duration(audience.window), "refresh": audience.refresh}
    return {"type": "static", "range": f"{audience.range.start} to {audience.range.end}"}


def build_audience_defs(audience: Audience) -> dg.Definitions:
    """Assets, checks, job and schedule for one audience."""
    partitions = audience_partitions(audience)
    name = audience.name
    common = {
        "partitions_def": partitions,
        "group_name": name,
        "kinds": {"postgres"},
        "pool": WAREHOUSE_POOL,
        "tags": {"audience": name, "audience_status": audience.status},
    }
    static_metadata = {**_describe(audience), "status": audience.status}
    combined = combined_audience_automation(audience, [snapshot_key(n) for n in audience.inputs])

    snapshot_checks = [
        dg.AssetCheckSpec(
            "min_size",
            asset=snapshot_key(name),
            partitions_def=partitions,
            description=f"WARN when fewer than {audience.min_size} members",
        ),
    ]
    if audience.is_active:
        snapshot_checks.append(
            dg.AssetCheckSpec(
                "not_empty",
                asset=snapshot_key(name),
                partitions_def=partitions,
                description="An active audience must have members",
            )
        )

    @dg.asset(
        key=snapshot_key(name),
        description=f"Members of '{name}' as of each partition's end. {audience.description}".strip(),
        metadata={**static_metadata, "columns": ", ".join(["member_key", *audience.columns])},
        check_specs=snapshot_checks,
        deps=combined.snapshot_deps,
        automation_condition=combined.snapshot_condition,
        **common,
    )
    def snapshot(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        window = context.partition_time_window
        result = materialize_snapshot(
            warehouse.engine(),
            audience,
            partition_key=context.partition_key,
            partition_start=window.start,
            partition_end=window.end,
            run_id=context.run.run_id,
        )
        context.log.info(
            f"{name} {context.partition_key}: {result.member_count} members "
            f"(window {result.window.start:%Y-%m-%d %H:%M} to {result.window.end:%Y-%m-%d %H:%M} UTC)"
        )
        checks = [
            dg.AssetCheckResult(
                check_name="min_size",
                passed=result.member_count >= audience.min_size,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"member_count": result.member_count, "min_size": audience.min_size},
            )
        ]
        if audience.is_active:
            checks.append(
                dg.AssetCheckResult(
                    check_name="not_empty",
                    passed=result.member_count > 0,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={"member_count": result.member_count},
                )
            )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.member_count,
                **{f"with_{column}": count for column, count in result.identifier_counts.items()},
                "window_start": result.window.start.isoformat(),
                "window_end": result.window.end.isoformat(),
                "sample_member_keys": dg.MetadataValue.json(result.sample_member_keys),
            },
            check_results=checks,
        )

    @dg.asset(
        key=diff_key(name),
        description=f"Members who entered and exited '{name}' since the previous partition.",
        deps=[
            dg.AssetDep(
                snapshot_key(name),
                partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1),
            )
        ],
        metadata=static_metadata,
        automation_condition=combined.diff_condition,
        check_specs=[
            dg.AssetCheckSpec(
                "exit_ratio",
                asset=diff_key(name),
                partitions_def=partitions,
                description=f"ERROR when more than {audience.max_exit_ratio:.0%} of members left",
            ),
        ],
        **common,
    )
    def diff(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        start = context.partition_time_window.start
        previous = previous_partition(partitions, start)
        result = materialize_diff(
            warehouse.engine(),
            name,
            PartitionRef(context.partition_key, start),
            previous,
            run_id=context.run.run_id,
        )
        against = result.previous
        if result.gap:
            context.log.warning(
                f"{name} {context.partition_key}: partitions after {against.key} were never materialized "
                f"(the scheduler was down?); diffed against {against.key}, the newest earlier snapshot"
            )
        context.log.info(
            f"{name} {context.partition_key}: {result.entered} entered, {result.exited} exited "
            f"(against {against.key if against else 'nothing: first partition'})"
        )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.entered + result.exited,
                "members": result.member_count,
                "previous_members": result.previous_member_count,
                "entered": result.entered,
                "exited": result.exited,
                "exit_ratio": round(result.exit_ratio, 4),
                "previous_partition": against.key if against else "",
                "gap": int(result.gap),
                "sample_entered": dg.MetadataValue.json(result.sample_entered),
                "sample_exited": dg.MetadataValue.json(result.sample_exited),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="exit_ratio",
                    passed=result.exit_ratio <= audience.max_exit_ratio,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={"exit_ratio": round(result.exit_ratio, 4), "max": audience.max_exit_ratio},
                )
            ],
        )

    job = dg.define_asset_job(
        refresh_job_name(name),
        selection=dg.AssetSelection.assets(snapshot, diff),
        description=f"Snapshot and diff '{name}' for one partition.",
        tags={"audience": name},
    )
    schedules, sensors = [], combined.sensors(name, [snapshot, diff])
    if isinstance(audience, DynamicAudience) and audience.status != "draft" and not audience.is_combined:
        schedules.append(
            dg.build_schedule_from_partitioned_job(
                job,
                name=f"{name}_schedule",
                description=f"Refresh '{name}' {audience.refresh}.",
                default_status=(
                    dg.DefaultScheduleStatus.RUNNING if audience.is_active else dg.DefaultScheduleStatus.STOPPED
                ),
            )
        )
    return dg.Definitions(assets=[snapshot, diff], jobs=[job], schedules=schedules, sensors=sensors)
