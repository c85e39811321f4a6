"""The ``demo-data`` command line entry point."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from audience_pipelines.demo.cli import WAREHOUSE_URL_ENV, main
from audience_pipelines_tests.demo.helpers import scalar


def test_loads_prints_summary_and_is_idempotent(
    new_database: Callable[[], sa.Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    engine = new_database()
    url = engine.url.render_as_string(hide_password=False)

    assert main(["--users", "300", "--seed", "3", "--url", url]) == 0
    first = capsys.readouterr().out
    assert "demo data created (users=300, seed=3, end_date=2026-11-20, days=90): 300 profiles" in first
    assert scalar(engine, "SELECT count(*) FROM demo.profiles") == 300
    assert scalar(engine, "SELECT seed FROM demo.generation") == 3

    assert main(["--users", "300", "--seed", "3", "--url", url]) == 0
    assert "demo data already up to date" in capsys.readouterr().out

    assert main(["--users", "300", "--seed", "3", "--url", url, "--replace"]) == 0
    assert "demo data created" in capsys.readouterr().out


def test_url_defaults_to_environment(
    new_database: Callable[[], sa.Engine], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = new_database()
    monkeypatch.setenv(WAREHOUSE_URL_ENV, engine.url.render_as_string(hide_password=False))
    assert main(["--users", "200"]) == 0
    assert "200 profiles" in capsys.readouterr().out
    assert scalar(engine, "SELECT users FROM demo.generation") == 200


def test_requires_a_url(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(WAREHOUSE_URL_ENV, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["--users", "10"])
    assert exit_info.value.code == 2
    assert WAREHOUSE_URL_ENV in capsys.readouterr().err


def test_rejects_invalid_users(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--users", "0", "--url", "postgresql+psycopg2://nowhere/db"])
    assert "users must be between" in capsys.readouterr().err
