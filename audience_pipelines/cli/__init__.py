"""The ``audience-pipelines`` command line."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

import dagster as dg

from audience_pipelines.cli import commands, identifiers, lifecycle, people, preview

SIGPIPE_EXIT = 141  # what a shell reports for a writer killed by SIGPIPE (128 + 13)


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


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

    dg_parser = sub.add_parser("dg", help="run a `dg` command (check defs, list components, ...) on this project")
    dg_parser.add_argument("dagster_args", nargs=argparse.REMAINDER, help="the `dg` command and its arguments")
    dg_parser.set_defaults(handler=commands.dg_cli)

    demo_parser = sub.add_parser("demo", help="load demo data, backfill and sync the example audiences")
    demo_parser.add_argument("--users", type=int, default=None, help="demo profiles to generate (default 20,000)")
    demo_parser.set_defaults(handler=commands.demo)

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
    runs.add_argument("--limit", type=non_negative_int, default=10, help="runs per sync (default 10)")
    runs.add_argument("--all", action="store_true", help="also the sensor's skipped partitions")
    runs.set_defaults(handler=commands.runs)

    sync_now = sub.add_parser("sync", help="run one sync now (manual trigger, subject to its cooldown)")
    sync_now.add_argument("name", help="the sync's name")
    sync_now.set_defaults(handler=commands.sync_now)

    preview.register(sub)
    lifecycle.register(sub)

    identifiers.register(sub)
    people.register(sub)

    prune = sub.add_parser("prune", help="prune snapshot partitions past each audience's retention")
    prune.set_defaults(handler=commands.prune)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``audience-pipelines`` console script: returns the exit code.

    Bad input ends with one ``error: ...`` line (argparse's usage errors exit 2); a reader that stops
    early (``| head``) ends the command quietly, as it does other Unix tools.
    """
    try:
        args, unknown = build_parser().parse_known_args(argv)
        if unknown and getattr(args, "handler", None) not in (commands.dev, commands.dg_cli):
            build_parser().parse_args(argv)  # the usual usage error for anything but `dev` and `dg`
        if unknown:
            args.dagster_args = [*unknown, *args.dagster_args]  # `dev --port 3100`: options for `dagster dev`
    except SystemExit as done:  # --help, or a usage error argparse has already printed
        return done.code if isinstance(done.code, int) else 2
    quiet_known_warnings()
    try:
        code = args.handler(args) or 0
        sys.stdout.flush()  # a closed pipe shows here, not in Python's exit-time flush
        return code
    except commands.UserFacingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        silence_stdout()
        return SIGPIPE_EXIT
    except KeyboardInterrupt:
        return 130


def silence_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush does not fail on the closed pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass  # stdout is not a real file (tests); nothing will flush to the pipe
    finally:
        os.close(devnull)


def quiet_known_warnings() -> None:
    """Hide warnings about Dagster features this project uses deliberately with pinned versions
    (partitioned asset checks are in preview in 1.13) and pgserver's runtime-dir fallback."""
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


if __name__ == "__main__":
    sys.exit(main())
