"""Audience snapshots: membership as of a partition's end, computed inside the warehouse."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from audience_pipelines.config import Audience, DynamicAudience
from audience_pipelines.warehouse.combined import collect_combined_members
from audience_pipelines.warehouse.people import drop_suppressed
from audience_pipelines.warehouse.schema import SCHEMA
from audience_pipelines.warehouse.snapshot_tables import (
    ATTRIBUTES_FINGERPRINT_SQL,
    attach_partition_table,
    drop_partition_table,
    ensure_audience_table,
    freeze_partition_table,
    load_partition_table,
    partition_table,
)

SAMPLE_SIZE = 5
#: a session's memory for its temporary table, taken as it fills: about 120 bytes a member, so up to 2 million
#: members are evaluated without writing their rows out and reading them back
TEMP_BUFFERS = "256MB"
INVALID_PARAMETER_VALUE = "22023"


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


def _check_columns(conn: sa.Connection, audience: Audience, window: Window) -> dict[str, int]:
    """The type (oid) of each column the audience's SQL returns, once it is known to return the declared ones."""
    try:
        result = conn.execute(sa.text(f"select * from ({audience.sql}) q limit 0"), _query_params(window))
    except sa.exc.DBAPIError as error:
        raise _sql_failure(audience, error, "to plan") from None
    types = {column[0]: column[1] for column in result.cursor.description}
    missing = [c for c in ["member_key", *audience.columns] if c not in types]
    if missing:
        raise AudienceSqlError(
            f"audience '{audience.name}': its SQL does not return the declared column(s) "
            f"{', '.join(missing)} (it returns: {', '.join(sorted(types))})"
        )
    return types


def _read_only(conn: sa.Connection, audience: Audience) -> None:
    """The audience SQL cannot write or call side-effecting functions, and cannot run forever."""
    conn.execute(sa.text("set transaction read only"))
    milliseconds = max(1, int(audience.statement_timeout.total_seconds() * 1000))
    conn.execute(sa.text(f"set local statement_timeout = {milliseconds}"))


def _scalar_columns(conn: sa.Connection, types: dict[str, int]) -> set[str]:
    """Columns whose values become JSON strings, numbers or booleans (never an object or array holding nulls)."""
    scalar = set(
        conn.execute(
            sa.text(
                "select oid from pg_type where oid = any(:oids) and typtype = 'b' "
                "and typcategory in ('B', 'D', 'N', 'S', 'T')"
            ),
            {"oids": list(set(types.values()))},
        ).scalars()
    )
    return {name for name, oid in types.items() if oid in scalar}


def _attributes_sql(conn: sa.Connection, audience: Audience, scalar: set[str]) -> str:
    """The row's attributes as jsonb without null values, as ``jsonb_strip_nulls(jsonb_build_object(...))`` gives.

    ``json_object(... absent on null)`` (PostgreSQL 16+) leaves SQL nulls out as it builds, at a third less cost;
    it matches the stripped object exactly when every column is a scalar, so nested values are still stripped.
    """
    if not audience.columns:
        return "'{}'::jsonb"
    if conn.dialect.server_version_info < (16,):
        pairs = ", ".join(f"'{c}', q.\"{c}\"" for c in audience.columns)
        return f"jsonb_strip_nulls(jsonb_build_object({pairs}))"
    pairs = ", ".join(f"'{c}': q.\"{c}\"" for c in audience.columns)
    built = f"json_object({pairs} absent on null returning jsonb)"
    return built if scalar.issuperset(audience.columns) else f"jsonb_strip_nulls({built})"


def _identifiers_present_sql(audience: Audience, scalar: set[str]) -> str:
    """A bitmask of the identifiers the row has (bit i: ``identifiers[i]`` is not blank), read from the columns.

    Same test as ``nullif(btrim(attributes ->> c), '') is not null`` on the stored row, without parsing it.
    """
    bits = []
    for i, column in enumerate(map(str, audience.identifiers)):
        value = f'q."{column}"'
        text = f"{value}::text" if column in scalar else f"to_jsonb({value}) #>> '{{}}'"
        bits.append(f"case when nullif(btrim({text}), '') is not null then {1 << i} else 0 end")
    return " + ".join(bits) if bits else "0"


