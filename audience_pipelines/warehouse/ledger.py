"""The sync ledger: per sync, what the destination holds (each member's identifiers exactly as sent).

Runs plan from the newest snapshot against the ledger, read their work in bounded pages ordered by
member key, and write each acknowledged batch back right behind the sending, in order, so a killed run
resumes where it stopped (re-sending at most the last unrecorded batches, under their batch ids).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import orjson
import sqlalchemy as sa

from audience_pipelines.warehouse.consent import ConsentRule, consented
from audience_pipelines.warehouse.failures import parked_filter
from audience_pipelines.warehouse.people import forgotten_filter
from audience_pipelines.warehouse.schema import SCHEMA
from audience_pipelines.warehouse.snapshot_tables import partition_table


@dataclass(frozen=True)
class SnapshotRef:
    """The snapshot partition a run syncs to."""

    audience: str
    partition_key: str
    partition_start: dt.datetime
    computed_at: dt.datetime
    member_count: int


@dataclass(frozen=True)
class PendingMember:
    """A member to add (with its snapshot attributes) or to remove (with the fields sent earlier)."""

    member_key: str
    values: Mapping[str, object]
    source_fingerprint: str = ""
    transition: str = ""


@dataclass(frozen=True)
class PendingPage:
    """A page of members to add, column-wise: each audience column's values as text (None where absent)."""

    member_keys: list[str]
    fingerprints: list[str]
    transitions: list[str]
    columns: dict[str, list[str | None]]
    snapshot_fingerprints: list[int | None]
    #: whether the ledger already has a row for the member (then its checkpoint updates that row)
    held: list[bool]

    def __len__(self) -> int:
        return len(self.member_keys)


@dataclass(frozen=True)
class LedgerRows:
    """Acknowledged members to record, column-wise: one list per column, in the same order."""

    member_keys: Sequence[str]
    fields: Sequence[Mapping[str, str]]
    source_fingerprints: Sequence[str]
    snapshot_fingerprints: Sequence[int | None]
    #: whether each member already has a ledger row, as its page was read (None: not known, any may have one)
    held: Sequence[bool] | None = None

    def __len__(self) -> int:
        return len(self.member_keys)

    def take(self, positions: Sequence[int]) -> LedgerRows:
        """The rows at ``positions``, every column alike."""
        return LedgerRows(
            [self.member_keys[i] for i in positions],
            [self.fields[i] for i in positions],
            [self.source_fingerprints[i] for i in positions],
            [self.snapshot_fingerprints[i] for i in positions],
            None if self.held is None else [self.held[i] for i in positions],
        )

    def part(self, held: bool) -> LedgerRows:
        """The rows whose members the ledger holds already (``held``), or those it does not."""
        assert self.held is not None
        return self.take([i for i, flag in enumerate(self.held) if flag == held])


#: The most pending members a plan names by key. A refresh that changes few members then looks those up instead
#: of merging the whole snapshot with the ledger twice more (once for adds, once for removes); a plan with more
#: work than this names none and its run pages through the snapshot.
PENDING_KEYS_LIMIT = 100_000

#: PostgreSQL's SQLSTATE for a duplicate key
UNIQUE_VIOLATION = "23505"

#: Key ranges the plan's merge of a snapshot with a non-empty ledger is split into, each merged on its own
#: connection at the same time: the plan is the one step of a refresh with nothing else to overlap it with.
PLANNING_RANGES = 4


@dataclass(frozen=True)
class PendingKeys:
    """The members a plan found to add and to remove, each sorted by key, and what it saw of the sync's other
    runs (``seen``): a run may look up only these members while nothing has written the ledger since."""

    adds: tuple[str, ...]
    removes: tuple[str, ...]
    run_id: str
    seen: tuple[int, int, str]


@dataclass(frozen=True)
class PendingCounts:
    """What a plan found: members to add or update, to remove, held now, and (when few) who they are."""

    adds: int
    removes: int
    held: int
    keys: tuple[tuple[str, ...], tuple[str, ...]] | None = None


