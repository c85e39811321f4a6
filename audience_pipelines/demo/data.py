"""Load reproducible demo tables (profiles, visitors, events) into schema ``demo`` of a PostgreSQL warehouse.

All rows are produced by set-based SQL (``generate_series`` + ``CREATE TABLE ... AS SELECT``, which PostgreSQL
may spread over parallel workers) whose random choices are hashes of (seed, row number, salt), so a given
:class:`DemoDataSpec` always yields identical tables. See :mod:`audience_pipelines.demo.sql` for the model.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import sqlalchemy as sa

from audience_pipelines.demo import sql


def today_utc() -> dt.date:
    """The day demo data is anchored to by default: today in UTC."""
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class DemoDataSpec:
    """What to generate: ``users`` profiles, activity over ``days`` days ending at ``end_date`` (inclusive).

    ``end_date`` defaults to the day the data is generated (UTC): the demo's partitions up to yesterday are
    complete and today's, which the daily schedules materialize at midnight, has its data too. A given
    ``end_date`` and ``seed`` always give identical tables.
    """

    users: int = 20_000
    seed: int = 7
    end_date: dt.date = field(default_factory=lambda: today_utc())
    days: int = 90

    def __post_init__(self) -> None:
        if not 1 <= self.users <= 100_000_000:
            raise ValueError(f"users must be between 1 and 100,000,000, got {self.users}")
        if not 1 <= self.days <= 3650:
            raise ValueError(f"days must be between 1 and 3650, got {self.days}")
        if not -(2**63) <= self.seed < 2**63:
            raise ValueError(f"seed must fit in a signed 64-bit integer, got {self.seed}")

    @property
    def window_end(self) -> dt.datetime:
        """Exclusive end of the activity window: the day after ``end_date``, 00:00 UTC."""
        return dt.datetime.combine(self.end_date + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    @property
    def window_start(self) -> dt.datetime:
        """Inclusive start of the activity window, 00:00 UTC ``days`` days before :attr:`window_end`."""
        return self.window_end - dt.timedelta(days=self.days)


@dataclass(frozen=True)
class DemoDataSummary:
    """Outcome of :func:`load_demo_data`: whether tables were (re)built, their row counts, time taken."""

    spec: DemoDataSpec
    created: bool
    profiles: int
    visitors: int
    events: int
    seconds: float


def load_demo_data(
    engine: sa.Engine,
    spec: DemoDataSpec = DemoDataSpec(),
    *,
    replace: bool = False,
) -> DemoDataSummary:
    """Create ``demo.profiles``, ``demo.visitors`` and ``demo.events`` for ``spec``, unless already there.

    If ``demo.generation`` shows the tables were built from the same spec (and generator version) nothing is
    written and ``created`` is False. Otherwise, or with ``replace=True``, all three tables are dropped and
    rebuilt in a single transaction (so views depending on them must be dropped first); concurrent loaders
    are serialised by an advisory lock.
    """
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": sql.ADVISORY_LOCK_KEY})
        if not replace:
            counts = _existing_counts(conn, spec)
            if counts is not None:
                return DemoDataSummary(spec, False, *counts, seconds=time.perf_counter() - started)
        counts = _build(conn, spec)
        seconds = time.perf_counter() - started
        conn.execute(
            sa.text(sql.RECORD_GENERATION),
            {
                "version": sql.GENERATOR_VERSION,
                "users": spec.users,
                "seed": spec.seed,
                "end_date": spec.end_date,
                "days": spec.days,
                "profiles": counts[0],
                "visitors": counts[1],
                "events": counts[2],
                "seconds": seconds,
            },
        )
    return DemoDataSummary(spec, True, *counts, seconds=time.perf_counter() - started)


def _existing_counts(conn: sa.Connection, spec: DemoDataSpec) -> tuple[int, int, int] | None:
    """Row counts recorded for the current demo data if it was generated from ``spec``, else None."""
    if not conn.execute(sa.text(sql.TABLES_PRESENT)).scalar_one():
        return None
    row = conn.execute(sa.text(sql.CURRENT_GENERATION)).one_or_none()
    if row is None:
        return None
    same = (row.generator_version, row.users, row.seed, row.end_date, row.days) == (
        sql.GENERATOR_VERSION,
        spec.users,
        spec.seed,
        spec.end_date,
        spec.days,
    )
    return (row.profiles, row.visitors, row.events) if same else None


def _build(conn: sa.Connection, spec: DemoDataSpec) -> tuple[int, int, int]:
    """(Re)create the demo tables for ``spec`` on ``conn``; returns (profiles, visitors, events) row counts."""
    for statement in (*sql.SESSION_SETTINGS, *sql.SETUP_STATEMENTS):
        conn.execute(sa.text(statement))
    params = {
        "seed": spec.seed,
        "users": spec.users,
        "anonymous": round(spec.users * sql.ANONYMOUS_PER_USER),
        "end_date": spec.end_date,
        "window_start": spec.window_start,
        "window_end": spec.window_end,
        "span": spec.days * 86_400 - sql.SESSION_MARGIN_SECONDS,
    }
    conn.execute(sa.text(sql.CREATE_NUMBERS), params)
    profiles = conn.execute(sa.text(sql.CREATE_PROFILES), params).rowcount
    conn.execute(sa.text(sql.CREATE_VISITOR_PLAN), params)
    visitors = conn.execute(sa.text(sql.CREATE_VISITORS), params).rowcount
    conn.execute(sa.text(sql.CREATE_SESSIONS), params)
    events = conn.execute(sa.text(sql.CREATE_EVENTS), params).rowcount
    for statement in sql.FINALIZE_STATEMENTS:
        conn.execute(sa.text(statement))
    return profiles, visitors, events
