"""`dev` passes Dagster's own options through; `runs` shows real runs unless asked for the sensor's skips."""

from audience_pipelines.cli import commands, main
from audience_pipelines.cli.syncs import print_runs
from audience_pipelines_tests.conftest import PROJECT_DIR


def test_dev_hands_options_it_does_not_know_to_dagster_dev(monkeypatch):
    called: list[list[str]] = []
    monkeypatch.setattr(commands, "dev", lambda parsed: called.append(parsed.dagster_args) or 0)
    assert main(["dev", "--port", "3100", "--host", "0.0.0.0"]) == 0
    assert called == [["--port", "3100", "--host", "0.0.0.0"]]


def test_other_commands_still_refuse_unknown_options(capsys):
    assert main(["validate", "--port", "3100"]) == 2
    assert "unrecognized arguments: --port 3100" in capsys.readouterr().err


def test_runs_hides_the_sensors_skips_unless_asked(world, capsys):
    from audience_pipelines.warehouse.sync_runs import record_skip

    world.members_on(1, [1])
    world.sync()
    with world.engine.begin() as conn:
        record_skip(conn, run_id="skip:to_hook:1", sync="to_hook", destination="hook", audience="shoppers",
                    trigger="sensor", partition_key="2026-04-30", reason="historical partition 2026-04-30")  # fmt: skip
    print_runs(world.engine, world.config(), "to_hook", 10)
    assert "historical partition" not in capsys.readouterr().out
    print_runs(world.engine, world.config(), "to_hook", 10, include_skips=True)
    assert "historical partition" in capsys.readouterr().out


def test_dev_runs_dg_dev_in_a_dg_project_and_dagster_dev_elsewhere(tmp_path):
    command = commands.dev_command(PROJECT_DIR, ["--port", "3100"])
    assert command[0].endswith("/dg") and command[1:] == ["dev", "--port", "3100"]
    plain = commands.dev_command(tmp_path, ["--port", "3100"])
    assert plain[1:] == ["-m", "dagster", "dev", "-w", str(tmp_path / "workspace.yaml"), "--port", "3100"]