def newest_snapshot(conn: sa.Connection, audience: str) -> SnapshotRef | None:
    """The newest materialized snapshot partition of an audience."""
    row = conn.execute(
        sa.text(
            f"""select partition_key, partition_start, computed_at, member_count
                from {SCHEMA}.snapshot_partitions where audience = :audience
                order by partition_start desc limit 1"""
        ),
        {"audience": audience},
    ).one_or_none()
    return SnapshotRef(audience, *row) if row else None


def snapshot_unchanged(conn: sa.Connection, snapshot: SnapshotRef) -> bool:
    """Whether the snapshot partition is still the one planned from (not rebuilt or pruned since)."""
    computed_at = conn.execute(
        sa.text(
            f"""select computed_at from {SCHEMA}.snapshot_partitions
                where audience = :audience and partition_start = :start"""
        ),
        {"audience": snapshot.audience, "start": snapshot.partition_start},
    ).scalar_one_or_none()
    return computed_at == snapshot.computed_at


def _fingerprint_sql(columns: Sequence[str]) -> str:
    pairs = ", ".join(f"'{c}', s.attributes -> '{c}'" for c in columns)
    return f"md5(jsonb_build_object({pairs})::text)"


#: the snapshot row's attributes hash mixed with the synced columns' tag (null for older partitions)
SNAPSHOT_FINGERPRINT_SQL = "(s.attributes_fingerprint # cast(:columns_tag as bigint))"


def columns_tag(columns: Sequence[str]) -> int:
    """Tags a ledger row's snapshot fingerprint with the columns synced, so a change of columns re-checks all."""
    return int.from_bytes(hashlib.md5(orjson.dumps(list(columns))).digest()[:8], "big", signed=True)


def _planning_params(sync: str, snapshot: SnapshotRef, columns: Sequence[str]) -> dict[str, object]:
    return {
        "sync": sync,
        "audience": snapshot.audience,
        "start": snapshot.partition_start,
        "columns_tag": columns_tag(columns),
    }


def _text_sql(alias: str, column: str) -> str:
    """An attribute as text, as Python's ``str`` prints it (booleans as True/False), NULL where absent.

    Identity reads text; selecting it per column spares decoding each member's jsonb into a dict.
    """
    value = f"{alias}.attributes -> '{column}'"
    return (
        f"case jsonb_typeof({value}) when 'boolean' then initcap({value} #>> '{{}}') "
        f"else {alias}.attributes ->> '{column}' end"
    )


def merge_by_member_key(conn: sa.Connection) -> None:
    """Plan this transaction's snapshot/ledger joins as merges of their member-key indexes.

    Both sides are read in key order once, with no sort, hash table or per-row index probe (left alone, the
    planner probes the ledger's index once per snapshot row, several times slower over a whole snapshot).
    Not for queries with per-row subqueries (event transitions), which need nested loops.
    """
    conn.execute(
        sa.text(
            "set local enable_nestloop = off; set local enable_hashjoin = off; "
            "set local max_parallel_workers_per_gather = 0"
        )
    )


def _adds_filter(sending: bool, consent: ConsentRule | None = None, *, after: str | None = None) -> str:
    """The one place deciding which snapshot members a run sends (``s``: snapshot row, ``l``: its ledger row);
    ``after``: a page's keyset bound, carried into the parked and forgotten lookups."""
    # consent: a member whose snapshot row does not grant consent is neither sent nor tracked
    with_consent = f" and {consented('s', consent)}"
    forgotten = forgotten_filter("s", after=after)
    if not sending:  # tracking for subtractive mode: only members the ledger does not know yet
        return "l.member_key is null" + with_consent + " and " + forgotten
    # values changed: the synced columns' fingerprint is computed only for rows whose whole attributes differ
    # from the ones recorded (or where either side has no digest: partitions and ledger rows of older versions)
    changed = f"(l.snapshot_fingerprint = {SNAPSHOT_FINGERPRINT_SQL}) is not true and l.source_fingerprint <> {{fp}}"
    return (
        f"(l.member_key is null or l.status = 'tracked' or ({changed})) and "
        + parked_filter("add", "s", "{fp}", after=after)
        + with_consent
        + " and "
        + forgotten
    )


