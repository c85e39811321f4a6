"""How snapshots are stored: replaced whole or not at all, pruned by dropping, and moved over from a warehouse
that an earlier version set up."""

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from audience_pipelines.embedded import EmbeddedPostgres
from audience_pipelines.warehouse import (
    SCHEMA,
    AudienceSqlError,
    ensure_schema,
    materialize_diff,
    materialize_snapshot,
    prune_snapshots,
)
from audience_pipelines.warehouse.engine import psycopg2_url
from audience_pipelines.warehouse.people import Change, membership_changes_of
from audience_pipelines.warehouse.snapshot_tables import partition_table
from audience_pipelines_tests.warehouse.plans import run_and_explain
from audience_pipelines_tests.warehouse.test_snapshots_and_diffs import (
    changes,
    day,
    members,
    one_day_audience,
    ref,
    snapshot,
)
from audience_pipelines_tests.warehouse.test_snapshots_and_diffs import visits as visits  # the fixture


def table_exists(engine: sa.Engine, table: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.text("select to_regclass(:t) is not null"), {"t": f"{SCHEMA}.{table}"}).scalar_one()


def test_a_failed_rematerialization_leaves_the_partition_as_it_was(visits):
    audience = one_day_audience()
    snapshot(visits, audience, 2)
    broken = one_day_audience(sql="select 'same' as member_key, email, 1 as visits from src.visits")
    with pytest.raises(AudienceSqlError, match="one row per member"):
        snapshot(visits, broken, 2)
    assert members(visits, audience.name, 2) == {"u1", "u2", "u4"}
    assert materialize_diff(visits, audience.name, ref(2), None).entered == 3


def test_audiences_and_partitions_are_kept_apart(visits):
    daily, two_day = one_day_audience(), one_day_audience(name="two_day_visitors", window="2d")
    for d in (2, 3):
        snapshot(visits, daily, d)
        snapshot(visits, two_day, d)
    assert members(visits, daily.name, 2) == {"u1", "u2", "u4"}
    assert members(visits, two_day.name, 3) == {"u1", "u2", "u3", "u4"}
    diff = materialize_diff(visits, daily.name, ref(3), ref(2))
    assert (diff.entered, diff.exited, diff.sample_entered, diff.sample_exited) == (1, 2, ["u3"], ["u2", "u4"])
    assert materialize_diff(visits, two_day.name, ref(3), ref(2)).entered == 1


def test_rerunning_a_diff_leaves_one_row_per_change(visits):
    audience = one_day_audience()
    for d in (2, 3):
        snapshot(visits, audience, d)
    for _ in range(2):
        materialize_diff(visits, audience.name, ref(3), ref(2))
    with visits.connect() as conn:
        rows = conn.execute(
            sa.text(f"select count(*) from {SCHEMA}.membership_history where audience = :a"), {"a": audience.name}
        ).scalar_one()
    assert rows == 3


def test_the_planner_knows_how_many_members_a_new_partition_holds(visits):
    """Readers filter on audience and partition: without statistics on those columns the planner took a
    partition for a row or two and sorted it whole (on disk) where reading its member-key index was the plan."""
    audience = one_day_audience(
        name="many", sql="select 'm' || g as member_key, 'm' || g || '@example.com' as email, 1 as visits "
        "from generate_series(1, 2000) g"
    )  # fmt: skip
    snapshot(visits, audience, 2)
    with visits.connect() as conn:
        plan = conn.execute(
            sa.text(
                f"explain (format json) select count(*) from {SCHEMA}.snapshot_members "
                "where audience = :a and partition_start = :s"
            ),
            {"a": audience.name, "s": day(2)},
        ).scalar_one()
    scan = plan[0]["Plan"]["Plans"][0]
    assert scan["Plan Rows"] >= 1500, scan


def test_pruned_partitions_give_their_storage_back(visits):
    audience = one_day_audience()
    for d in (1, 2, 3):
        snapshot(visits, audience, d)
    materialize_diff(visits, audience.name, ref(2), ref(1))
    materialize_diff(visits, audience.name, ref(3), ref(2))
    assert prune_snapshots(visits, audience.name, dt.timedelta(days=1)) == 1
    assert not table_exists(visits, partition_table(audience.name, day(1)))
    assert table_exists(visits, partition_table(audience.name, day(2)))
    assert changes(visits, audience.name, 2) == {"entered": {"u4"}, "exited": set()}, "history stays"


