"""Dagster definitions built from the configuration."""

from __future__ import annotations

import dagster as dg

from audience_pipelines.config import ProjectConfig
from audience_pipelines.defs.audiences import build_audience_defs, diff_key, refresh_job_name, snapshot_key
from audience_pipelines.defs.maintenance import build_maintenance_defs
from audience_pipelines.defs.people import build_people_defs
from audience_pipelines.defs.resources import WarehouseResource, warehouse_from_env
from audience_pipelines.defs.syncs import build_sync_defs


def build_definitions(config: ProjectConfig, warehouse: WarehouseResource | None = None) -> dg.Definitions:
    """Everything Dagster loads: per-audience assets, jobs and schedules, plus housekeeping."""
    return dg.Definitions.merge(
        *(build_audience_defs(audience) for audience in config.audiences),
        build_sync_defs(config),
        build_maintenance_defs(config),
        build_people_defs(),
        # Every step runs in the run's own process: the work happens in the warehouse and at the destination.
        dg.Definitions(resources={"warehouse": warehouse or warehouse_from_env()}, executor=dg.in_process_executor),
    )


__all__ = ["build_definitions", "diff_key", "refresh_job_name", "snapshot_key"]
