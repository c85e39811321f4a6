"""First sync of an audience to one registered destination's fake (in its own process): members/s.

    python benchmarks/destination_throughput.py --type google_ads --members 100000

Figure: a whole first sync through the pipeline (warehouse snapshot read in pages, identity normalization
and hashing, the destination client, ledger checkpoints, run history). Baseline, measured in the same run
against the same fake: the destination client alone sending the same number of pre-hashed members in the
same batch size (no warehouse, no identity, no ledger). The ratio is the pipeline's share of the client's
speed. Also prints the requests the fake served per operation, so the request cost of a sync is visible.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audience_pipelines.config import ProjectConfig
from audience_pipelines.destinations.kit import Batch, ListClient, ListTarget, OutboundEvent, OutboundMember, UploadJobs
from audience_pipelines.destinations.registry import build_client, destination_type
from audience_pipelines.identity import IdentifierType, get_platform
from audience_pipelines.sync.service import run_sync
from audience_pipelines.warehouse import ensure_schema, get_engine, materialize_snapshot
from benchmarks._support import embedded_warehouse, print_table, result_line

FAKE = """
import json, sys
from audience_pipelines.destinations.registry import destination_type
kind = destination_type(sys.argv[1])
fake = kind.fake.for_tests().start()
print(json.dumps({"environment": fake.environment(), "destination": fake.destination(kind.name)}), flush=True)
for line in sys.stdin:
    print(json.dumps(dict(__import__("collections").Counter(
        f"{r.method} {r.path.split('/')[-1][:40]} {r.status}" for r in fake.request_log))), flush=True)
