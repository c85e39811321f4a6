"""What each ``audience-pipelines`` sub-command does."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import dagster as dg

from audience_pipelines.cli.syncs import CooldownError, print_runs, run_manual_sync
from audience_pipelines.config import ConfigError, ProjectConfig, config_path, load_config
from audience_pipelines.config.destinations import DestinationSetupError
from audience_pipelines.defs import build_definitions
from audience_pipelines.defs.backfill import BackfillError, backfill_in_process
from audience_pipelines.defs.partitions import audience_partitions
from audience_pipelines.embedded import SetupError, prepare_environment
from audience_pipelines.sandbox.local import sandbox_syncs, start_sandbox
from audience_pipelines.sync.lifecycle import LifecycleError
from audience_pipelines.warehouse import (
    AudienceSqlError,
    MissingSnapshotError,
    ensure_schema,
    get_engine,
    prune_snapshots,
    warehouse_url,
)
from audience_pipelines.warehouse.ledger import forget_destination_state

PROJECT_DIR_ENV = "AUDIENCE_PIPELINES_PROJECT_DIR"


class UnknownNameError(LookupError):
    """A name given on the command line that the configuration does not declare."""


class UsageError(ValueError):
    """Command-line arguments that are well-formed but make no sense together."""


UserFacingError = (
    ConfigError,
    UnknownNameError,
    UsageError,
    SetupError,
    BackfillError,
    AudienceSqlError,
    MissingSnapshotError,
    DestinationSetupError,
    LifecycleError,
    CooldownError,
)


def project_dir() -> Path:
    """The project folder (with dagster.yaml): ``$AUDIENCE_PIPELINES_PROJECT_DIR`` or the cwd."""
    path = Path(os.environ.get(PROJECT_DIR_ENV) or Path.cwd()).resolve()
    if not (path / "dagster.yaml").exists():
        raise SetupError(f"{path} has no dagster.yaml: run from the project folder or set {PROJECT_DIR_ENV}")
    return path


def find(config: ProjectConfig, kind: Literal["audience", "destination", "sync"], name: str) -> Any:
    """The audience, destination or sync called ``name``, or an error listing the ones that exist."""
    try:
        return getattr(config, kind)(name)
    except KeyError:
        known = ", ".join(item.name for item in getattr(config, f"{kind}s")) or "none"
        raise UnknownNameError(f"no {kind} named '{name}' in {config_path()} ({kind}s: {known})") from None


def validate(args: argparse.Namespace) -> int:
    config = load_config()
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"ok: {len(config.audiences)} audience(s), {len(config.destinations)} destination(s), "
        f"{len(config.syncs)} sync(s)"
    )
    return 0


def dev(args: argparse.Namespace) -> int:
    folder = project_dir()
    settings = prepare_environment(folder)
    sandbox = start_sandbox() if settings.embedded else None
    if sandbox:
        engine = get_engine(warehouse_url())
        ensure_schema(engine)
        syncs = sandbox_syncs(load_config())
        with engine.begin() as conn:
            forget_destination_state(conn, syncs)
        print("Sandbox destinations: " + ", ".join(f"{url}" for url in sandbox.urls().values()))
        print(
            f"They start empty, so the ledgers of their {len(syncs)} sync(s) were reset: the sensors send each "
            "audience's newest snapshot to them again on their first tick (run history stays)"
        )
    print(f"Dagster home: {settings.dagster_home} ({'embedded' if settings.embedded else 'your'} PostgreSQL)")
    try:
        return subprocess.call(dev_command(folder, args.dagster_args), cwd=folder, env=dev_environment())
    except KeyboardInterrupt:
        return 130
    finally:
        if sandbox:
            sandbox.stop()


def dg_cli(args: argparse.Namespace) -> int:
    """``dg`` on this project with the instance's database at hand (the embedded one unless DAGSTER_PG_URL)."""
    folder = project_dir()
    prepare_environment(folder)
    dg = [str(Path(sys.executable).with_name("dg")), *(args.dagster_args or ["--help"])]
    try:
        return subprocess.call(dg, cwd=folder, env=dev_environment())
    except KeyboardInterrupt:
        return 130


