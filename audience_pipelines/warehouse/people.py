"""One person across the pipeline's tables: find them, suppress them, erase their identifiers.

Identifiers are looked up as *identity keys*, ``kind:value`` text with the value written the way the warehouse
can compute it from a snapshot's raw attributes: email trimmed and lowercased, phone as its digits, ids trimmed.
No index serves them on purpose: a GIN index over snapshot identity keys made every snapshot write 2.6-3.9x
slower and one over the ledger's fields every checkpoint 1.3x (``benchmarks/people_lookup.py``). Instead a lookup
scans each audience's newest snapshot partition and each sync's ledger (what is held now, never history); only
a person found nowhere there, and every forget, also scan the retained snapshot history.

The suppression list holds keyed hashes only (HMAC-SHA256 of an identity key, with the secret in
``$AUDIENCE_PIPELINES_SUPPRESSION_KEY``); the warehouse computes the same HMAC from PostgreSQL's built-in
``sha256`` (no extension needed), so a snapshot drops suppressed people without their values leaving SQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from audience_pipelines.warehouse.schema import SCHEMA

SUPPRESSION_KEY_ENV = "AUDIENCE_PIPELINES_SUPPRESSION_KEY"
_BLOCK = 64  # SHA-256's block size, for HMAC


class SuppressionKeyError(RuntimeError):
    """The suppression key is needed and not set."""


def suppression_key(*, why: str) -> bytes:
    """The HMAC secret from the environment, or an error saying how to set it."""
    value = os.environ.get(SUPPRESSION_KEY_ENV, "")
    if len(value) < 16:
        problem = "is not set" if not value else "is shorter than 16 characters"
        raise SuppressionKeyError(
            f"{SUPPRESSION_KEY_ENV} {problem}; {why} needs it (a long random secret, the same everywhere the "
            "pipeline runs, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    return value.encode()


def keyed_hash(key: bytes, identity_key: str) -> str:
    """HMAC-SHA256 hex of an identity key (``email:jo@example.com``)."""
    return hmac.new(key, identity_key.encode(), hashlib.sha256).hexdigest()


def _hmac_params(key: bytes) -> dict[str, bytes]:
    """HMAC's inner and outer padded keys, for :func:`_hmac_sql`."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return {"_ipad": bytes(b ^ 0x36 for b in key), "_opad": bytes(b ^ 0x5C for b in key)}


def _hmac_sql(text_sql: str) -> str:
    """SQL for HMAC-SHA256 hex of a text expression (null stays null), equal to :func:`keyed_hash`."""
    return f"encode(sha256(:_opad || sha256(:_ipad || convert_to({text_sql}, 'UTF8'))), 'hex')"


#: Per kind (an audience column of that name), the identity key's value computed from a row's ``attributes``.
IDENTITY_VALUE_SQL = {
    "email": "lower(btrim({a} ->> 'email'))",
    "phone": "regexp_replace({a} ->> 'phone', '[^0-9]', '', 'g')",
    "external_id": "btrim({a} ->> 'external_id')",
    "fbp": "btrim({a} ->> 'fbp')",
    "ga_client_id": "btrim({a} ->> 'ga_client_id')",
}

#: Every identity key (``kind:value``) of a snapshot row's ``attributes``, as a text array without nulls.
IDENTITY_KEYS_SQL = "array_remove(array[{}], null)".format(
    ", ".join(f"'{kind}:' || nullif({value.format(a='attributes')}, '')" for kind, value in IDENTITY_VALUE_SQL.items())
)


def _by_kind(identity_keys: Iterable[str]) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for key in identity_keys:
        kind, _, value = key.partition(":")
        if kind in IDENTITY_VALUE_SQL and value:
            kinds.setdefault(kind, []).append(value)
    return kinds


# ---------------------------------------------------------------------------------------------- finding


@dataclass(frozen=True)
class AudienceNow:
    audience: str
    partition_key: str


@dataclass(frozen=True)
class Change:
    audience: str
    member_key: str
    change: str
    partition_key: str


@dataclass(frozen=True)
class Holding:
    """A sync whose ledger holds the member: what status, since which partition, when written."""

    sync: str
    member_key: str
    status: str
    partition_key: str
    updated_at: dt.datetime
    fields: tuple[str, ...]


