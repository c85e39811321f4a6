"""Tables the pipeline keeps in the warehouse, created idempotently."""

from __future__ import annotations

import sqlalchemy as sa

SCHEMA = "audience_pipelines"
#: where an earlier version's unpartitioned snapshot_members is moved while ensure_schema partitions it
LEGACY_SNAPSHOT_MEMBERS = "snapshot_members_unpartitioned"

DDL = f"""
create schema if not exists {SCHEMA};

create table if not exists {SCHEMA}.snapshot_partitions (
    audience text not null,
    partition_key text not null,
    partition_start timestamptz not null,
    partition_end timestamptz not null,
    window_start timestamptz not null,
    window_end timestamptz not null,
    member_count bigint not null,
    identifier_counts jsonb not null,
    computed_at timestamptz not null default now(),
    run_id text,
    primary key (audience, partition_start)
);

-- One table per audience, one per partition below it, each with its own unique member_key (snapshot_tables.py).
create table if not exists {SCHEMA}.snapshot_members (
    audience text not null,
    partition_start timestamptz not null,
    member_key text collate "C" not null,
    attributes jsonb not null
) partition by list (audience);
-- A 64-bit hash of each row's whole attributes (as text), taken as it is loaded: a sync re-reads a member's
-- synced columns only when this differs from what its ledger row recorded (null in partitions loaded by
-- earlier versions).
do $$ begin
    if not exists (select 1 from information_schema.columns where table_schema = '{SCHEMA}'
                   and table_name = 'snapshot_members' and column_name = 'attributes_fingerprint') then
        alter table {SCHEMA}.snapshot_members add column attributes_fingerprint bigint;
    end if;
end $$;

create table if not exists {SCHEMA}.diff_partitions (
    audience text not null,
    partition_key text not null,
    partition_start timestamptz not null,
    previous_partition_start timestamptz,
    member_count bigint not null,
    previous_member_count bigint not null,
    entered bigint not null,
    exited bigint not null,
    computed_at timestamptz not null default now(),
    run_id text,
    primary key (audience, partition_start)
);

-- One row per member and diff partition: materialize_diff replaces a partition's rows under a lock, so no key
-- is checked row by row. The partition index keeps one deduplicated key per diff. The member index is a b-tree
-- on the key alone: a diff writes its changes in key order (they come out of a merge of two snapshots), so its
-- inserts walk the index's leaves front to back, however much history it holds. The hash index used before put
-- each insert on a random page, twice the size: at ten million members, diffs with 8 partitions kept took
-- 12-22 s with it, 9-12 s with the b-tree. Earlier versions' wide b-tree, primary key and hash index are dropped.
create table if not exists {SCHEMA}.membership_changes (
    audience text not null,
    partition_start timestamptz not null,
    member_key text collate "C" not null,
    change text not null check (change in ('entered', 'exited'))
);
do $$ begin
    if exists (select 1 from pg_constraint where conname = 'membership_changes_pkey'
               and conrelid = '{SCHEMA}.membership_changes'::regclass) then
        alter table {SCHEMA}.membership_changes drop constraint membership_changes_pkey;
    end if;
end $$;
drop index if exists {SCHEMA}.membership_changes_member_idx;
drop index if exists {SCHEMA}.membership_changes_member_hash;
create index if not exists membership_changes_partition_idx
    on {SCHEMA}.membership_changes (audience, partition_start);
create index if not exists membership_changes_member_key_idx on {SCHEMA}.membership_changes (member_key);

create table if not exists {SCHEMA}.sync_ledger (
    sync text not null,
    member_key text collate "C" not null,
    status text not null,
    fields jsonb not null,
    source_fingerprint text not null,
    partition_key text not null,
    updated_at timestamptz not null default now(),
    primary key (sync, member_key)
);
-- Ledger rows staged in a destination's upload job (job_id) are confirmed or rolled back when it ends;
-- 'removing' rows wait for their removal job. Older installs get the column and the wider check here.
alter table {SCHEMA}.sync_ledger add column if not exists job_id text;
-- The snapshot row's attributes_fingerprint (with the synced columns) when the member was recorded.
alter table {SCHEMA}.sync_ledger add column if not exists snapshot_fingerprint bigint;
alter table {SCHEMA}.sync_ledger drop constraint if exists sync_ledger_status_check;
do $$ begin
    if not exists (select 1 from pg_constraint where conname = 'sync_ledger_status_known') then
        alter table {SCHEMA}.sync_ledger add constraint sync_ledger_status_known
            check (status in ('sent', 'tracked', 'removing'));
    end if;
end $$;
create index if not exists sync_ledger_job_idx on {SCHEMA}.sync_ledger (sync, job_id) where job_id is not null;
-- Finds members holding exactly the same identifiers (a platform keeps them as one person). Every checkpoint
-- inserts into it at a random place, so its key is one 64-bit hash of the fields seeded with the sync: 20 bytes
-- an entry, where (sync, hash) took about 44, so more of it stays in memory as a ledger grows to millions.
-- It is a B-tree: a hash index took those inserts at a third of the cost, but walks a bucket's whole overflow
-- chain on each insert, so members sharing one set of identifiers (bad data does that to thousands) made each
-- checkpoint slower than the last. Indexes of earlier versions (on an md5, on (sync, hash)) go.
drop index if exists {SCHEMA}.sync_ledger_fields_idx;
drop index if exists {SCHEMA}.sync_ledger_fields_hash_idx;
create index if not exists sync_ledger_identity_hash_idx
    on {SCHEMA}.sync_ledger (hashtextextended(fields::text, hashtext(sync)));

create table if not exists {SCHEMA}.sync_state (
    sync text primary key,
    list_id text,
    list_name text,
    list_url text,
    partition_key text,
    partition_start timestamptz,
    snapshot_computed_at timestamptz,
    synced_at timestamptz
);
alter table {SCHEMA}.sync_state add column if not exists upload_job_id text;
alter table {SCHEMA}.sync_state add column if not exists upload_operation text;
alter table {SCHEMA}.sync_state add column if not exists unlinked_at timestamptz;
alter table {SCHEMA}.sync_state add column if not exists unlinked_reason text;

create table if not exists {SCHEMA}.sync_runs (
    run_id text primary key,
    sync text not null,
    destination text not null,
    audience text not null,
    trigger text not null,
    partition_key text,
    status text not null check (status in ('running', 'success', 'partial', 'failed', 'skipped')),
    planned_adds bigint not null default 0,
    planned_removes bigint not null default 0,
    sent bigint not null default 0,
    accepted bigint not null default 0,
    rejected bigint not null default 0,
    skipped_invalid bigint not null default 0,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    duration_seconds double precision,
    error_summary text,
    dagster_run_id text
);
create index if not exists sync_runs_sync_idx on {SCHEMA}.sync_runs (sync, started_at desc);

create table if not exists {SCHEMA}.sync_rejections (
    run_id text not null,
    sync text not null,
    member_key text collate "C",
    operation text not null,
    reason text not null,
    message text not null default '',
    recorded_at timestamptz not null default now()
);
create index if not exists sync_rejections_run_idx on {SCHEMA}.sync_rejections (run_id);

-- Members a destination refused (or that had no usable identifier): retried by later runs until parked.
create table if not exists {SCHEMA}.sync_member_failures (
    sync text not null,
    operation text not null,
    member_key text collate "C" not null,
    source_fingerprint text not null,
    attempts integer not null,
    reason text not null,
    parked boolean not null,
    first_failed_at timestamptz not null default now(),
    last_failed_at timestamptz not null default now(),
    primary key (sync, operation, member_key)
);
alter table {SCHEMA}.sync_runs add column if not exists parked bigint not null default 0;
-- Members a run did not send because their snapshot row grants no consent (issue 13).
alter table {SCHEMA}.sync_runs add column if not exists skipped_consent bigint not null default 0;
-- What the platform reported matching after the run (null where it reports nothing or could not be read).
alter table {SCHEMA}.sync_runs add column if not exists matched_low bigint;
alter table {SCHEMA}.sync_runs add column if not exists matched_high bigint;
alter table {SCHEMA}.sync_runs add column if not exists match_rate double precision;

-- Member keys are opaque: they compare byte by byte (collation "C"), so sorting a snapshot, building its key and
-- every keyset page, merge and b-tree insert over them skip the locale's collation rules (3x faster sorts than
-- even C.UTF-8, more against en_US). Tables made by earlier versions are converted once; the view over
-- membership_changes is dropped for it and made again below.
do $$ declare t text; begin
    foreach t in array array['snapshot_members', 'membership_changes', 'sync_ledger', 'sync_member_failures',
                             'sync_rejections', 'forgotten_members'] loop
        if exists (select 1 from pg_attribute where attrelid = to_regclass('{SCHEMA}.' || t)
                   and attname = 'member_key' and attcollation <> 'pg_catalog."C"'::regcollation) then
            drop view if exists {SCHEMA}.membership_history;
            execute 'alter table {SCHEMA}.' || quote_ident(t) || ' alter column member_key type text collate "C"';
        end if;
    end loop;
end $$;

create or replace view {SCHEMA}.membership_history as
select c.audience, c.member_key, c.change, d.partition_key, c.partition_start as changed_at, d.computed_at,
       d.previous_partition_start as compared_with  -- earlier than the partition before when there was a gap
from {SCHEMA}.membership_changes c
join {SCHEMA}.diff_partitions d using (audience, partition_start);
-- People (find-user / forget-user, warehouse/people.py). Deliberately no index over snapshot identifiers or the
-- ledger's fields: either would slow every snapshot and checkpoint write (measured 2.6-3.9x and 1.3x); lookups
-- scan the newest snapshot partitions and the ledgers instead (see people.py).
-- Keyed hashes of forgotten people's identity keys (never the values): later snapshots drop matching rows.
create table if not exists {SCHEMA}.suppressed_identifiers (
    key_hash text primary key,
    kind text not null,
    request_id text not null,
    suppressed_at timestamptz not null default now()
);
-- Member keys of forgotten people: later syncs never add them (an audit row, no identifier).
create table if not exists {SCHEMA}.forgotten_members (
    member_key text collate "C" primary key,
    request_id text not null,
    forgotten_at timestamptz not null default now()
);
-- One row per forget request, with per-step state so a crashed request resumes where it stopped.
create table if not exists {SCHEMA}.forget_requests (
    request_id text primary key,
    identifier_hashes text[] not null,
    member_keys text[] not null,
    status text not null check (status in ('running', 'done')),
    steps jsonb not null default '{{}}',
    erased jsonb,
    requested_at timestamptz not null default now(),
    finished_at timestamptz
);
"""


def ensure_schema(engine: sa.Engine) -> None:
    """Create the pipeline's schema and tables if they do not exist (safe to call concurrently).

    A warehouse set up by an earlier version, whose ``snapshot_members`` is one plain table, has it moved into
    the partitioned layout here, once.
    """
    from audience_pipelines.warehouse.snapshot_tables import partition_unpartitioned_snapshots

    with engine.begin() as conn:
        conn.execute(sa.text("select pg_advisory_xact_lock(hashtext(:name))"), {"name": SCHEMA})
        legacy = conn.execute(
            sa.text("select relkind = 'r' from pg_class where oid = to_regclass(:name)"),
            {"name": f"{SCHEMA}.snapshot_members"},
        ).scalar_one_or_none()
        if legacy:
            conn.execute(sa.text(f"alter table {SCHEMA}.snapshot_members rename to {LEGACY_SNAPSHOT_MEMBERS}"))
        conn.exec_driver_sql(DDL)
        if legacy:
            partition_unpartitioned_snapshots(conn, LEGACY_SNAPSHOT_MEMBERS)
