"""Fixtures for the demo data tests: fresh databases on the session's embedded PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from audience_pipelines.embedded import EmbeddedPostgres
from audience_pipelines.warehouse import psycopg2_url

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_url(postgres: EmbeddedPostgres) -> str:
    """SQLAlchemy URL (psycopg2) of the session's embedded PostgreSQL server (its admin database)."""
    return psycopg2_url(postgres.server.get_uri())


@pytest.fixture(scope="session")
def new_database(postgres_url: str) -> Iterator[Callable[[], sa.Engine]]:
    """Factory creating an empty database on the test server and returning an engine for it."""
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    engines: list[sa.Engine] = []

    def create() -> sa.Engine:
        name = f"demo_test_{next(_database_numbers)}"
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        engine = sa.create_engine(sa.make_url(postgres_url).set(database=name))
        engines.append(engine)
        return engine

    yield create
    for engine in engines:
        engine.dispose()
    admin.dispose()
