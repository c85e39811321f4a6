"""Audience assets through Dagster on the PostgreSQL-backed instance: backfills, checks, schedules."""

import datetime as dt
import os
import subprocess
import sys

import dagster as dg
import pytest
import sqlalchemy as sa

from audience_pipelines.config import ProjectConfig
from audience_pipelines.defs import build_definitions, diff_key, refresh_job_name, snapshot_key
from audience_pipelines.defs.backfill import BackfillError, backfill_in_process
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines_tests.conftest import PROJECT_DIR

SQL = """
    select 'u' || user_id as member_key, max(email) as email
    from src.visits where visited_at >= :window_start and visited_at < :window_end group by user_id
"""


def audience(name: str, **overrides) -> dict:
    return {
        "name": name,
        "type": "dynamic",
        "refresh": "daily",
        "window": "1d",
        "start": "2026-03-01",
        "sql": SQL,
        "identifiers": ["email"],
        "min_size": 2,
        **overrides,
    }


@pytest.fixture
def visits(clean_warehouse: sa.Engine) -> sa.Engine:
    """u1 visits daily; u2 on days 1-2; u3 on day 3 only."""
    rows = [(1, d) for d in (1, 2, 3)] + [(2, 1), (2, 2), (3, 3)]
    with clean_warehouse.begin() as conn:
        conn.execute(sa.text("drop schema if exists src cascade; create schema src"))
        conn.execute(sa.text("create table src.visits (user_id int, email text, visited_at timestamptz)"))
        conn.execute(
            sa.text("insert into src.visits values (:u, :e, :at)"),
            [{"u": u, "e": f"u{u}@example.com", "at": dt.datetime(2026, 3, d, 9, tzinfo=dt.UTC)} for u, d in rows],
        )
    return clean_warehouse


def definitions(warehouse_url: str, *audiences: dict) -> dg.Definitions:
    config = ProjectConfig.model_validate({"audiences": list(audiences)})
    return build_definitions(config, WarehouseResource(url=warehouse_url))


def latest_metadata(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> dict:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


def test_backfill_materializes_snapshots_and_diffs_in_the_postgres_instance(visits, warehouse_url, dagster_instance):
    defs = definitions(warehouse_url, audience("visitors"))
    keys = ["2026-03-01", "2026-03-02", "2026-03-03"]
    results = backfill_in_process(defs, "visitors", keys, dagster_instance)
    assert all(r.success for r in results)
    assert dagster_instance.get_materialized_partitions(diff_key("visitors")) == set(keys)
    day3 = latest_metadata(dagster_instance, diff_key("visitors"), "2026-03-03")
    assert (day3["entered"], day3["exited"], day3["members"]) == (1, 1, 2)
    assert day3["previous_partition"] == "2026-03-02"
    snap = latest_metadata(dagster_instance, snapshot_key("visitors"), "2026-03-01")
    assert snap["dagster/row_count"] == 2 and snap["with_email"] == 2
    assert snap["sample_member_keys"] == ["u1", "u2"]
    assert "@" not in str(snap) and "@" not in str(day3), "raw emails must never reach Dagster metadata"


def test_asset_checks_flag_small_audiences_and_mass_exits(visits, warehouse_url, dagster_instance):
    defs = definitions(warehouse_url, audience("visitors", min_size=3, max_exit_ratio=0.4))
    results = backfill_in_process(defs, "visitors", ["2026-03-01", "2026-03-02", "2026-03-03"], dagster_instance)
    checks = {
        (e.asset_check_key.name, i): e.passed for i, r in enumerate(results) for e in r.get_asset_check_evaluations()
    }
    assert checks[("min_size", 1)] is False  # 2 members < 3
    assert checks[("not_empty", 1)] is True
    assert checks[("exit_ratio", 1)] is True  # nobody left on day 2
    assert checks[("exit_ratio", 2)] is False  # u2 left on day 3: 1 of 2 = 50% > 40%


def test_a_diff_whose_previous_partition_was_never_built_fails_clearly(visits, warehouse_url, dagster_instance):
    defs = definitions(warehouse_url, audience("visitors"))
    with pytest.raises(BackfillError, match="previous snapshot partition 2026-03-01 was never materialized"):
        backfill_in_process(defs, "visitors", ["2026-03-02"], dagster_instance)


def test_schedules_follow_refresh_and_status(warehouse_url):
    defs = definitions(
        warehouse_url,
        audience("fast", refresh="15m"),
        audience("nightly"),
        audience("weekly_paused", refresh="weekly", status="paused"),
        audience("custom", refresh="30 6 * * *"),
        audience("sketch", status="draft"),
        {
            "name": "fixed",
            "type": "static",
            "range": {"start": "2026-01-01", "end": "2026-02-01"},
            "sql": SQL,
        },
    )
    schedules = {s.name: defs.resolve_schedule_def(s.name) for s in defs.schedules}
    assert schedules["fast_schedule"].cron_schedule == "*/15 * * * *"
    assert schedules["nightly_schedule"].cron_schedule == "0 0 * * *"
    assert schedules["custom_schedule"].cron_schedule == "30 6 * * *"
    assert schedules["weekly_paused_schedule"].cron_schedule == "0 0 * * 1"
    running = dg.DefaultScheduleStatus.RUNNING
    assert schedules["fast_schedule"].default_status == running
    assert schedules["weekly_paused_schedule"].default_status == dg.DefaultScheduleStatus.STOPPED
    assert "sketch_schedule" not in schedules and "fixed_schedule" not in schedules
    parts = defs.resolve_assets_def(snapshot_key("fast")).partitions_def
    assert parts.get_partition_keys(current_time=dt.datetime(2026, 3, 1, 0, 45, tzinfo=dt.UTC)) == [
        "2026-03-01-00:00",
        "2026-03-01-00:15",
        "2026-03-01-00:30",
    ]
    fixed = defs.resolve_assets_def(snapshot_key("fixed")).partitions_def
    assert fixed.get_partition_keys(current_time=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)) == ["2026-02-01"]


