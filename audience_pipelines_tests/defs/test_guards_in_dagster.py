"""A guard that refuses a run stops the Dagster sync job itself, before anything is sent."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from audience_pipelines.defs import build_definitions
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines.defs.sync_ops import destination_asset_key
from audience_pipelines.defs.syncs import sync_job_name, sync_partition_key, sync_run_request_parts
from audience_pipelines.warehouse import SCHEMA, get_engine
from audience_pipelines_tests.sync_world import project_config

LIST = "shoppers-list"


def run_sync_job(warehouse_url: str, instance: dg.DagsterInstance, **sync_overrides) -> dg.ExecuteInProcessResult:
    config = project_config(**sync_overrides)
    defs = build_definitions(config, WarehouseResource(url=warehouse_url))
    sync = config.sync("to_hook")
    run_config, tags = sync_run_request_parts(sync, "manual")
    return defs.resolve_job_def(sync_job_name(sync)).execute_in_process(
        run_config=run_config,
        instance=instance,
        tags=tags,
        partition_key=sync_partition_key(get_engine(warehouse_url), config, sync),
        raise_on_error=False,
    )


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    texts = []
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data is not None:
            texts.append(data.user_failure_data.description or "")
        if data.error is not None:
            texts.append(data.error.message)
    return "\n".join(texts)


def recorded_run(engine: sa.Engine, run_id: str) -> tuple[str, str]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                sa.text(f"select status, error_summary from {SCHEMA}.sync_runs where run_id = :r"), {"r": run_id}
            ).one()
        )


def test_the_exit_ratio_guard_fails_the_sync_job_and_sends_nothing(world, warehouse_url, dagster_instance):
    world.members_on(1, [1, 2, 3, 4])
    world.sync()
    world.members_on(2, [1])
    requests_before = len(world.receiver.request_log)
    result = run_sync_job(warehouse_url, dagster_instance, max_exit_ratio=0.5)
    assert not result.success
    assert "guard: would remove 3 of 4 members (75%)" in failure_text(result)
    assert len(world.receiver.request_log) == requests_before
    assert world.receiver.member_keys(LIST) == {"u1", "u2", "u3", "u4"}
    status, error = recorded_run(world.engine, result.run_id)
    assert status == "failed" and "max_exit_ratio" in error
    materialized = dagster_instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=destination_asset_key(project_config().sync("to_hook"))), limit=10
    ).records
    assert materialized == [], "the destination asset is not materialized for a refused run"


def test_the_min_size_guard_fails_the_sync_job_and_sends_nothing(world, warehouse_url, dagster_instance):
    world.members_on(1, [1, 2, 3, 4])
    world.sync()
    world.members_on(2, [1, 2, 5])
    requests_before = len(world.receiver.request_log)
    result = run_sync_job(warehouse_url, dagster_instance, min_size=4)
    assert not result.success
    assert "guard: would leave 3 members, below min_size 4" in failure_text(result)
    assert len(world.receiver.request_log) == requests_before
    assert world.receiver.member_keys(LIST) == {"u1", "u2", "u3", "u4"}
    assert recorded_run(world.engine, result.run_id)[0] == "failed"


def test_a_run_at_exactly_the_guard_limits_succeeds_through_dagster(world, warehouse_url, dagster_instance):
    world.members_on(1, [1, 2, 3, 4])
    world.sync()
    world.members_on(2, [1, 2])
    result = run_sync_job(warehouse_url, dagster_instance, max_exit_ratio=0.5, min_size=2)
    assert result.success, failure_text(result)
    assert world.receiver.member_keys(LIST) == {"u1", "u2"}
