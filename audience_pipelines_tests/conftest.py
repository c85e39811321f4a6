"""Shared fixtures: one embedded PostgreSQL per test session, with a Dagster and a warehouse database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from audience_pipelines.embedded import EmbeddedPostgres, start_embedded_postgres
from audience_pipelines.warehouse import SCHEMA, ensure_schema, get_engine

pytest_plugins = ["audience_pipelines_tests.sync_world"]

PROJECT_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedPostgres:
    """A real PostgreSQL server for the whole session, deleted afterwards."""
    return start_embedded_postgres(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")


@pytest.fixture(scope="session")
def warehouse_url(postgres: EmbeddedPostgres) -> str:
    return postgres.warehouse_url


@pytest.fixture(scope="session")
def warehouse_engine(warehouse_url: str) -> sa.Engine:
    engine = get_engine(warehouse_url)
    ensure_schema(engine)
    return engine


@pytest.fixture
def clean_warehouse(warehouse_engine: sa.Engine) -> sa.Engine:
    """The warehouse with the pipeline's own tables emptied (source tables are left alone)."""
    with warehouse_engine.begin() as conn:
        tables = conn.execute(
            sa.text("select tablename from pg_tables where schemaname = :schema"), {"schema": SCHEMA}
        ).scalars()
        names = ", ".join(f"{SCHEMA}.{t}" for t in tables)
        if names:
            conn.execute(sa.text(f"truncate {names}"))
    return warehouse_engine


@pytest.fixture
def dagster_instance(postgres: EmbeddedPostgres) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance stored in the session's PostgreSQL (wiped for each test)."""
    overrides = {"storage": {"postgres": {"postgres_url": postgres.dagster_url}}}
    with dg.instance_for_test(overrides=overrides) as instance:
        instance.wipe()
        instance.wipe_all_schedules()
        yield instance
