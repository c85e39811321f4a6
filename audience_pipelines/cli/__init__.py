"""The ``audience-pipelines`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from audience_pipelines.cli import commands


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

    demo = sub.add_parser("demo", help="load demo data, backfill every example audience, print a summary")
    demo.add_argument("--users", type=int, default=None, help="demo profiles to generate (default 20,000)")
    demo.set_defaults(handler=commands.demo)

    validate = sub.add_parser("validate", help="check the configuration file and exit non-zero on errors")
    validate.set_defaults(handler=commands.validate)

    demo_data = sub.add_parser("demo-data", help="(re)generate the demo warehouse tables")
    demo_data.add_argument("--users", type=int, default=None)
    demo_data.add_argument("--seed", type=int, default=None)
    demo_data.add_argument("--replace", action="store_true")
    demo_data.set_defaults(handler=commands.demo_data)

    prune = sub.add_parser("prune", help="prune snapshot partitions past each audience's retention")
    prune.set_defaults(handler=commands.prune)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``audience-pipelines`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args) or 0
    except commands.UserFacingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
