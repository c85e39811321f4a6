"""The dg project: `dg list components` shows the component, `dg check defs` loads its defs.yaml."""

import os
import subprocess
import sys
from pathlib import Path

from audience_pipelines.components import AudiencePipelinesComponent
from audience_pipelines.defs import diff_key
from audience_pipelines_tests.conftest import PROJECT_DIR

DG = str(Path(sys.executable).with_name("dg"))


def run_dg(args: list[str], postgres, config_path: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_PG_URL": postgres.dagster_url, "VIRTUAL_ENV": str(Path(sys.executable).parents[1])}
    env["AUDIENCE_PIPELINES_CONFIG"] = str(config_path or PROJECT_DIR / "audiences.yaml")
    env.pop("DAGSTER_HOME", None)
    return subprocess.run([DG, *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300)


def test_dg_lists_the_component_with_its_yaml_documented(postgres):
    completed = run_dg(["list", "components", "--json"], postgres)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "audience_pipelines.components.AudiencePipelinesComponent" in completed.stdout
    assert "config_file" in AudiencePipelinesComponent.__doc__ and "defs.yaml" in AudiencePipelinesComponent.__doc__


def test_dg_check_defs_loads_the_project_and_names_a_config_mistake(postgres, tmp_path):
    completed = run_dg(["check", "defs"], postgres)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    bad = tmp_path / "audiences.yaml"
    bad.write_text("audiences:\n  - name: broken\n    type: dynamic\n    refresh: sometimes\n")
    failed = run_dg(["check", "defs"], postgres, bad)
    assert failed.returncode != 0
    assert "audiences.yaml: audience 'broken' (item 1): field 'refresh'" in failed.stdout + failed.stderr


def test_the_code_location_is_the_defs_folder_built_by_the_component(monkeypatch):
    monkeypatch.setenv("AUDIENCE_PIPELINES_CONFIG", str(PROJECT_DIR / "audiences.yaml"))
    from audience_pipelines.definitions import defs

    loaded = defs() if callable(defs) else defs
    assert loaded.resolve_assets_def(diff_key("high_value_90d")).partitions_def is not None
    components = loaded.component_tree.get_all_components(of_type=AudiencePipelinesComponent)
    assert [c.config_file for c in components] == [None], "one instance, reading the CLI's audiences.yaml"


def test_config_file_is_relative_to_the_project_root_else_the_clis_file(tmp_path, monkeypatch):
    monkeypatch.delenv("AUDIENCE_PIPELINES_CONFIG", raising=False)
    assert AudiencePipelinesComponent(config_file="conf/a.yaml").config_path(tmp_path) == tmp_path / "conf" / "a.yaml"
    assert AudiencePipelinesComponent().config_path(tmp_path) == tmp_path / "audiences.yaml"
    monkeypatch.setenv("AUDIENCE_PIPELINES_CONFIG", str(tmp_path / "elsewhere.yaml"))
    assert AudiencePipelinesComponent().config_path(tmp_path) == tmp_path / "elsewhere.yaml"


def test_the_cli_runs_dg_with_the_instance_database_exported(postgres):
    """`audience-pipelines dg check defs` works where a bare `dg` would not find DAGSTER_PG_URL."""
    env = {
        **os.environ,
        "DAGSTER_PG_URL": postgres.dagster_url,
        "AUDIENCE_PIPELINES_WAREHOUSE_URL": postgres.warehouse_url,
        "AUDIENCE_PIPELINES_CONFIG": str(PROJECT_DIR / "audiences.yaml"),
    }
    env.pop("DAGSTER_HOME", None)
    cli = str(Path(sys.executable).with_name("audience-pipelines"))
    completed = subprocess.run(
        [cli, "dg", "check", "defs"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "All definitions loaded successfully" in completed.stdout + completed.stderr