def count_pending(
    conn: sa.Connection,
    sync: str,
    snapshot: SnapshotRef,
    columns: Sequence[str],
    *,
    sending: bool,
    consent: ConsentRule | None = None,
    name_keys: bool = False,
) -> PendingCounts:
    """Members to add or update, members to remove, members currently in the ledger; with ``name_keys``, also
    the pending members' keys when there are at most ``PENDING_KEYS_LIMIT`` of them.

    A sync with an empty ledger has only adds: one merge of the snapshot with the parked and forgotten lists.
    Otherwise the snapshot partition and the ledger are merged once by member key (a full join): the adds are
    snapshot-side rows the destination lacks, the removes ledger-side rows with no consenting snapshot row, the
    held every ledger-side row; the parked and forgotten checks run only for the few rows found pending. The
    rows are grouped by what they are, each pending member in a group of its own, so the same pass names them.
    """
    params = _planning_params(sync, snapshot, columns)
    adding = _adds_filter(sending, consent).format(fp=_fingerprint_sql(columns))
    empty = not conn.execute(
        sa.text(f"select exists (select 1 from {SCHEMA}.sync_ledger where sync = :sync)"), params
    ).scalar_one()
    if not empty:  # merged on connections of their own
        return _count_and_name(conn, params, adding, consent, name_keys, snapshot)
    merge_by_member_key(conn)
    adds = conn.execute(
        sa.text(
            f"""select count(*) from {SCHEMA}.snapshot_members s
                left join {SCHEMA}.sync_ledger l on l.sync = :sync and l.member_key = s.member_key
                where s.audience = :audience and s.partition_start = :start and {adding}"""
        ),
        params,
    ).scalar_one()
    conn.execute(  # the caller's transaction goes on planning with the usual settings
        sa.text(
            "set local enable_nestloop to default; set local enable_hashjoin to default; "
            "set local max_parallel_workers_per_gather to default"
        )
    )
    return PendingCounts(int(adds), 0, 0)