def dev_command(folder: Path, extra: list[str]) -> list[str]:
    """``dg dev`` for a dg project (a folder with ``dg.toml``), else ``dagster dev`` on its ``workspace.yaml``."""
    if (folder / "dg.toml").exists():
        return [str(Path(sys.executable).with_name("dg")), "dev", *extra]
    return [sys.executable, "-m", "dagster", "dev", "-w", str(folder / "workspace.yaml"), *extra]


def dev_environment() -> dict[str, str]:
    """The environment for ``dev``: ``dg`` runs the code location in this interpreter's virtual environment."""
    return {**os.environ, "VIRTUAL_ENV": str(Path(sys.executable).parent.parent)}


def demo_data(args: argparse.Namespace) -> int:
    from audience_pipelines.demo.data import DemoDataSpec, load_demo_data

    prepare_environment(project_dir())
    defaults = DemoDataSpec()
    try:
        spec = DemoDataSpec(
            users=defaults.users if args.users is None else args.users,
            seed=defaults.seed if args.seed is None else args.seed,
        )
    except ValueError as error:
        raise SetupError(f"demo-data: {error}") from None
    summary = load_demo_data(get_engine(warehouse_url()), spec, replace=args.replace)
    print(
        f"demo data {'built' if summary.created else 'already present'}: {summary.profiles:,} profiles, "
        f"{summary.visitors:,} visitors, {summary.events:,} events ({summary.seconds:.1f}s)"
    )
    return 0


def demo(args: argparse.Namespace) -> int:
    """``demo``, after checking ``--users`` the way ``demo-data`` does."""
    from audience_pipelines.cli import demo as demo_command
    from audience_pipelines.demo.data import DemoDataSpec

    if args.users is not None:
        try:
            DemoDataSpec(users=args.users)
        except ValueError as error:
            raise SetupError(f"demo: {error}") from None
    return demo_command.run(args)


def prune(args: argparse.Namespace) -> int:
    prepare_environment(project_dir())
    config = load_config()
    engine = get_engine(warehouse_url())
    ensure_schema(engine)
    for audience in config.audiences:
        if audience.retention is not None:
            print(f"{audience.name}: pruned {prune_snapshots(engine, audience.name, audience.retention)}")
    return 0


def backfill(args: argparse.Namespace) -> int:
    prepare_environment(project_dir())
    config = load_config()
    audience = find(config, "audience", args.audience)
    selected = selected_partitions(audience, args.first, args.last)
    with dg.DagsterInstance.get() as instance:
        results = backfill_in_process(
            build_definitions(config), audience.name, selected, instance, label="cli", console_log_level="WARNING"
        )
    print(f"{audience.name}: materialized {len(results)} partition(s) {selected[0]} .. {selected[-1]} in order")
    return 0


def selected_partitions(audience: Any, first: str, last: str) -> list[str]:
    """The audience's partition keys from ``first`` to ``last`` inclusive, or a message saying why not."""
    keys = audience_partitions(audience).get_partition_keys()
    if not keys:
        raise UsageError(f"audience '{audience.name}' has no complete partition yet")
    if first not in keys or last not in keys:
        raise ConfigError(f"audience '{audience.name}' has partitions {keys[0]} .. {keys[-1]}; got {first} .. {last}")
    if keys.index(first) > keys.index(last):
        raise UsageError(f"--from {first} is after --to {last}")
    return keys[keys.index(first) : keys.index(last) + 1]


def runs(args: argparse.Namespace) -> int:
    prepare_environment(project_dir())
    config = load_config()
    if args.sync:
        find(config, "sync", args.sync)
    engine = get_engine(warehouse_url())
    ensure_schema(engine)
    print_runs(engine, config, args.sync, args.limit, include_skips=args.all)
    return 0


def sync_now(args: argparse.Namespace) -> int:
    settings = prepare_environment(project_dir())
    config = load_config()
    find(config, "sync", args.name)
    engine = get_engine(warehouse_url())
    ensure_schema(engine)
    sandbox = start_sandbox() if settings.embedded else None
    try:
        with dg.DagsterInstance.get() as instance:
            result = run_manual_sync(build_definitions(config), engine, config, args.name, instance)
        print_runs(engine, config, args.name, 1)
    finally:
        if sandbox:
            sandbox.stop()
    return 0 if result.success else 1
