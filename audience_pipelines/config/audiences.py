"""Audience definitions: who is in a segment, over which window, refreshed how often."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from audience_pipelines.config.durations import Duration
from audience_pipelines.config.refresh import Refresh
from audience_pipelines.identity.types import IdentifierType

IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
Name = Annotated[str, Field(pattern=IDENTIFIER_PATTERN, description="lowercase identifier, at most 63 chars")]
ColumnName = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DateRange(StrictModel):
    """A fixed, half-open date range ``[start, end)`` in UTC."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class AudienceBase(StrictModel):
    """Fields shared by dynamic and static audiences."""

    name: Name
    description: str = ""
    status: Literal["draft", "active", "paused"] = "active"
    sql: str = Field(min_length=1, description="SELECT returning one row per member with a member_key column")
    identifiers: list[IdentifierType] = Field(
        default_factory=list, description="identifier columns the SQL returns and syncs may send"
    )
    traits: list[ColumnName] = Field(default_factory=list, description="other columns syncs may send")
    min_size: int = Field(default=1000, ge=0, description="warn when the audience is smaller")
    max_exit_ratio: float = Field(default=0.5, gt=0, le=1, description="flag a diff removing more than this")
    retention: Duration | None = Field(default=None, description="prune snapshot partitions older than this")

    @field_validator("sql")
    @classmethod
    def _select_only(cls, sql: str) -> str:
        if not re.match(r"^\s*(\(\s*)*(select|with)\b", sql, flags=re.IGNORECASE):
            raise ValueError("must be a single SELECT (or WITH ... SELECT) statement")
        if ";" in sql.strip().rstrip(";"):
            raise ValueError("must be a single statement (found ';' inside)")
        return sql.strip().rstrip(";")

    @model_validator(mode="after")
    def _distinct_columns(self) -> AudienceBase:
        columns = [str(i) for i in self.identifiers] + list(self.traits)
        duplicates = sorted({c for c in columns if columns.count(c) > 1})
        if duplicates:
            raise ValueError(f"columns listed twice in identifiers/traits: {', '.join(duplicates)}")
        if "member_key" in columns:
            raise ValueError("member_key is always stored; do not list it in identifiers or traits")
        return self

    @property
    def columns(self) -> list[str]:
        """Columns stored in each snapshot besides member_key."""
        return [str(i) for i in self.identifiers] + list(self.traits)

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class DynamicAudience(AudienceBase):
    """Membership over a rolling window, evaluated as of each partition's end."""

    type: Literal["dynamic"]
    refresh: Refresh
    window: Duration
    start: dt.date = Field(description="first partition's start date (UTC)")


class StaticAudience(AudienceBase):
    """Membership over a fixed date range: computed once, never changes."""

    type: Literal["static"]
    range: DateRange


Audience = Annotated[DynamicAudience | StaticAudience, Field(discriminator="type")]