def members_by_identity(conn: sa.Connection, identity_keys: Sequence[str], *, history: bool = False) -> set[str]:
    """Member keys of the rows carrying one of ``identity_keys`` in each audience's newest snapshot, or, with
    ``history``, in every retained snapshot partition (only the typed kinds are computed per row)."""
    kinds = _by_kind(identity_keys)
    if not kinds:
        return set()
    matches = " or ".join(
        f"{IDENTITY_VALUE_SQL[kind].format(a='s.attributes')} = any(cast(:{kind} as text[]))" for kind in kinds
    )
    scope = (
        f"{SCHEMA}.snapshot_partitions p"
        if history
        else f"""(select audience, max(partition_start) as partition_start
                  from {SCHEMA}.snapshot_partitions group by audience) p"""
    )
    rows = conn.execute(
        sa.text(
            f"""select distinct s.member_key from {scope}
                join {SCHEMA}.snapshot_members s on s.audience = p.audience and s.partition_start = p.partition_start
                where {matches}"""
        ),
        kinds,
    )
    return set(rows.scalars())


def members_in_ledgers(conn: sa.Connection, probes: Iterable[tuple[str, str, str]]) -> set[str]:
    """Member keys whose ledger row in ``sync`` holds ``value`` in ``field`` (``(sync, field, value)`` probes)."""
    found: set[str] = set()
    for sync, field, value in probes:
        rows = conn.execute(
            sa.text(
                f"""select member_key from {SCHEMA}.sync_ledger
                    where fields @> cast(:probe as jsonb) and sync = :sync"""
            ),
            {"probe": json.dumps({field: value}), "sync": sync},
        )
        found.update(rows.scalars())
    return found


def audiences_now(conn: sa.Connection, member_keys: Sequence[str], audiences: Sequence[str]) -> list[AudienceNow]:
    """The audiences whose newest snapshot holds one of the members."""
    rows = conn.execute(
        sa.text(
            f"""select p.audience, p.partition_key from {SCHEMA}.snapshot_partitions p
                where p.audience = any(:audiences)
                  and p.partition_start = (select max(partition_start) from {SCHEMA}.snapshot_partitions
                                           where audience = p.audience)
                  and exists (select 1 from {SCHEMA}.snapshot_members s
                              where s.audience = p.audience and s.partition_start = p.partition_start
                                and s.member_key = any(:keys))
                order by p.audience"""
        ),
        {"audiences": list(audiences), "keys": list(member_keys)},
    )
    return [AudienceNow(*row) for row in rows]


def membership_changes_of(conn: sa.Connection, member_keys: Sequence[str], audiences: Sequence[str]) -> list[Change]:
    """Every enter and exit of the members, oldest first."""
    rows = conn.execute(
        sa.text(
            f"""select c.audience, c.member_key, c.change, d.partition_key
                from {SCHEMA}.membership_changes c
                join {SCHEMA}.diff_partitions d using (audience, partition_start)
                where c.audience = any(:audiences) and c.member_key = any(:keys)
                order by c.audience, c.partition_start, c.member_key"""
        ),
        {"audiences": list(audiences), "keys": list(member_keys)},
    )
    return [Change(*row) for row in rows]


def holdings_of(conn: sa.Connection, member_keys: Sequence[str], syncs: Sequence[str]) -> list[Holding]:
    """The ledger rows of the members in ``syncs`` (field names only, never values)."""
    rows = conn.execute(
        sa.text(
            f"""select sync, member_key, status, partition_key, updated_at,
                       array(select jsonb_object_keys(fields) order by 1)
                from {SCHEMA}.sync_ledger where sync = any(:syncs) and member_key = any(:keys)
                order by sync, member_key"""
        ),
        {"syncs": list(syncs), "keys": list(member_keys)},
    )
    return [Holding(r[0], r[1], r[2], r[3], r[4], tuple(r[5])) for r in rows]


def ledger_syncs_holding(conn: sa.Connection, member_keys: Sequence[str]) -> list[str]:
    """Every sync name (configured or not) whose ledger holds one of the members (a skip scan of its key)."""
    rows = conn.execute(
        sa.text(f"select distinct sync from {SCHEMA}.sync_ledger where member_key = any(:keys) order by sync"),
        {"keys": list(member_keys)},
    )
    return list(rows.scalars())


def member_key_held(conn: sa.Connection, member_key: str, *, with_history: bool = False) -> bool:
    """Whether a snapshot or a ledger holds the member key (or, ``with_history``, membership history has it)."""
    history = f"or exists (select 1 from {SCHEMA}.membership_changes where member_key = :k)" if with_history else ""
    return bool(
        conn.execute(
            sa.text(
                f"""select exists (select 1 from {SCHEMA}.snapshot_members where member_key = :k)
                       or exists (select 1 from {SCHEMA}.sync_ledger where member_key = :k) {history}"""
            ),
            {"k": member_key},
        ).scalar_one()
    )


def forgotten_of(conn: sa.Connection, member_keys: Sequence[str]) -> list[tuple[str, str, dt.datetime]]:
    """(member key, request id, when) of the members that were forgotten."""
    rows = conn.execute(
        sa.text(
            f"""select member_key, request_id, forgotten_at from {SCHEMA}.forgotten_members
                where member_key = any(:keys) order by member_key"""
        ),
        {"keys": list(member_keys)},
    )
    return [tuple(row) for row in rows]


