"""In-process runs (demo, CLI) are filed under the code location's jobs, and their ranges show as backfills."""

import dagster as dg
import pytest

from audience_pipelines.defs import build_definitions, refresh_job_name
from audience_pipelines.defs.backfill import BackfillError, backfill_in_process
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines_tests.sync_world import project_config

DAYS = ["2026-05-01", "2026-05-02", "2026-05-03"]
LABEL = ".dagster/repository"


def test_a_backfill_in_process_is_a_backfill_of_the_code_location_with_its_runs(world, warehouse_url, dagster_instance):
    for n, users in enumerate(([1, 2], [2, 3], [3]), start=1):
        world.set_members(n, users)
    defs = build_definitions(project_config(), WarehouseResource(url=warehouse_url))
    backfill_in_process(defs, "shoppers", DAYS, dagster_instance, label="demo")

    runs = dagster_instance.get_runs(
        dg.RunsFilter(job_name=refresh_job_name("shoppers"), tags={LABEL: "__repository__@audience_pipelines"})
    )
    assert sorted(r.tags["dagster/partition"] for r in runs) == DAYS, "the job's Runs tab lists them"
    (backfill,) = dagster_instance.get_backfills()
    assert backfill.status.value == "COMPLETED_SUCCESS" and list(backfill.partition_names) == DAYS
    assert backfill.partition_set_origin.repository_origin.get_label() == "__repository__@audience_pipelines"
    assert backfill.partition_set_origin.partition_set_name == "refresh_shoppers_partition_set"
    assert {r.tags["dagster/backfill"] for r in runs} == {backfill.backfill_id}


def test_a_failed_range_is_recorded_as_a_failed_backfill(world, warehouse_url, dagster_instance):
    world.set_members(2, [1])
    defs = build_definitions(project_config(), WarehouseResource(url=warehouse_url))
    with pytest.raises(BackfillError):
        backfill_in_process(defs, "shoppers", DAYS[1:], dagster_instance)  # day 1 was never built
    (backfill,) = dagster_instance.get_backfills()
    assert backfill.status.value == "COMPLETED_FAILED"