@dataclass
class _Tally:
    """Members of one key range by what a run has to do with them, and the pending ones' keys (None: too many)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys("aArhn", 0))
    adds: list[str] | None = field(default_factory=list)
    removes: list[str] | None = field(default_factory=list)

    @property
    def pending(self) -> int:
        return self.counts["a"] + self.counts["A"] + self.counts["r"]

    def take(self, group: str, count: int) -> None:
        tag = group[0]
        self.counts[tag] += count
        if self.adds is None or self.removes is None or tag in "hn":
            return
        if self.pending > PENDING_KEYS_LIMIT:
            self.adds = self.removes = None  # too much work to name: the run pages through the snapshot
        else:
            (self.removes if tag == "r" else self.adds).append(group[1:])


def _count_and_name(
    conn: sa.Connection,
    params: dict[str, object],
    adding: str,
    consent: ConsentRule | None,
    name_keys: bool,
    snapshot: SnapshotRef,
) -> PendingCounts:
    """One full merge of snapshot and ledger, in ``PLANNING_RANGES`` key ranges at once (split where the
    partition's statistics put its quantiles), grouped in a hash table by one short text: ``h`` for every member
    held with nothing to do, ``n`` for every snapshot member with nothing to do and not held, and the key behind
    a tag for each pending member (``A``/``a``: to add, held or not yet; ``r``: to remove). Streamed, keeping at
    most ``PENDING_KEYS_LIMIT`` keys."""
    removing = f"(s.member_key is null or not ({consented('s', consent)})) and {parked_filter('remove', 'l', None)}"
    points = _split_points(conn, snapshot, PLANNING_RANGES)
    ranges = list(zip([None, *points], [*points, None], strict=True))

    def tally(low: str | None, high: str | None) -> _Tally:
        query = sa.text(
            f"""select case when j.adding then case when j.held then 'A' else 'a' end || j.member_key
                            when j.removing then 'r' || j.member_key
                            when j.held then 'h' else 'n' end,
                       count(*)
                from (select coalesce(s.member_key is not null and {adding}, false) as adding,
                             coalesce(l.member_key is not null and {removing}, false) as removing,
                             l.member_key is not null as held, coalesce(s.member_key, l.member_key) as member_key
                      from (select * from {SCHEMA}.snapshot_members
                            where audience = :audience and partition_start = :start{_range(low, high)}) s
                      full join (select * from {SCHEMA}.sync_ledger where sync = :sync{_range(low, high)}) l
                        on l.member_key = s.member_key
                      offset 0) j  -- each row's tests evaluated once
                group by 1"""
        ).execution_options(stream_results=True, yield_per=10_000)
        found = _Tally() if name_keys else _Tally(adds=None, removes=None)
        with conn.engine.connect() as own:
            merge_by_member_key(own)
            own.execute(sa.text("set local enable_sort = off"))  # a hash table of a few groups, not a sort
            for group, count in own.execute(query, {**params, "low": low, "high": high}):
                found.take(group, count)
        return found

    if len(ranges) == 1:
        parts = [tally(None, None)]
    else:
        with ThreadPoolExecutor(len(ranges), thread_name_prefix="sync-plan") as pool:
            parts = list(pool.map(lambda bounds: tally(*bounds), ranges))
    counts = {tag: sum(part.counts[tag] for part in parts) for tag in "aArh"}
    keys = None
    named = all(part.adds is not None and part.removes is not None for part in parts)
    if named and sum(part.pending for part in parts) <= PENDING_KEYS_LIMIT:
        # str order is the keys' byte order (collation "C"), so the ranges' keys sort as the pages read them
        keys = (
            tuple(sorted(k for part in parts for k in part.adds or ())),
            tuple(sorted(k for part in parts for k in part.removes or ())),
        )
    return PendingCounts(counts["a"] + counts["A"], counts["r"], counts["A"] + counts["r"] + counts["h"], keys)


def _range(low: str | None, high: str | None) -> str:
    """The key range ``[low, high)`` of one part of the planning merge (open where None)."""
    lower = " and member_key >= :low" if low is not None else ""
    return lower + (" and member_key < :high" if high is not None else "")


def _split_points(conn: sa.Connection, snapshot: SnapshotRef, parts: int) -> list[str]:
    """Member keys splitting the snapshot partition into ``parts`` ranges of about the same size, read from the
    histogram its load gathered (none for a partition too small to have one, or an older unpartitioned one)."""
    if parts < 2:
        return []
    bounds = conn.execute(
        sa.text(
            """select histogram_bounds::text::text[] from pg_stats
               where schemaname = :schema and tablename = :table and attname = 'member_key'"""
        ),
        {"schema": SCHEMA, "table": partition_table(snapshot.audience, snapshot.partition_start)},
    ).scalar_one_or_none()
    if not bounds or len(bounds) < parts * 2:
        return []
    return sorted({bounds[len(bounds) * i // parts] for i in range(1, parts)})


def _removes_page(consent: ConsentRule | None, only: Sequence[str] | None = None) -> str:
    """A page of leaving members after ``:after`` (or among the named ``:keys``). Each lookup carries the bound,
    so a page reads only its key range of the snapshot and parked lists (not all keys before it). Consent: a
    held member whose snapshot row no longer grants consent is leaving."""
    parked = parked_filter("remove", "l", None, after=":after" if only is None else None)
    return f"""
        select {{select}} from {SCHEMA}.sync_ledger l
        where l.sync = :sync and {_key_bound("l", only)} and {parked}
          and not exists (select 1 from {SCHEMA}.snapshot_members s
                          where s.audience = :audience and s.partition_start = :start and {_key_bound("s", only)}
                            and s.member_key = l.member_key and {consented("s", consent)})
    """


def _key_bound(alias: str, only: Sequence[str] | None) -> str:
    """Which keys a page reads: those after the previous page's last (keyset), or the named ones."""
    return f"{alias}.member_key > :after" if only is None else f"{alias}.member_key = any(:keys)"


def iter_pending_adds(
    engine: sa.Engine,
    sync: str,
    snapshot: SnapshotRef,
    columns: Sequence[str],
    *,
    sending: bool,
    batch_size: int,
    with_transition: bool = False,
    consent: ConsentRule | None = None,
    only: Sequence[str] | None = None,
) -> Iterator[PendingPage]:
    """Members of the snapshot the destination lacks (or holds with other values), in key order, a page at a time.

    The keyset bound reaches both sides of the join (``l.member_key > :after`` too), so each page reads one key
    range of the snapshot and of the ledger, whatever the run has written behind it: page time stays flat.
    ``with_transition`` adds the partition at which each member last entered the audience (for event ids).
    ``only``: the members a current plan named (sorted), looked up a page at a time by key instead; each is
    checked again, so a member no longer pending is not sent.
    """
    fingerprint = _fingerprint_sql(columns)
    texts = "".join(f", {_text_sql('s', c)}" for c in columns)
    bound = ":after" if only is None else None
    query = sa.text(
        f"""select s.member_key, {fingerprint} as fp, {SNAPSHOT_FINGERPRINT_SQL} as snapshot_fp,
                   l.member_key is not null as held, {_transition("s", "entered", with_transition)}{texts}
            from {SCHEMA}.snapshot_members s
            left join {SCHEMA}.sync_ledger l
              on l.sync = :sync and l.member_key = s.member_key and {_key_bound("l", only)}
            where s.audience = :audience and s.partition_start = :start and {_key_bound("s", only)}
              and {_adds_filter(sending, consent, after=bound).format(fp=fingerprint)}
            order by s.member_key limit :limit"""
    )
    params = _planning_params(sync, snapshot, columns)
    for rows in _work_pages(engine, query, params, batch_size, merge=not with_transition, only=only):
        keys, fingerprints, snapshot_fingerprints, held, transitions, *values = zip(*rows, strict=True)
        yield PendingPage(
            list(keys),
            list(fingerprints),
            list(transitions),
            dict(zip(columns, map(list, values), strict=True)),
            list(snapshot_fingerprints),
            list(held),
        )


def iter_pending_removes(
    engine: sa.Engine,
    sync: str,
    snapshot: SnapshotRef,
    *,
    batch_size: int,
    with_transition: bool = False,
    consent: ConsentRule | None = None,
    only: Sequence[str] | None = None,
) -> Iterator[list[PendingMember]]:
    """Ledger members no longer in the snapshot, with the fields that were sent for them (``only``: as for
    :func:`iter_pending_adds`)."""
    columns = f"l.member_key, l.fields, l.source_fingerprint, {_transition('l', 'exited', with_transition)}"
    query = sa.text(_removes_page(consent, only).format(select=columns) + " order by l.member_key limit :limit")
    params = {"sync": sync, "audience": snapshot.audience, "start": snapshot.partition_start}
    for rows in _work_pages(engine, query, params, batch_size, merge=not with_transition, only=only):
        yield [PendingMember(*row) for row in rows]


def _transition(alias: str, change: str, wanted: bool) -> str:
    """The partition key of the member's latest ``change`` up to the synced partition, or ''."""
    if not wanted:
        return "''"
    return f"""coalesce((select d.partition_key from {SCHEMA}.membership_changes c
                         join {SCHEMA}.diff_partitions d using (audience, partition_start)
                         where c.audience = :audience and c.member_key = {alias}.member_key
                           and c.change = '{change}' and c.partition_start <= :start
                         order by c.partition_start desc limit 1), '')"""


def _fetch_tuples(conn: sa.Connection, query: sa.TextClause, params: dict[str, object]) -> list[tuple]:
    """All rows of ``query`` as the driver's plain tuples, on ``conn``'s transaction.

    A page holds thousands of rows; building a SQLAlchemy ``Row`` for each cost more than reading them.
    """
    compiled = query.compile(dialect=conn.dialect)
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(str(compiled), compiled.construct_params(params))
        return cursor.fetchall()
    finally:
        cursor.close()


def _work_pages(
    engine: sa.Engine,
    query: sa.TextClause,
    params: dict[str, object],
    batch_size: int,
    *,
    merge: bool,
    only: Sequence[str] | None,
) -> Iterator[list[tuple]]:
    """A run's pending rows a page at a time: by keyset, or (``only``) the named members by key."""
    if only is None:
        return _pages(engine, query, params, batch_size, merge=merge)
    return _named_pages(engine, query, params, only, batch_size)


def _pages(
    engine: sa.Engine, query: sa.TextClause, params: dict[str, object], batch_size: int, *, merge: bool
) -> Iterator[list[tuple]]:
    """Keyset pagination by member key (each row's first column): each page is read fresh, so checkpoints
    written meanwhile count; ``merge``: plan it as a merge of the member-key indexes."""
    after = ""
    while True:
        with engine.connect() as conn:
            if merge:
                merge_by_member_key(conn)
            rows = _fetch_tuples(conn, query, {**params, "after": after, "limit": batch_size})
        if not rows:
            return
        yield rows
        if len(rows) < batch_size:  # the last page: no need to scan the rest of the snapshot again
            return
        after = rows[-1][0]


def _named_pages(
    engine: sa.Engine, query: sa.TextClause, params: dict[str, object], keys: Sequence[str], batch_size: int
) -> Iterator[list[tuple]]:
    """The named members' rows that still qualify, looked up ``batch_size`` keys at a time, in key order (each
    page read fresh, as keyset pages are)."""
    for start in range(0, len(keys), batch_size):
        chunk = list(keys[start : start + batch_size])
        with engine.connect() as conn:
            rows = _fetch_tuples(conn, query, {**params, "keys": chunk, "limit": len(chunk)})
        if rows:
            yield rows


def record_held(
    conn: sa.Connection,
    sync: str,
    rows: LedgerRows,
    *,
    status: str,
    partition_key: str,
    job_id: str | None = None,
) -> None:
    """Record acknowledged (``sent``) or merely ``tracked`` members in the ledger.

    ``job_id`` marks members acknowledged into a destination's upload job that has not finished yet. Members the
    ledger did not hold when their page was read (``rows.held``) are inserted plainly, the others upserted: the
    speculative insertion of an upsert costs about a third more per row, most of a first sync's checkpoints. A
    run holds its sync's lock, so no other writer adds such a row meanwhile; were one there anyway, the insert
    is undone to its savepoint and the rows are upserted.
    """
    if not len(rows):
        return
    if rows.held is None or all(rows.held):
        _write_held(conn, sync, rows, status, partition_key, job_id, upsert=True)
        return
    new = rows if not any(rows.held) else rows.part(held=False)
    try:
        with conn.begin_nested():
            _write_held(conn, sync, new, status, partition_key, job_id, upsert=False)
    except sa.exc.IntegrityError as error:
        if getattr(error.orig, "pgcode", None) != UNIQUE_VIOLATION:
            raise
        _write_held(conn, sync, new, status, partition_key, job_id, upsert=True)
    if new is not rows:
        _write_held(conn, sync, rows.part(held=True), status, partition_key, job_id, upsert=True)


def _write_held(
    conn: sa.Connection,
    sync: str,
    rows: LedgerRows,
    status: str,
    partition_key: str,
    job_id: str | None,
    *,
    upsert: bool,
) -> None:
    """One statement writing ``rows``. They travel as one JSON document of four arrays (keys, fields, both
    fingerprints): one round trip and one value for the driver to quote, where arrays of thousands of values
    cost more to adapt than to write."""
    document = orjson.dumps(
        [rows.member_keys, rows.fields, rows.source_fingerprints, rows.snapshot_fingerprints]
    ).decode()
    on_conflict = """
                on conflict (sync, member_key) do update
                set status = excluded.status, fields = excluded.fields,
                    source_fingerprint = excluded.source_fingerprint,
                    snapshot_fingerprint = excluded.snapshot_fingerprint,
                    partition_key = excluded.partition_key, job_id = excluded.job_id, updated_at = now()"""
    conn.execute(
        sa.text(
            f"""insert into {SCHEMA}.sync_ledger
                    (sync, member_key, status, fields, source_fingerprint, snapshot_fingerprint, partition_key, job_id)
                select :sync, r.member_key, :status, r.fields, r.source_fingerprint,
                       cast(r.snapshot_fingerprint as bigint), :partition_key, :job_id
                from cast(:rows as jsonb) d,
                     rows from (jsonb_array_elements_text(d -> 0), jsonb_array_elements(d -> 1),
                                jsonb_array_elements_text(d -> 2), jsonb_array_elements_text(d -> 3))
                     as r(member_key, fields, source_fingerprint, snapshot_fingerprint)"""
            + (on_conflict if upsert else "")
        ),
        {"sync": sync, "status": status, "partition_key": partition_key, "job_id": job_id, "rows": document},
    )


def held_by_another(
    conn: sa.Connection,
    sync: str,
    snapshot: SnapshotRef,
    member_keys: Sequence[str],
    consent: ConsentRule | None = None,
) -> set[str]:
    """Leaving members whose exact identifiers another member still in the audience holds as sent.

    A platform keeps such members as one person, so removing the leaver's identifiers would remove the one who
    stays; they leave the ledger without a removal request.
    """
    if not member_keys:
        return set()
    rows = conn.execute(
        sa.text(
            f"""select r.member_key from {SCHEMA}.sync_ledger r
                where r.sync = :sync and r.member_key = any(:keys) and r.status = 'sent'
                  and exists (
                      select 1 from {SCHEMA}.sync_ledger o
                      join {SCHEMA}.snapshot_members s
                        on s.audience = :audience and s.partition_start = :start and s.member_key = o.member_key
                       and {consented("s", consent)}
                      where hashtextextended(o.fields::text, hashtext(o.sync))
                              = hashtextextended(r.fields::text, hashtext(r.sync))
                        and o.sync = :sync and o.fields = r.fields and o.member_key <> r.member_key
                        and o.status = 'sent')"""
        ),
        {"sync": sync, "keys": list(member_keys), "audience": snapshot.audience, "start": snapshot.partition_start},
    )
    return set(rows.scalars())


def record_removed(conn: sa.Connection, sync: str, member_keys: Sequence[str]) -> None:
    """Forget members the destination acknowledged removing."""
    if member_keys:
        conn.execute(
            sa.text(f"delete from {SCHEMA}.sync_ledger where sync = :sync and member_key = any(:keys)"),
            {"sync": sync, "keys": list(member_keys)},
        )


def mark_removing(conn: sa.Connection, sync: str, member_keys: Sequence[str], job_id: str) -> None:
    """Members whose removal an upload job acknowledged: removed from the ledger once the job is done."""
    if member_keys:
        conn.execute(
            sa.text(
                f"""update {SCHEMA}.sync_ledger set status = 'removing', job_id = :job, updated_at = now()
                    where sync = :sync and member_key = any(:keys)"""
            ),
            {"sync": sync, "keys": list(member_keys), "job": job_id},
        )


def confirm_upload(conn: sa.Connection, sync: str, job_id: str) -> tuple[int, int]:
    """A job is done: its adds are held for good, its removals leave the ledger. (added, removed)."""
    params = {"sync": sync, "job": job_id}
    removed = conn.execute(
        sa.text(f"delete from {SCHEMA}.sync_ledger where sync = :sync and job_id = :job and status = 'removing'"),
        params,
    ).rowcount
    added = conn.execute(
        sa.text(f"update {SCHEMA}.sync_ledger set job_id = null where sync = :sync and job_id = :job"), params
    ).rowcount
    return added, removed


def discard_upload(conn: sa.Connection, sync: str, job_id: str) -> tuple[int, int]:
    """A job failed: nothing in it was applied, so its adds are forgotten (the next run sends them again)
    and its removals are held again. (forgotten adds, restored removals)."""
    params = {"sync": sync, "job": job_id}
    forgotten = conn.execute(
        sa.text(f"delete from {SCHEMA}.sync_ledger where sync = :sync and job_id = :job and status = 'sent'"),
        params,
    ).rowcount
    restored = conn.execute(
        sa.text(
            f"""update {SCHEMA}.sync_ledger set status = 'sent', job_id = null
                where sync = :sync and job_id = :job and status = 'removing'"""
        ),
        params,
    ).rowcount
    return forgotten, restored


def reset_ledger(conn: sa.Connection, sync: str) -> int:
    """Forget everything a sync held (used when its target list changes)."""
    return conn.execute(sa.text(f"delete from {SCHEMA}.sync_ledger where sync = :sync"), {"sync": sync}).rowcount


def ledger_members(conn: sa.Connection, sync: str, status: str = "sent") -> set[str]:
    """Member keys the ledger holds for a sync (for inspection and tests; not for large syncs)."""
    return set(
        conn.execute(
            sa.text(f"select member_key from {SCHEMA}.sync_ledger where sync = :sync and status = :status"),
            {"sync": sync, "status": status},
        ).scalars()
    )


def count_held(conn: sa.Connection, sync: str, status: str = "sent") -> int:
    """How many members the ledger holds for a sync."""
    return conn.execute(
        sa.text(f"select count(*) from {SCHEMA}.sync_ledger where sync = :sync and status = :status"),
        {"sync": sync, "status": status},
    ).scalar_one()


def count_identities(conn: sa.Connection, sync: str) -> tuple[int, int]:
    """(members held as sent, distinct sets of identifiers among them): a platform holds members whose
    identifiers are all the same as one person."""
    return tuple(
        conn.execute(
            sa.text(
                f"""select count(*), count(distinct fields) from {SCHEMA}.sync_ledger
                    where sync = :sync and status = 'sent'"""
            ),
            {"sync": sync},
        ).one()
    )


def forget_destination_state(conn: sa.Connection, syncs: Sequence[str]) -> None:
    """Drop the ledger and position of syncs whose destination was replaced by an empty one."""
    for sync in syncs:
        reset_ledger(conn, sync)
    conn.execute(sa.text(f"delete from {SCHEMA}.sync_state where sync = any(:syncs)"), {"syncs": list(syncs)})


def ledger_fields(conn: sa.Connection, sync: str) -> dict[str, dict[str, str]]:
    """Member key -> fields as sent, for every member held as sent (for inspection and tests; not for large syncs)."""
    rows = conn.execute(
        sa.text(f"select member_key, fields from {SCHEMA}.sync_ledger where sync = :sync and status = 'sent'"),
        {"sync": sync},
    )
    return {key: dict(fields) for key, fields in rows}


def relax_commit_durability(conn: sa.Connection) -> None:
    """Let this transaction's commit return before its WAL reaches disk (``synchronous_commit = off``).

    Acceptable for sync checkpoints ONLY because every batch carries a stable batch id: a database crash can
    lose the last few such commits (never part of one, never out of order), and the next run then re-sends
    those batches under the same ids, which the destination recognizes as repeats (the webhook's
    ``webhook-id``, upload ids, set semantics of a list). A killed sync process loses nothing this way: the
    server completes a commit it has received. Never use it for writes that no batch id makes idempotent.
    """
    conn.execute(sa.text("set local synchronous_commit = off"))


def refresh_ledger_statistics(conn: sa.Connection) -> None:
    """ANALYZE the ledger after a run wrote much of it, so the next run's page queries plan as merge joins."""
    conn.execute(sa.text(f"analyze {SCHEMA}.sync_ledger"))
