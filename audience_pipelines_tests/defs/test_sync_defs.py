"""Sync jobs, destination assets and destination sensors through Dagster on the PostgreSQL instance."""

import re

import dagster as dg
import pytest
import sqlalchemy as sa

from audience_pipelines.defs import build_definitions
from audience_pipelines.defs.backfill import backfill_in_process
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines.defs.syncs import destination_asset_key, sync_job_name, sync_run_request_parts
from audience_pipelines.warehouse import SCHEMA
from audience_pipelines_tests.sync_world import email_of, phone_of, project_config

DAYS = ["2026-05-01", "2026-05-02", "2026-05-03"]


@pytest.fixture
def churn(world):
    """Members per day: {1,2,3} -> {2,3,4} -> {3,4,5}."""
    for n, users in enumerate(([1, 2, 3], [2, 3, 4], [3, 4, 5]), start=1):
        world.set_members(n, users)
    return world


def definitions(warehouse_url: str, **sync_overrides) -> dg.Definitions:
    return build_definitions(project_config(**sync_overrides), WarehouseResource(url=warehouse_url))


def tick(defs: dg.Definitions, instance: dg.DagsterInstance, warehouse_url: str, cursor: str | None = None):
    sensor = defs.resolve_sensor_def("hook_sensor")
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"warehouse": WarehouseResource(url=warehouse_url)},
        repository_def=defs.get_repository_def(),
    )
    return sensor.evaluate_tick(context)


def sync_runs(engine: sa.Engine) -> list[tuple]:
    """Run history oldest first; the runs one sensor tick records, by partition (skip ids end in a storage id,
    which sorts as text: 10 before 9)."""
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                sa.text(
                    f"select partition_key, status, error_summary from {SCHEMA}.sync_runs "
                    "order by started_at, partition_key"
                )
            )
        ]


def test_three_diff_partitions_between_two_ticks_are_all_accounted_for(churn, warehouse_url, dagster_instance):
    defs = definitions(warehouse_url)
    backfill_in_process(defs, "shoppers", DAYS, dagster_instance)
    result = tick(defs, dagster_instance, warehouse_url)
    assert [r.tags["audience_pipelines/diff_partition"] for r in result.run_requests] == ["2026-05-03"]
    request = result.run_requests[0]
    assert request.run_key.startswith("to_hook:") and request.job_name == sync_job_name(
        project_config().sync("to_hook")
    )
    assert request.partition_key == "2026-05-03"
    skipped = sync_runs(churn.engine)
    assert [(p, s) for p, s, _ in skipped] == [("2026-05-01", "skipped"), ("2026-05-02", "skipped")]
    assert all("historical partition" in reason for _, _, reason in skipped)
    again = tick(defs, dagster_instance, warehouse_url, cursor=result.cursor)
    assert again.run_requests == [] and len(sync_runs(churn.engine)) == 2


def test_sensor_run_syncs_and_materializes_the_destination_asset(churn, warehouse_url, dagster_instance):
    defs = definitions(warehouse_url)
    backfill_in_process(defs, "shoppers", DAYS, dagster_instance)
    request = tick(defs, dagster_instance, warehouse_url).run_requests[0]
    job = defs.resolve_job_def(request.job_name)
    run = job.execute_in_process(
        run_config=request.run_config, instance=dagster_instance, tags=request.tags, partition_key=request.partition_key
    )
    assert run.success
    assert churn.receiver.member_keys("shoppers-list") == {"u3", "u4", "u5"}
    record = dagster_instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=destination_asset_key(project_config().sync("to_hook"))), limit=1
    ).records[0]
    metadata = {k: v.value for k, v in record.asset_materialization.metadata.items()}
    assert record.partition_key == "2026-05-03"
    assert (metadata["accepted"], metadata["rejected"], metadata["planned_adds"], metadata["status"]) == (
        3,
        0,
        3,
        "success",
    )
    assert_no_pii_in_run(dagster_instance, run.run_id, churn.engine)


def test_a_paused_sync_is_not_run(churn, warehouse_url, dagster_instance):
    defs = definitions(warehouse_url, status="paused")
    backfill_in_process(defs, "shoppers", DAYS[:1], dagster_instance)
    result = tick(defs, dagster_instance, warehouse_url)
    assert result.run_requests == []
    assert sync_runs(churn.engine) == [("2026-05-01", "skipped", "sync is paused")]
    assert churn.receiver.deliveries == 0


