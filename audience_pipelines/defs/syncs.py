"""Per-destination Dagster definitions: destination-audience assets, sync jobs (plan -> list or event sync
-> record), one sensor per destination reading diff materializations with its own cursor, and schedules for
syncs that run on their own cron instead of following every refresh."""

import json

import dagster as dg

from audience_pipelines.config import FOLLOW, MANUAL, ProjectConfig, SyncConfig
from audience_pipelines.config.refresh import cron_for
from audience_pipelines.defs.audiences import diff_key
from audience_pipelines.defs.partitions import audience_partitions
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines.defs.sync_ops import (
    PROJECT_RESOURCE,
    SyncRunConfig,
    destination_asset_key,
    event_sync,
    list_sync,
    plan,
    record,
)
from audience_pipelines.defs.triggers import decide_trigger
from audience_pipelines.destinations.registry import destination_type

SYNC_TAG = "audience_pipelines/sync"
DESTINATION_TAG = "audience_pipelines/destination"
TRIGGER_TAG = "audience_pipelines/trigger"


def sync_job_name(destination: str, sync_type: str) -> str:
    return f"sync_{destination}_{'lists' if sync_type == 'list' else 'events'}"


def sync_run_request_parts(sync: SyncConfig, trigger: str) -> tuple[dg.RunConfig, dict[str, str]]:
    """Run config and tags for a run of ``sync`` (the tags drive the per-sync concurrency limit)."""
    run_config = dg.RunConfig(ops={"plan": SyncRunConfig(sync=sync.name, trigger=trigger)})
    tags = {SYNC_TAG: sync.name, DESTINATION_TAG: sync.destination, TRIGGER_TAG: trigger}
    return run_config, tags


def build_sync_defs(project: ProjectConfig) -> dg.Definitions:
    """Assets, jobs, sensors and schedules for every destination in the configuration."""
    specs = [
        dg.AssetSpec(
            key=destination_asset_key(sync),
            deps=[diff_key(sync.audience)],
            partitions_def=audience_partitions(project.audience(sync.audience)),
            group_name="destinations",
            kinds={destination_type(project.destination(sync.destination).type).kind},
            description=f"'{sync.audience}' as held by {sync.destination} ({sync.type} sync, {sync.mode}).",
            metadata={"sync": sync.name, "mode": sync.mode, "type": sync.type},
        )
        for sync in project.syncs
    ]
    jobs = {(sync.destination, sync.type): _sync_job(sync.destination, sync.type) for sync in project.syncs}
    sensors = [
        _destination_sensor(project, destination.name, jobs)
        for destination in project.destinations
        if any(s.schedule == FOLLOW for s in project.syncs_to(destination.name))
    ]
    schedules = [
        _sync_schedule(sync, jobs[(sync.destination, sync.type)])
        for sync in project.syncs
        if sync.schedule not in (FOLLOW, MANUAL)
    ]
    project_resource = dg.ResourceDefinition.hardcoded_resource(project, "The loaded audiences.yaml")
    return dg.Definitions(
        assets=specs,
        jobs=list(jobs.values()),
        sensors=sensors,
        schedules=schedules,
        resources={PROJECT_RESOURCE: project_resource},
    )


def _sync_job(destination: str, sync_type: str) -> dg.JobDefinition:
    push = list_sync if sync_type == "list" else event_sync

    @dg.job(
        name=sync_job_name(destination, sync_type),
        description=f"{sync_type.title()} sync to {destination}: plan, send, record.",
        executor_def=dg.in_process_executor,
        tags={DESTINATION_TAG: destination},
    )
    def sync_job() -> None:
        planned = plan()
        record(planned, push(planned))

    return sync_job


def _destination_sensor(project: ProjectConfig, destination: str, jobs: dict) -> dg.SensorDefinition:
    syncs = [s for s in project.syncs_to(destination) if s.schedule == FOLLOW]

    @dg.sensor(
        name=f"{destination}_sensor",
        jobs=[jobs[(destination, t)] for t in sorted({s.type for s in syncs})],
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description=f"Launch syncs to {destination} when new diff partitions land.",
    )
    def sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        cursor = json.loads(context.cursor or "{}")
        for sync in syncs:
            records = context.instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=diff_key(sync.audience), after_storage_id=cursor.get(sync.name)),
                limit=100,
                ascending=True,
            ).records
            if not records:
                continue
            decision = decide_trigger(warehouse.engine(), project, sync, records)
            for line in decision.log_lines:
                context.log.info(line)
            if decision.request is not None:
                storage_id, partition = decision.request
                run_config, tags = sync_run_request_parts(sync, "sensor")
                yield dg.RunRequest(
                    run_key=f"{sync.name}:{storage_id}",
                    job_name=sync_job_name(destination, sync.type),
                    run_config=run_config,
                    tags={**tags, "audience_pipelines/diff_partition": partition},
                )
            cursor[sync.name] = decision.consumed_through
        context.update_cursor(json.dumps(cursor, sort_keys=True))

    return sensor


def _sync_schedule(sync: SyncConfig, job: dg.JobDefinition) -> dg.ScheduleDefinition:
    run_config, tags = sync_run_request_parts(sync, "schedule")
    return dg.ScheduleDefinition(
        name=f"{sync.name}_sync_schedule",
        cron_schedule=cron_for(sync.schedule),
        job=job,
        run_config=run_config,
        tags=tags,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING if sync.is_active else dg.DefaultScheduleStatus.STOPPED,
        description=f"Run sync '{sync.name}' {sync.schedule} (it plans from the newest snapshot).",
    )