def validate_workspace(config_path, postgres) -> subprocess.CompletedProcess:
    """``dagster definitions validate -w workspace.yaml`` with the given configuration file."""
    env = {**os.environ, "DAGSTER_PG_URL": postgres.dagster_url, "AUDIENCE_PIPELINES_CONFIG": str(config_path)}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_dagster_definitions_validate_passes_on_the_workspace(postgres):
    completed = validate_workspace(PROJECT_DIR / "audiences.yaml", postgres)
    assert completed.returncode == 0, completed.stderr[-2000:]


def test_an_invalid_config_fails_the_code_location_with_the_same_message(tmp_path, postgres):
    bad = tmp_path / "audiences.yaml"
    bad.write_text("audiences:\n  - name: broken\n    type: dynamic\n    refresh: sometimes\n")
    completed = validate_workspace(bad, postgres)
    assert completed.returncode == 1
    output = completed.stdout + completed.stderr
    assert "audiences.yaml: audience 'broken' (item 1): field 'refresh'" in output


def test_after_a_week_of_downtime_the_scheduled_partition_diffs_against_the_newest_snapshot(
    visits, warehouse_url, dagster_instance
):
    """The daemon was down from day 2 to day 8: the day-9 run (what the schedule asks for) recovers by itself."""
    with visits.begin() as conn:
        conn.execute(
            sa.text("insert into src.visits values (1, 'u1@example.com', :at), (9, 'u9@example.com', :at)"),
            {"at": dt.datetime(2026, 3, 9, 9, tzinfo=dt.UTC)},
        )
    defs = definitions(warehouse_url, audience("daily", min_size=0))
    backfill_in_process(defs, "daily", ["2026-03-01"], dagster_instance)
    job = defs.resolve_job_def(refresh_job_name("daily"))
    result = job.execute_in_process(partition_key="2026-03-09", instance=dagster_instance)
    assert result.success, "no manual backfill needed to get going again"
    meta = latest_metadata(dagster_instance, diff_key("daily"), "2026-03-09")
    assert (meta["previous_partition"], meta["gap"], meta["entered"], meta["exited"]) == ("2026-03-01", 1, 1, 1)
    with visits.connect() as conn:
        history = set(
            conn.execute(
                sa.text(
                    "select member_key, change, cast(compared_with as date) from audience_pipelines.membership_history"
                    " where partition_key = '2026-03-09'"
                )
            )
        )
    assert history == {("u9", "entered", dt.date(2026, 3, 1)), ("u2", "exited", dt.date(2026, 3, 1))}
