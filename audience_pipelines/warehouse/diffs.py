"""Diffs between consecutive snapshot partitions: who entered and who exited, computed in SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from audience_pipelines.warehouse.schema import SCHEMA
from audience_pipelines.warehouse.snapshot_tables import partition_table
from audience_pipelines.warehouse.snapshots import SAMPLE_SIZE, newest_snapshot_before, snapshot_exists


class MissingSnapshotError(Exception):
    """A diff was asked for while one of the two snapshots it compares does not exist."""


@dataclass(frozen=True)
class PartitionRef:
    """A time partition: its Dagster key and its start."""

    key: str
    start: dt.datetime


@dataclass(frozen=True)
class DiffResult:
    """The change between a snapshot partition and the one before it."""

    member_count: int
    previous_member_count: int
    entered: int
    exited: int
    sample_entered: list[str]
    sample_exited: list[str]
    #: the partition actually diffed against (an earlier one when partitions in between were never built)
    previous: PartitionRef | None = None
    gap: bool = False

    @property
    def exit_ratio(self) -> float:
        """Share of the previous membership that left (0 when there was none)."""
        return self.exited / self.previous_member_count if self.previous_member_count else 0.0


def _changes_sql(audience: str, current: dt.datetime, previous: dt.datetime | None) -> str:
    """Who entered and who exited, from one pass over each of the two partitions' tables (named, so nothing else
    is read and their row counts are known), merged by member key: the changes are written in key order."""
    current_rows = f"select member_key from {SCHEMA}.{partition_table(audience, current)}"
    previous_rows = (
        f"select member_key from {SCHEMA}.{partition_table(audience, previous)}"
        if previous is not None
        else "select null::text as member_key where false"
    )
    return f"""
        insert into {SCHEMA}.membership_changes (audience, partition_start, member_key, change)
        select :audience, :current_start, coalesce(c.member_key, p.member_key),
               case when p.member_key is null then 'entered' else 'exited' end
        from ({current_rows}) c full join ({previous_rows}) p on p.member_key = c.member_key
        where c.member_key is null or p.member_key is null
    """


def materialize_diff(
    engine: sa.Engine,
    audience: str,
    current: PartitionRef,
    previous: PartitionRef | None,
    *,
    run_id: str | None = None,
) -> DiffResult:
    """Replace the diff of ``current`` against ``previous`` (None for an audience's first partition).

    When the previous partition's snapshot was never built (the scheduler was down for a while) the diff is
    taken against the newest earlier snapshot and marked as a gap, so the pipeline carries on by itself. With
    no earlier snapshot at all it raises :class:`MissingSnapshotError`: a gap in history is never read as a
    diff in which everyone left.
    """
    gap = False
    with engine.begin() as conn:
        conn.execute(
            sa.text("select pg_advisory_xact_lock(hashtext(:k))"),
            {"k": f"{SCHEMA}.membership_changes:{audience}:{current.start.isoformat()}"},
        )
        member_count = snapshot_exists(conn, audience, current.start)
        if member_count is None:
            raise MissingSnapshotError(
                f"audience '{audience}': snapshot partition {current.key} has not been materialized; "
                "materialize it before its diff"
            )
        previous_count = 0
        if previous is not None:
            found = snapshot_exists(conn, audience, previous.start)
            if found is None:
                earlier = newest_snapshot_before(conn, audience, current.start)
                if earlier is None:
                    raise MissingSnapshotError(
                        f"audience '{audience}': the previous snapshot partition {previous.key} was never "
                        f"materialized (or was pruned), so the diff of {current.key} cannot be computed; "
                        f"backfill {previous.key} first"
                    )
                previous, found, gap = PartitionRef(earlier[0], earlier[1]), earlier[2], True
            previous_count = found
        params = {
            "audience": audience,
            "current_start": current.start,
            "previous_start": previous.start if previous else None,
        }
        for table in ("membership_changes", "diff_partitions"):
            conn.execute(
                sa.text(
                    f"delete from {SCHEMA}.{table} where audience = :audience and partition_start = :current_start"
                ),
                params,
            )
        conn.execute(sa.text(_changes_sql(audience, current.start, previous.start if previous else None)), params)
        counts = conn.execute(
            sa.text(
                f"""select count(*) filter (where change = 'entered') as entered,
                           count(*) filter (where change = 'exited') as exited
                    from {SCHEMA}.membership_changes
                    where audience = :audience and partition_start = :current_start"""
            ),
            params,
        ).one()
        changed = {"entered": counts.entered, "exited": counts.exited}
        conn.execute(
            sa.text(
                f"""insert into {SCHEMA}.diff_partitions (audience, partition_key, partition_start,
                        previous_partition_start, member_count, previous_member_count, entered, exited,
                        run_id)
                    values (:audience, :key, :current_start, :previous_start, :member_count,
                            :previous_count, :entered, :exited, :run_id)"""
            ),
            {
                **params,
                "key": current.key,
                "member_count": member_count,
                "previous_count": previous_count,
                "entered": counts.entered,
                "exited": counts.exited,
                "run_id": run_id,
            },
        )
        samples = {
            change: list(
                conn.execute(
                    sa.text(
                        f"""select member_key from {SCHEMA}.membership_changes
                            where audience = :audience and partition_start = :current_start
                              and change = :change order by member_key limit :n"""
                    ),
                    {**params, "change": change, "n": SAMPLE_SIZE},
                ).scalars()
            )
            if changed[change]
            else []
            for change in ("entered", "exited")
        }
    return DiffResult(
        member_count=member_count,
        previous_member_count=previous_count,
        entered=counts.entered,
        exited=counts.exited,
        sample_entered=samples["entered"],
        sample_exited=samples["exited"],
        previous=previous,
        gap=gap,
    )


def diff_summaries(conn: sa.Connection, audience: str) -> list[sa.Row]:
    """Per diff partition of an audience, oldest first: partition_key, member_count, entered, exited."""
    return conn.execute(
        sa.text(
            f"""select partition_key, member_count, entered, exited from {SCHEMA}.diff_partitions
                where audience = :audience order by partition_start"""
        ),
        {"audience": audience},
    ).all()
