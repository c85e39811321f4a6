"""Per-sync Dagster definitions: a graph-backed destination asset per sync (plan -> list or event sync ->
record), partitioned like its audience and downstream of its diff, an asset job per sync, one sensor per
destination reading diff materializations with its own cursor, and schedules for syncs that run on their own
cron instead of following every refresh. ``schedule: manual`` syncs get neither: the CLI and the UI's
Materialize run them."""

import json

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from audience_pipelines.config import FOLLOW, MANUAL, ProjectConfig, SyncConfig
from audience_pipelines.config.refresh import cron_for
from audience_pipelines.defs.audiences import diff_key
from audience_pipelines.defs.partitions import audience_partitions
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines.defs.sync_ops import (
    PROJECT_RESOURCE,
    SYNCED_OUTPUT,
    destination_asset_key,
    event_sync,
    list_sync,
    plan,
    record,
)
from audience_pipelines.defs.triggers import decide_trigger
from audience_pipelines.destinations.registry import destination_type
from audience_pipelines.warehouse.ledger import newest_snapshot

SYNC_TAG = "audience_pipelines/sync"
DESTINATION_TAG = "audience_pipelines/destination"
TRIGGER_TAG = "audience_pipelines/trigger"


def sync_job_name(sync: SyncConfig) -> str:
    return f"sync_{sync.name}"


def sync_node_name(sync: SyncConfig) -> str:
    """The graph behind the sync's destination asset (its run config lives under ``ops: {<this>: ...}``)."""
    return f"{sync.name}_sync"


class SyncRequestConfig(dg.Config):
    """What a run of a destination asset was asked to do; everything else comes from audiences.yaml."""

    trigger: str = Field(default="manual", description="what started the run: sensor, schedule or manual")
    dry_run: bool = Field(
        default=False, description="plan and log the exact requests the run would send, without sending anything"
    )


def sync_run_request_parts(sync: SyncConfig, trigger: str) -> tuple[dg.RunConfig, dict[str, str]]:
    """Run config and tags for a run of ``sync`` (the tags drive the per-sync concurrency limit)."""
    run_config = dg.RunConfig(ops={sync_node_name(sync): SyncRequestConfig(trigger=trigger)})
    tags = {SYNC_TAG: sync.name, DESTINATION_TAG: sync.destination, TRIGGER_TAG: trigger}
    return run_config, tags


def sync_partition_key(engine: sa.Engine, project: ProjectConfig, sync: SyncConfig) -> str | None:
    """The partition a run of ``sync`` started now should materialize: the audience's newest snapshot, or its
    last complete partition when it has none yet (the run then says so); None before the first partition."""
    with engine.connect() as conn:
        newest = newest_snapshot(conn, sync.audience)
    if newest is not None:
        return newest.partition_key
    return audience_partitions(project.audience(sync.audience)).get_last_partition_key()


def build_sync_defs(project: ProjectConfig) -> dg.Definitions:
    """Assets, jobs, sensors and schedules for every destination in the configuration."""
    assets = [_destination_asset(project, sync) for sync in project.syncs]
    jobs = {sync.name: _sync_job(project, sync) for sync in project.syncs}
    sensors = [
        _destination_sensor(project, destination.name, jobs)
        for destination in project.destinations
        if any(s.schedule == FOLLOW for s in project.syncs_to(destination.name))
    ]
    schedules = [
        _sync_schedule(project, sync, jobs[sync.name])
        for sync in project.syncs
        if sync.schedule not in (FOLLOW, MANUAL)
    ]
    project_resource = dg.ResourceDefinition.hardcoded_resource(project, "The loaded audiences.yaml")
    return dg.Definitions(
        assets=assets,
        jobs=list(jobs.values()),
        sensors=sensors,
        schedules=schedules,
        resources={PROJECT_RESOURCE: project_resource},
    )


