"""Housekeeping: prune old snapshot partitions by each audience's retention setting."""

import dagster as dg

from audience_pipelines.config import ProjectConfig
from audience_pipelines.config.durations import format_duration
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines.warehouse import prune_snapshots


def build_maintenance_defs(config: ProjectConfig) -> dg.Definitions:
    """A daily job that prunes snapshots older than each audience's ``retention``."""
    retained = [a for a in config.audiences if a.retention is not None]

    @dg.op(description="Delete snapshot partitions past their audience's retention (membership history stays).")
    def prune_old_snapshots(context: dg.OpExecutionContext, warehouse: WarehouseResource) -> None:
        for audience in retained:
            pruned = prune_snapshots(warehouse.engine(), audience.name, audience.retention)
            context.log.info(
                f"{audience.name}: pruned {pruned} snapshot partition(s) older than "
                f"{format_duration(audience.retention)}"
            )

    @dg.job(description="Prune snapshot partitions past retention.", tags={"kind": "maintenance"})
    def prune_snapshots_job() -> None:
        prune_old_snapshots()

    schedule = dg.ScheduleDefinition(
        job=prune_snapshots_job,
        cron_schedule="30 3 * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING if retained else dg.DefaultScheduleStatus.STOPPED,
    )
    return dg.Definitions(jobs=[prune_snapshots_job], schedules=[schedule])
