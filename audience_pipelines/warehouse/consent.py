"""Consent in SQL: which snapshot members a sync may send, and how many it may not.

A sync's consent rule names a snapshot attribute and the values that grant consent. The predicate is
rendered with literals (the column is a validated identifier, the values a validated character set), so the
pending-work queries keep their plans and their parameters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa

from audience_pipelines.warehouse.schema import SCHEMA

_COLUMN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_VALUE = re.compile(r"^[a-z0-9 _.\-]{1,64}$")


class ConsentRule(Protocol):
    """What the warehouse needs of a sync's consent setting (``SyncConfig.consent``)."""

    @property
    def column(self) -> str: ...

    @property
    def granted(self) -> Sequence[str]: ...


def consented(alias: str, consent: ConsentRule | None) -> str:
    """SQL that is true when the snapshot row ``alias`` grants consent (``true`` when the sync has no rule).

    A missing value is no consent. Values compare trimmed and lowercased, so a boolean ``true`` and the text
    ``' Yes '`` both match their lowercase spelling.
    """
    if consent is None:
        return "true"
    if not _COLUMN.match(consent.column) or not all(_VALUE.match(value) for value in consent.granted):
        raise ValueError("a consent rule needs a lowercase column name and plain lowercase values")
    values = ", ".join(f"'{value}'" for value in consent.granted)
    return f"coalesce(lower(btrim({alias}.attributes ->> '{consent.column}')) in ({values}), false)"


def count_without_consent(
    conn: sa.Connection, audience: str, partition_start: object, consent: ConsentRule | None
) -> int:
    """Members of one snapshot partition the rule does not let a sync send (0 without a rule)."""
    if consent is None:
        return 0
    return conn.execute(
        sa.text(
            f"""select count(*) from {SCHEMA}.snapshot_members s
                where s.audience = :audience and s.partition_start = :start and not {consented("s", consent)}"""
        ),
        {"audience": audience, "start": partition_start},
    ).scalar_one()
