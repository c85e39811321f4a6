"""Identity throughput: prepare_identifiers for Meta (email + phone) next to a plain hashlib.sha256 loop.

    python benchmarks/identity_throughput.py --rows 1000000
    python benchmarks/identity_throughput.py --rows 10000000

Inputs are synthetic raw identifiers in mixed formats from a fixed seed: emails in mixed case with stray
whitespace, some malformed, blank or missing; phones written in a dozen national and international formats
for US, CA, GB, DE and FR rows (with a country column, as the sync engine passes), some too short or missing.
"pipeline" is prepare_identifiers (trim, lowercase, validate, parse phones, drop invalid values, SHA-256), in
pages of ``--page`` rows as the sync engine calls it. "baseline" hashes the same raw strings with
``hashlib.sha256`` in a Python loop, with no normalization at all.

The input is streamed: blocks of ``--block`` rows are generated one at a time (generation is not timed), and
each page of a block is run through the pipeline and then through the baseline, so both see the same load at
the same time (on a shared machine the load changes within seconds: a page takes tens of milliseconds) and
memory stays flat at any ``--rows``. The figures are wall-clock time; the CPU time of each side is printed too.
Timings run without tracing; peak memory is measured on the first block in a separate, traced pass
(tracemalloc: the most memory allocated at once above the input).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audience_pipelines.identity import FieldSpec, IdentifierType, prepare_identifiers
from benchmarks._support import peak_rss_mb, result_line

FIELDS = {"EMAIL": FieldSpec("email", IdentifierType.EMAIL), "PHONE": FieldSpec("phone", IdentifierType.PHONE)}
COUNTRIES = np.array(["US", "US", "US", "US", "US", "US", "CA", "GB", "DE", "FR"])
PHONE_SHAPES = {
    "US": ["+1 ({a}) {b}-{c}", "({a}) {b}-{c}", "{a}.{b}.{c}", "{a}{b}{c}", "1-{a}-{b}-{c}", "+1{a}{b}{c}"],
    "CA": ["({a}) {b}-{c}", "+1 {a} {b} {c}"],
    "GB": ["020 7946 {c}", "+44 20 7946 {c}", "07700 9{c}"],
    "DE": ["030 {b}{c}", "+49 30 {b}{c}", "0049 30 {b}{c}"],
    "FR": ["06 {b2} {c2} {c3}", "+33 6 {b2} {c2} {c3}"],
}


def synthetic(rows: int, seed: int = 20260901, block: int = 0) -> pd.DataFrame:
    """``rows`` members with raw email, phone and country columns (deterministic for a seed and block number)."""
    rng = np.random.default_rng([seed, block])
    ids = rng.integers(10**6, 10**9, rows)
    countries = COUNTRIES[rng.integers(0, len(COUNTRIES), rows)]
    email_kind = rng.random(rows)
    phone_kind = rng.random(rows)
    areas = rng.integers(201, 990, rows)
    exchanges = rng.integers(200, 1000, rows)
    lines = rng.integers(0, 10_000, rows)
    shape_picks = rng.integers(0, 6, rows)
    emails: list[str | None] = []
    phones: list[str | None] = []
    for i in range(rows):
        e = email_kind[i]
        if e < 0.04:
            emails.append(None)
        elif e < 0.06:
            emails.append("  ")
        elif e < 0.10:
            emails.append(f"person{ids[i]}.example.com")  # no @
        else:
            emails.append(f" Person.{ids[i]}@Example.COM " if e < 0.5 else f"person{ids[i]}@mail.example.org")
        p = phone_kind[i]
        if p < 0.08:
            phones.append(None)
        elif p < 0.11:
            phones.append(f"{lines[i] % 100_000}")  # too short
        else:
            shapes = PHONE_SHAPES[countries[i]]
            b, c = f"{exchanges[i]:03d}", f"{lines[i]:04d}"
            phones.append(
                shapes[shape_picks[i] % len(shapes)].format(a=areas[i], b=b, c=c, b2=b[:2], c2=c[:2], c3=c[2:])
            )
    return pd.DataFrame({"email": emails, "phone": phones, "country": countries}, dtype=object)


def blocks(rows: int, block_rows: int) -> Iterator[pd.DataFrame]:
    """The input, ``block_rows`` at a time."""
    for number, start in enumerate(range(0, rows, block_rows)):
        yield synthetic(min(block_rows, rows - start), block=number)


def pages(frame: pd.DataFrame, page: int) -> Iterator[pd.DataFrame]:
    """``frame`` in pages of ``page`` rows (the sync engine's batches)."""
    step = page or len(frame)
    for start in range(0, len(frame), step):
        yield frame.iloc[start : start + step]


def run_pipeline(page: pd.DataFrame) -> int:
    """prepare_identifiers on one page (its result dropped once counted, as the sync engine sends it and moves
    on); returns the number of identifiers kept."""
    prepared = prepare_identifiers(page, FIELDS, "meta", country_column="country")
    return int(prepared.values.notna().to_numpy().sum())


def run_baseline(frame: pd.DataFrame) -> int:
    """sha256 hex of every present raw value, in a plain loop; returns how many were hashed."""
    hashed = 0
    for column in ("email", "phone"):
        for value in frame[column].tolist():
            if value is not None:
                hashlib.sha256(value.encode()).hexdigest()
                hashed += 1
    return hashed


def traced_peak_mib(work: Callable[[], int]) -> float:
    """The most memory ``work`` allocated at once (tracemalloc), in MiB."""
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--page", type=int, default=10_000, help="rows per prepare_identifiers call (the sync page)")
    parser.add_argument("--block", type=int, default=100_000, help="rows generated and timed at a time")
    args = parser.parse_args()

    totals = {"pipeline": 0.0, "baseline": 0.0}
    cpu = {"pipeline": 0.0, "baseline": 0.0}
    identifiers = kept = hashed = 0
    peaks: tuple[float, float] | None = None
    for frame in blocks(args.rows, args.block):
        if peaks is None:  # warm up caches on the first block, untimed, and measure memory there
            peaks = (
                traced_peak_mib(lambda frame=frame: sum(run_pipeline(page) for page in pages(frame, args.page))),
                traced_peak_mib(lambda frame=frame: sum(run_baseline(page) for page in pages(frame, args.page))),
            )
        identifiers += int(frame[["email", "phone"]].notna().to_numpy().sum())
        for page in pages(frame, args.page):
            started, started_cpu = time.perf_counter(), time.process_time()
            kept += run_pipeline(page)
            middle, middle_cpu = time.perf_counter(), time.process_time()
            hashed += run_baseline(page)
            totals["pipeline"] += middle - started
            totals["baseline"] += time.perf_counter() - middle
            cpu["pipeline"] += middle_cpu - started_cpu
            cpu["baseline"] += time.process_time() - middle_cpu
    pipeline_s, baseline_s = totals["pipeline"], totals["baseline"]
    assert peaks is not None

    rows = [
        ["run", "seconds", "identifiers/s", "peak MiB"],
        ["prepare_identifiers (meta)", f"{pipeline_s:.2f}", f"{identifiers / pipeline_s:,.0f}", f"{peaks[0]:.0f}"],
        ["hashlib.sha256 loop (raw)", f"{baseline_s:.2f}", f"{hashed / baseline_s:,.0f}", f"{peaks[1]:.0f}"],
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(
        f"{args.rows:,} rows, {identifiers:,} raw identifiers (email + phone), {kept:,} kept after validation; "
        f"pages of {args.page:,} rows, generated and timed in blocks of {args.block:,}; "
        f"process peak RSS {peak_rss_mb():.0f} MiB; load average {os.getloadavg()[0]:.2f}"
    )
    for number, row in enumerate(rows):
        print(
            "  ".join([row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True))])
        )
        if number == 0:
            print("  ".join("-" * w for w in widths))
    print(
        f"slowdown vs the bare hashlib loop: {pipeline_s / baseline_s:.1f}x "
        f"(CPU time: {cpu['pipeline']:.2f} s vs {cpu['baseline']:.2f} s, "
        f"ratio {cpu['baseline'] / cpu['pipeline']:.3f})"
    )
    metric = f"identity_meta_email_phone_{args.rows}"
    print(result_line(metric, identifiers / pipeline_s, "identifiers/s", hashed / baseline_s))


if __name__ == "__main__":
    main()
