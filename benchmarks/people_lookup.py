"""What find-user's lookups and forget-user's suppression cost, on one embedded server.

    python benchmarks/people_lookup.py --rows 200000 --partitions 4

Writes ``--partitions`` snapshot partitions of ``--rows`` members, then times a find by email in the newest
partition (what find-user does first) and through every retained partition (its fallback, and every forget),
each beside a plain scan of the same rows; and the suppression step of a snapshot once someone is suppressed,
beside writing the same rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audience_pipelines.warehouse import SCHEMA, ensure_schema, get_engine
from audience_pipelines.warehouse.people import (
    SUPPRESSION_KEY_ENV,
    drop_suppressed,
    keyed_hash,
    members_by_identity,
    suppress,
)
from audience_pipelines.warehouse.snapshot_tables import (
    ATTRIBUTES_FINGERPRINT_SQL,
    attach_partition_table,
    ensure_audience_table,
    load_partition_table,
)
from benchmarks._support import embedded_warehouse, print_table, result_line

ATTRIBUTES = """jsonb_build_object(
    'email', 'Person.' || g || '@Example.com', 'phone', '+1 (650) 555-' || lpad((g % 10000)::text, 4, '0'),
    'external_id', 'crm-' || g, 'fbp', 'fb.1.1700000000000.' || g, 'ga_client_id', g || '.1700000000',
    'first_name', 'Ada', 'last_name', 'Lovelace', 'country', 'US', 'zip', '94043')"""


def timed(engine: sa.Engine, sql: str, params: dict | None = None) -> float:
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params or {})
    return time.perf_counter() - started


def write_partition(engine: sa.Engine, day: int, rows: int) -> None:
    start = dt.datetime(2026, 1, day, tzinfo=dt.UTC)
    with engine.begin() as conn:  # loaded and attached as materialize_snapshot does (snapshot_tables.py)
        ensure_audience_table(conn, "bench")
        fingerprint = ATTRIBUTES_FINGERPRINT_SQL.format(attributes="a")
        rows_sql = (
            f"select k as member_key, a as attributes, {fingerprint} as attributes_fingerprint "
            f"from (select 'm' || g as k, {ATTRIBUTES} as a from generate_series(1, :n) g) r "
            'order by k collate "C"'
        )
        loaded = load_partition_table(conn, "bench", start, rows_sql, {"n": rows})
        attach_partition_table(conn, "bench", start, loaded)
        conn.execute(
            sa.text(
                f"""insert into {SCHEMA}.snapshot_partitions (audience, partition_key, partition_start, partition_end,
                        window_start, window_end, member_count, identifier_counts)
                    values ('bench', :key, :start, :start, :start, :start, :n, '{{}}')"""
            ),
            {"key": f"2026-01-{day:02d}", "start": start, "n": rows},
        )


def find_seconds(engine: sa.Engine, email: str, *, history: bool) -> float:
    with engine.connect() as conn:
        started = time.perf_counter()
        found = members_by_identity(conn, [f"email:{email}"], history=history)
        elapsed = time.perf_counter() - started
    assert len(found) == 1, found
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    os.environ.setdefault(SUPPRESSION_KEY_ENV, "benchmark-key-0123456789abcdef")
    with embedded_warehouse() as url:
        engine = get_engine(url)
        ensure_schema(engine)
        for day in range(1, args.partitions + 1):
            write_partition(engine, day, args.rows)
        timed(engine, f"analyze {SCHEMA}.snapshot_members")
        email = f"person.{args.rows // 2}@example.com"
        newest = find_seconds(engine, email, history=False)
        newest_scan = timed(
            engine,
            f"select count(*) from {SCHEMA}.snapshot_members where audience = 'bench' and partition_start = :s",
            {"s": dt.datetime(2026, 1, args.partitions, tzinfo=dt.UTC)},
        )
        history = find_seconds(engine, email, history=True)
        history_scan = timed(engine, f"select count(*) from {SCHEMA}.snapshot_members")

        with engine.connect() as conn:
            with conn.begin():
                conn.execute(sa.text("create temporary table audience_rows (member_key text, attributes jsonb)"))
                started = time.perf_counter()
                conn.execute(
                    sa.text(
                        f"insert into pg_temp.audience_rows select 'm' || g, {ATTRIBUTES} from generate_series(1, :n) g"
                    ),
                    {"n": args.rows},
                )
                load = time.perf_counter() - started
                key = os.environ[SUPPRESSION_KEY_ENV].encode()
                suppress(conn, "bench", {keyed_hash(key, "email:person.7@example.com"): "email"}, [])
            started = time.perf_counter()
            with conn.begin():
                dropped = drop_suppressed(conn)
            suppression = time.perf_counter() - started
        assert dropped == 1, dropped
        print_table(
            f"find-user / forget-user costs, {args.rows:,} rows x {args.partitions} partitions",
            ["what", "seconds"],
            [
                ["find by email in the newest partitions", f"{newest:.3f}"],
                ["plain count of the newest partition", f"{newest_scan:.3f}"],
                ["find by email through history (fallback, forget)", f"{history:.3f}"],
                ["plain count of every partition", f"{history_scan:.3f}"],
                ["suppression step of a snapshot (1 suppressed)", f"{suppression:.3f}"],
                ["writing the same rows to the snapshot's temp table", f"{load:.3f}"],
            ],
        )
        print(result_line("find_by_email_newest", newest, "s", newest_scan))
        print(result_line("find_by_email_history", history, "s", history_scan))
        print(result_line("snapshot_suppression_step", suppression, "s", load))


if __name__ == "__main__":
    main()
