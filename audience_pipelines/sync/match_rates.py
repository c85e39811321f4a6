"""Reading what a platform matched after a list sync: never a reason for a delivered sync to fail."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from audience_pipelines.destinations.kit import DestinationClient, ListRef, MatchReport, MatchReporting
from audience_pipelines.privacy import describe_error
from audience_pipelines.warehouse.ledger import count_held
from audience_pipelines.warehouse.sync_runs import MatchFigures


def read_match(
    engine: sa.Engine,
    destination: DestinationClient,
    sync: str,
    target: ListRef | None,
    log: Callable[[str], None],
) -> tuple[MatchReport | None, MatchFigures | None]:
    """The platform's match report for the sync's list and the figures run history keeps, or (None, None):
    no list, no such capability, no figures yet, or a failure to read them (logged as a warning)."""
    if target is None or not isinstance(destination, MatchReporting):
        return None, None
    try:
        report = destination.match_report(target)
        if report is None:
            return None, None
        return report, match_figures(report, held_members(engine, sync))
    except Exception as error:  # the members are delivered and recorded: a missing figure must not undo that
        log(f"{sync}: warning: match rates could not be read ({describe_error(error)}); the sync is unaffected")
        return None, None


def match_figures(report: MatchReport, held: int) -> MatchFigures:
    """The numbers run history keeps: the matched range and one match rate, the platform's own (the middle of
    its range) where it reports one, else the middle of the matched range over the ``held`` members sent."""
    rate = None
    if report.rate_low is not None and report.rate_high is not None:
        rate = (report.rate_low + report.rate_high) / 2
    elif report.matched_low is not None and report.matched_high is not None and held > 0:
        rate = min(1.0, (report.matched_low + report.matched_high) / 2 / held)
    return MatchFigures(report.matched_low, report.matched_high, None if rate is None else round(rate, 4))


def held_members(engine: sa.Engine, sync: str) -> int:
    """Members the sync's ledger holds as sent (what a match rate is a share of)."""
    with engine.connect() as conn:
        return count_held(conn, sync)
