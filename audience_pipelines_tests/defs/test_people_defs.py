"""The forget_user job: forget-user from the Dagster UI or API, through run config."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest
import sqlalchemy as sa

from audience_pipelines.defs import build_definitions
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines.destinations.webhook import WEBHOOK
from audience_pipelines.warehouse import SCHEMA
from audience_pipelines_tests.destinations.contract_world import SYNC
from audience_pipelines_tests.people_world import EVENTS, PeopleWorld, people_world


@pytest.fixture
def world(clean_warehouse: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[PeopleWorld]:
    with people_world(WEBHOOK, WEBHOOK.contracts[0], clean_warehouse, monkeypatch, with_events=True) as world:
        world.members_on(1, range(1, 6))
        for name in (SYNC, EVENTS):
            assert world.sync_named(name).status == "success"
        yield world


def forget_run(
    world: PeopleWorld, warehouse_url: str, instance: dg.DagsterInstance, **config
) -> dg.ExecuteInProcessResult:
    job = build_definitions(world.config, WarehouseResource(url=warehouse_url)).resolve_job_def("forget_user")
    return job.execute_in_process(
        run_config={"ops": {"forget_person_op": {"config": config}}}, instance=instance, raise_on_error=False
    )


def test_the_job_forgets_a_member_everywhere(world, warehouse_url, dagster_instance):
    result = forget_run(world, warehouse_url, dagster_instance, member_key="p3", confirm=True)
    assert result.success
    assert "p3" not in world.held_by(SYNC) and "p3" not in world.held_by(EVENTS)
    assert result.output_for_node("forget_person_op").startswith("forget-")
    output = next(e for e in result.all_events if e.event_type_value == "STEP_OUTPUT")
    metadata = {key: value.value for key, value in output.event_specific_data.metadata.items()}
    assert metadata["members"] == 1 and metadata["erased/snapshot rows"] == 1 and metadata["erased/ledger rows"] == 2
    assert metadata["removed_from"] == {SYNC: "success", EVENTS: "success"}
    with world.engine.connect() as conn:
        triggers = conn.execute(
            sa.text(f"select sync, status from {SCHEMA}.sync_runs where trigger = 'forget' order by sync")
        ).all()
    assert [tuple(t) for t in triggers] == [(EVENTS, "success"), (SYNC, "success")]


def test_the_job_refuses_without_confirm(world, warehouse_url, dagster_instance):
    result = forget_run(world, warehouse_url, dagster_instance, email="person.3@example.com")
    assert not result.success
    failure = result.get_step_failure_events()[0].event_specific_data.error
    assert "confirm: true" in failure.message
    assert "p3" in world.held_by(SYNC), "nothing was changed"