# The two tables as the previous version created them (one plain table of members, two b-trees of changes).
PREVIOUS_VERSION_TABLES = f"""
create schema {SCHEMA};
create table {SCHEMA}.snapshot_members (
    audience text not null,
    partition_start timestamptz not null,
    member_key text not null,
    attributes jsonb not null,
    primary key (audience, partition_start, member_key)
);
create table {SCHEMA}.membership_changes (
    audience text not null,
    partition_start timestamptz not null,
    member_key text not null,
    change text not null check (change in ('entered', 'exited')),
    primary key (audience, partition_start, member_key)
);
create index membership_changes_member_idx on {SCHEMA}.membership_changes (audience, member_key, partition_start);
insert into {SCHEMA}.snapshot_members values
    ('daily_visitors', '2026-03-01Z', 'u1', '{{"email": "user1@example.com", "visits": 1}}'),
    ('daily_visitors', '2026-03-01Z', 'u2', '{{"email": "user2@example.com", "visits": 1}}'),
    ('daily_visitors', '2026-03-02Z', 'u1', '{{"email": "user1@example.com", "visits": 1}}'),
    ('other', '2026-03-02Z', 'u9', '{{}}');
insert into {SCHEMA}.membership_changes values
    ('daily_visitors', '2026-03-01Z', 'u1', 'entered'), ('daily_visitors', '2026-03-01Z', 'u2', 'entered');
"""


@pytest.fixture
def previous_version_warehouse(postgres: EmbeddedPostgres) -> Iterator[sa.Engine]:
    """A database whose pipeline tables an earlier version created and filled (with the test's source table)."""
    admin = sa.create_engine(psycopg2_url(postgres.server.get_uri()), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("drop database if exists previous_version with (force)"))
        conn.execute(sa.text("create database previous_version"))
    engine = sa.create_engine(psycopg2_url(postgres.server.get_uri("previous_version")))
    with engine.begin() as conn:
        conn.exec_driver_sql(PREVIOUS_VERSION_TABLES)
        conn.execute(
            sa.text("create schema src; create table src.visits (user_id int, email text, visited_at timestamptz)")
        )
        conn.execute(
            sa.text("insert into src.visits values (1, 'user1@example.com', :at), (3, 'user3@example.com', :at)"),
            {"at": day(3) + dt.timedelta(hours=12)},
        )
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text("drop database previous_version with (force)"))
    admin.dispose()


def test_a_warehouse_from_the_previous_version_keeps_its_snapshots_and_history(previous_version_warehouse):
    engine = previous_version_warehouse
    ensure_schema(engine)
    ensure_schema(engine)  # a second call finds nothing left to move
    assert members(engine, "daily_visitors", 1) == {"u1", "u2"}
    assert members(engine, "daily_visitors", 2) == {"u1"}
    assert members(engine, "other", 2) == {"u9"}
    assert not table_exists(engine, "snapshot_members_unpartitioned")
    with engine.begin() as conn:  # the partition's bookkeeping row, as the earlier version wrote it
        conn.execute(
            sa.text(
                f"""insert into {SCHEMA}.snapshot_partitions (audience, partition_key, partition_start,
                        partition_end, window_start, window_end, member_count, identifier_counts)
                    values ('daily_visitors', '2026-03-02', :s, :e, :s, :e, 1, '{{}}')"""
            ),
            {"s": day(2), "e": day(3)},
        )
    materialize_snapshot(
        engine, one_day_audience(), partition_key="2026-03-03", partition_start=day(3), partition_end=day(4)
    )
    diff = materialize_diff(engine, "daily_visitors", ref(3), ref(2))
    assert (diff.entered, diff.exited) == (1, 0)
    assert changes(engine, "daily_visitors", 3) == {"entered": {"u3"}, "exited": set()}
    assert changes(engine, "daily_visitors", 1) == {"entered": {"u1", "u2"}, "exited": set()}


