"""Snapshot and diff a large audience through the pipeline, next to the bare SQL doing the same work.

    python benchmarks/snapshot_diff.py --members 1000000

Two daily partitions of an audience with 10% churn each way. "pipeline" is materialize_snapshot /
materialize_diff (jsonb attributes, primary key, identifier counts, partition bookkeeping, samples);
"bare SQL" is CREATE TABLE AS + anti-joins over the same source rows, measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audience_pipelines.config import DynamicAudience
from audience_pipelines.warehouse import (
    PartitionRef,
    ensure_schema,
    get_engine,
    materialize_diff,
    materialize_snapshot,
)
from benchmarks._support import embedded_warehouse, peak_rss_mb, print_table, result_line, timed

DAY1, DAY2 = dt.datetime(2026, 6, 1, tzinfo=dt.UTC), dt.datetime(2026, 6, 2, tzinfo=dt.UTC)
AUDIENCE_SQL = """
    select 'u' || user_id as member_key, email, phone
    from bench.activity where day = cast(:window_start as date)
"""


def load_source(engine: sa.Engine, members: int) -> int:
    """Day 1: every user except id % 10 = 0; day 2: every user except id % 10 = 1 (10% churn each way)."""
    total = int(members / 0.9)
    with engine.begin() as conn:
        conn.execute(sa.text("drop schema if exists bench cascade; create schema bench"))
        conn.execute(sa.text("create table bench.activity (user_id bigint, email text, phone text, day date)"))
        for day, excluded in ((DAY1.date(), 0), (DAY2.date(), 1)):
            conn.execute(
                sa.text(
                    """insert into bench.activity
                       select g, 'Person.' || g || '@Example.com', '+1 650 555 ' || lpad((g % 10000)::text, 4, '0'),
                              :day
                       from generate_series(1, :total) g where g % 10 <> :excluded"""
                ),
                {"day": day, "total": total, "excluded": excluded},
            )
        conn.execute(sa.text("create index on bench.activity (day); analyze bench.activity"))
        return conn.execute(sa.text("select count(*) from bench.activity where day = :d"), {"d": DAY1.date()}).scalar()


def pipeline(engine: sa.Engine, results: dict[str, float]) -> tuple[int, int]:
    audience = DynamicAudience.model_validate(
        {"name": "bench", "type": "dynamic", "refresh": "daily", "window": "1d", "start": "2026-06-01",
         "sql": AUDIENCE_SQL, "identifiers": ["email", "phone"]}
    )  # fmt: skip
    for label, start in (("snapshot day 1", DAY1), ("snapshot day 2", DAY2)):
        with timed(results, label):
            materialize_snapshot(
                engine, audience, partition_key=f"{start:%Y-%m-%d}", partition_start=start,
                partition_end=start + dt.timedelta(days=1),
            )  # fmt: skip
    with timed(results, "diff day 2"):
        diff = materialize_diff(
            engine, "bench", PartitionRef(f"{DAY2:%Y-%m-%d}", DAY2), PartitionRef(f"{DAY1:%Y-%m-%d}", DAY1)
        )
    return diff.entered, diff.exited


def bare_sql(engine: sa.Engine, results: dict[str, float]) -> tuple[int, int]:
    with engine.begin() as conn:
        conn.execute(sa.text("drop table if exists bench.s1, bench.s2, bench.changes"))
    for label, start, table in (("snapshot day 1", DAY1, "s1"), ("snapshot day 2", DAY2, "s2")):
        with timed(results, label), engine.begin() as conn:
            conn.execute(
                sa.text(f"create table bench.{table} as select * from ({AUDIENCE_SQL}) q"),
                {"window_start": start, "window_end": start + dt.timedelta(days=1)},
            )
    with timed(results, "diff day 2"), engine.begin() as conn:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--url", help="warehouse URL (default: a throwaway embedded PostgreSQL)")
    args = parser.parse_args()
    with embedded_warehouse() if not args.url else _given(args.url) as url:
        engine = get_engine(url)
        ensure_schema(engine)
        members = load_source(engine, args.members)
        ours, bare = {}, {}
        ours_changes = pipeline(engine, ours)
        bare_changes = bare_sql(engine, bare)
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
        print(f"\n  peak memory of this Python process: {peak_rss_mb():.0f} MiB (members never leave the warehouse)")
        for step in ours:
            print(result_line(f"{step.replace(' ', '_')}_{members}", ours[step], "s", bare[step]))
        print(result_line(f"snapshot_and_diff_{members}", total_ours, "s", total_bare))


def _given(url: str):
    import contextlib

    return contextlib.nullcontext(url)


if __name__ == "__main__":
    main()
