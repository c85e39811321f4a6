"""Match rates reach the destination asset's materialization metadata as numbers, one per partition, and a
failure to read them never fails a delivered sync."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa

from audience_pipelines.defs import build_definitions
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines.defs.syncs import (
    destination_asset_key,
    sync_job_name,
    sync_partition_key,
    sync_run_request_parts,
)
from audience_pipelines.destinations.meta import META_CUSTOM_AUDIENCES
from audience_pipelines.warehouse.ledger import ledger_members
from audience_pipelines.warehouse.sync_runs import MatchFigures, recent_runs
from audience_pipelines_tests.destinations.contract_world import SYNC, contract_world

DAYS = ((1, range(1, 13)), (2, range(5, 21)))


def test_match_rates_are_numeric_metadata_of_each_destination_partition(
    clean_warehouse: sa.Engine,
    warehouse_url: str,
    dagster_instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    [case] = META_CUSTOM_AUDIENCES.contracts
    with contract_world(META_CUSTOM_AUDIENCES, case, clean_warehouse, monkeypatch) as world:
        sync = world.config.sync(SYNC)
        defs = build_definitions(world.config, WarehouseResource(url=warehouse_url))
        job = defs.resolve_job_def(sync_job_name(sync))
        for day, members in DAYS:
            world.members_on(day, members)
            run_config, tags = sync_run_request_parts(sync, "manual")
            partition = sync_partition_key(clean_warehouse, world.config, sync)
            assert job.execute_in_process(
                run_config=run_config, instance=dagster_instance, tags=tags, partition_key=partition
            ).success
        records = dagster_instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=destination_asset_key(sync)), limit=10
        ).records
        metadata = {r.partition_key: r.asset_materialization.metadata for r in records}
        assert set(metadata) == {"2026-06-01", "2026-06-02"}, "one materialization per synced partition"
        for values in metadata.values():
            assert isinstance(values["match/rate"], dg.FloatMetadataValue) and 0 < values["match/rate"].value <= 1
            low, high = values["match/matched_low"], values["match/matched_high"]
            assert isinstance(low, dg.IntMetadataValue) and isinstance(high, dg.IntMetadataValue)
            assert low.value <= high.value
        with clean_warehouse.connect() as conn:
            [latest, *_] = recent_runs(conn, SYNC)
            list_id = conn.execute(
                sa.text("select list_id from audience_pipelines.sync_state where sync = :s"), {"s": SYNC}
            ).scalar_one()
        newest = metadata["2026-06-02"]
        matched = world.fake.matched_members(list_id)
        assert newest["match/matched_low"].value <= matched <= newest["match/matched_high"].value
        assert latest.match.match_rate == newest["match/rate"].value, "`runs` and the UI show the same rate"


def test_a_failure_to_read_match_rates_is_a_warning_not_a_failed_sync(
    clean_warehouse: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    [case] = META_CUSTOM_AUDIENCES.contracts
    with contract_world(META_CUSTOM_AUDIENCES, case, clean_warehouse, monkeypatch) as world:
        members = world.members_on(1, range(1, 7))
        logs: list[str] = []

        def log(line: str) -> None:
            logs.append(line)
            if "totals: 6 accepted" in line:  # every member delivered: the next request is the match read
                world.fake.revoke_credentials()

        summary = world.sync(log=log)
        assert summary.status == "success", summary.message
        assert summary.counts.accepted == 6 and summary.result.match is None
        with clean_warehouse.connect() as conn:
            assert ledger_members(conn, SYNC) == members
            [run] = recent_runs(conn, SYNC)
        assert (run.status, run.match) == ("success", MatchFigures())
        warnings = [line for line in logs if "warning: match rates could not be read" in line]
        assert len(warnings) == 1, logs
        assert not any(secret in line for line in logs for secret in world.fake.secrets())
