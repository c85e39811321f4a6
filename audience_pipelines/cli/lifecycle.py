"""``audience-pipelines unlink | relink | delete-list``: stop a sync, resume it, or delete its list."""

from __future__ import annotations

import argparse

from audience_pipelines.cli.commands import find, project_dir
from audience_pipelines.config import load_config
from audience_pipelines.embedded import prepare_environment
from audience_pipelines.sandbox.local import start_sandbox
from audience_pipelines.sync.lifecycle import delete_list, relink_sync, unlink_sync
from audience_pipelines.warehouse import ensure_schema, get_engine, warehouse_url


def register(subparsers: argparse._SubParsersAction) -> None:
    unlink = subparsers.add_parser(
        "unlink", help="stop a sync, leaving its destination list as it is (the ledger is kept for a relink)"
    )
    unlink.add_argument("sync", help="the sync's name")
    unlink.set_defaults(handler=run_unlink)

    relink = subparsers.add_parser("relink", help="let an unlinked sync run again, resuming from its ledger")
    relink.add_argument("sync", help="the sync's name")
    relink.set_defaults(handler=run_relink)

    delete = subparsers.add_parser(
        "delete-list", help="delete a sync's list on the platform (where its API allows it) and unlink the sync"
    )
    delete.add_argument("sync", help="the sync's name")
    delete.add_argument("--confirm", required=True, metavar="LIST_NAME", help="the list's exact name")
    delete.set_defaults(handler=run_delete_list)


def run_unlink(args: argparse.Namespace) -> int:
    engine, config, _ = _open(args.sync)
    print(f"{args.sync}: {unlink_sync(engine, config, args.sync).message}")
    return 0


def run_relink(args: argparse.Namespace) -> int:
    engine, config, _ = _open(args.sync)
    print(f"{args.sync}: {relink_sync(engine, config, args.sync).message}")
    return 0


def run_delete_list(args: argparse.Namespace) -> int:
    engine, config, embedded = _open(args.sync)
    sandbox = start_sandbox() if embedded else None
    try:
        print(f"{args.sync}: {delete_list(engine, config, args.sync, args.confirm).message}")
    finally:
        if sandbox:
            sandbox.stop()
    return 0


def _open(sync: str):
    settings = prepare_environment(project_dir())
    config = load_config()
    find(config, "sync", sync)
    engine = get_engine(warehouse_url())
    ensure_schema(engine)
    return engine, config, settings.embedded
