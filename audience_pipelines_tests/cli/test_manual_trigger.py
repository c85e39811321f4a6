"""``audience-pipelines sync NAME``: a manual run is refused while the sync is paused or cooling down."""

from __future__ import annotations

import datetime as dt

import pytest

from audience_pipelines.cli.syncs import CooldownError, check_cooldown, run_manual_sync
from audience_pipelines.defs import build_definitions
from audience_pipelines.defs.resources import WarehouseResource
from audience_pipelines_tests.sync_world import project_config

LIST = "shoppers-list"


def trigger(world, warehouse_url, instance, **sync_overrides):
    config = project_config(**sync_overrides)
    defs = build_definitions(config, WarehouseResource(url=warehouse_url))
    return run_manual_sync(defs, world.engine, config, "to_hook", instance)


def test_a_second_manual_trigger_within_the_cooldown_is_refused(world, warehouse_url, dagster_instance):
    world.members_on(1, [1, 2])
    assert trigger(world, warehouse_url, dagster_instance, cooldown="1h").success
    world.members_on(2, [1, 2, 3])  # new work a run would send
    requests_before = len(world.receiver.request_log)
    with pytest.raises(CooldownError, match=r"cooldown is 1h.*next manual run is allowed at"):
        trigger(world, warehouse_url, dagster_instance, cooldown="1h")
    assert len(world.receiver.request_log) == requests_before
    assert world.receiver.member_keys(LIST) == {"u1", "u2"}


def test_a_manual_trigger_is_allowed_again_once_the_cooldown_has_passed(world, warehouse_url, dagster_instance):
    world.members_on(1, [1, 2])
    assert trigger(world, warehouse_url, dagster_instance, cooldown="1h").success
    sync = project_config(cooldown="1h").sync("to_hook")
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(CooldownError):
        check_cooldown(world.engine, sync, now + dt.timedelta(minutes=59))
    check_cooldown(world.engine, sync, now + dt.timedelta(hours=1, seconds=1))


def test_a_paused_sync_cannot_be_triggered_manually(world, warehouse_url, dagster_instance):
    world.members_on(1, [1, 2])
    with pytest.raises(CooldownError, match="is paused; set status: active"):
        trigger(world, warehouse_url, dagster_instance, status="paused")
    assert world.receiver.request_log == []
    assert dagster_instance.get_runs() == [], "no Dagster run was started"


def test_a_manual_run_prints_no_dagster_debug_lines(world, warehouse_url, dagster_instance, capfd):
    world.members_on(1, [1, 2])
    assert trigger(world, warehouse_url, dagster_instance).success
    out, err = capfd.readouterr()
    assert "DEBUG" not in out + err and "STEP_SUCCESS" not in out + err, "the command prints its own summary only"
