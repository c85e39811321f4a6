"""Where snapshot members live: one table per (audience, partition), attached under ``snapshot_members``.

``snapshot_members`` is partitioned by list of audience, and each audience's table by list of partition start,
so reading ``where audience = :a and partition_start = :s`` touches one small table (a diff reads exactly its
two), a snapshot is loaded into a fresh table with no index to maintain row by row (its key is built once,
after the load, and only it is analyzed), frozen once attached (readers never write hint bits into it), and
retention drops a table instead of deleting rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa

from audience_pipelines.warehouse.schema import SCHEMA

PARENT = "snapshot_members"
UNDEFINED_TABLE = "42P01"
#: a row's ``attributes_fingerprint``, a 64-bit hash of its attributes' text (``{attributes}`` is the jsonb): where
#: it equals the one a sync recorded, the attributes are the same (two different texts share a hash with odds of
#: 1 in 2**64), so the sync need not recompute the synced values' fingerprint; half the cost of an md5 and an
#: eighth of its size
ATTRIBUTES_FINGERPRINT_SQL = "hashtextextended({attributes}::text, 0)"


def audience_table(audience: str) -> str:
    """The name of the table holding every partition of one audience (audience names are hashed)."""
    return f"{PARENT}_{hashlib.md5(audience.encode()).hexdigest()[:12]}"


def partition_table(audience: str, partition_start: dt.datetime) -> str:
    """The name of the table holding one snapshot partition (``..._20260601_000000`` for its UTC start)."""
    start = partition_start.astimezone(dt.UTC)
    stamp = f"{start:%Y%m%d_%H%M%S}" + (f"{start:%f}" if start.microsecond else "")
    return f"{audience_table(audience)}_{stamp}"


def _exists(conn: sa.Connection, table: str) -> bool:
    return conn.execute(sa.text("select to_regclass(:name) is not null"), {"name": f"{SCHEMA}.{table}"}).scalar_one()


def ensure_audience_table(conn: sa.Connection, audience: str) -> None:
    """Create and attach the audience's partitioned table unless it exists (serialized per audience)."""
    table = audience_table(audience)
    conn.execute(sa.text("select pg_advisory_xact_lock(hashtext(:k))"), {"k": f"{SCHEMA}.{table}"})
    if _exists(conn, table):
        return
    conn.execute(
        sa.text(
            f"""create table {SCHEMA}.{table} (like {SCHEMA}.{PARENT} including defaults including constraints)
                partition by list (partition_start)"""
        )
    )
    conn.execute(
        sa.text(f"alter table {SCHEMA}.{PARENT} attach partition {SCHEMA}.{table} for values in (:audience)"),
        {"audience": audience},
    )
    conn.execute(sa.text(f"comment on table {SCHEMA}.{table} is :note"), {"note": f"snapshots of audience {audience}"})


def load_partition_table(
    conn: sa.Connection, audience: str, partition_start: dt.datetime, rows_sql: str, params: dict[str, object]
) -> str:
    """Load ``rows_sql`` (``member_key, attributes, attributes_fingerprint``, in member-key order, so the table is
    stored in key order) into a new, not yet attached table; return its name.

    The rows go into a table with no index; the unique member key is built afterwards (a duplicate or null member
    key raises ``sa.exc.IntegrityError``) and only this table is analyzed. Its check constraint proves the
    partition bound, so attaching it later reads no rows.
    """
    loading = f"{partition_table(audience, partition_start)}_new"
    bound = {"_audience": audience, "_partition_start": partition_start}
    conn.execute(sa.text(f"drop table if exists {SCHEMA}.{loading}"))
    conn.execute(
        sa.text(
            f"""create table {SCHEMA}.{loading} (like {SCHEMA}.{PARENT} including defaults including constraints,
                    constraint {loading}_bound
                        check (audience = cast(:_audience as text)
                               and partition_start = cast(:_partition_start as timestamptz)))"""
        ),
        bound,
    )
    conn.execute(
        sa.text(
            f"""insert into {SCHEMA}.{loading}
                    (audience, partition_start, member_key, attributes, attributes_fingerprint)
                select :_audience, :_partition_start, r.member_key, r.attributes, r.attributes_fingerprint
                from ({rows_sql}) r"""
        ),
        {**params, **bound},
    )
    conn.execute(sa.text(f"create unique index {loading}_key on {SCHEMA}.{loading} (member_key)"))
    # what diffs and sync pages join on, and the two constant columns every reader filters on: without their
    # statistics the planner takes the partition for a few dozen rows and sorts it instead of reading its key
    conn.execute(sa.text(f"analyze {SCHEMA}.{loading} (member_key, audience, partition_start)"))
    return loading


