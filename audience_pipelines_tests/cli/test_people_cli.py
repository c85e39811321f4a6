"""find-user and forget-user on the command line, against the session's PostgreSQL and a running fake."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import yaml

from audience_pipelines.cli import main
from audience_pipelines.destinations.webhook import WEBHOOK
from audience_pipelines.embedded import EmbeddedPostgres, local_suppression_key
from audience_pipelines.warehouse import SCHEMA
from audience_pipelines.warehouse.people import SUPPRESSION_KEY_ENV
from audience_pipelines_tests.conftest import PROJECT_DIR
from audience_pipelines_tests.destinations.contract_world import SYNC, person
from audience_pipelines_tests.people_world import EVENTS, PeopleWorld, people_world

RAW = person(3)


@pytest.fixture
def cli_world(
    clean_warehouse: sa.Engine, postgres: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> Iterator[PeopleWorld]:
    """Two synced webhook syncs, and the CLI pointed at the same warehouse and a config file of this world."""
    with people_world(WEBHOOK, WEBHOOK.contracts[0], clean_warehouse, monkeypatch, with_events=True) as world:
        world.members_on(1, range(1, 6))
        for name in (SYNC, EVENTS):
            assert world.sync_named(name).status == "success"
        config_file = tmp_path / "audiences.yaml"
        config_file.write_text(yaml.safe_dump(world.config.model_dump(mode="json", exclude_defaults=True)))
        monkeypatch.setenv("AUDIENCE_PIPELINES_PROJECT_DIR", str(PROJECT_DIR))
        monkeypatch.setenv("AUDIENCE_PIPELINES_CONFIG", str(config_file))
        monkeypatch.setenv("DAGSTER_PG_URL", postgres.dagster_url)
        monkeypatch.setenv("AUDIENCE_PIPELINES_WAREHOUSE_URL", postgres.warehouse_url)
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
        yield world


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def ledger_count(world: PeopleWorld) -> int:
    with world.engine.connect() as conn:
        return conn.execute(sa.text(f"select count(*) from {SCHEMA}.sync_ledger")).scalar_one()


def test_forget_user_refuses_without_confirm(cli_world, capsys):
    code, out, err = run(["forget-user", "--email", RAW["email"]], capsys)
    assert code == 1 and out == ""
    assert err.startswith("error: forget-user removes the person with email") and "--confirm" in err
    assert RAW["email"] not in err, "even the refusal masks what was typed"
    assert ledger_count(cli_world) == 10 and "p3" in cli_world.held_by(SYNC), "nothing was changed"


def test_find_then_forget_then_find(cli_world, capsys):
    code, out, _ = run(["find-user", "--email", RAW["email"]], capsys)
    assert code == 0
    assert "1 member(s) match email Pe***@Ex***: p3" in out
    assert "audiences now: people (snapshot 2026-06-01)" in out
    assert "2026-06-01  people: entered (p3)" in out
    assert f"{SYNC}: sent" in out and f"{EVENTS}: sent" in out
    assert RAW["email"].lower() not in out.lower() and RAW["external_id"] not in out

    code, out, _ = run(["forget-user", "--phone", RAW["phone"], "--confirm"], capsys)
    assert code == 0, out
    assert f"removed from {EVENTS} (contract_destination): 1 acknowledged" in out
    assert f"removed from {SYNC} (contract_destination): 1 acknowledged" in out
    assert "erased: 1 snapshot rows, 2 ledger rows" in out
    assert RAW["phone"] not in out and "6505550003" not in out
    assert "p3" not in cli_world.held_by(SYNC) and "p3" not in cli_world.held_by(EVENTS)

    code, out, _ = run(["find-user", "--external-id", RAW["external_id"]], capsys)
    assert code == 1 and out.startswith("No member matches external_id cr***-3")
    code, out, _ = run(["forget-user", "--member-key", "p3", "--confirm"], capsys)
    assert code == 0 and "was already forgotten" in out
    code, out, _ = run(["find-user", "--member-key", "p3"], capsys)
    assert code == 0 and "2026-06-01  people: entered (p3)" in out and "held by destinations: none" in out
    assert "  forgotten: p3 by forget-" in out


def test_forget_user_without_the_key_says_how_to_set_it(cli_world, capsys, monkeypatch):
    monkeypatch.delenv(SUPPRESSION_KEY_ENV)
    code, _, err = run(["forget-user", "--member-key", "p3", "--confirm"], capsys)
    assert code == 1 and err.startswith(f"error: {SUPPRESSION_KEY_ENV} is not set; forget-user needs it")
    assert ledger_count(cli_world) == 10


def test_the_embedded_setup_generates_its_key_once(tmp_path, monkeypatch):
    monkeypatch.delenv(SUPPRESSION_KEY_ENV, raising=False)
    local_suppression_key(tmp_path / ".local")
    first = os.environ[SUPPRESSION_KEY_ENV]
    key_file = tmp_path / ".local" / "suppression_key"
    assert len(first) == 64 and key_file.read_text() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600, "readable by its owner only"
    monkeypatch.delenv(SUPPRESSION_KEY_ENV)
    local_suppression_key(tmp_path / ".local")
    assert os.environ[SUPPRESSION_KEY_ENV] == first, "the same key on every start"
    monkeypatch.setenv(SUPPRESSION_KEY_ENV, "an-operator-provided-key-0123456789")
    local_suppression_key(tmp_path / ".local")
    assert os.environ[SUPPRESSION_KEY_ENV] == "an-operator-provided-key-0123456789", "a key that is set wins"
