"""Destination assets are materializable: Materialize runs the sync for the newest partition, never an older one."""

import dagster as dg
import pydantic
import pytest
import sqlalchemy as sa

from audience_pipelines.defs import build_definitions
from audience_pipelines.defs.backfill import backfill_in_process
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines.defs.sync_ops import destination_asset_key
from audience_pipelines.defs.syncs import sync_job_name
from audience_pipelines.warehouse import SCHEMA
from audience_pipelines.warehouse.sync_runs import get_state
from audience_pipelines_tests.sync_world import project_config

DAYS = ["2026-05-01", "2026-05-02", "2026-05-03"]
LIST = "shoppers-list"
KEY = destination_asset_key(project_config().sync("to_hook"))


def definitions(warehouse_url: str, **sync_overrides) -> dg.Definitions:
    return build_definitions(project_config(**sync_overrides), WarehouseResource(url=warehouse_url))


def materialize(defs: dg.Definitions, instance: dg.DagsterInstance, partition: str) -> dg.ExecuteInProcessResult:
    """What the UI's Materialize of one partition runs: the asset alone, with no run config."""
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={KEY})
    return job.execute_in_process(instance=instance, partition_key=partition)


def destination_events(instance: dg.DagsterInstance, run_id: str) -> tuple[list, list]:
    materialized = [
        e.asset_materialization for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    ]
    observed = [e.asset_observation for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_OBSERVATION)]
    return materialized, observed


def last_run(engine: sa.Engine) -> tuple:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                sa.text(
                    f"select trigger, status, partition_key, error_summary from {SCHEMA}.sync_runs "
                    "order by started_at desc limit 1"
                )
            ).one()
        )


def churn(world) -> None:
    for n, users in enumerate(([1, 2, 3], [2, 3, 4], [3, 4, 5]), start=1):
        world.set_members(n, users)


def test_the_destination_asset_is_a_partitioned_materializable_asset_downstream_of_the_diff(warehouse_url):
    defs = definitions(warehouse_url, schedule="manual")
    asset = defs.resolve_assets_def(KEY)
    spec = asset.specs_by_key[KEY]
    assert asset.is_executable and asset.is_materializable
    assert asset.partitions_def.get_partition_keys()[:2] == ["2026-05-01", "2026-05-02"]
    assert [dep.asset_key for dep in spec.deps] == [dg.AssetKey(["audiences", "shoppers", "diff"])]
    assert spec.kinds == {"webhook"} and spec.group_name == "destinations"
    assert defs.resolve_job_def(sync_job_name(project_config().sync("to_hook"))).partitions_def is not None


def test_materializing_the_newest_partition_runs_the_sync_and_logs_each_batch(world, warehouse_url, dagster_instance):
    churn(world)
    defs = definitions(warehouse_url, schedule="manual")
    backfill_in_process(defs, "shoppers", DAYS, dagster_instance)
    run = materialize(defs, dagster_instance, DAYS[-1])
    assert run.success
    assert world.receiver.member_keys(LIST) == {"u3", "u4", "u5"}
    materialized, _ = destination_events(dagster_instance, run.run_id)
    assert [(m.asset_key, m.partition) for m in materialized] == [(KEY, DAYS[-1])]
    assert materialized[0].metadata["accepted"].value == 3
    assert last_run(world.engine)[:3] == ("manual", "success", DAYS[-1])
    messages = [e.user_message for e in dagster_instance.all_logs(run.run_id)]
    assert any("batch" in m for m in messages), "per-batch progress reaches the run's log"


def test_materializing_an_older_partition_never_moves_the_destination_backwards(world, warehouse_url, dagster_instance):
    churn(world)
    defs = definitions(warehouse_url, schedule="manual")
    backfill_in_process(defs, "shoppers", DAYS, dagster_instance)
    assert materialize(defs, dagster_instance, DAYS[-1]).success
    requests = len(world.receiver.request_log)

    older = materialize(defs, dagster_instance, DAYS[0])

    assert older.success, "the run ends cleanly and says what happened"
    assert len(world.receiver.request_log) == requests, "nothing was sent"
    assert world.receiver.member_keys(LIST) == {"u3", "u4", "u5"}
    with world.engine.connect() as conn:
        assert get_state(conn, "to_hook").partition_key == DAYS[-1]
    materialized, observed = destination_events(dagster_instance, older.run_id)
    assert materialized == [], "the older partition is not marked as synced"
    assert [(o.asset_key, o.partition) for o in observed] == [(KEY, DAYS[0])]
    reason = observed[0].metadata["reason"].value
    assert f"partition {DAYS[0]} is older than the newest snapshot {DAYS[-1]}" in reason
    assert "never moves backwards" in reason and observed[0].metadata["status"].value == "skipped"
    assert last_run(world.engine) == ("manual", "skipped", DAYS[0], reason)
    warnings = [e.user_message for e in dagster_instance.all_logs(older.run_id) if e.level >= 30]
    assert any("never moves backwards" in w for w in warnings)
    partitions = dagster_instance.get_materialized_partitions(KEY)
    assert partitions == {DAYS[-1]}


def test_materializing_a_partition_without_a_snapshot_says_to_refresh_the_audience_first(
    world, warehouse_url, dagster_instance
):
    churn(world)
    defs = definitions(warehouse_url, schedule="manual")
    backfill_in_process(defs, "shoppers", DAYS[:1], dagster_instance)
    run = materialize(defs, dagster_instance, DAYS[1])
    assert run.success and world.receiver.deliveries == 0
    _, observed = destination_events(dagster_instance, run.run_id)
    assert "has no snapshot yet (the newest is 2026-05-01)" in observed[0].metadata["reason"].value


def test_a_scheduled_sync_asks_for_the_newest_snapshot_partition(world, warehouse_url, dagster_instance):
    churn(world)
    defs = definitions(warehouse_url, schedule="weekly")
    schedule = defs.resolve_schedule_def("to_hook_sync_schedule")
    context = dg.build_schedule_context(
        instance=dagster_instance,
        resources={"warehouse": WarehouseResource(url=warehouse_url)},
        repository_def=defs.get_repository_def(),
    )
    assert isinstance(schedule.evaluate_tick(context).skip_message, str), "no snapshot: the tick skips"
    backfill_in_process(defs, "shoppers", DAYS[:2], dagster_instance)
    requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == [DAYS[1]]
    job = defs.resolve_job_def(sync_job_name(project_config().sync("to_hook")))
    run = job.execute_in_process(
        run_config=requests[0].run_config, tags=requests[0].tags, partition_key=DAYS[1], instance=dagster_instance
    )
    assert run.success and world.receiver.member_keys(LIST) == {"u2", "u3", "u4"}
    assert last_run(world.engine)[:3] == ("schedule", "success", DAYS[1])


def test_owners_of_a_sync_are_shown_on_its_destination_asset(warehouse_url):
    defs = definitions(warehouse_url, owners=["team:growth", "ana@example.com"])
    assert defs.resolve_assets_def(KEY).specs_by_key[KEY].owners == ["team:growth", "ana@example.com"]
    assert definitions(warehouse_url).resolve_assets_def(KEY).specs_by_key[KEY].owners == []


def test_an_owner_that_is_neither_an_email_nor_a_team_is_refused_with_the_field_named():
    with pytest.raises(pydantic.ValidationError) as caught:
        project_config(owners=["growth"])
    assert "owners" in str(caught.value) and "team:<name>" in str(caught.value)
