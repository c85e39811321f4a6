"""Audience snapshots: membership as of a partition's end, computed inside the warehouse."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import sqlalchemy as sa

from audience_pipelines.config import Audience, DynamicAudience
from audience_pipelines.warehouse.combined import collect_combined_members
from audience_pipelines.warehouse.people import drop_suppressed
from audience_pipelines.warehouse.schema import SCHEMA
from audience_pipelines.warehouse.snapshot_tables import (
    attach_partition_table,
    drop_partition_table,
    ensure_audience_table,
    load_partition_table,
    partition_table,
)

SAMPLE_SIZE = 5


class AudienceSqlError(Exception):
    """An audience's SQL failed or returned the wrong shape; the message names the audience."""


@dataclass(frozen=True)
class Window:
    """The half-open time range ``[start, end)`` an audience's SQL is evaluated over."""

    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class SnapshotResult:
    """What one snapshot partition holds."""

    member_count: int
    identifier_counts: dict[str, int]
    sample_member_keys: list[str]
    window: Window


def audience_window(audience: Audience, partition_end: dt.datetime) -> Window:
    """Dynamic audiences look back ``window`` from the partition end; static ones use their fixed range."""
    if isinstance(audience, DynamicAudience):
        return Window(partition_end - audience.window, partition_end)
    start = dt.datetime.combine(audience.range.start, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(audience.range.end, dt.time(), tzinfo=dt.UTC)
    return Window(start, end)


def _query_params(window: Window) -> dict[str, dt.datetime]:
    return {"window_start": window.start, "window_end": window.end}


def _sql_failure(audience: Audience, error: sa.exc.DBAPIError, when: str) -> AudienceSqlError:
    """The audience SQL's error by PostgreSQL code and class: drivers quote the values a query touched (an email
    in ``invalid input syntax``) and the statement, so only syntax errors, which quote the SQL, say more."""
    code = getattr(error.orig, "pgcode", None) or "no code"
    detail = ""
    diag = getattr(error.orig, "diag", None)
    if code.startswith("42") and diag is not None and diag.message_primary:  # syntax / undefined names
        detail = f": {diag.message_primary}"
    hint = " (its statement_timeout ran out)" if code == "57014" else ""
    return AudienceSqlError(
        f"audience '{audience.name}': its SQL failed {when}: PostgreSQL error {code} "
        f"({type(error.orig).__name__}){detail}{hint}; the server's log has the full error"
    )


def _check_columns(conn: sa.Connection, audience: Audience, window: Window) -> None:
    try:
        result = conn.execute(sa.text(f"select * from ({audience.sql}) q limit 0"), _query_params(window))
    except sa.exc.DBAPIError as error:
        raise _sql_failure(audience, error, "to plan") from None
    returned = set(result.keys())
    missing = [c for c in ["member_key", *audience.columns] if c not in returned]
    if missing:
        raise AudienceSqlError(
            f"audience '{audience.name}': its SQL does not return the declared column(s) "
            f"{', '.join(missing)} (it returns: {', '.join(sorted(returned))})"
        )


def _read_only(conn: sa.Connection, audience: Audience) -> None:
    """The audience SQL cannot write or call side-effecting functions, and cannot run forever."""
    conn.execute(sa.text("set transaction read only"))
    milliseconds = max(1, int(audience.statement_timeout.total_seconds() * 1000))
    conn.execute(sa.text(f"set local statement_timeout = {milliseconds}"))


def _evaluate_sql(audience: Audience) -> str:
    """Members into the session's temporary table (the one table a read-only transaction may write)."""
    attributes = ", ".join(f"'{c}', q.\"{c}\"" for c in audience.columns)
    return f"""
        insert into pg_temp.audience_rows (member_key, attributes)
        select q.member_key::text, jsonb_strip_nulls(jsonb_build_object({attributes}))
        from ({audience.sql}) q
    """


def _collect_members(
    conn: sa.Connection,
    audience: Audience,
    partition_key: str,
    partition_start: dt.datetime,
    partition_end: dt.datetime,
) -> Window:
    """Members into ``pg_temp.audience_rows``, from the audience's SQL or its inputs' snapshots; the window."""
    if audience.is_combined:
        return Window(*collect_combined_members(conn, audience, partition_key, partition_start))
    window = audience_window(audience, partition_end)
    _check_columns(conn, audience, window)
    conn.execute(sa.text(_evaluate_sql(audience)), _query_params(window))
    return window


def _identifier_counts_sql(audience: Audience, table: str) -> str:
    """Members and members with each identifier, counted over what was stored."""
    present = "".join(
        f", count(*) filter (where nullif(btrim(attributes ->> '{c}'), '') is not null) as \"{c}\""
        for c in map(str, audience.identifiers)
    )
    return f"select count(*) as member_count{present} from {SCHEMA}.{table}"


def materialize_snapshot(
    engine: sa.Engine,
    audience: Audience,
    *,
    partition_key: str,
    partition_start: dt.datetime,
    partition_end: dt.datetime,
    run_id: str | None = None,
) -> SnapshotResult:
    """Replace one snapshot partition with the audience's membership as of ``partition_end``."""
    with engine.connect() as conn:  # one session: its temporary table outlives the read-only transaction
        with conn.begin():
            conn.execute(sa.text("drop table if exists pg_temp.audience_rows"))
            conn.execute(sa.text("create temporary table audience_rows (member_key text, attributes jsonb)"))
        try:
            with conn.begin():
                _read_only(conn, audience)
                window = _collect_members(conn, audience, partition_key, partition_start, partition_end)
        except sa.exc.DBAPIError as error:
            raise _sql_failure(audience, error, "at run time") from None
        try:
            with conn.begin():
                ensure_audience_table(conn, audience.name)
            with conn.begin():
                drop_suppressed(conn)  # forgotten people never re-enter a snapshot
                result = _replace_partition(
                    conn, audience, partition_start, window, partition_key, partition_end, run_id
                )
        finally:
            with conn.begin():
                conn.execute(sa.text("drop table if exists pg_temp.audience_rows"))
        return result


def _replace_partition(
    conn: sa.Connection,
    audience: Audience,
    partition_start: dt.datetime,
    window: Window,
    partition_key: str,
    partition_end: dt.datetime,
    run_id: str | None,
) -> SnapshotResult:
    """Swap the partition's members for the evaluated ones, with its counts, in one transaction."""
    keys = {"_audience": audience.name, "_partition_start": partition_start}
    conn.execute(
        sa.text("select pg_advisory_xact_lock(hashtext(:k))"),
        {"k": f"{SCHEMA}.{partition_table(audience.name, partition_start)}"},
    )
    try:
        loaded = load_partition_table(
            conn, audience.name, partition_start, "select member_key, attributes from pg_temp.audience_rows", {}
        )
    except sa.exc.IntegrityError as error:
        raise AudienceSqlError(
            f"audience '{audience.name}': its SQL must return one row per member with a non-null "
            f"member_key ({error.orig.diag.message_primary})"
        ) from None
    counts = dict(conn.execute(sa.text(_identifier_counts_sql(audience, loaded))).mappings().one())
    member_count = int(counts.pop("member_count"))
    identifier_counts = {name: int(value) for name, value in counts.items()}
    sample = conn.execute(
        sa.text(f"select member_key from {SCHEMA}.{loaded} order by member_key limit :n"), {"n": SAMPLE_SIZE}
    ).scalars()
    sample_member_keys = list(sample)
    conn.execute(
        sa.text(
            f"delete from {SCHEMA}.snapshot_partitions where audience = :_audience "
            "and partition_start = :_partition_start"
        ),
        keys,
    )
    conn.execute(
        sa.text(
            f"""insert into {SCHEMA}.snapshot_partitions
                (audience, partition_key, partition_start, partition_end, window_start, window_end,
                 member_count, identifier_counts, run_id)
                values (:_audience, :partition_key, :_partition_start, :partition_end, :window_start,
                        :window_end, :member_count, cast(:identifier_counts as jsonb), :run_id)"""
        ),
        {
            **keys,
            **_query_params(window),
            "partition_key": partition_key,
            "partition_end": partition_end,
            "member_count": member_count,
            "identifier_counts": json.dumps(identifier_counts, sort_keys=True),
            "run_id": run_id,
        },
    )
    attach_partition_table(conn, audience.name, partition_start, loaded)  # last: it may lock out readers
    return SnapshotResult(member_count, identifier_counts, sample_member_keys, window)


def newest_snapshot_before(
    conn: sa.Connection, audience: str, before: dt.datetime
) -> tuple[str, dt.datetime, int] | None:
    """(partition key, start, member count) of the newest snapshot of an audience older than ``before``."""
    row = conn.execute(
        sa.text(
            f"""select partition_key, partition_start, member_count from {SCHEMA}.snapshot_partitions
                where audience = :audience and partition_start < :before
                order by partition_start desc limit 1"""
        ),
        {"audience": audience, "before": before},
    ).one_or_none()
    return (row[0], row[1], int(row[2])) if row else None


def snapshot_exists(conn: sa.Connection, audience: str, partition_start: dt.datetime) -> int | None:
    """The member count of a materialized snapshot partition, or None when it was never built (or pruned)."""
    return conn.execute(
        sa.text(
            f"select member_count from {SCHEMA}.snapshot_partitions "
            "where audience = :audience and partition_start = :partition_start"
        ),
        {"audience": audience, "partition_start": partition_start},
    ).scalar_one_or_none()


def prune_snapshots(engine: sa.Engine, audience: str, keep: dt.timedelta) -> int:
    """Delete snapshot partitions older than ``keep`` before the newest one, once the next diff has used them.

    Returns how many partitions were pruned. The newest snapshot and any snapshot a later diff still
    needs are always kept, so pruning never turns into an "everyone left" diff.
    """
    with engine.begin() as conn:
        doomed = (
            conn.execute(
                sa.text(
                    f"""
                    select p.partition_start from {SCHEMA}.snapshot_partitions p
                    where p.audience = :audience
                      and p.partition_start < (select max(partition_start) - :keep
                                               from {SCHEMA}.snapshot_partitions where audience = :audience)
                      and exists (select 1 from {SCHEMA}.diff_partitions d where d.audience = :audience
                                  and d.previous_partition_start = p.partition_start)
                    """
                ),
                {"audience": audience, "keep": keep},
            )
            .scalars()
            .all()
        )
        conn.execute(
            sa.text(
                f"delete from {SCHEMA}.snapshot_partitions "
                "where audience = :audience and partition_start = any(:starts)"
            ),
            {"audience": audience, "starts": doomed},
        )
        for partition_start in doomed:  # a table dropped, not rows deleted
            drop_partition_table(conn, audience, partition_start)
        return len(doomed)
