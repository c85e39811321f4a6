"""One time-window partitions definition per audience, from its refresh interval."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from audience_pipelines.config import Audience, DynamicAudience
from audience_pipelines.config.refresh import cron_for, partition_format
from audience_pipelines.warehouse import PartitionRef

STATIC_FORMAT = "%Y-%m-%d"


def audience_partitions(audience: Audience) -> dg.TimeWindowPartitionsDefinition:
    """Dynamic audiences get a partition per refresh tick; a static audience gets one partition.

    The static partition is the day its fixed range ends: it is computed once the range has closed.
    """
    if isinstance(audience, DynamicAudience):
        return dg.TimeWindowPartitionsDefinition(
            cron_schedule=cron_for(audience.refresh),
            start=dt.datetime.combine(audience.start, dt.time(), tzinfo=dt.UTC),
            fmt=partition_format(audience.refresh),
            timezone="UTC",
        )
    end = dt.datetime.combine(audience.range.end, dt.time(), tzinfo=dt.UTC)
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule="0 0 * * *",
        start=end,
        end=end + dt.timedelta(days=1),
        fmt=STATIC_FORMAT,
        timezone="UTC",
    )


def previous_partition(partitions: dg.TimeWindowPartitionsDefinition, start: dt.datetime) -> PartitionRef | None:
    """The partition before the one starting at ``start`` (None for the first partition)."""
    window = partitions.get_prev_partition_window(start)
    if window is None:
        return None
    return PartitionRef(window.start.strftime(partitions.fmt), window.start)