def member_key_collations(engine: sa.Engine) -> dict[str, str]:
    """The collation of every ``member_key`` column in the pipeline's schema, snapshot partitions included."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                """select c.relname, coalesce(k.collname, 'default') from pg_attribute a
                   join pg_class c on c.oid = a.attrelid
                   join pg_namespace n on n.oid = c.relnamespace
                   left join pg_collation k on k.oid = a.attcollation and a.attcollation <> 100
                   where n.nspname = :schema and a.attname = 'member_key' and c.relkind in ('r', 'p')"""
            ),
            {"schema": SCHEMA},
        ).all()
    return dict(rows)


def test_member_keys_written_by_an_earlier_version_compare_byte_by_byte_after_the_upgrade(visits):
    """Member keys sort in the database's locale in an earlier version's tables; the upgrade gives every table
    the byte order (collation "C") without losing a row, and the history view keeps working."""
    audience = one_day_audience()
    snapshot(visits, audience, 1)
    snapshot(visits, audience, 2)
    materialize_diff(visits, audience.name, ref(2), ref(1))

    def held() -> list[object]:
        return [members(visits, audience.name, 1), members(visits, audience.name, 2), changes(visits, audience.name, 2)]

    kept = held()
    assert kept[0] and kept[1] and kept[2]["entered"] | kept[2]["exited"]
    with visits.begin() as conn:
        conn.execute(
            sa.text(f"insert into {SCHEMA}.sync_ledger (sync, member_key, status, fields, source_fingerprint, "
                    "partition_key) values ('s', 'u1', 'sent', '{}', 'fp', 'p')")
        )  # fmt: skip
        conn.execute(sa.text(f"drop view {SCHEMA}.membership_history"))
        for table in ("snapshot_members", "membership_changes", "sync_ledger", "forgotten_members"):
            conn.execute(sa.text(f'alter table {SCHEMA}.{table} alter column member_key type text collate "default"'))
    before = member_key_collations(visits)
    assert set(before.values()) != {"C"}, before
    ensure_schema(visits)
    after = member_key_collations(visits)
    assert set(after) == set(before) and set(after.values()) == {"C"}, after
    assert held() == kept
    with visits.connect() as conn:
        assert conn.execute(sa.text(f"select member_key from {SCHEMA}.sync_ledger where sync = 's'")).scalar() == "u1"
        history = conn.execute(sa.text(f"select count(*) from {SCHEMA}.membership_history")).scalar_one()
    assert history > 0


def test_history_lookups_probe_the_member_key_btree_that_replaces_the_earlier_hash_index(visits):
    """find-user (and event ids) look members up across the whole membership history. An install made by the
    previous version has a hash index there; the upgrade swaps it for the b-tree, and the lookup probes it."""
    audience = one_day_audience()
    snapshot(visits, audience, 2)
    snapshot(visits, audience, 3)
    materialize_diff(visits, audience.name, ref(3), ref(2))  # u3 entered, u2 and u4 exited
    with visits.begin() as conn:
        conn.execute(sa.text(f"drop index {SCHEMA}.membership_changes_member_key_idx"))
        conn.execute(
            sa.text(
                f"create index membership_changes_member_hash on {SCHEMA}.membership_changes using hash (member_key)"
            )
        )
        conn.execute(  # enough history that reading all of it would show in the plan
            sa.text(
                f"""insert into {SCHEMA}.membership_changes
                    select :audience, :start, 'o' || g, 'entered' from generate_series(1, 5000) g"""
            ),
            {"audience": audience.name, "start": day(1)},
        )
    ensure_schema(visits)
    with visits.begin() as conn:
        conn.execute(sa.text(f"analyze {SCHEMA}.membership_changes"))
        indexes = set(
            conn.execute(
                sa.text("select indexname from pg_indexes where schemaname = :s and tablename = 'membership_changes'"),
                {"s": SCHEMA},
            ).scalars()
        )
    assert "membership_changes_member_hash" not in indexes and "membership_changes_member_key_idx" in indexes

    def lookup() -> list[Change]:
        with visits.connect() as conn:
            return membership_changes_of(conn, ["u2", "u3"], [audience.name])

    found, plan = run_and_explain(visits, "membership_changes c", lookup)
    assert [(c.member_key, c.change, c.partition_key) for c in found] == [
        ("u2", "exited", "2026-03-03"),
        ("u3", "entered", "2026-03-03"),
    ]
    assert "membership_changes_member_key_idx" in plan, plan
