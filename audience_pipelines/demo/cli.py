"""Command line entry point: ``audience-pipelines demo-data`` loads the demo tables into a warehouse."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

import sqlalchemy as sa

from audience_pipelines.demo.data import DemoDataSpec, DemoDataSummary, load_demo_data

WAREHOUSE_URL_ENV = "AUDIENCE_PIPELINES_WAREHOUSE_URL"


def build_parser() -> argparse.ArgumentParser:
    """The ``demo-data`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="audience-pipelines demo-data",
        description="Generate reproducible demo tables (demo.profiles, demo.visitors, demo.events) in PostgreSQL.",
    )
    parser.add_argument("--users", type=int, default=DemoDataSpec.users, help="number of users (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DemoDataSpec.seed, help="random seed (default %(default)s)")
    parser.add_argument("--replace", action="store_true", help="rebuild even if the same data is already there")
    parser.add_argument(
        "--url",
        default=os.environ.get(WAREHOUSE_URL_ENV),
        help=f"SQLAlchemy URL of the warehouse (default: ${WAREHOUSE_URL_ENV})",
    )
    return parser


def format_summary(summary: DemoDataSummary) -> str:
    """One line describing what :func:`load_demo_data` did."""
    spec = summary.spec
    what = "created" if summary.created else "already up to date"
    return (
        f"demo data {what} (users={spec.users}, seed={spec.seed}, end_date={spec.end_date}, days={spec.days}): "
        f"{summary.profiles:,} profiles, {summary.visitors:,} visitors, {summary.events:,} events "
        f"in {summary.seconds:.1f}s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, load the demo data and print a summary; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.url:
        parser.error(f"no warehouse: pass --url or set {WAREHOUSE_URL_ENV}")
    try:
        spec = DemoDataSpec(users=args.users, seed=args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    engine = sa.create_engine(args.url)
    try:
        summary = load_demo_data(engine, spec, replace=args.replace)
    finally:
        engine.dispose()
    print(format_summary(summary))
    return 0
