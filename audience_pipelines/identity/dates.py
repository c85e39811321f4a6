"""Dates of birth: a date, a year-first string, or its parts, as Meta's ``YYYY`` / ``MM`` / ``DD``."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from audience_pipelines.identity import tables
from audience_pipelines.identity.text import Normalized, objects, reject, text, words
from audience_pipelines.identity.types import INVALID_DATE

_OLDEST_YEAR = 1900


def _split_dates(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """(YYYY, MM, DD, is_date) for year-first dates: ``1985-03-07``, ``1985/3/7``, ``19850307``, with an
    optional time after the date (so ``date``/``datetime``/``Timestamp`` objects, printed, qualify). Other
    orders (``03/07/1985``) are ambiguous and are not dates here. A date must exist on the calendar, be in
    the past and not before 1900."""
    dashed = values.str.extract(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T\s].*)?$")
    compact = values.str.extract(r"^(\d{4})(\d{2})(\d{2})$")
    parts = dashed.where(dashed[0].notna(), compact)
    year, month, day = parts[0], parts[1].str.zfill(2), parts[2].str.zfill(2)
    parsed = pd.to_datetime(year + "-" + month + "-" + day, format="%Y-%m-%d", errors="coerce")
    ok = parsed.notna() & (parsed.dt.year >= _OLDEST_YEAR) & (parsed <= pd.Timestamp(dt.date.today()))
    return objects(year), objects(month), objects(day), ok


def date_parts(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """A date of birth (a ``date`` or year-first text) split into (``YYYY``, ``MM``, ``DD``, reasons)."""
    out, reasons = text(values)
    year, month, day, ok = _split_dates(out)
    _, reasons = reject(out, reasons, ok, INVALID_DATE)
    kept = reasons.isna()
    return year.where(kept, None), month.where(kept, None), day.where(kept, None), reasons


def date_of_birth(values: pd.Series) -> Normalized:
    """``YYYYMMDD`` (Meta Conversions API ``db``)."""
    year, month, day, reasons = date_parts(values)
    return objects(year + month + day), reasons


def dob_year(values: pd.Series) -> Normalized:
    """``YYYY``, from a year or from a full date; 1900 up to this year."""
    out, reasons = text(values)
    year, _, _, is_date = _split_dates(out)
    year = objects(year.where(is_date, out.str.extract(r"^(\d{4})$")[0]))
    number = pd.to_numeric(year, errors="coerce")
    return reject(year, reasons, number.between(_OLDEST_YEAR, dt.date.today().year), INVALID_DATE)


_MONTHS = frozenset(f"{n:02d}" for n in range(1, 13))
_DAYS = frozenset(f"{n:02d}" for n in range(1, 32))


def dob_month(values: pd.Series) -> Normalized:
    """``MM`` (``01``-``12``), from a number, an English month name or a full date."""
    out, reasons = text(values)
    _, month, _, is_date = _split_dates(out)
    number = out.str.extract(r"^(\d{1,2})$")[0].str.zfill(2)
    named = words(out).map(tables.MONTHS)
    month = objects(month.where(is_date, number.where(number.notna(), named)))
    return reject(month, reasons, month.isin(_MONTHS), INVALID_DATE)


def dob_day(values: pd.Series) -> Normalized:
    """``DD`` (``01``-``31``), from a number or a full date."""
    out, reasons = text(values)
    _, _, day, is_date = _split_dates(out)
    day = objects(day.where(is_date, out.str.extract(r"^(\d{1,2})$")[0].str.zfill(2)))
    return reject(day, reasons, day.isin(_DAYS), INVALID_DATE)
