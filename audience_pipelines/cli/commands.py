"""What each ``audience-pipelines`` sub-command does."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from audience_pipelines.config import ConfigError, load_config
from audience_pipelines.defs import build_definitions
from audience_pipelines.defs.backfill import BackfillError, backfill_in_process
from audience_pipelines.defs.partitions import audience_partitions
from audience_pipelines.embedded import SetupError, prepare_environment
from audience_pipelines.warehouse import (
    SCHEMA,
    AudienceSqlError,
    MissingSnapshotError,
    ensure_schema,
    get_engine,
    prune_snapshots,
    warehouse_url,
)

PROJECT_DIR_ENV = "AUDIENCE_PIPELINES_PROJECT_DIR"
UserFacingError = (ConfigError, SetupError, BackfillError, AudienceSqlError, MissingSnapshotError)


def project_dir() -> Path:
    """The project folder (with dagster.yaml): ``$AUDIENCE_PIPELINES_PROJECT_DIR`` or the cwd."""
    path = Path(os.environ.get(PROJECT_DIR_ENV) or Path.cwd()).resolve()
    if not (path / "dagster.yaml").exists():
        raise SetupError(f"{path} has no dagster.yaml: run from the project folder or set {PROJECT_DIR_ENV}")
    return path


def validate(args: argparse.Namespace) -> int:
    config = load_config()
    print(f"ok: {len(config.audiences)} audience(s): " + ", ".join(a.name for a in config.audiences))
    return 0


def dev(args: argparse.Namespace) -> int:
    folder = project_dir()
    settings = prepare_environment(folder)
    print(f"Dagster home: {settings.dagster_home} ({'embedded' if settings.embedded else 'your'} PostgreSQL)")
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-w",
        str(folder / "workspace.yaml"),
        *args.dagster_args,
    ]
    try:
        return subprocess.call(command, cwd=folder)
    except KeyboardInterrupt:
        return 130


def demo_data(args: argparse.Namespace) -> int:
    from audience_pipelines.demo.data import DemoDataSpec, load_demo_data

    prepare_environment(project_dir())
    defaults = DemoDataSpec()
    spec = DemoDataSpec(users=args.users or defaults.users, seed=args.seed or defaults.seed)
    summary = load_demo_data(get_engine(warehouse_url()), spec, replace=args.replace)
    print(
        f"demo data {'built' if summary.created else 'already present'}: {summary.profiles:,} profiles, "
        f"{summary.visitors:,} visitors, {summary.events:,} events ({summary.seconds:.1f}s)"
    )
    return 0


def prune(args: argparse.Namespace) -> int:
    prepare_environment(project_dir())
    config = load_config()
    engine = get_engine(warehouse_url())
    ensure_schema(engine)
    for audience in config.audiences:
        if audience.retention is not None:
            print(f"{audience.name}: pruned {prune_snapshots(engine, audience.name, audience.retention)}")
    return 0


def demo(args: argparse.Namespace) -> int:
    from audience_pipelines.demo.data import DEMO_END_DATE, DemoDataSpec, load_demo_data

    settings = prepare_environment(project_dir())
    config = load_config()
    engine = get_engine(warehouse_url())
    spec = DemoDataSpec(users=args.users) if args.users else DemoDataSpec()
    data = load_demo_data(engine, spec)
    print(
        f"Demo data {'generated' if data.created else 'already loaded'}: {data.profiles:,} profiles, "
        f"{data.visitors:,} visitors, {data.events:,} events up to {DEMO_END_DATE}"
    )
    defs = build_definitions(config)
    demo_until = dt.datetime.combine(DEMO_END_DATE + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    with dg.DagsterInstance.get() as instance:
        for audience in config.audiences:
            if audience.status == "draft":
                continue
            keys = audience_partitions(audience).get_partition_keys(current_time=demo_until)
            print(
                f"Backfilling {audience.name}: {len(keys)} partition(s) {keys[0]} .. {keys[-1]}", flush=True
            )
            backfill_in_process(defs, audience.name, keys, instance, label="demo")
    print_summary(engine, [a.name for a in config.audiences])
    print(f"\nRuns are stored in {settings.dagster_home}; open them with: audience-pipelines dev")
    return 0


def print_summary(engine: sa.Engine, audiences: list[str]) -> None:
    """Per audience and partition: members, entered, exited."""
    query = sa.text(
        f"""select partition_key, member_count, entered, exited from {SCHEMA}.diff_partitions
            where audience = :audience order by partition_start"""
    )
    with engine.connect() as conn:
        for name in audiences:
            rows = conn.execute(query, {"audience": name}).all()
            print(f"\n{name}")
            print(f"  {'partition':<18}{'members':>10}{'entered':>10}{'exited':>10}")
            for row in rows:
                print(f"  {row.partition_key:<18}{row.member_count:>10,}{row.entered:>10,}{row.exited:>10,}")
