"""``audience-pipelines preview SYNC``: what the next run would send, without sending it."""

from __future__ import annotations

import argparse
import json

from audience_pipelines.cli.commands import project_dir
from audience_pipelines.config import ConfigError, config_path, load_config
from audience_pipelines.embedded import prepare_environment
from audience_pipelines.sync.preview import Preview, preview_sync
from audience_pipelines.warehouse import ensure_schema, get_engine, warehouse_url


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "preview", help="show the exact requests the next run of a sync would send, without sending anything"
    )
    parser.add_argument("sync", help="the sync's name")
    parser.add_argument("--limit", type=int, default=3, help="members per operation (default 3)")
    parser.add_argument("--json", action="store_true", help="one JSON object per request, one per line")
    parser.add_argument(
        "--validate", action="store_true", help="also ask the platform's validation endpoint (GA4), if it has one"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    prepare_environment(project_dir())
    config = load_config()
    if args.sync not in {sync.name for sync in config.syncs}:
        known = ", ".join(sync.name for sync in config.syncs) or "none"
        raise ConfigError(f"no sync named '{args.sync}' in {config_path()} (syncs: {known})")
    engine = get_engine(warehouse_url())
    ensure_schema(engine)
    preview = preview_sync(engine, config, args.sync, limit=max(1, args.limit), validate=args.validate)
    if args.json:
        for line in preview.json_lines():
            print(json.dumps(line, sort_keys=True))
    else:
        print_summary(preview)
    return 0


def print_summary(preview: Preview) -> None:
    print("\n".join(preview.summary_lines()))
