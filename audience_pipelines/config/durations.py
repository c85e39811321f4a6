"""Durations written as ``30s``, ``15m``, ``12h``, ``7d`` or ``2w``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d{1,9})\s*([smhdw])\s*$")
LONGEST = dt.timedelta(days=36_600)


def parse_duration(value: object) -> dt.timedelta:
    """Parse ``"7d"`` style text (or pass a timedelta through)."""
    if isinstance(value, dt.timedelta):
        return value
    match = _PATTERN.match(str(value))
    shown = repr(value) if len(str(value)) <= 40 else repr(f"{str(value)[:37]}...")
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{shown} is not a duration; use a positive number and a unit: 30s, 15m, 12h, 7d, 2w")
    amount, unit = int(match.group(1)), match.group(2)
    if amount * _SECONDS[unit] > LONGEST.total_seconds():
        raise ValueError(f"{shown} is longer than {LONGEST.days:,} days (about 100 years)")
    return dt.timedelta(**{_UNITS[unit]: amount})


def format_duration(value: dt.timedelta) -> str:
    """The shortest ``<n><unit>`` text for a timedelta."""
    seconds = int(value.total_seconds())
    for suffix, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{suffix}"
    return f"{seconds}s"


Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration)]