def _destination_asset(project: ProjectConfig, sync: SyncConfig) -> dg.AssetsDefinition:
    """The destination audience: materializing a partition runs the sync (plan -> send -> record) for it."""
    push = list_sync if sync.type == "list" else event_sync

    def to_plan_config(config: dict) -> dict:
        request = SyncRequestConfig.model_validate(config)
        return {"plan": {"config": {"sync": sync.name, "trigger": request.trigger, "dry_run": request.dry_run}}}

    @dg.graph(
        name=sync_node_name(sync),
        description=f"{sync.type.title()} sync '{sync.name}': plan, send, record.",
        config=dg.ConfigMapping(config_fn=to_plan_config, config_schema=SyncRequestConfig.to_config_schema()),
        ins={"diff": dg.GraphIn()},
        out={SYNCED_OUTPUT: dg.GraphOut()},
    )
    def sync_graph(diff):
        planned = plan(diff)
        return record(planned, push(planned))

    kind = destination_type(project.destination(sync.destination).type).kind
    key = destination_asset_key(sync)
    return dg.AssetsDefinition.from_graph(
        sync_graph,
        keys_by_input_name={"diff": diff_key(sync.audience)},
        keys_by_output_name={SYNCED_OUTPUT: key},
        partitions_def=audience_partitions(project.audience(sync.audience)),
        group_name="destinations",
        descriptions_by_output_name={
            SYNCED_OUTPUT: f"'{sync.audience}' as held by {sync.destination} ({sync.type} sync, {sync.mode}). "
            "Materializing a partition syncs it when it is the audience's newest snapshot; an older partition "
            "is never synced (a destination never moves backwards): the run records why and sends nothing."
        },
        metadata_by_output_name={
            SYNCED_OUTPUT: {"sync": sync.name, "mode": sync.mode, "type": sync.type, "schedule": sync.schedule}
        },
        tags_by_output_name={SYNCED_OUTPUT: {f"dagster/kind/{kind}": "", "audience": sync.audience}},
        owners_by_output_name={SYNCED_OUTPUT: sync.owners} if sync.owners else None,
    )


def _sync_job(project: ProjectConfig, sync: SyncConfig) -> dg.JobDefinition:
    return dg.define_asset_job(
        name=sync_job_name(sync),
        selection=dg.AssetSelection.assets(destination_asset_key(sync)),
        description=f"{sync.type.title()} sync '{sync.name}' to {sync.destination}: plan, send, record.",
        executor_def=dg.in_process_executor,
        tags={SYNC_TAG: sync.name, DESTINATION_TAG: sync.destination},
    )


def _destination_sensor(project: ProjectConfig, destination: str, jobs: dict) -> dg.SensorDefinition:
    syncs = [s for s in project.syncs_to(destination) if s.schedule == FOLLOW]

    @dg.sensor(
        name=f"{destination}_sensor",
        jobs=[jobs[s.name] for s in syncs],
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
                    job_name=sync_job_name(sync),
                    partition_key=partition,
                    run_config=run_config,
                    tags={**tags, "audience_pipelines/diff_partition": partition},
                )
            cursor[sync.name] = decision.consumed_through
        context.update_cursor(json.dumps(cursor, sort_keys=True))

    return sensor


def _sync_schedule(project: ProjectConfig, sync: SyncConfig, job: dg.JobDefinition) -> dg.ScheduleDefinition:
    run_config, tags = sync_run_request_parts(sync, "schedule")

    @dg.schedule(
        name=f"{sync.name}_sync_schedule",
        cron_schedule=cron_for(sync.schedule),
        job=job,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING if sync.is_active else dg.DefaultScheduleStatus.STOPPED,
        description=f"Run sync '{sync.name}' {sync.schedule}, for the audience's newest snapshot.",
    )
    def schedule(context: dg.ScheduleEvaluationContext, warehouse: WarehouseResource):
        with warehouse.engine().connect() as conn:
            newest = newest_snapshot(conn, sync.audience)
        if newest is None:
            return dg.SkipReason(f"audience '{sync.audience}' has no snapshot yet")
        return dg.RunRequest(partition_key=newest.partition_key, run_config=run_config, tags=tags)

    return schedule