"""
COLUMNS = {"email": "'person.' || g || '@example.com'", "phone": "'+1 650 555 ' || lpad((g % 10000)::text, 4, '0')",
           "first_name": "'ada'", "last_name": "'lovelace' || (g % 97)", "country": "'US'", "zip": "'94043'",
           "external_id": "'crm-' || g", "ga_client_id": "(1000000 + g) || '.1700000000'",
           "fbp": "'fb.1.1700000000000.' || g", "lifetime_value": "(g % 1000) * 10"}  # fmt: skip


def project(kind_name: str, destination: dict, members: int, batch: int, extra: dict[str, str]) -> ProjectConfig:
    kind = destination_type(kind_name)
    case = kind.contracts[0]
    sql = "select 'u' || g as member_key, " + ", ".join(f"{expr} as {c}" for c, expr in COLUMNS.items())
    sync = {"name": "bench_sync", "audience": "bench", "destination": "bench_destination", "type": case.sync_type,
            "mode": "mirror", "identifiers": dict(case.identifiers), "fields": dict(case.fields),
            "min_size": 0}  # fmt: skip
    if case.sync_type == "list":
        sync["target"] = {"name": f"bench-{uuid.uuid4().hex[:8]}"}
    settings = {**destination.get("settings", {}), **case.settings, case.batch_setting: batch, **extra}
    return ProjectConfig.model_validate(
        {
            "audiences": [{"name": "bench", "type": "dynamic", "refresh": "daily", "window": "1d",
                           "start": "2026-06-01", "identifiers": [c for c in COLUMNS if c != "lifetime_value"],
                           "traits": ["lifetime_value"], "min_size": 0,
                           "sql": f"{sql} from generate_series(1, {members}) g"}],
            "destinations": [{"name": "bench_destination", "type": kind_name, **destination, "settings": settings}],
            "syncs": [sync],
        }
    )  # fmt: skip


def pipeline(engine: sa.Engine, config: ProjectConfig) -> tuple[float, int]:
    start = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    materialize_snapshot(engine, config.audiences[0], partition_key="2026-06-01", partition_start=start,
                         partition_end=start + dt.timedelta(days=1))  # fmt: skip
    started = time.perf_counter()
    summary = run_sync(engine, config, "bench_sync", run_id=str(uuid.uuid4()), trigger="manual")
    seconds = time.perf_counter() - started
    assert summary.status == "success", summary.message
    return seconds, summary.counts.accepted


def client_only(config: ProjectConfig, members: int, batch: int) -> float:
    """The same members, pre-hashed, straight through the destination client in the same batch size."""
    kind_name = config.destinations[0].type
    case = destination_type(kind_name).contracts[0]
    client = build_client(config.destinations[0])
    fields = list(case.identifiers.values())

    rules = get_platform(destination_type(kind_name).identity_platform)
    hashed = rules.hashes(IdentifierType.EMAIL)
    email_field = case.identifiers.get("email")

    def values(g: int) -> dict[str, str]:
        """What the identity layer would hand over: hashes where the platform hashes, else raw values."""
        found = {f: hashlib.sha256(f"person.{g}@example.com:{f}".encode()).hexdigest() for f in fields}
        if email_field and not hashed:
            found[email_field] = f"person.{g}@example.com"
        if "client_id" in fields:
            found["client_id"] = f"{2000000 + g}.1700000000"
        if "fbp" in fields:  # a browser id is sent as read, never hashed (as in COLUMNS)
            found["fbp"] = f"fb.1.1700000000000.{g}"
        return found | {prop: str(g * 10) for prop in case.fields.values()}

    started = time.perf_counter()
    if case.sync_type == "list":
        assert isinstance(client, ListClient)
        ref = client.ensure_list(ListTarget(name=f"baseline-{uuid.uuid4().hex[:8]}"))
        job = client.begin_upload(ref, "add") if isinstance(client, UploadJobs) else None
        for first in range(0, members, batch):
            rows = [OutboundMember(f"b{g}", values(g)) for g in range(first, min(first + batch, members))]
            client.add_members(ref, Batch(f"b{first}", members=rows, sync="baseline", audience="baseline"))
        if job is not None:
            assert client.finish_upload(ref, job).status == "done"
    else:
        for first in range(0, members, batch):
            events = [OutboundEvent(f"e{g}", "added_to_segment", int(time.time()), f"b{g}", values(g))
                      for g in range(first, min(first + batch, members))]  # fmt: skip
            client.send_events(Batch(f"b{first}", events=events, sync="baseline", audience="baseline"))
    client.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--type", default="google_ads", help="a registered destination type")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=None, help="batch size (default: the type's own default)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a destination setting")
    args = parser.parse_args()
    kind = destination_type(args.type)
    batch = (
        args.batch
        or kind.config.model_fields["settings"].annotation.model_fields[kind.contracts[0].batch_setting].default
    )
    fake = subprocess.Popen(
        [sys.executable, "-c", FAKE, args.type], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        started = json.loads(fake.stdout.readline())
        os.environ.update(started["environment"])
        with embedded_warehouse() as url:
            engine = get_engine(url)
            ensure_schema(engine)
            extra = dict(item.split("=", 1) for item in args.set)
            config = project(args.type, started["destination"], args.members, batch, extra)
            seconds, accepted = pipeline(engine, config)
            fake.stdin.write("log\n")
            fake.stdin.flush()
            requests_served = Counter(json.loads(fake.stdout.readline()))
            baseline = client_only(config, args.members, batch)
    finally:
        fake.stdin.close()
        fake.wait(timeout=30)
    rows = [[k, v] for k, v in sorted(requests_served.items())]
    print_table(
        f"Requests the fake served for the pipeline's first sync of {args.members:,}", ["request", "count"], rows
    )
    print_table(
        f"First sync to {args.type} (fake in its own process, batches of {batch:,})",
        ["run", "members", "seconds", "members/s"],
        [["pipeline", f"{accepted:,}", f"{seconds:.1f}", f"{accepted / seconds:,.0f}"],
         ["client alone (baseline)", f"{args.members:,}", f"{baseline:.1f}", f"{args.members / baseline:,.0f}"]],
    )  # fmt: skip
    print(result_line(f"first_sync_{args.type}_{args.members}", accepted / seconds, "members/s",
                      args.members / baseline))  # fmt: skip


if __name__ == "__main__":
    main()
