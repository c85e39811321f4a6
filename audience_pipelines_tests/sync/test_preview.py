"""Preview: the exact requests the next run would send, through the same code, with nothing sent or recorded."""

import json
import os

import dagster as dg
import sqlalchemy as sa

from audience_pipelines.defs import build_definitions
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines.defs.syncs import sync_job_name
from audience_pipelines.sync.preview import preview_sync
from audience_pipelines.warehouse import SCHEMA
from audience_pipelines.warehouse.ledger import ledger_members
from audience_pipelines_tests.sync_world import SECRET_ENV, email_of, project_config


def history(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"select count(*) from {SCHEMA}.sync_runs")).scalar_one()


def test_preview_builds_what_the_run_then_sends_and_sends_nothing(world, monkeypatch):
    world.members_on(1, [1, 2, 3, 4, 5])
    preview = preview_sync(world.engine, world.config(), "to_hook", limit=3)
    lines = list(preview.json_lines())
    assert [line["operation"] for line in lines] == ["add"]
    assert world.receiver.deliveries == 0 and history(world.engine) == 0
    with world.engine.connect() as conn:
        assert ledger_members(conn, "to_hook") == set()
    body = lines[0]["body"]
    assert [m["member_key"] for m in body["members"]] == ["u1", "u2", "u3"]
    assert body["members"][0]["email"] == email_of(1).lower(), "normalized as the platform receives it"
    assert lines[0]["headers"]["webhook-signature"] == "v1,***"
    assert os.environ[SECRET_ENV] not in json.dumps(lines)

    assert world.sync().status == "success"
    first = world.receiver.batches()[0]
    assert first["batch_id"] == body["batch_id"], "the run sent the very batch the preview showed"
    assert first["member_keys"] == ["u1", "u2", "u3"]


def test_preview_shows_removals_and_the_guard_verdict(world):
    world.members_on(1, [1, 2, 3, 4])
    world.sync()
    world.members_on(2, [4])
    preview = preview_sync(world.engine, world.config(max_exit_ratio=0.5), "to_hook", limit=2)
    assert preview.plan.blocked_reason and "max_exit_ratio" in preview.plan.blocked_reason
    assert [(r.operation, r.members) for r in preview.requests] == [("remove", 2)]
    text = "\n".join(preview.summary_lines())
    assert "guard: guard: would remove 3 of 4" in text and "Nothing was sent" in text
    assert world.receiver.member_keys("shoppers-list") == {"u1", "u2", "u3", "u4"}


def test_preview_of_an_up_to_date_sync_says_so(world):
    world.members_on(1, [1, 2])
    world.sync()
    preview = preview_sync(world.engine, world.config(), "to_hook")
    assert preview.requests == [] and "already reflects" in preview.plan.skip_reason


def test_a_dry_run_of_the_dagster_job_logs_the_requests_and_sends_nothing(world, warehouse_url, dagster_instance):
    world.members_on(1, [1, 2, 3])
    defs = build_definitions(project_config(), WarehouseResource(url=warehouse_url))
    job = defs.resolve_job_def(sync_job_name(project_config().sync("to_hook")))
    result = job.execute_in_process(
        run_config={"ops": {"to_hook_sync": {"config": {"dry_run": True}}}},
        instance=dagster_instance,
        partition_key="2026-05-01",
    )
    assert result.success
    assert world.receiver.deliveries == 0 and history(world.engine) == 0
    logs = [
        event.message
        for event in dagster_instance.all_logs(result.run_id)
        if event.user_message and "dry run" in event.user_message
    ]
    assert logs and "add: POST /hooks (3 member(s))" in logs[0]
    assert not result.asset_materializations_for_node("record"), "a dry run materializes nothing"
    assert dagster_instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.SUCCESS
