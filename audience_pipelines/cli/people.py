"""``audience-pipelines find-user | forget-user``: one person across audiences, history and destinations."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import sqlalchemy as sa

from audience_pipelines.cli.commands import SetupError, UsageError, project_dir
from audience_pipelines.config import ProjectConfig, load_config
from audience_pipelines.embedded import prepare_environment
from audience_pipelines.sandbox.local import start_sandbox
from audience_pipelines.sync.find import PersonQuery, PersonQueryError, PersonReport, find_person
from audience_pipelines.sync.forget import ForgetReport, forget_person
from audience_pipelines.warehouse import ensure_schema, get_engine, warehouse_url
from audience_pipelines.warehouse.people import SuppressionKeyError


def register(subparsers: argparse._SubParsersAction) -> None:
    find = subparsers.add_parser(
        "find-user", help="the audiences a person is in, their enter/exit history and the destinations holding them"
    )
    _identifier_options(find)
    find.set_defaults(handler=run_find)

    forget = subparsers.add_parser(
        "forget-user",
        help="remove a person from every destination, suppress them for good and erase their identifiers",
    )
    _identifier_options(forget)
    forget.add_argument("--confirm", action="store_true", help="required: forgetting cannot be undone")
    forget.set_defaults(handler=run_forget)


def _identifier_options(parser: argparse.ArgumentParser) -> None:
    for name in PersonQuery.typed_names():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="VALUE")
    parser.add_argument(
        "--phone-region", default="US", metavar="CC", help="country of a phone number typed without +code (US)"
    )


def query_from(args: argparse.Namespace) -> PersonQuery:
    typed = {name: getattr(args, name) for name in PersonQuery.typed_names()}
    query = PersonQuery(**typed, phone_region=args.phone_region)
    try:
        query.check()
    except PersonQueryError as error:
        raise UsageError(str(error)) from None
    return query


def run_find(args: argparse.Namespace) -> int:
    query = query_from(args)
    engine, config, _ = _open()
    try:
        report = find_person(engine, config, query)
    except PersonQueryError as error:
        raise UsageError(str(error)) from None
    for line in find_lines(query, report):
        print(line)
    return 0 if report.member_keys else 1


def run_forget(args: argparse.Namespace) -> int:
    query = query_from(args)
    if not args.confirm:
        raise UsageError(
            f"forget-user removes the person with {query.masked()} from every destination, suppresses them and "
            "erases their identifiers; it cannot be undone. Add --confirm to go ahead (nothing was changed)"
        )
    engine, config, embedded = _open()
    sandbox = start_sandbox() if embedded else None
    try:
        report = forget(engine, config, query, log=lambda message: None)
    finally:
        if sandbox:
            sandbox.stop()
    for line in forget_lines(query, report):
        print(line)
    return 0 if report.done else 1


def forget(engine: sa.Engine, config: ProjectConfig, query: PersonQuery, *, log: Callable[[str], None]) -> ForgetReport:
    """``forget_person`` with its setup and input errors as command-line errors."""
    try:
        return forget_person(engine, config, query, log=log)
    except SuppressionKeyError as error:
        raise SetupError(str(error)) from None
    except PersonQueryError as error:
        raise UsageError(str(error)) from None


def find_lines(query: PersonQuery, report: PersonReport) -> list[str]:
    """The find-user report: member keys, audiences, history, destinations; typed values masked only."""
    if not report.member_keys:
        return [f"No member matches {query.masked()} in any snapshot or sync ledger."]
    lines = [f"{len(report.member_keys)} member(s) match {query.masked()}: {', '.join(report.member_keys)}"]
    now = ", ".join(f"{a.audience} (snapshot {a.partition_key})" for a in report.audiences_now) or "none"
    lines.append(f"  audiences now: {now}")
    lines.append("  membership history:" + ("" if report.changes else " none"))
    for change in report.changes:
        lines.append(f"    {change.partition_key}  {change.audience}: {change.change} ({change.member_key})")
    lines.append("  held by destinations:" + ("" if report.holdings else " none"))
    for held in report.holdings:
        lines.append(
            f"    {held.sync}: {held.status} {held.updated_at:%Y-%m-%d %H:%M} UTC (snapshot {held.partition_key}; "
            f"fields {', '.join(held.fields)}; {held.member_key})"
        )
    for sync in report.unconfigured_syncs:
        lines.append(f"    {sync}: ledger rows of a sync no longer configured")
    for member_key, request_id, at in report.forgotten:
        lines.append(
            f"  forgotten: {member_key} by {request_id} on {at:%Y-%m-%d %H:%M} UTC (suppressed, identifiers erased)"
        )
    return lines


def forget_lines(query: PersonQuery, report: ForgetReport) -> list[str]:
    """What forget-user did: removals per destination, erasure counts, or what is left to do."""
    if report.already_forgotten:
        return [
            f"{query.masked()} was already forgotten ({report.request_id}); nothing left to remove or erase.",
            "  erased then: " + _counts(report.erased),
        ]
    verb = "resumed" if report.resumed else "started"
    members = ", ".join(report.member_keys) or "no member found (the identifiers are suppressed all the same)"
    lines = [
        f"{report.request_id} {verb} for {query.masked()}: {members}",
        f"  suppression list: {report.suppressed} keyed hash(es) (no raw values); later snapshots and syncs skip them",
    ]
    if not report.removals:
        lines.append("  no destination held them")
    for removal in report.removals:
        where = f"{removal.sync} ({removal.destination})"
        if removal.status == "success":
            lines.append(f"  removed from {where}: {removal.removed} acknowledged, run {removal.run_id}")
        elif removal.status == "erased":
            lines.append(
                f"  {removal.sync}: no longer configured; {removal.removed} ledger row(s) erased, not contacted"
            )
        else:
            lines.append(f"  {where}: {removal.status}, {removal.removed} acknowledged {removal.message}".rstrip())
    if report.done:
        lines.append("  erased: " + _counts(report.erased))
        lines.append("  kept: membership history and run history (member keys and counts, no identifiers)")
    else:
        lines.append("  not finished: rerun the same forget-user command to retry what is left (nothing erased yet)")
    return lines


def _counts(erased: dict[str, int]) -> str:
    return ", ".join(f"{count} {what}" for what, count in erased.items()) or "nothing"


def _open() -> tuple[sa.Engine, ProjectConfig, bool]:
    settings = prepare_environment(project_dir())
    config = load_config()
    engine = get_engine(warehouse_url())
    ensure_schema(engine)
    return engine, config, settings.embedded