def identity_keys_of(conn: sa.Connection, member_keys: Sequence[str]) -> set[str]:
    """The distinct identity keys in the members' snapshot rows (to suppress them too)."""
    if not member_keys:
        return set()
    rows = conn.execute(
        sa.text(
            f"""select distinct unnest({IDENTITY_KEYS_SQL}) from {SCHEMA}.snapshot_members
                where member_key = any(:keys)"""
        ),
        {"keys": list(member_keys)},
    )
    return set(rows.scalars())


def most_held_member(conn: sa.Connection, syncs: Sequence[str], column: str) -> tuple[str, str] | None:
    """(member key, raw ``column`` value) of the member the most of ``syncs`` hold, with that column in a
    snapshot (for the demo; it scans those syncs' ledgers)."""
    row = conn.execute(
        sa.text(
            f"""select l.member_key, (select s.attributes ->> :column from {SCHEMA}.snapshot_members s
                                      where s.member_key = l.member_key and s.attributes ? :column limit 1)
                from {SCHEMA}.sync_ledger l where l.sync = any(:syncs) and l.status = 'sent'
                group by l.member_key
                having exists (select 1 from {SCHEMA}.snapshot_members s
                               where s.member_key = l.member_key and s.attributes ? :column)
                order by count(*) desc, l.member_key limit 1"""
        ),
        {"syncs": list(syncs), "column": column},
    ).one_or_none()
    return (row[0], row[1]) if row else None


# ---------------------------------------------------------------------------------------------- suppression


def suppress(conn: sa.Connection, request_id: str, key_hashes: Mapping[str, str], member_keys: Sequence[str]) -> None:
    """Add keyed hashes (hash -> kind) to the suppression list and the member keys to the forgotten members."""
    if key_hashes:
        conn.execute(
            sa.text(
                f"""insert into {SCHEMA}.suppressed_identifiers (key_hash, kind, request_id)
                    select r.h, r.k, :request from jsonb_to_recordset(cast(:rows as jsonb)) as r(h text, k text)
                    on conflict (key_hash) do nothing"""
            ),
            {"request": request_id, "rows": json.dumps([{"h": h, "k": k} for h, k in key_hashes.items()])},
        )
    if member_keys:
        conn.execute(
            sa.text(
                f"""insert into {SCHEMA}.forgotten_members (member_key, request_id)
                    select unnest(cast(:keys as text[])), :request on conflict (member_key) do nothing"""
            ),
            {"request": request_id, "keys": list(member_keys)},
        )


def is_suppressed(conn: sa.Connection, key_hashes: Iterable[str]) -> bool:
    return bool(
        conn.execute(
            sa.text(f"select exists (select 1 from {SCHEMA}.suppressed_identifiers where key_hash = any(:h))"),
            {"h": list(key_hashes)},
        ).scalar_one()
    )


def drop_suppressed(conn: sa.Connection) -> int:
    """Delete suppressed people from the snapshot being built (``pg_temp.audience_rows``); how many.

    Free while nobody was ever forgotten; after that it needs the suppression key, and refuses to build a
    snapshot without it rather than let a forgotten person back in. Only the kinds on the list are hashed.
    """
    kinds = list(conn.execute(sa.text(f"select distinct kind from {SCHEMA}.suppressed_identifiers")).scalars())
    if not kinds:
        return 0
    key = suppression_key(why="building a snapshot while the suppression list has entries")
    values = {**{k: v.format(a="r.attributes") for k, v in IDENTITY_VALUE_SQL.items()}, "member_key": "r.member_key"}
    tests = [
        f"""{_hmac_sql(f"'{kind}:' || nullif({values[kind]}, '')")}
            in (select key_hash from {SCHEMA}.suppressed_identifiers where kind = '{kind}')"""
        for kind in kinds
        if kind in values
    ]
    tests.append(f"r.member_key in (select member_key from {SCHEMA}.forgotten_members)")
    return conn.execute(
        sa.text(f"delete from pg_temp.audience_rows r where {' or '.join(tests)}"),
        _hmac_params(key),
    ).rowcount


def forgotten_filter(alias: str, *, after: str | None = None) -> str:
    """SQL condition: the member at ``alias`` was not forgotten (for the pending-adds query); ``after``: the
    page's keyset bound, so a page reads only its key range of the forgotten members."""
    bound = f" and fm.member_key > {after}" if after else ""
    return f"not exists (select 1 from {SCHEMA}.forgotten_members fm where fm.member_key = {alias}.member_key{bound})"


