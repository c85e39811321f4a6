"""Snapshot and diff a large audience through the pipeline, next to the bare SQL doing the same work.

    python benchmarks/snapshot_diff.py --members 1000000 [--retained 8]

Two daily partitions of an audience with 10% churn each way. "pipeline" is materialize_snapshot /
materialize_diff (jsonb attributes, a unique member key, identifier counts, partition bookkeeping, samples,
the changes written into membership history with its indexes); "bare SQL" is CREATE TABLE AS + anti-joins over the
same source rows, measured in the same run. Then ``--retained`` more partitions are snapshotted and diffed the
same way, and the diff of the last one (with that many earlier partitions kept) is set against the first diff
(one earlier partition kept): a diff reads only its two partitions, so the two should match. Single diffs on a
shared machine swing by a third, so each of these two is run ``DIFF_REPEATS`` times (a rerun replaces the diff,
as a re-materialization does) and their medians are compared.

On the embedded server each step is also measured in CPU seconds of the whole server (every PostgreSQL process,
ended sessions included): on a shared machine the wall-clock figures move with the other jobs' load, the CPU
figures hardly.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audience_pipelines.config import DynamicAudience
from audience_pipelines.warehouse import (
    SCHEMA,
    PartitionRef,
    ensure_schema,
    get_engine,
    materialize_diff,
    materialize_snapshot,
)
from audience_pipelines.warehouse.snapshot_tables import drop_partition_table
from benchmarks._support import embedded_warehouse, peak_rss_mb, print_table, result_line, timed

AUDIENCE = "bench"
DIFF_REPEATS = 3
DAY1 = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
# Odd partitions read source day 1, even ones day 2: any two consecutive partitions differ by 10% each way.
AUDIENCE_SQL = """
    select 'u' || user_id as member_key, email, phone
    from bench.activity where day = date '2026-06-01' + (cast(:window_start as date) - date '2026-06-01') % 2
"""


def day(n: int) -> dt.datetime:
    return DAY1 + dt.timedelta(days=n - 1)


def ref(n: int) -> PartitionRef:
    return PartitionRef(f"{day(n):%Y-%m-%d}", day(n))


class ServerCpu:
    """CPU seconds used so far by a PostgreSQL server on this machine: its postmaster, the processes it runs and
    (through the postmaster's children's times) those that have ended, such as closed sessions."""

    def __init__(self, engine: sa.Engine) -> None:
        with engine.connect() as conn:
            data_directory = conn.execute(sa.text("show data_directory")).scalar_one()
        self.postmaster = int((Path(data_directory) / "postmaster.pid").read_text().split()[0])
        self.tick = os.sysconf("SC_CLK_TCK")

    def seconds(self) -> float:
        ticks = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            parent, user, system, children_user, children_system = int(fields[1]), *map(int, fields[11:15])
            if int(entry.name) == self.postmaster:
                ticks += user + system + children_user + children_system
            elif parent == self.postmaster:
                ticks += user + system
        return ticks / self.tick


@contextlib.contextmanager
def measured(results: dict[str, float], cpu: dict[str, float], name: str, server: ServerCpu | None) -> Iterator[None]:
    """Wall-clock seconds of the step into ``results``, and the server's CPU seconds into ``cpu`` when known."""
    before = server.seconds() if server else 0.0
    with timed(results, name):
        yield
    if server:
        cpu[name] = server.seconds() - before


def load_source(engine: sa.Engine, members: int) -> int:
    """Day 1: every user except id % 10 = 0; day 2: every user except id % 10 = 1 (10% churn each way)."""
    total = int(members / 0.9)
    with engine.begin() as conn:
        conn.execute(sa.text("drop schema if exists bench cascade; create schema bench"))
        conn.execute(sa.text("create table bench.activity (user_id bigint, email text, phone text, day date)"))
        for n, excluded in ((1, 0), (2, 1)):
            conn.execute(
                sa.text(
                    """insert into bench.activity
                       select g, 'Person.' || g || '@Example.com', '+1 650 555 ' || lpad((g % 10000)::text, 4, '0'),
                              :day
                       from generate_series(1, :total) g where g % 10 <> :excluded"""
                ),
                {"day": day(n).date(), "total": total, "excluded": excluded},
            )
        conn.execute(sa.text("create index on bench.activity (day); analyze bench.activity"))
        return conn.execute(sa.text("select count(*) from bench.activity where day = :d"), {"d": DAY1.date()}).scalar()


