"""``audience-pipelines demo``: demo data -> backfilled snapshots and diffs -> syncs to sandbox destinations."""

from __future__ import annotations

import argparse
import datetime as dt
import uuid

import dagster as dg
import sqlalchemy as sa

from audience_pipelines.cli.commands import project_dir
from audience_pipelines.config import Audience, DynamicAudience, ProjectConfig, SyncConfig, load_config
from audience_pipelines.defs import build_definitions
from audience_pipelines.defs.backfill import backfill_in_process, console_level, snapshot_in_process
from audience_pipelines.defs.location import location_tags
from audience_pipelines.defs.partitions import audience_partitions
from audience_pipelines.defs.syncs import sync_job_name, sync_partition_key, sync_run_request_parts
from audience_pipelines.demo.people import show_find_and_forget
from audience_pipelines.destinations.kit import ProfileFake
from audience_pipelines.destinations.registry import destination_type
from audience_pipelines.embedded import prepare_environment
from audience_pipelines.sandbox.local import Sandbox, sandbox_syncs, start_sandbox
from audience_pipelines.warehouse import ensure_schema, get_engine, warehouse_url
from audience_pipelines.warehouse.diffs import diff_summaries
from audience_pipelines.warehouse.ledger import count_identities, forget_destination_state, ledger_fields
from audience_pipelines.warehouse.sync_runs import get_state, recent_runs

#: Days of partitions the demo builds, ending with the latest complete one (yesterday's).
RECENT_DAYS = 14


def demo_partitions(audience: Audience, since: dt.datetime, until: dt.datetime) -> tuple[str | None, list[str]]:
    """The partitions of ``audience`` starting at or after ``since`` and complete at ``until``, and the one
    before them, whose snapshot the first diff compares with (None when they begin with the first partition).

    A static audience has one partition: it is always built, once its range has closed.
    """
    partitions = audience_partitions(audience)
    keys = partitions.get_partition_keys(current_time=until)
    if not isinstance(audience, DynamicAudience):
        return None, keys
    first = next(
        (i for i, k in enumerate(keys) if partitions.time_window_for_partition_key(k).start >= since), len(keys)
    )
    return (keys[first - 1] if first else None), keys[first:]


def run(args: argparse.Namespace) -> int:
    from audience_pipelines.demo.data import DemoDataSpec, load_demo_data

    settings = prepare_environment(project_dir())
    sandbox = start_sandbox()
    try:
        config = load_config()
        engine = get_engine(warehouse_url())
        _forget_sandbox_syncs(engine, config)
        data = load_demo_data(engine, DemoDataSpec(users=args.users) if args.users else DemoDataSpec())
        today = data.spec.end_date
        print(
            f"Demo data {'generated' if data.created else 'already loaded'}: {data.profiles:,} profiles, "
            f"{data.visitors:,} visitors, {data.events:,} events up to {today} (today, UTC)"
        )
        defs = build_definitions(config)
        until = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)  # partitions up to yesterday are complete
        since = until - dt.timedelta(days=RECENT_DAYS)
        label = f"demo-{uuid.uuid4().hex[:8]}"
        with dg.DagsterInstance.get() as instance:
            # Two rounds, each a backfill then a sync of everything, so the second round's syncs show removals.
            done: dict[str, int] = {}
            for round_end in (until - dt.timedelta(days=3), until):
                for audience in config.audiences:
                    if audience.status == "draft":
                        continue
                    baseline, keys = demo_partitions(audience, since, round_end)
                    if baseline and audience.name not in done:
                        print(f"Snapshot of {audience.name} {baseline}: the baseline of the first diff", flush=True)
                        snapshot_in_process(defs, audience.name, baseline, instance, label=label)
                    todo = keys[done.get(audience.name, 0) :]
                    done[audience.name] = len(keys)
                    if todo:
                        print(
                            f"Backfilling {audience.name}: {len(todo)} partition(s) {todo[0]} .. {todo[-1]}", flush=True
                        )
                        backfill_in_process(
                            defs, audience.name, todo, instance, label=label, console_log_level="WARNING"
                        )
                for sync in config.syncs:
                    if sync.is_active:
                        _run_sync(defs, instance, config, sync)
        print_audience_summary(engine, [a.name for a in config.audiences])
        print_sync_summary(engine, config, sandbox)
        show_find_and_forget(engine, config)
        print(f"\nRuns are stored in {settings.dagster_home}; see them with: audience-pipelines dev")
    finally:
        sandbox.stop()
    return 0


