"""The ``audience-pipelines`` command line."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

import dagster as dg

from audience_pipelines.cli import commands, demo, preview


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="audience-pipelines",
        description="Dagster-native audience sync. Without DAGSTER_PG_URL and "
        "AUDIENCE_PIPELINES_WAREHOUSE_URL an embedded PostgreSQL under .local/ is started and used.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="run the Dagster UI and daemon (schedules and sensors run)")
    dev.add_argument("dagster_args", nargs=argparse.REMAINDER, help="extra arguments for `dagster dev`")
    dev.set_defaults(handler=commands.dev)

    demo_parser = sub.add_parser("demo", help="load demo data, backfill and sync the example audiences")
    demo_parser.add_argument("--users", type=int, default=None, help="demo profiles to generate (default 20,000)")
    demo_parser.set_defaults(handler=demo.run)

    validate = sub.add_parser("validate", help="check the configuration file and exit non-zero on errors")
    validate.set_defaults(handler=commands.validate)

    demo_data = sub.add_parser("demo-data", help="(re)generate the demo warehouse tables")
    demo_data.add_argument("--users", type=int, default=None)
    demo_data.add_argument("--seed", type=int, default=None)
    demo_data.add_argument("--replace", action="store_true")
    demo_data.set_defaults(handler=commands.demo_data)

    backfill = sub.add_parser(
        "backfill", help="materialize an audience's partitions in order, through Dagster (runs show in the UI)"
    )
    backfill.add_argument("audience")
    backfill.add_argument("--from", dest="first", required=True, help="first partition key, e.g. 2026-11-01")
    backfill.add_argument("--to", dest="last", required=True, help="last partition key (inclusive)")
    backfill.set_defaults(handler=commands.backfill)

    runs = sub.add_parser("runs", help="recent sync runs: status, counts, last synced, next scheduled run")
    runs.add_argument("--sync", help="only this sync")
    runs.add_argument("--limit", type=int, default=10, help="runs per sync (default 10)")
    runs.set_defaults(handler=commands.runs)

    sync_now = sub.add_parser("sync", help="run one sync now (manual trigger, subject to its cooldown)")
    sync_now.add_argument("name", help="the sync's name")
    sync_now.set_defaults(handler=commands.sync_now)

    preview.register(sub)

    identifiers = sub.add_parser("identifiers", help="identifier tools")
    identifiers_sub = identifiers.add_subparsers(dest="identifiers_command", required=True)
    normalize = identifiers_sub.add_parser("normalize", help="show how a value is normalized and hashed")
    normalize.add_argument("--platform", required=True, help="meta, google, ga4, tiktok, webhook")
    normalize.add_argument("--type", required=True, dest="identifier_type", help="email, phone, first_name, ...")
    normalize.add_argument("--region", default="US", help="default phone region (default US)")
    normalize.add_argument("value")
    normalize.set_defaults(handler=commands.identifiers_normalize)

    prune = sub.add_parser("prune", help="prune snapshot partitions past each audience's retention")
    prune.set_defaults(handler=commands.prune)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``audience-pipelines`` console script."""
    args = build_parser().parse_args(argv)
    quiet_known_warnings()
    try:
        return args.handler(args) or 0
    except commands.UserFacingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def quiet_known_warnings() -> None:
    """Hide warnings about Dagster features this project uses deliberately with pinned versions
    (partitioned asset checks are in preview in 1.13) and pgserver's runtime-dir fallback."""
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


if __name__ == "__main__":
    sys.exit(main())
