"""Refresh intervals: presets (``15m``, ``hourly``, ``daily``, ``weekly``) or a cron expression."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

import dagster as dg
from dagster._vendored.croniter import croniter
from pydantic import AfterValidator

PRESETS: dict[str, str] = {
    "15m": "*/15 * * * *",
    "hourly": "0 * * * *",
    "daily": "0 0 * * *",
    "weekly": "0 0 * * 1",
}
MAX_PARTITIONS = 100_000


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


def partition_count(refresh: str, start: dt.date, now: dt.datetime) -> int:
    """How many partitions a refresh starting at ``start`` (midnight UTC) has by ``now``, counted per day."""
    (minutes, hours, *_), _ = croniter.expand(cron_for(refresh))
    times = sorted(h * 60 + m for h in _values(hours, 0, 23) for m in _values(minutes, 0, 59))
    fires = day_filter(refresh)
    now = now.astimezone(dt.UTC)
    days = (start + dt.timedelta(days=n) for n in range(max((now.date() - start).days, 0)))
    ticks = len(times) * sum(1 for day in days if fires(day))
    if start <= now.date() and fires(now.date()):
        ticks += sum(1 for minute in times if minute <= now.hour * 60 + now.minute)
    return max(ticks - 1, 0)  # a partition lies between two ticks


def day_filter(refresh: str) -> Callable[[dt.date], bool]:
    """Whether the cron's day-of-month, month and day-of-week fields select a day (cron's OR rule)."""
    (_, _, days, months, weekdays), nth = croniter.expand(cron_for(refresh))
    month_set, day_set, weekday_set = _values(months, 1, 12), _values(days, 1, 31), _values(weekdays, 0, 6)
    either = days != ["*"] and weekdays != ["*"]

    def fires(day: dt.date) -> bool:
        if day.month not in month_set:
            return False
        weekday = day.isoweekday() % 7  # cron: 0 is Sunday
        by_day = day.day in day_set or ("l" in days and day.day == calendar.monthrange(day.year, day.month)[1])
        by_weekday = weekday in weekday_set and (weekday not in nth or (day.day - 1) // 7 + 1 in nth[weekday])
        return (by_day or by_weekday) if either else (by_day and by_weekday)

    return fires


def _values(field: list[Any], low: int, high: int) -> set[int]:
    """A croniter-expanded field as numbers (``*`` is every value from ``low`` to ``high``)."""
    return set(range(low, high + 1)) if field == ["*"] else {v for v in field if isinstance(v, int)}


def check_partition_count(refresh: str, start: dt.date, now: dt.datetime | None = None) -> None:
    """Refuse a refresh and start date with more than :data:`MAX_PARTITIONS` partitions by now."""
    count = partition_count(refresh, start, now or dt.datetime.now(dt.UTC))
    if count > MAX_PARTITIONS:
        raise ValueError(
            f"refresh '{refresh}' from {start} makes {count:,} partitions by now (at most {MAX_PARTITIONS:,}); "
            "use a later start or a slower refresh"
        )