# ---------------------------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class ForgetRequest:
    request_id: str
    identifier_hashes: tuple[str, ...]
    member_keys: tuple[str, ...]
    status: str
    steps: dict[str, object]
    erased: dict[str, int] | None
    requested_at: dt.datetime


def find_request(conn: sa.Connection, identifier_hashes: Sequence[str]) -> ForgetRequest | None:
    """The newest request for any of these identifiers (an unfinished one first)."""
    row = conn.execute(
        sa.text(
            f"""select request_id, identifier_hashes, member_keys, status, steps, erased, requested_at
                from {SCHEMA}.forget_requests where identifier_hashes && cast(:h as text[])
                order by status = 'running' desc, requested_at desc limit 1"""
        ),
        {"h": list(identifier_hashes)},
    ).one_or_none()
    if row is None:
        return None
    return ForgetRequest(row[0], tuple(row[1]), tuple(row[2]), row[3], dict(row[4]), row[5], row[6])


def start_request(
    conn: sa.Connection, request_id: str, identifier_hashes: Sequence[str], member_keys: Sequence[str]
) -> None:
    """Record a request with the keyed hashes of every identifier it covers (resuming one: add to them)."""
    conn.execute(
        sa.text(
            f"""insert into {SCHEMA}.forget_requests (request_id, identifier_hashes, member_keys, status)
                values (:id, cast(:h as text[]), cast(:k as text[]), 'running')
                on conflict (request_id) do update set member_keys = excluded.member_keys,
                    identifier_hashes = array(select distinct unnest(
                        forget_requests.identifier_hashes || excluded.identifier_hashes))"""
        ),
        {"id": request_id, "h": list(identifier_hashes), "k": list(member_keys)},
    )


def save_step(conn: sa.Connection, request_id: str, step: str, value: object) -> None:
    conn.execute(
        sa.text(
            f"""update {SCHEMA}.forget_requests set steps = steps || jsonb_build_object(cast(:step as text),
                    cast(:value as jsonb)) where request_id = :id"""
        ),
        {"id": request_id, "step": step, "value": json.dumps(value)},
    )


def finish_request(conn: sa.Connection, request_id: str, erased: Mapping[str, int]) -> None:
    conn.execute(
        sa.text(
            f"""update {SCHEMA}.forget_requests set status = 'done', erased = cast(:erased as jsonb),
                    finished_at = now() where request_id = :id"""
        ),
        {"id": request_id, "erased": json.dumps(dict(erased))},
    )


# ---------------------------------------------------------------------------------------------- erasure


def ledger_rows(conn: sa.Connection, sync: str, member_keys: Sequence[str]) -> list[tuple[str, dict, str, str]]:
    """(member key, fields as sent, source fingerprint, status) of the members in one sync's ledger."""
    rows = conn.execute(
        sa.text(
            f"""select member_key, fields, source_fingerprint, status from {SCHEMA}.sync_ledger
                where sync = :sync and member_key = any(:keys) order by member_key"""
        ),
        {"sync": sync, "keys": list(member_keys)},
    )
    return [(r[0], dict(r[1]), r[2], r[3]) for r in rows]


def count_ledger_rows(conn: sa.Connection, member_keys: Sequence[str]) -> int:
    """How many ledger rows (all syncs) the members have."""
    return conn.execute(
        sa.text(f"select count(*) from {SCHEMA}.sync_ledger where member_key = any(:keys)"), {"keys": list(member_keys)}
    ).scalar_one()


def drop_ledger_rows(conn: sa.Connection, sync: str, member_keys: Sequence[str]) -> int:
    return conn.execute(
        sa.text(f"delete from {SCHEMA}.sync_ledger where sync = :sync and member_key = any(:keys)"),
        {"sync": sync, "keys": list(member_keys)},
    ).rowcount


def erase_members(conn: sa.Connection, member_keys: Sequence[str]) -> dict[str, int]:
    """Erase the members' identifiers everywhere the pipeline keeps them; counts per table.

    Snapshot rows go (partition member counts stay as they were); ledger rows go (every destination removal
    is done first); refusal messages are blanked and retry state dropped. Membership history and run history
    keep their member-keyed rows, which hold no identifier.
    """
    params = {"keys": list(member_keys)}
    statements = {
        "snapshot rows": f"delete from {SCHEMA}.snapshot_members where member_key = any(:keys)",
        "ledger rows": f"delete from {SCHEMA}.sync_ledger where member_key = any(:keys)",
        "refusal messages": f"""update {SCHEMA}.sync_rejections set message = '(erased)'
                                where member_key = any(:keys) and message <> '(erased)'""",
        "retry records": f"delete from {SCHEMA}.sync_member_failures where member_key = any(:keys)",
    }
    erased = {what: conn.execute(sa.text(sql), params).rowcount for what, sql in statements.items()}
    return erased
