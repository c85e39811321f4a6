"""First sync of a large audience to a signed-webhook receiver on loopback: members/s, flatness, peak memory,
and refreshes after 1% churn.

    python benchmarks/sync_throughput.py --members 1000000

The receiver runs in its own process. Baseline, measured in the same run against the same receiver: the
bare HTTP work (pre-built, signed JSON batches of the same size POSTed with one requests.Session), i.e.
what the sync would cost without the warehouse reads, identity normalization, ledger checkpoints and run
history. Flatness: members/s over the last 10% of batches against the first 10% (from the time each batch
is logged). Memory: this process's peak RSS after a sync of a tenth of the audience and after the full one;
a flat figure means memory does not grow with the audience. Churn: on each of the next ``CHURN_DAYS`` days
0.5% of the members leave and as many join; each refresh sync must send those 1% only, in a small fraction of
the first sync's time (the median refresh is compared: single runs on a shared machine swing by a quarter).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audience_pipelines.config import ProjectConfig
from audience_pipelines.destinations.webhook.client import signature
from audience_pipelines.destinations.webhook.fake import new_secret
from audience_pipelines.sync.service import run_sync
from audience_pipelines.warehouse import ensure_schema, get_engine, materialize_snapshot
from benchmarks._support import embedded_warehouse, peak_rss_mb, print_table, result_line

BATCH = 1000
CHURN_DAYS = 3
RECEIVER = """
import sys, time
from audience_pipelines.destinations.webhook.fake import WebhookReceiver
receiver = WebhookReceiver(sys.argv[1]).start()
print(receiver.base_url, flush=True)
sys.stdin.read()
"""


def config(audience: str, sync: str) -> ProjectConfig:
    return ProjectConfig.model_validate(
        {
            "audiences": [
                {"name": audience, "type": "dynamic", "refresh": "daily", "window": "1d", "start": "2026-06-01",
                 "identifiers": ["email", "phone", "first_name", "country"], "min_size": 0,
                 "sql": "select 'u' || g as member_key, 'Person.' || g || '@Example.com' as email, "
                        "'+1 650 555 ' || lpad((g % 10000)::text, 4, '0') as phone, 'Name' || (g % 97) as first_name, "
                        "'US' as country from bench.ids where g <= {n}"}
            ],
            "destinations": [
                {"name": "hook", "type": "webhook", "base_url": "${BENCH_WEBHOOK_URL}",
                 "credentials": {"signing_secret": "BENCH_WEBHOOK_SECRET"},
                 "settings": {"path": "/bench", "batch_size": BATCH}}
            ],
            "syncs": [
                {"name": sync, "audience": audience, "destination": "hook", "type": "list", "mode": "mirror",
                 "target": {"name": sync}, "identifiers": {"email": "email", "phone": "phone",
                 "first_name": "first_name", "country": "country"}}
            ],
        }
    )  # fmt: skip


@dataclass
class SyncTiming:
    """One sync run: wall time, members accepted, and when each batch was logged (time, members)."""

    seconds: float
    accepted: int
    batches: list[tuple[float, int]] = field(default_factory=list)

    def rate_over(self, first: int, last: int) -> float:
        """Members/s from the end of batch ``first`` to the end of batch ``last`` (0-based, inclusive)."""
        members = sum(size for _, size in self.batches[first + 1 : last + 1])
        return members / (self.batches[last][0] - self.batches[first][0])

    def flatness(self) -> tuple[float, float]:
        """(members/s over the last 10% of batches, over the first 10%)."""
        count = len(self.batches)
        tenth = max(count // 10, 1)
        return self.rate_over(count - 1 - tenth, count - 1), self.rate_over(0, tenth)


BATCH_LOG = re.compile(r": (?:add|remove) batch \d+: (\d+) sent")


def sync_day(engine: sa.Engine, members: int, day: int, where: str) -> SyncTiming:
    """Materialize day ``day`` of the audience (members ``where``), then sync it."""
    name = f"bench_{members}"
    project = config(name, f"{name}_sync")
    audience = project.audiences[0].model_copy(update={"sql": project.audiences[0].sql.replace("g <= {n}", where)})
    start = dt.datetime(2026, 6, day, tzinfo=dt.UTC)
    materialize_snapshot(engine, audience, partition_key=f"2026-06-{day:02d}", partition_start=start,
                         partition_end=start + dt.timedelta(days=1))  # fmt: skip
    batches: list[tuple[float, int]] = []

    def log(message: str) -> None:
        if match := BATCH_LOG.search(message):
            batches.append((time.perf_counter(), int(match.group(1))))

    started = time.perf_counter()
    summary = run_sync(engine, project, f"{name}_sync", run_id=str(uuid.uuid4()), trigger="manual", log=log)
    seconds = time.perf_counter() - started
    assert summary.status == "success", summary.message
    return SyncTiming(seconds, summary.counts.accepted, batches)


def churned(members: int, day: int) -> str:
    """Day ``day`` (2 on): since the day before, one more of every 200 first-day members left and as many new ones
    joined (1% of the audience to sync)."""
    left, joined = day - 2, (day - 1) * (members // 200)
    return f"(g <= {members} and g % 200 > {left}) or (g > {members} and g <= {members + joined})"


def bare_http(base_url: str, secret: str, members: int) -> float:
    """POST pre-built signed batches of the same shape, one session, no pipeline around it."""
    session = requests.Session()
    bodies = []
    for first in range(0, members, BATCH):
        rows = [
            {"member_key": f"b{g}", "email": f"person.{g}@example.com", "phone": f"+1650555{g % 10000:04d}",
             "first_name": f"name{g % 97}", "country": "us"}
            for g in range(first, min(first + BATCH, members))
        ]  # fmt: skip
        payload = {"type": "audience.members_added", "list_id": "bare", "sync": "bare", "batch_id": f"b{first}",
                   "audience": "bare", "members": rows}  # fmt: skip
        bodies.append(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    started = time.perf_counter()
    for index, body in enumerate(bodies):
        stamp = int(time.time())
        msg_id = f"bare-{index}"
        headers = {"Content-Type": "application/json", "webhook-id": msg_id, "webhook-timestamp": str(stamp),
                   "webhook-signature": signature(secret, msg_id, stamp, body)}  # fmt: skip
        session.post(f"{base_url}/bench", data=body, headers=headers, timeout=60).raise_for_status()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    args = parser.parse_args()
    secret = new_secret()
    os.environ["BENCH_WEBHOOK_SECRET"] = secret
    receiver = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, secret], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        base_url = receiver.stdout.readline().strip()
        os.environ["BENCH_WEBHOOK_URL"] = base_url
        with embedded_warehouse() as url:
            engine = get_engine(url)
            ensure_schema(engine)
            with engine.begin() as conn:
                conn.execute(sa.text("create schema bench; create table bench.ids (g bigint primary key); "
                                     "insert into bench.ids select generate_series(1, :n)"),
                             {"n": args.members + CHURN_DAYS * (args.members // 200)})  # fmt: skip
            small = max(args.members // 10, BATCH)
            small_sync = sync_day(engine, small, 1, f"g <= {small}")
            rss_small = peak_rss_mb()
            first = sync_day(engine, args.members, 1, f"g <= {args.members}")
            rss_full = peak_rss_mb()
            refreshes = [sync_day(engine, args.members, d, churned(args.members, d)) for d in range(2, 2 + CHURN_DAYS)]
            rss_full = peak_rss_mb()
        bare = bare_http(base_url, secret, args.members)
    finally:
        receiver.stdin.close()
        receiver.wait(timeout=30)
    last_tenth, first_tenth = first.flatness()
    print_table(
        f"First sync to a signed webhook on loopback (batches of {BATCH}), then {CHURN_DAYS} refreshes of 1% churn",
        ["run", "members", "seconds", "members/s", "peak RSS MiB"],
        [
            ["pipeline (small)", f"{small_sync.accepted:,}", f"{small_sync.seconds:.1f}",
             f"{small_sync.accepted / small_sync.seconds:,.0f}", f"{rss_small:.0f}"],
            ["pipeline (full)", f"{first.accepted:,}", f"{first.seconds:.1f}", f"{first.accepted / first.seconds:,.0f}",
             f"{rss_full:.0f}"],
            ["  first 10% of batches", "", "", f"{first_tenth:,.0f}", ""],
            ["  last 10% of batches", "", "", f"{last_tenth:,.0f}", ""],
            *(
                [f"churn refresh day {d}", f"{r.accepted:,}", f"{r.seconds:.2f}", "", f"{rss_full:.0f}"]
                for d, r in enumerate(refreshes, start=2)
            ),
            ["bare HTTP baseline", f"{args.members:,}", f"{bare:.1f}", f"{args.members / bare:,.0f}", "-"],
        ],
    )  # fmt: skip
    n = args.members
    print(result_line(f"first_sync_webhook_{n}", first.accepted / first.seconds, "members/s", n / bare))
    print(result_line(f"last_vs_first_tenth_{n}", last_tenth, "members/s", first_tenth))
    print(result_line(f"peak_rss_{n}_vs_{small}", rss_full, "MiB", rss_small))
    refresh_seconds = statistics.median(r.seconds for r in refreshes)
    print(result_line(f"churn_refresh_seconds_{n}", refresh_seconds, "s", first.seconds))
    print(result_line(f"churn_refresh_members_sent_{n}", max(r.accepted for r in refreshes), "members", n))


if __name__ == "__main__":
    main()