def attach_partition_table(conn: sa.Connection, audience: str, partition_start: dt.datetime, loading: str) -> None:
    """Put a loaded table in place of the partition's current one, if any, within the caller's transaction."""
    table = partition_table(audience, partition_start)
    if _exists(conn, table):
        drop_partition_table(conn, audience, partition_start)
    conn.execute(sa.text(f"alter table {SCHEMA}.{loading} rename to {table}"))
    conn.execute(sa.text(f"alter index {SCHEMA}.{loading}_key rename to {table}_key"))
    conn.execute(sa.text(f"alter table {SCHEMA}.{table} rename constraint {loading}_bound to {table}_bound"))
    conn.execute(
        sa.text(
            f"""alter table {SCHEMA}.{audience_table(audience)} attach partition {SCHEMA}.{table}
                for values in (cast(:_partition_start as timestamptz))"""
        ),
        {"_partition_start": partition_start},
    )


def freeze_partition_table(conn: sa.Connection, audience: str, partition_start: dt.datetime) -> None:
    """Mark a just-attached partition's rows frozen and its pages all-visible (``conn`` in autocommit mode).

    Right after the load this costs one quick pass over pages still in memory. Left to whoever reads the table
    first, the same hint bits are set then, and after a checkpoint each page is written to the WAL whole (with
    data checksums, PostgreSQL's default since 18): a diff paid for 2 x 130 MB of WAL at a million members. With
    the visibility map set, diffs read only the member-key indexes. A table replaced or pruned meanwhile, or
    one autovacuum is already on, is skipped.
    """
    try:
        conn.execute(sa.text(f"vacuum (freeze, skip_locked) {SCHEMA}.{partition_table(audience, partition_start)}"))
    except sa.exc.ProgrammingError as error:
        if getattr(error.orig, "pgcode", None) != UNDEFINED_TABLE:
            raise


def drop_partition_table(conn: sa.Connection, audience: str, partition_start: dt.datetime) -> None:
    """Drop one partition's table (no-op when it does not exist).

    The audience's table is locked first, as every reader locks it before the partition: dropping a partition
    locks its parent too, and taking the two locks in the readers' order cannot deadlock with them. Readers of
    this audience wait only until the caller's transaction commits.
    """
    table = partition_table(audience, partition_start)
    if not _exists(conn, table):
        return
    conn.execute(sa.text(f"lock table {SCHEMA}.{audience_table(audience)} in access exclusive mode"))
    conn.execute(sa.text(f"drop table {SCHEMA}.{table}"))


def partition_unpartitioned_snapshots(conn: sa.Connection, legacy: str) -> None:
    """Move every partition of an earlier version's plain ``snapshot_members`` (renamed ``legacy``) into its
    own table, then drop the plain table; runs in the caller's transaction, so it happens whole or not at all."""
    pairs = conn.execute(
        sa.text(f"select distinct audience, partition_start from {SCHEMA}.{legacy} order by 1, 2")
    ).all()
    for audience, partition_start in pairs:
        ensure_audience_table(conn, audience)
        fingerprint = ATTRIBUTES_FINGERPRINT_SQL.format(attributes="attributes")
        rows = (
            f"select member_key, attributes, {fingerprint} as attributes_fingerprint from {SCHEMA}.{legacy} "
            'where audience = :legacy_audience and partition_start = :legacy_start order by member_key collate "C"'
        )
        loaded = load_partition_table(
            conn, audience, partition_start, rows, {"legacy_audience": audience, "legacy_start": partition_start}
        )
        attach_partition_table(conn, audience, partition_start, loaded)
    conn.execute(sa.text(f"drop table {SCHEMA}.{legacy}"))