def _evaluate_sql(conn: sa.Connection, audience: Audience, types: dict[str, int]) -> str:
    """Members into the session's temporary table (the one table a read-only transaction may write), each with
    its attributes, their fingerprint and identifier bitmask, in member-key order: the form they are stored in."""
    scalar = _scalar_columns(conn, types)
    fingerprint = ATTRIBUTES_FINGERPRINT_SQL.format(attributes="r.attributes")
    return f"""
        insert into pg_temp.audience_rows (member_key, attributes, attributes_fingerprint, identifiers_present)
        select r.member_key, r.attributes, {fingerprint}, r.identifiers_present
        from (select q.member_key::text as member_key, {_attributes_sql(conn, audience, scalar)} as attributes,
                     {_identifiers_present_sql(audience, scalar)} as identifiers_present
              from ({audience.sql}) q
              offset 0) r  -- keeps the attributes built once per row
        order by r.member_key collate "C"
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
    types = _check_columns(conn, audience, window)
    conn.execute(sa.text(_evaluate_sql(conn, audience, types)), _query_params(window))
    return window


def _identifier_counts_sql(audience: Audience) -> str:
    """Members and members with each identifier, counted over the rows about to be stored (a combined audience's
    rows carry no bitmask: their attributes are read)."""
    present = "".join(
        f", count(*) filter (where coalesce(identifiers_present & {1 << i} <> 0, "
        f"nullif(btrim(attributes ->> '{c}'), '') is not null)) as \"{c}\""
        for i, c in enumerate(map(str, audience.identifiers))
    )
    return f"select count(*) as member_count{present} from pg_temp.audience_rows"


@contextlib.contextmanager
def _snapshot_session(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A session whose temporary table stays in memory up to ``TEMP_BUFFERS``, closed afterwards so that memory
    goes back (a session that already used temporary tables keeps its size: it can no longer change)."""
    with engine.connect() as conn:
        try:
            with conn.begin():
                conn.execute(sa.text(f"set temp_buffers = '{TEMP_BUFFERS}'"))
        except sa.exc.DBAPIError as error:
            if getattr(error.orig, "pgcode", None) != INVALID_PARAMETER_VALUE:
                raise
        try:
            yield conn
        finally:
            conn.invalidate()


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
    with _snapshot_session(engine) as conn:  # its temporary table outlives the read-only transaction
        with conn.begin():
            conn.execute(sa.text("drop table if exists pg_temp.audience_rows"))
            conn.execute(
                sa.text(
                    """create temporary table audience_rows (member_key text collate "C", attributes jsonb,
                           attributes_fingerprint bigint, identifiers_present bigint)"""
                )
            )
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
        conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
        with conn.begin():
            freeze_partition_table(conn, audience.name, partition_start)
        return result


def _stored_rows_sql(audience: Audience) -> str:
    """The evaluated rows as they are stored: a SQL audience's are ready (and in key order, as the temporary table
    is read front to back); a combined audience's are fingerprinted and sorted here."""
    if not audience.is_combined:
        return "select member_key, attributes, attributes_fingerprint from pg_temp.audience_rows"
    fingerprint = ATTRIBUTES_FINGERPRINT_SQL.format(attributes="attributes")
    return (
        f"select member_key, attributes, {fingerprint} as attributes_fingerprint from pg_temp.audience_rows "
        "order by member_key"
    )


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
    counts = dict(conn.execute(sa.text(_identifier_counts_sql(audience))).mappings().one())
    try:
        loaded = load_partition_table(conn, audience.name, partition_start, _stored_rows_sql(audience), {})
    except sa.exc.IntegrityError as error:
        raise AudienceSqlError(
            f"audience '{audience.name}': its SQL must return one row per member with a non-null "
            f"member_key ({error.orig.diag.message_primary})"
        ) from None
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
