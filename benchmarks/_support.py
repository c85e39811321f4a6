"""Shared helpers for the benchmark scripts: an embedded PostgreSQL, timing, peak memory, tables."""

from __future__ import annotations

import contextlib
import resource
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from audience_pipelines.embedded import start_embedded_postgres


@contextlib.contextmanager
def embedded_warehouse() -> Iterator[str]:
    """A throwaway embedded PostgreSQL; yields the warehouse database URL."""
    folder = Path(tempfile.mkdtemp(prefix="ap-bench-"))
    databases = start_embedded_postgres(folder / "pg", cleanup_mode="delete")
    try:
        yield databases.warehouse_url
    finally:
        databases.server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def timed(results: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    results[name] = time.perf_counter() - started


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(title: str, header: list[str], rows: list[list[object]]) -> None:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    print("  " + "  ".join(str(h).rjust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  " + "  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)))


def result_line(metric: str, value: float, unit: str, baseline: float) -> str:
    """``RESULT metric=<name> value=<n> unit=<u> baseline=<n> ratio=<value/baseline>``, one figure per line."""
    ratio = value / baseline if baseline else float("nan")
    return f"RESULT metric={metric} value={value:.6g} unit={unit} baseline={baseline:.6g} ratio={ratio:.4g}"
