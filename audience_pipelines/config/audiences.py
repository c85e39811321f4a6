"""Audience definitions: who is in a segment, over which window, refreshed how often."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from audience_pipelines.config.durations import Duration
from audience_pipelines.config.refresh import Refresh, check_partition_count
from audience_pipelines.identity.types import IdentifierType

IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
Name = Annotated[str, Field(pattern=IDENTIFIER_PATTERN, description="lowercase identifier, at most 63 chars")]
ColumnName = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]


WINDOW_PARAMETERS = ("window_start", "window_end")
# SQLAlchemy text(): ":name" is a bind parameter unless preceded by ':', a word character or a backslash,
# or followed by ':' or a word character (so "::" casts and "12:30" are not parameters).
_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?![:\w])")
_CAST_OF_BIND = re.compile(r"(?<![:\w\\]):(\w+)::")
_DOLLAR_TAG = re.compile(r"\$(?:[^\W\d]\w*)?\$")
_LEADING_KEYWORD = re.compile(r"(select|with)\b", re.IGNORECASE)


@dataclass(frozen=True)
class SqlPart:
    """A stretch of SQL text: ``code`` or one literal, quoted identifier or comment."""

    kind: Literal["code", "string", "identifier", "dollar", "line_comment", "block_comment"]
    start: int
    end: int


def split_sql(sql: str) -> list[SqlPart]:
    """Split SQL into code and the literals, quoted identifiers and comments inside it (PostgreSQL rules)."""
    parts: list[SqlPart] = []
    code_start = position = 0
    while position < len(sql):
        found = _quoted_part(sql, position)
        if found is None:
            position += 1
            continue
        if code_start < position:
            parts.append(SqlPart("code", code_start, position))
        parts.append(found)
        code_start = position = found.end
    if code_start < len(sql):
        parts.append(SqlPart("code", code_start, len(sql)))
    return parts


def _quoted_part(sql: str, start: int) -> SqlPart | None:
    """The literal, quoted identifier or comment beginning at ``start``, if one does."""
    char, pair = sql[start], sql[start : start + 2]
    if pair == "--":
        end = sql.find("\n", start)
        return SqlPart("line_comment", start, len(sql) if end < 0 else end)
    if pair == "/*":
        return SqlPart("block_comment", start, _block_comment_end(sql, start))
    if char == "'":
        escapes = start > 0 and sql[start - 1] in "eE" and not _is_word(sql, start - 2)
        return SqlPart("string", start, _quote_end(sql, start, "'", backslash=escapes))
    if char == '"':
        return SqlPart("identifier", start, _quote_end(sql, start, '"', backslash=False))
    if char == "$" and not _is_word(sql, start - 1):
        tag = _DOLLAR_TAG.match(sql, start)
        if tag:
            end = sql.find(tag.group(), tag.end())
            if end < 0:
                raise ValueError(f"unterminated {tag.group()} quoted string starting at {_line_of(sql, start)}")
            return SqlPart("dollar", start, end + len(tag.group()))
    return None


def _is_word(sql: str, index: int) -> bool:
    return index >= 0 and (sql[index].isalnum() or sql[index] in "_$")


def _line_of(sql: str, index: int) -> str:
    return f"line {sql.count(chr(10), 0, index) + 1} of the SQL"


def _quote_end(sql: str, start: int, quote: str, *, backslash: bool) -> int:
    """Index just past the quote closing the one at ``start`` (doubled quotes, and backslashes in E'')."""
    position = start + 1
    while position < len(sql):
        if backslash and sql[position] == "\\":
            position += 2
        elif sql[position] != quote:
            position += 1
        elif sql[position + 1 : position + 2] == quote:
            position += 2
        else:
            return position + 1
    kind = "string literal" if quote == "'" else "quoted identifier"
    raise ValueError(f"unterminated {kind} starting at {_line_of(sql, start)}")


def _block_comment_end(sql: str, start: int) -> int:
    """Index just past the ``*/`` closing the comment at ``start`` (PostgreSQL nests them)."""
    depth, position = 0, start
    while position < len(sql):
        pair = sql[position : position + 2]
        if pair in ("/*", "*/"):
            depth += 1 if pair == "/*" else -1
            position += 2
            if depth == 0:
                return position
        else:
            position += 1
    raise ValueError(f"unterminated /* comment starting at {_line_of(sql, start)}")


def check_audience_sql(sql: str) -> str:
    r"""One SELECT binding only :window_start / :window_end, ready for SQLAlchemy's ``text()``.

    A trailing ``;`` is dropped; a ``:`` that ``text()`` would read as a parameter inside a literal or
    comment is escaped as ``\:`` (``text()`` sends it as a plain ``:``).
    """
    parts = split_sql(sql)
    words = " ".join(sql[p.start : p.end] for p in parts if p.kind == "code")
    if not _LEADING_KEYWORD.match(words.lstrip(" \t\r\n(")):
        raise ValueError("must be a single SELECT (or WITH ... SELECT) statement")
    body = sql[: _statement_end(sql, parts)].rstrip()
    parts = [p for p in parts if p.start < len(body)]
    _check_parameters(body, [p for p in parts if p.kind == "code"])
    ends_in_comment = bool(parts) and parts[-1].kind == "line_comment"
    return _escape_quoted_colons(body, parts).strip() + ("\n" if ends_in_comment else "")


def _statement_end(sql: str, parts: list[SqlPart]) -> int:
    """Where the single statement ends: the first ``;`` outside literals, if only comments follow it."""
    for part in parts:
        semicolon = sql.find(";", part.start, part.end) if part.kind == "code" else -1
        if semicolon < 0:
            continue
        rest = [p for p in parts if p.end > semicolon + 1]
        trailing = "".join(sql[max(p.start, semicolon + 1) : p.end] for p in rest if p.kind == "code")
        if trailing.strip(" \t\r\n;"):
            raise ValueError("must be a single statement (found ';' inside)")
        return semicolon
    return len(sql)


def _check_parameters(sql: str, code: list[SqlPart]) -> None:
    """Only the window parameters may be bound; ``:name::type`` is not a parameter at all."""
    for part in code:
        text = sql[: part.end]
        cast = _CAST_OF_BIND.search(text, part.start)
        if cast:
            raise ValueError(
                f"':{cast.group(1)}::' is not bound (SQLAlchemy skips a name followed by ':'); "
                f"write CAST(:{cast.group(1)} AS ...) instead"
            )
        for match in _BIND.finditer(text, part.start):
            if match.group(1) not in WINDOW_PARAMETERS:
                raise ValueError(
                    f"unknown parameter ':{match.group(1)}' (only :window_start and :window_end are bound; "
                    "escape a literal colon as '\\:')"
                )


def _escape_quoted_colons(sql: str, parts: list[SqlPart]) -> str:
    """``\\:`` before each ``:name`` inside a literal or comment, so ``text()`` does not bind it."""
    pieces, done = [], 0
    for part in parts:
        if part.kind == "code":
            continue
        for match in _BIND.finditer(sql[: part.end], part.start):
            pieces.append(sql[done : match.start()] + "\\")
            done = match.start()
    return "".join(pieces) + sql[done:]


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
    include: list[Name] | None = Field(
        default=None,
        description="build the audience from these audiences' snapshots of the same partition instead of sql",
    )
    combine: Literal["union", "intersection"] = Field(
        default="union", description="members of any include (union) or of every include (intersection)"
    )
    exclude: list[Name] = Field(default_factory=list, description="audiences whose members are left out")
    sql: str | None = Field(
        default=None,
        validate_default=True,
        min_length=1,
        description="SELECT returning one row per member with a member_key column; binds :window_start, "
        ":window_end (stored with a ':' inside literals and comments escaped as '\\:' for SQLAlchemy's text())",
    )
    identifiers: list[IdentifierType] = Field(
        default_factory=list, description="identifier columns the SQL returns and syncs may send"
    )
    traits: list[ColumnName] = Field(default_factory=list, description="other columns syncs may send")
    min_size: int = Field(default=1000, ge=0, description="warn when the audience is smaller")
    max_exit_ratio: float = Field(default=0.5, gt=0, le=1, description="flag a diff removing more than this")
    retention: Duration | None = Field(default=None, description="prune snapshot partitions older than this")
    statement_timeout: Duration = Field(
        default=dt.timedelta(minutes=30), description="longest the audience SQL may run (read-only) per partition"
    )

    @field_validator("include")
    @classmethod
    def _include_names_others(cls, include: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if include is None:
            return None
        if not include:
            raise ValueError("must name at least one audience")
        _refuse_repeats_and_self(include, info)
        return include

    @field_validator("combine")
    @classmethod
    def _combine_needs_include(cls, combine: str, info: ValidationInfo) -> str:
        if combine != "union" and info.data.get("include") is None and "include" in info.data:
            raise ValueError("only applies to an audience built with 'include'")  # union: the default, harmless
        return combine

    @field_validator("exclude")
    @classmethod
    def _exclude_needs_include(cls, exclude: list[str], info: ValidationInfo) -> list[str]:
        include = info.data.get("include")
        if exclude and include is None and "include" in info.data:
            raise ValueError("only applies to an audience built with 'include' (a SQL audience excludes in its SQL)")
        _refuse_repeats_and_self(exclude, info)
        both = sorted(set(exclude) & set(include or ()))
        if both:
            raise ValueError(f"{', '.join(both)} cannot be both included and excluded")
        return exclude

    @field_validator("sql")
    @classmethod
    def _select_only(cls, sql: str | None, info: ValidationInfo) -> str | None:
        if "include" not in info.data:
            return sql  # 'include' is invalid and reported; whether sql was also needed is unknown
        if sql is None and info.data["include"] is None:
            raise ValueError("Field required (or build the audience from others with 'include')")
        if sql is not None and info.data["include"] is not None:
            raise ValueError("an audience has either 'sql' or 'include', not both")
        return None if sql is None else check_audience_sql(sql)

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

    @property
    def is_combined(self) -> bool:
        """Built from other audiences' snapshots (``include``/``exclude``) rather than from SQL."""
        return self.include is not None

    @property
    def inputs(self) -> list[str]:
        """The audiences whose snapshots a combined audience reads: includes, then excludes."""
        return [*(self.include or ()), *self.exclude]


