"""Shared SQL helpers for the demo data tests."""

from __future__ import annotations

import sqlalchemy as sa

CHECKSUM_SQL = {
    "profiles": "SELECT md5(string_agg(t::text, '|' ORDER BY t.user_id)) FROM demo.profiles AS t",
    "visitors": "SELECT md5(string_agg(t::text, '|' ORDER BY t.visitor_id)) FROM demo.visitors AS t",
    "events": "SELECT md5(string_agg(t::text, '|' ORDER BY t.event_id)) FROM demo.events AS t",
}


def checksums(engine: sa.Engine) -> dict[str, str]:
    """md5 over every row (in key order) of each demo table."""
    with engine.connect() as conn:
        return {table: conn.execute(sa.text(query)).scalar_one() for table, query in CHECKSUM_SQL.items()}


def scalar(engine: sa.Engine, query: str, **params: object) -> object:
    """The single value returned by ``query``."""
    with engine.connect() as conn:
        return conn.execute(sa.text(query), params).scalar_one()
