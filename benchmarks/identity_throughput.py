"""Normalize-and-hash throughput for Meta (email + phone), next to plain hashlib.sha256 over the same values.

    python benchmarks/identity_throughput.py --rows 1000000

Inputs are synthetic raw identifiers in mixed formats (deterministic). "pipeline" is prepare_identifiers
(trim/lowercase/validate emails, parse phones, drop invalid values, SHA-256); "hashlib baseline" hashes the
same raw strings in a Python loop with no normalization at all.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audience_pipelines.identity import FieldSpec, IdentifierType, prepare_identifiers
from benchmarks._support import peak_rss_mb, print_table

PHONE_SHAPES = ["+1 {a} {b} {c}", "({a}) {b}-{c}", "{a}.{b}.{c}", "{a}{b}{c}", "+44 20 7946 {c}", "00 49 30 123{c}"]


def synthetic(rows: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 10**9, rows)
    emails = [f"  Person.{i}@Example.COM " if i % 7 else f"broken{i}" for i in ids]
    phones = [
        PHONE_SHAPES[i % len(PHONE_SHAPES)].format(a=200 + i % 700, b=200 + (i // 7) % 700, c=f"{i % 10000:04d}")
        for i in ids
    ]
    return pd.DataFrame({"email": emails, "phone": phones})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=10_000, help="rows per call, as the sync engine pages")
    args = parser.parse_args()
    frame = synthetic(args.rows)
    identifiers = 2 * args.rows
    fields = {"EMAIL": FieldSpec("email", IdentifierType.EMAIL), "PHONE": FieldSpec("phone", IdentifierType.PHONE)}

    started = time.perf_counter()
    kept = 0
    for start in range(0, args.rows, args.chunk):
        prepared = prepare_identifiers(frame.iloc[start : start + args.chunk], fields, "meta")
        kept += int(prepared.values.notna().sum().sum())
    pipeline = time.perf_counter() - started
    rss = peak_rss_mb()

    started = time.perf_counter()
    for column in ("email", "phone"):
        for value in frame[column]:
            hashlib.sha256(value.encode()).hexdigest()
    baseline = time.perf_counter() - started

    print_table(
        f"Meta email + phone, {args.rows:,} rows ({identifiers:,} identifiers, {kept:,} kept after validation)",
        ["run", "seconds", "identifiers/s"],
        [
            ["pipeline: normalize + validate + sha256", f"{pipeline:.2f}", f"{identifiers / pipeline:,.0f}"],
            ["hashlib.sha256 loop, no normalization", f"{baseline:.2f}", f"{identifiers / baseline:,.0f}"],
        ],
    )
    print(f"\n  peak memory: {rss:.0f} MiB (includes the {args.rows:,}-row input frame)")


if __name__ == "__main__":
    main()
