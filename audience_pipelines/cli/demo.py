"""``audience-pipelines demo``: demo data -> backfilled snapshots and diffs -> syncs to sandbox destinations."""

from __future__ import annotations

import argparse
import datetime as dt
import uuid

import dagster as dg
import sqlalchemy as sa

from audience_pipelines.cli.commands import project_dir
from audience_pipelines.config import ProjectConfig, load_config
from audience_pipelines.defs import build_definitions
from audience_pipelines.defs.backfill import backfill_in_process
from audience_pipelines.defs.partitions import audience_partitions
from audience_pipelines.defs.syncs import sync_job_name, sync_run_request_parts
from audience_pipelines.embedded import prepare_environment
from audience_pipelines.sandbox.local import Sandbox, start_sandbox
from audience_pipelines.warehouse import SCHEMA, get_engine, warehouse_url
from audience_pipelines.warehouse.sync_runs import get_state, recent_runs


def run(args: argparse.Namespace) -> int:
    from audience_pipelines.demo.data import DEMO_END_DATE, DemoDataSpec, load_demo_data

    settings = prepare_environment(project_dir())
    sandbox = start_sandbox()
    try:
        config = load_config()
        engine = get_engine(warehouse_url())
        data = load_demo_data(engine, DemoDataSpec(users=args.users) if args.users else DemoDataSpec())
        print(
            f"Demo data {'generated' if data.created else 'already loaded'}: {data.profiles:,} profiles, "
            f"{data.visitors:,} visitors, {data.events:,} events up to {DEMO_END_DATE}"
        )
        defs = build_definitions(config)
        until = dt.datetime.combine(DEMO_END_DATE + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        label = f"demo-{uuid.uuid4().hex[:8]}"
        with dg.DagsterInstance.get() as instance:
            for audience in config.audiences:
                if audience.status == "draft":
                    continue
                keys = audience_partitions(audience).get_partition_keys(current_time=until)
                print(
                    f"Backfilling {audience.name}: {len(keys)} partition(s) {keys[0]} .. {keys[-1]}",
                    flush=True,
                )
                backfill_in_process(defs, audience.name, keys, instance, label=label)
            for sync in config.syncs:
                if sync.is_active:
                    run_config, tags = sync_run_request_parts(sync, "manual")
                    job = defs.resolve_job_def(sync_job_name(sync.destination, sync.type))
                    print(f"Syncing {sync.name}", flush=True)
                    job.execute_in_process(run_config=run_config, instance=instance, tags=tags, raise_on_error=False)
        print_audience_summary(engine, [a.name for a in config.audiences])
        print_sync_summary(engine, config, sandbox)
        print(f"\nRuns are stored in {settings.dagster_home}; see them with: audience-pipelines dev")
    finally:
        sandbox.stop()
    return 0


def print_audience_summary(engine: sa.Engine, audiences: list[str]) -> None:
    """Per audience and partition: members, entered, exited."""
    query = sa.text(
        f"""select partition_key, member_count, entered, exited from {SCHEMA}.diff_partitions
            where audience = :audience order by partition_start"""
    )
    with engine.connect() as conn:
        for name in audiences:
            print(f"\n{name}")
            print(f"  {'partition':<18}{'members':>10}{'entered':>10}{'exited':>10}")
            for row in conn.execute(query, {"audience": name}):
                print(f"  {row.partition_key:<18}{row.member_count:>10,}{row.entered:>10,}{row.exited:>10,}")


def print_sync_summary(engine: sa.Engine, config: ProjectConfig, sandbox: Sandbox) -> None:
    """Per sync: the run's outcome next to what the sandbox receiver now holds."""
    print("\nSyncs")
    with engine.connect() as conn:
        for sync in config.syncs:
            state = get_state(conn, sync.name)
            last = next(iter(recent_runs(conn, sync.name, 1)), None)
            if last is None:
                continue
            c = last.counts
            line = (
                f"  {sync.name}: {last.status} at {last.partition_key}: "
                f"planned +{c.planned_adds} -{c.planned_removes}, sent {c.sent}, accepted {c.accepted}, "
                f"rejected {c.rejected}, skipped invalid {c.skipped_invalid}"
            )
            if last.error_summary:
                line += f" ({last.error_summary})"
            print(line)
            print(f"    destination now holds: {_held(sandbox, sync, state.list_id)}")


def _held(sandbox: Sandbox, sync, list_id: str | None) -> str:
    if sync.destination != "sandbox_webhook":
        return "n/a"
    if sync.type == "list":
        return f"{len(sandbox.webhook.member_keys(list_id or ''))} members in list '{list_id}'"
    events = [e for e in sandbox.webhook.events() if e.get("properties", {}).get("sync") == sync.name]
    added = sum(e["event_name"] == sync.added_event for e in events)
    return f"{added} {sync.added_event} and {len(events) - added} {sync.removed_event} events"
