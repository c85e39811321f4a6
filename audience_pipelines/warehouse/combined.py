"""Combined audiences: set algebra over other audiences' snapshots of the same partition, in SQL."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from audience_pipelines.config import Audience
from audience_pipelines.warehouse.schema import SCHEMA


class MissingInputSnapshotError(Exception):
    """A combined audience's input has no snapshot for the partition: never read as an empty audience."""


def _member_of(alias: str, param: str) -> str:
    """``exists`` test: the member ``m`` is in the snapshot of audience ``:param`` for this partition."""
    return (
        f"exists (select 1 from {SCHEMA}.snapshot_members {alias} where {alias}.audience = :{param} "
        f"and {alias}.partition_start = :partition_start and {alias}.member_key = m.member_key)"
    )


def combined_members_sql(audience: Audience) -> tuple[str, dict[str, str]]:
    """The insert filling ``pg_temp.audience_rows`` and its audience-name parameters.

    Union: each include contributes the members no earlier include holds, so a member's attributes come from
    the first include (in the order listed) that holds it. Intersection: the first include's members that every
    other include holds. Either way, members of any excluded audience are left out.
    """
    include, exclude = audience.include or [], audience.exclude
    params = {f"include_{i}": name for i, name in enumerate(include)}
    params.update({f"exclude_{i}": name for i, name in enumerate(exclude)})
    attributes = ", ".join(f"'{c}', m.attributes -> '{c}'" for c in audience.columns)
    excluded = [f"not {_member_of(f'x{i}', f'exclude_{i}')}" for i in range(len(exclude))]

    def part(position: int, conditions: list[str]) -> str:
        where = " and ".join([f"m.audience = :include_{position}", "m.partition_start = :partition_start"])
        return (
            f"select m.member_key, jsonb_strip_nulls(jsonb_build_object({attributes})) "
            f"from {SCHEMA}.snapshot_members m where {' and '.join([where, *conditions, *excluded])}"
        )

    if audience.combine == "intersection":
        others = [_member_of(f"i{i}", f"include_{i}") for i in range(1, len(include))]
        select = part(0, others)
    else:
        select = "\nunion all\n".join(
            part(p, [f"not {_member_of(f'i{i}', f'include_{i}')}" for i in range(p)]) for p in range(len(include))
        )
    return f"insert into pg_temp.audience_rows (member_key, attributes)\n{select}", params


def collect_combined_members(
    conn: sa.Connection, audience: Audience, partition_key: str, partition_start: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """Fill ``pg_temp.audience_rows`` from the inputs' snapshots of this partition; their widest window.

    Call it before any query of the caller's transaction: it makes the transaction REPEATABLE READ, so the
    snapshots it checked are the ones it reads. Raises :class:`MissingInputSnapshotError` naming every input
    not materialized for the partition.
    """
    conn.execute(sa.text("set transaction isolation level repeatable read"))
    rows = conn.execute(
        sa.text(
            f"""select audience, window_start, window_end from {SCHEMA}.snapshot_partitions
                where audience = any(:inputs) and partition_start = :partition_start"""
        ),
        {"inputs": audience.inputs, "partition_start": partition_start},
    ).all()
    missing = [name for name in audience.inputs if name not in {row.audience for row in rows}]
    if missing:
        raise MissingInputSnapshotError(
            f"audience '{audience.name}': input audience(s) {', '.join(missing)} have no snapshot for partition "
            f"{partition_key} (never materialized, or pruned); materialize them first"
        )
    sql, params = combined_members_sql(audience)
    conn.execute(sa.text(sql), {**params, "partition_start": partition_start})
    included = [row for row in rows if row.audience in (audience.include or ())]
    return min(r.window_start for r in included), max(r.window_end for r in included)