def forget_benchmark_audience(engine: sa.Engine) -> None:
    """An earlier run's partitions of the benchmark audience (only with ``--url``), so every step starts fresh."""
    with engine.begin() as conn:
        for n in range(1, 100):
            drop_partition_table(conn, AUDIENCE, day(n))
        for table in ("membership_changes", "diff_partitions", "snapshot_partitions"):
            conn.execute(sa.text(f"delete from {SCHEMA}.{table} where audience = :a"), {"a": AUDIENCE})


def snapshot(engine: sa.Engine, n: int) -> None:
    audience = DynamicAudience.model_validate(
        {"name": AUDIENCE, "type": "dynamic", "refresh": "daily", "window": "1d", "start": "2026-06-01",
         "sql": AUDIENCE_SQL, "identifiers": ["email", "phone"]}
    )  # fmt: skip
    materialize_snapshot(
        engine, audience, partition_key=ref(n).key, partition_start=day(n), partition_end=day(n + 1)
    )  # fmt: skip


def pipeline(
    engine: sa.Engine, results: dict[str, float], cpu: dict[str, float], server: ServerCpu | None
) -> tuple[int, int]:
    for n in (1, 2):
        with measured(results, cpu, f"snapshot day {n}", server):
            snapshot(engine, n)
    with measured(results, cpu, "diff day 2", server):
        diff = materialize_diff(engine, AUDIENCE, ref(2), ref(1))
    return diff.entered, diff.exited


def bare_sql(
    engine: sa.Engine, results: dict[str, float], cpu: dict[str, float], server: ServerCpu | None
) -> tuple[int, int]:
    with engine.begin() as conn:
        conn.execute(sa.text("drop table if exists bench.s1, bench.s2, bench.changes"))
    for n in (1, 2):
        with measured(results, cpu, f"snapshot day {n}", server), engine.begin() as conn:
            conn.execute(
                sa.text(f"create table bench.s{n} as select * from ({AUDIENCE_SQL}) q"),
                {"window_start": day(n), "window_end": day(n + 1)},
            )
    with measured(results, cpu, "diff day 2", server), engine.begin() as conn:
        conn.execute(
            sa.text(
                """create table bench.changes as
                   select member_key, 'entered' as change from bench.s2
                   where not exists (select 1 from bench.s1 where s1.member_key = s2.member_key)
                   union all
                   select member_key, 'exited' from bench.s1
                   where not exists (select 1 from bench.s2 where s2.member_key = s1.member_key)"""
            )
        )
        counts = conn.execute(
            sa.text("select count(*) filter (where change = 'entered'), count(*) filter (where change = 'exited') "
                    "from bench.changes")
        ).one()  # fmt: skip
    return counts[0], counts[1]


def diff_seconds(engine: sa.Engine, n: int) -> float:
    """Materialize (or re-materialize) the diff of partition ``n`` against ``n - 1``; its wall-clock seconds."""
    started = time.perf_counter()
    materialize_diff(engine, AUDIENCE, ref(n), ref(n - 1))
    return time.perf_counter() - started


