"""``audience-pipelines demo-data``: loads the demo tables into the warehouse the environment names."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from audience_pipelines.cli import main
from audience_pipelines.embedded import DAGSTER_PG_URL_ENV
from audience_pipelines.warehouse import WAREHOUSE_URL_ENV
from audience_pipelines_tests.conftest import PROJECT_DIR
from audience_pipelines_tests.demo.helpers import scalar


@pytest.fixture
def warehouse(new_database: Callable[[], sa.Engine], monkeypatch: pytest.MonkeyPatch, tmp_path, postgres) -> sa.Engine:
    engine = new_database()
    monkeypatch.setenv(WAREHOUSE_URL_ENV, engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv(DAGSTER_PG_URL_ENV, postgres.dagster_url)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.chdir(PROJECT_DIR)
    return engine


def test_loads_prints_summary_and_is_idempotent(warehouse: sa.Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo-data", "--users", "300", "--seed", "3"]) == 0
    assert "demo data built: 300 profiles" in capsys.readouterr().out
    assert scalar(warehouse, "SELECT count(*) FROM demo.profiles") == 300
    assert scalar(warehouse, "SELECT seed FROM demo.generation") == 3

    assert main(["demo-data", "--users", "300", "--seed", "3"]) == 0
    assert "demo data already present" in capsys.readouterr().out

    assert main(["demo-data", "--users", "300", "--seed", "3", "--replace"]) == 0
    assert "demo data built" in capsys.readouterr().out


def test_rejects_invalid_users(warehouse: sa.Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo-data", "--users", "-5"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "users must be between" in err and "Traceback" not in err
