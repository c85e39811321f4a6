"""Refresh intervals: presets (``15m``, ``hourly``, ``daily``, ``weekly``) or a cron expression."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import dagster as dg
from pydantic import AfterValidator

PRESETS: dict[str, str] = {
    "15m": "*/15 * * * *",
    "hourly": "0 * * * *",
    "daily": "0 0 * * *",
    "weekly": "0 0 * * 1",
}


def cron_for(refresh: str) -> str:
    """The cron expression behind a refresh preset or cron string."""
    return PRESETS.get(refresh, refresh)


def partition_format(refresh: str) -> str:
    """Partition key format: dates for daily or slower, minutes for anything faster."""
    minute, hour = cron_for(refresh).split()[:2]
    daily_or_slower = minute.isdigit() and hour.isdigit() and int(minute) == 0 and int(hour) == 0
    return "%Y-%m-%d" if daily_or_slower else "%Y-%m-%d-%H:%M"


def validate_refresh(value: str) -> str:
    """A preset or cron expression that Dagster accepts (raises ValueError otherwise)."""
    value = value.strip()
    cron = cron_for(value)
    if len(cron.split()) != 5:
        raise ValueError(f"{value!r} is neither a preset ({', '.join(PRESETS)}) nor a 5-field cron expression")
    try:
        dg.TimeWindowPartitionsDefinition(
            cron_schedule=cron, start=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), fmt="%Y-%m-%d-%H:%M"
        )
    except Exception as error:  # dagster raises several types for a bad cron string
        raise ValueError(f"{value!r} is not a valid cron expression: {error}") from None
    return value


Refresh = Annotated[str, AfterValidator(validate_refresh)]


def next_tick(refresh: str, now: dt.datetime) -> dt.datetime:
    """The first tick of a refresh preset or cron expression strictly after ``now`` (UTC)."""
    partitions = dg.TimeWindowPartitionsDefinition(
        cron_schedule=cron_for(refresh),
        start=now - dt.timedelta(days=32),
        fmt="%Y-%m-%d-%H:%M",
        timezone="UTC",
    )
    last = partitions.time_window_for_partition_key(partitions.get_partition_keys(current_time=now)[-1])
    return partitions.get_next_partition_window(last.end, respect_bounds=False).end