def diff_with_retained(engine: sa.Engine, retained: int) -> tuple[list[float], list[float]]:
    """Snapshot and diff partitions 3 .. retained + 1, then rerun the last diff; the last diff's runs and the
    first run of every diff."""
    times: list[float] = []
    for n in range(3, retained + 2):
        snapshot(engine, n)
        times.append(diff_seconds(engine, n))
    last = [times[-1], *(diff_seconds(engine, retained + 1) for _ in range(DIFF_REPEATS - 1))]
    return last, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--retained", type=int, default=8, help="earlier partitions kept for the last diff (0: skip)")
    parser.add_argument("--url", help="warehouse URL (default: a throwaway embedded PostgreSQL)")
    args = parser.parse_args()
    with embedded_warehouse() if not args.url else contextlib.nullcontext(args.url) as url:
        engine = get_engine(url)
        ensure_schema(engine)
        forget_benchmark_audience(engine)
        members = load_source(engine, args.members)
        server = ServerCpu(engine) if not args.url else None
        ours, bare, ours_cpu, bare_cpu = {}, {}, {}, {}
        ours_changes = pipeline(engine, ours, ours_cpu, server)
        bare_changes = bare_sql(engine, bare, bare_cpu, server)
        assert ours_changes == bare_changes, (ours_changes, bare_changes)
        rows = [
            [step, f"{ours[step]:.2f}", f"{bare[step]:.2f}", f"{ours[step] / bare[step]:.2f}x",
             f"{members / ours[step]:,.0f}"]
            for step in ours
        ]  # fmt: skip
        total_ours, total_bare = sum(ours.values()), sum(bare.values())
        rows.append(["total", f"{total_ours:.2f}", f"{total_bare:.2f}", f"{total_ours / total_bare:.2f}x", ""])
        print_table(
            f"Snapshot + diff of a {members:,}-member audience ({ours_changes[0]:,} entered, "
            f"{ours_changes[1]:,} exited)",
            ["step", "pipeline s", "bare SQL s", "ratio", "pipeline members/s"],
            rows,
        )
        if server:
            cpu_rows = [
                [step, f"{ours_cpu[step]:.2f}", f"{bare_cpu[step]:.2f}", f"{ours_cpu[step] / bare_cpu[step]:.2f}x"]
                for step in ours_cpu
            ]
            total_ours_cpu, total_bare_cpu = sum(ours_cpu.values()), sum(bare_cpu.values())
            cpu_rows.append(["total", f"{total_ours_cpu:.2f}", f"{total_bare_cpu:.2f}",
                             f"{total_ours_cpu / total_bare_cpu:.2f}x"])  # fmt: skip
            print_table(
                "The same steps in CPU seconds of the whole PostgreSQL server",
                ["step", "pipeline CPU s", "bare SQL CPU s", "ratio"],
                cpu_rows,
            )
        if args.retained > 1:
            first = [ours["diff day 2"], *(diff_seconds(engine, 2) for _ in range(DIFF_REPEATS - 1))]
            last, times = diff_with_retained(engine, args.retained)
            print(
                f"\n  diff with {args.retained} earlier partitions kept: median {statistics.median(last):.2f} s "
                f"of {', '.join(f'{t:.2f}' for t in last)} s; with 1 kept: median {statistics.median(first):.2f} s "
                f"of {', '.join(f'{t:.2f}' for t in first)} s; first runs of the diffs of partitions "
                f"3..{args.retained + 1}: {', '.join(f'{t:.2f}' for t in times)} s"
            )
        print(f"\n  peak memory of this Python process: {peak_rss_mb():.0f} MiB (members never leave the warehouse)")
        print(f"  load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for step in ours:
            print(result_line(f"{step.replace(' ', '_')}_{members}", ours[step], "s", bare[step]))
        print(result_line(f"snapshot_and_diff_{members}", total_ours, "s", total_bare))
        if server:
            for step in ours_cpu:
                metric = f"{step.replace(' ', '_')}_server_cpu_{members}"
                print(result_line(metric, ours_cpu[step], "s", bare_cpu[step]))
            print(result_line(f"snapshot_and_diff_server_cpu_{members}", total_ours_cpu, "s", total_bare_cpu))
        if args.retained > 1:
            metric = f"diff_{args.retained}_retained_vs_1_{members}"
            print(result_line(metric, statistics.median(last), "s", statistics.median(first)))


if __name__ == "__main__":
    main()
