"""A combined audience in Dagster: its snapshot depends on the snapshots it reads and runs after them."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from audience_pipelines.config import ProjectConfig
from audience_pipelines.defs import build_definitions, diff_key, snapshot_key
from audience_pipelines.defs.backfill import BackfillError, backfill_in_process
from audience_pipelines.defs.resources import WarehouseResource

KEYS = ["2026-03-01", "2026-03-02", "2026-03-03"]


def sql_audience(name: str, **overrides) -> dict:
    return {
        "name": name,
        "type": "dynamic",
        "refresh": "daily",
        "window": "1d",
        "start": "2026-03-01",
        "min_size": 0,
        "identifiers": ["email"],
        "sql": f"""
            select 'u' || user_id as member_key, max(email) as email from src.visits
            where page = '{name}' and visited_at >= :window_start and visited_at < :window_end group by user_id
        """,
        **overrides,
    }


def combo(**overrides) -> dict:
    return {
        "name": "combo",
        "type": "dynamic",
        "refresh": "daily",
        "start": "2026-03-02",
        "min_size": 0,
        "include": ["a", "b"],
        "exclude": ["c"],
        **overrides,
    }


def definitions(warehouse_url: str, *audiences: dict) -> dg.Definitions:
    config = ProjectConfig.model_validate({"audiences": list(audiences)})
    return build_definitions(config, WarehouseResource(url=warehouse_url))


@pytest.fixture
def visits(clean_warehouse: sa.Engine) -> sa.Engine:
    """Pages a, b, c visited per day: day 2 has a={1,2}, b={2,3}, c={3}; day 3 has a={1}, b={4}, c={1}."""
    visits = {2: {"a": [1, 2], "b": [2, 3], "c": [3]}, 3: {"a": [1], "b": [4], "c": [1]}}
    rows = [
        {"u": u, "e": f"u{u}@example.com", "page": page, "at": dt.datetime(2026, 3, d, 9, tzinfo=dt.UTC)}
        for d, pages in visits.items()
        for page, users in pages.items()
        for u in users
    ]
    with clean_warehouse.begin() as conn:
        conn.execute(sa.text("drop schema if exists src cascade; create schema src"))
        conn.execute(sa.text("create table src.visits (user_id int, email text, page text, visited_at timestamptz)"))
        conn.execute(sa.text("insert into src.visits values (:u, :e, :page, :at)"), rows)
    return clean_warehouse


def test_the_combined_snapshot_depends_on_the_snapshots_it_reads_partition_by_partition(warehouse_url):
    defs = definitions(warehouse_url, sql_audience("a"), sql_audience("b"), sql_audience("c"), combo())
    graph = defs.resolve_asset_graph()
    snapshot = snapshot_key("combo")
    inputs = {snapshot_key(n) for n in "abc"}
    assert graph.get(snapshot).parent_keys == inputs
    for parent in inputs:
        mapping = graph.get_partition_mapping(snapshot, parent)
        assert isinstance(mapping, dg.IdentityPartitionMapping)
        upstream = mapping.get_upstream_mapped_partitions_result_for_partitions(
            graph.get(snapshot).partitions_def.subset_with_partition_keys(["2026-03-02"]),
            graph.get(snapshot).partitions_def,
            graph.get(parent).partitions_def,
        )
        assert upstream.partitions_subset.get_partition_keys() == ["2026-03-02"]
    assert graph.get(diff_key("combo")).parent_keys == {snapshot}
    assert snapshot in graph.get(snapshot_key("a")).child_keys
    metadata = defs.resolve_assets_def(snapshot).specs_by_key[snapshot].metadata
    assert (metadata["include"], metadata["exclude"]) == ("union of a, b", "c")
    assert metadata["columns"] == "member_key, email", "the columns its includes share"


def test_a_combined_audience_refreshes_through_its_automation_sensor_not_a_schedule(warehouse_url):
    defs = definitions(
        warehouse_url,
        sql_audience("a"),
        sql_audience("b"),
        sql_audience("c"),
        combo(),
        combo(name="combo_paused", status="paused"),
        combo(name="combo_draft", status="draft"),
    )
    assert {s.name for s in defs.schedules if "combo" in s.name} == set()
    assert {"a_schedule", "b_schedule", "c_schedule"} <= {s.name for s in defs.schedules}
    sensors = {s.name: s for s in defs.sensors if "combo" in s.name}
    assert set(sensors) == {"combo_automation", "combo_paused_automation"}
    assert sensors["combo_automation"].default_status == dg.DefaultSensorStatus.RUNNING
    assert sensors["combo_paused_automation"].default_status == dg.DefaultSensorStatus.STOPPED
    graph = defs.resolve_asset_graph()
    targeted = sensors["combo_automation"].asset_selection.resolve(graph)
    assert targeted == {snapshot_key("combo"), diff_key("combo")}
    assert graph.get(snapshot_key("a")).automation_condition is None, "SQL audiences keep their schedules"


def test_the_combined_snapshot_is_requested_only_once_every_input_of_the_partition_exists(
    warehouse_url, dagster_instance
):
    defs = definitions(warehouse_url, sql_audience("a"), sql_audience("b"), sql_audience("c"), combo())
    now = dt.datetime(2026, 3, 4, 0, 30, tzinfo=dt.UTC)  # latest partition: 2026-03-03

    def tick(cursor=None):
        return dg.evaluate_automation_conditions(
            defs=defs, instance=dagster_instance, evaluation_time=now, cursor=cursor
        )

    def materialized(name: str) -> None:
        event = dg.AssetMaterialization(snapshot_key(name), partition="2026-03-03")
        dagster_instance.report_runless_asset_event(event)

    result = tick()
    assert result.total_requested == 0, "no input snapshot of 2026-03-03 yet"
    materialized("a")
    materialized("b")
    result = tick(result.cursor)
    assert result.total_requested == 0, "c is still missing"
    materialized("c")
    result = tick(result.cursor)
    assert result.get_requested_partitions(snapshot_key("combo")) == {"2026-03-03"}
    assert result.get_requested_partitions(diff_key("combo")) == {"2026-03-03"}, "the diff follows in the same run"
    result = tick(result.cursor)
    assert result.total_requested == 0, "requested once"
    materialized("b")
    result = tick(result.cursor)
    assert result.get_requested_partitions(snapshot_key("combo")) == {"2026-03-03"}, "an input changed"


def test_backfilled_combined_partitions_hold_the_set_algebra_and_a_missing_input_fails_the_run(
    visits, warehouse_url, dagster_instance
):
    defs = definitions(warehouse_url, sql_audience("a"), sql_audience("b"), sql_audience("c"), combo())
    for name in "abc":
        backfill_in_process(defs, name, KEYS[:2], dagster_instance)
    backfill_in_process(defs, "combo", ["2026-03-02"], dagster_instance)
    with pytest.raises(BackfillError, match="input audience\\(s\\) a, b, c have no snapshot for partition 2026-03-03"):
        backfill_in_process(defs, "combo", ["2026-03-03"], dagster_instance)
    assert dagster_instance.get_materialized_partitions(snapshot_key("combo")) == {"2026-03-02"}
    for name in "abc":
        backfill_in_process(defs, name, KEYS[2:], dagster_instance)
    backfill_in_process(defs, "combo", ["2026-03-03"], dagster_instance)
    with visits.connect() as conn:
        history = set(
            conn.execute(
                sa.text(
                    "select partition_key, member_key, change from audience_pipelines.membership_history "
                    "where audience = 'combo'"
                )
            )
        )
    # day 2: (a|b) - c = {1, 2}; day 3: ({1} | {4}) - {1} = {4}
    assert history == {
        ("2026-03-02", "u1", "entered"),
        ("2026-03-02", "u2", "entered"),
        ("2026-03-03", "u1", "exited"),
        ("2026-03-03", "u2", "exited"),
        ("2026-03-03", "u4", "entered"),
    }