def _forget_sandbox_syncs(engine: sa.Engine, config: ProjectConfig) -> None:
    """Sandbox servers start empty, so what earlier runs sent to them is forgotten (run history stays)."""
    syncs = sandbox_syncs(config)
    ensure_schema(engine)
    with engine.begin() as conn:
        forget_destination_state(conn, syncs)
    if syncs:
        print(f"Sandbox destinations start empty: reset the ledger of {len(syncs)} sync(s) that write to them")


def _run_sync(defs: dg.Definitions, instance: dg.DagsterInstance, config: ProjectConfig, sync: SyncConfig) -> None:
    run_config, tags = sync_run_request_parts(sync, "manual")
    tags = {**tags, **location_tags()}
    job = defs.resolve_job_def(sync_job_name(sync))
    engine = get_engine(warehouse_url())
    result = job.execute_in_process(
        run_config={**run_config.to_config_dict(), **console_level("WARNING")},
        instance=instance,
        tags=tags,
        partition_key=sync_partition_key(engine, config, sync),
        raise_on_error=False,
    )
    with engine.connect() as conn:
        last = recent_runs(conn, sync.name, 1)[0]
    c = last.counts
    print(
        f"Synced {sync.name}: {last.status} to {last.partition_key} "
        f"(+{c.planned_adds} -{c.planned_removes} planned, {c.accepted} accepted, {c.rejected} rejected)"
        + ("" if result.success else f": {last.error_summary}"),
        flush=True,
    )


def print_audience_summary(engine: sa.Engine, audiences: list[str]) -> None:
    """Per audience and partition: members, entered, exited."""
    with engine.connect() as conn:
        for name in audiences:
            print(f"\n{name}")
            print(f"  {'partition':<18}{'members':>10}{'entered':>10}{'exited':>10}")
            for row in diff_summaries(conn, name):
                print(f"  {row.partition_key:<18}{row.member_count:>10,}{row.entered:>10,}{row.exited:>10,}")


def print_sync_summary(engine: sa.Engine, config: ProjectConfig, sandbox: Sandbox) -> None:
    """Per sync: the snapshot its destination reflects, the ledger's count, and what the sandbox holds."""
    print("\nSyncs (ledger = what the pipeline recorded as sent; receiver = what the sandbox server holds)")
    sandboxed = set(sandbox_syncs(config))
    with engine.connect() as conn:
        for sync in config.syncs:
            state = get_state(conn, sync.name)
            members, identities = count_identities(conn, sync.name)
            kind = destination_type(config.destination(sync.destination).type)
            by_identity = sync.type == "list" and any(case.match_field for case in kind.contracts)
            held = identities if by_identity else members
            receiver = sandbox.held(config, sync, state.list_id) if sync.name in sandboxed else "n/a"
            same = (
                f" ({members} member keys, {members - held} of them with exactly the identifiers of another: "
                "the platform holds those as one person)"
            )
            print(
                f"  {sync.name} ({config.destination(sync.destination).type}, {sync.type}, {sync.mode}) "
                f"at {state.partition_key or '-'}: ledger {held}, receiver {receiver}"
                + (same if held != members else "")
                + (_profiles_note(conn, sandbox, config, sync) if sync.name in sandboxed else "")
            )


def _profiles_note(conn: sa.Connection, sandbox: Sandbox, config: ProjectConfig, sync: SyncConfig) -> str:
    """For syncs writing traits to profiles: how many of the ledger's members the fake's profiles agree with."""
    fake = sandbox.fake_for(config.destination(sync.destination).type)
    if not sync.fields or not isinstance(fake, ProfileFake):
        return ""
    email = next((field for column, field in sync.identifiers.items() if column == "email"), None)
    if email is None:
        return ""
    notes = []
    for prop in sync.fields.values():
        rows = ledger_fields(conn, sync.name).values()  # the demo is small; never do this on a real ledger
        agree = sum(str(fake.profile_value(f[email], prop)) == f.get(prop) for f in rows if f.get(email))
        notes.append(f"{prop} on {agree} of {sum(1 for f in rows if f.get(email))} profiles")
    return " (profiles hold the mapped " + ", ".join(notes) + ")"