def test_a_historical_backfill_after_a_sync_does_not_sync(churn, warehouse_url, dagster_instance):
    defs = definitions(warehouse_url)
    backfill_in_process(defs, "shoppers", DAYS, dagster_instance)
    first = tick(defs, dagster_instance, warehouse_url)
    request = first.run_requests[0]
    defs.resolve_job_def(request.job_name).execute_in_process(
        run_config=request.run_config, instance=dagster_instance, tags=request.tags, partition_key=request.partition_key
    )
    backfill_in_process(defs, "shoppers", DAYS[1:2], dagster_instance, label="history")
    second = tick(defs, dagster_instance, warehouse_url, cursor=first.cursor)
    assert second.run_requests == []
    assert churn.receiver.member_keys("shoppers-list") == {"u3", "u4", "u5"}
    assert sync_runs(churn.engine)[-1][:2] == ("2026-05-02", "skipped")


def test_schedule_driven_syncs_get_a_schedule_instead_of_the_sensor(warehouse_url):
    defs = definitions(warehouse_url, schedule="weekly")
    schedule = defs.resolve_schedule_def("to_hook_sync_schedule")
    assert schedule.cron_schedule == "0 0 * * 1"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert not list(defs.sensors or [])


def test_manual_runs_are_tagged_for_the_per_sync_concurrency_limit():
    sync = project_config().sync("to_hook")
    _, tags = sync_run_request_parts(sync, "manual")
    assert tags == {
        "audience_pipelines/sync": "to_hook",
        "audience_pipelines/destination": "hook",
        "audience_pipelines/trigger": "manual",
    }


PII = [re.escape(v) for u in range(1, 6) for v in (email_of(u), email_of(u).lower(), phone_of(u))]
PII += [r"\+1650555000\d", r"650555000\d"]


def assert_no_pii_in_run(instance: dg.DagsterInstance, run_id: str, engine: sa.Engine) -> None:
    """No raw email or phone in the run's log lines, metadata, or the run-history tables."""
    texts = []
    for entry in instance.all_logs(run_id):
        texts.append(entry.user_message or "")
        event = entry.dagster_event
        if event is not None and event.event_specific_data is not None:
            texts.append(repr(event.event_specific_data))
    with engine.connect() as conn:
        texts += [repr(row) for row in conn.execute(sa.text(f"select * from {SCHEMA}.sync_runs"))]
        texts += [repr(row) for row in conn.execute(sa.text(f"select * from {SCHEMA}.sync_rejections"))]
    blob = "\n".join(texts)
    assert "to_hook" in blob  # the scan did read the run's logs
    for pattern in PII:
        assert not re.search(pattern, blob, flags=re.IGNORECASE), f"raw identifier matching {pattern} leaked"


def test_a_manual_sync_gets_neither_a_sensor_nor_a_schedule_but_keeps_its_job(churn, warehouse_url, dagster_instance):
    defs = definitions(warehouse_url, schedule="manual")
    sync_schedules = [s for s in defs.schedules or [] if s.name.endswith("_sync_schedule")]
    assert sync_schedules == [] and not list(defs.sensors or []), "nothing launches a manual sync"
    backfill_in_process(defs, "shoppers", DAYS, dagster_instance)
    sync = project_config(schedule="manual").sync("to_hook")
    run_config, tags = sync_run_request_parts(sync, "manual")
    job = defs.resolve_job_def(sync_job_name(sync))
    run = job.execute_in_process(run_config=run_config, instance=dagster_instance, tags=tags, partition_key=DAYS[-1])
    assert run.success
    assert churn.receiver.member_keys("shoppers-list") == {"u3", "u4", "u5"}, "triggering it by hand syncs it"


def test_a_refresh_through_dagster_looks_up_the_members_its_plan_op_named(churn, warehouse_url, dagster_instance):
    """The plan op's output carries the pending members' keys to the push op; the refresh sends exactly them."""
    defs = definitions(warehouse_url)
    backfill_in_process(defs, "shoppers", DAYS[:2], dagster_instance)
    first = tick(defs, dagster_instance, warehouse_url)
    runs = []
    for result in (first, None):
        if result is None:
            backfill_in_process(defs, "shoppers", DAYS[2:], dagster_instance)
            result = tick(defs, dagster_instance, warehouse_url, cursor=first.cursor)
        request = result.run_requests[-1]
        job = defs.resolve_job_def(request.job_name)
        run = job.execute_in_process(
            run_config=request.run_config,
            instance=dagster_instance,
            tags=request.tags,
            partition_key=request.partition_key,
        )
        assert run.success
        runs.append([entry.user_message or "" for entry in dagster_instance.all_logs(run.run_id)])
    assert not any("looking up" in line for line in runs[0]), "a first sync has nobody to name"
    assert any("looking up the 1 member(s) to add and 1 to remove that the plan named" in line for line in runs[1])
    assert churn.receiver.member_keys("shoppers-list") == {"u3", "u4", "u5"}