class DynamicAudience(AudienceBase):
    """Membership over a rolling window, evaluated as of each partition's end."""

    type: Literal["dynamic"]
    refresh: Refresh
    window: Duration | None = Field(
        default=None, validate_default=True, description="how far back the SQL looks from each partition's end"
    )
    start: dt.date = Field(description="first partition's start date (UTC)")

    @field_validator("window")
    @classmethod
    def _window_for_sql_only(cls, window: dt.timedelta | None, info: ValidationInfo) -> dt.timedelta | None:
        if "include" not in info.data:
            return window
        if window is None and info.data["include"] is None:
            raise ValueError("Field required")
        if window is not None and info.data["include"] is not None:
            raise ValueError(
                "an audience built with 'include' has no window: it reads its inputs' snapshots of the same partition"
            )
        return window

    @field_validator("start")
    @classmethod
    def _bounded_partitions(cls, start: dt.date, info: ValidationInfo) -> dt.date:
        if info.data.get("refresh"):
            check_partition_count(info.data["refresh"], start)
        return start


class StaticAudience(AudienceBase):
    """Membership over a fixed date range: computed once, never changes."""

    type: Literal["static"]
    range: DateRange


def _refuse_repeats_and_self(names: list[str], info: ValidationInfo) -> None:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{', '.join(repeated)} listed twice")
    if info.data.get("name") in names:
        raise ValueError(f"audience '{info.data['name']}' cannot be built from itself")


Audience = Annotated[DynamicAudience | StaticAudience, Field(discriminator="type")]
