"""First sync of a large audience to a signed-webhook receiver on loopback: members/s and peak memory.

    python benchmarks/sync_throughput.py --members 1000000

The receiver runs in its own process. Baseline, measured in the same run against the same receiver: the
bare HTTP work (pre-built, signed JSON batches of the same size POSTed with one requests.Session), i.e.
what the sync would cost without the warehouse reads, identity normalization, ledger checkpoints and run
history. Memory: this process's peak RSS after a sync of a tenth of the audience and after the full one;
a flat figure means memory does not grow with the audience.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
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


def sync_once(engine: sa.Engine, members: int) -> tuple[float, int]:
    name = f"bench_{members}"
    project = config(name, f"{name}_sync")
    audience = project.audiences[0].model_copy(update={"sql": project.audiences[0].sql.replace("{n}", str(members))})
    start = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    materialize_snapshot(engine, audience, partition_key="2026-06-01", partition_start=start,
                         partition_end=start + dt.timedelta(days=1))  # fmt: skip
    started = time.perf_counter()
    summary = run_sync(engine, project, f"{name}_sync", run_id=str(uuid.uuid4()), trigger="manual")
    seconds = time.perf_counter() - started
    assert summary.status == "success", summary.message
    return seconds, summary.counts.accepted


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
                conn.execute(sa.text("create schema bench; create table bench.ids as "
                                     "select g from generate_series(1, :n) g"), {"n": args.members})  # fmt: skip
            small = max(args.members // 10, BATCH)
            small_seconds, _ = sync_once(engine, small)
            rss_small = peak_rss_mb()
            seconds, accepted = sync_once(engine, args.members)
            rss_full = peak_rss_mb()
        bare = bare_http(base_url, secret, args.members)
    finally:
        receiver.stdin.close()
        receiver.wait(timeout=30)
    print_table(
        f"First sync to a signed webhook on loopback (batches of {BATCH})",
        ["run", "members", "seconds", "members/s", "peak RSS MiB"],
        [
            ["pipeline (small)", f"{small:,}", f"{small_seconds:.1f}", f"{small / small_seconds:,.0f}",
             f"{rss_small:.0f}"],
            ["pipeline (full)", f"{accepted:,}", f"{seconds:.1f}", f"{accepted / seconds:,.0f}", f"{rss_full:.0f}"],
            ["bare HTTP baseline", f"{args.members:,}", f"{bare:.1f}", f"{args.members / bare:,.0f}", "-"],
        ],
    )  # fmt: skip
    print(result_line(f"first_sync_webhook_{args.members}", accepted / seconds, "members/s", args.members / bare))
    print(result_line(f"peak_rss_{args.members}_vs_{small}", rss_full, "MiB", rss_small))


if __name__ == "__main__":
    main()
