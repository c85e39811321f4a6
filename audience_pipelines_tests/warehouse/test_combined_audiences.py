"""Audiences built from audiences: membership is the set algebra of the inputs' snapshots, partition by partition."""

import datetime as dt
import random

import pytest
import sqlalchemy as sa

from audience_pipelines.config import ProjectConfig
from audience_pipelines.warehouse import SCHEMA, PartitionRef, materialize_diff, materialize_snapshot
from audience_pipelines.warehouse.combined import MissingInputSnapshotError

DAYS = range(1, 7)
USERS = range(1, 81)


def day(d: int) -> dt.datetime:
    return dt.datetime(2026, 3, d, tzinfo=dt.UTC)


def sql_audience(name: str) -> dict:
    """Users with an event of kind ``name`` in the day; their email says which audience found them."""
    return {
        "name": name,
        "type": "dynamic",
        "refresh": "daily",
        "window": "1d",
        "start": "2026-03-01",
        "identifiers": ["email"],
        "traits": ["kind"],
        "sql": f"""
            select 'u' || user_id as member_key, '{name}.' || user_id || '@example.com' as email, max(kind) as kind
            from src.activity where kind = '{name}' and at >= :window_start and at < :window_end group by user_id
        """,
    }


def combined(name: str, include: list[str], exclude: list[str] = (), combine: str = "union") -> dict:
    return {
        "name": name,
        "type": "dynamic",
        "refresh": "daily",
        "start": "2026-03-01",
        "include": include,
        "exclude": list(exclude),
        "combine": combine,
    }


CONFIG = ProjectConfig.model_validate(
    {
        "audiences": [
            sql_audience("a"),
            sql_audience("b"),
            sql_audience("c"),
            combined("a_or_b", ["a", "b"]),
            combined("b_or_a", ["b", "a"]),
            combined("a_and_b", ["a", "b"], combine="intersection"),
            combined("a_or_b_not_c", ["a", "b"], ["c"]),
            combined("a_and_b_not_c", ["a", "b"], ["c"], combine="intersection"),
            combined("a_or_b_or_c", ["a", "b", "c"]),
            combined("a_not_b_not_c", ["a"], ["b", "c"]),
            combined("nested", ["a_or_b", "c"], combine="intersection"),
        ]
    }
)


def churning_memberships(seed: int) -> dict[str, dict[int, set[str]]]:
    """Per audience and day, who is in it: each day a fifth of each audience leaves and others join."""
    rng = random.Random(seed)
    users = [f"u{u}" for u in USERS]
    found: dict[str, dict[int, set[str]]] = {}
    for name in "abc":
        members = set(rng.sample(users, 30))
        found[name] = {}
        for d in DAYS:
            leaving = set(rng.sample(sorted(members), 6))
            joining = set(rng.sample(sorted(set(users) - members), rng.randint(3, 9)))
            members = (members - leaving) | joining
            found[name][d] = set(members)
    return found


def load_activity(engine: sa.Engine, memberships: dict[str, dict[int, set[str]]]) -> None:
    rows = [
        {"u": int(member[1:]), "kind": name, "at": day(d) + dt.timedelta(hours=10)}
        for name, days in memberships.items()
        for d, members in days.items()
        for member in members
    ]
    with engine.begin() as conn:
        conn.execute(sa.text("drop schema if exists src cascade; create schema src"))
        conn.execute(sa.text("create table src.activity (user_id int, kind text, at timestamptz)"))
        conn.execute(sa.text("insert into src.activity values (:u, :kind, :at)"), rows)


def snapshot(engine: sa.Engine, name: str, d: int):
    return materialize_snapshot(
        engine,
        CONFIG.audience(name),
        partition_key=f"2026-03-{d:02d}",
        partition_start=day(d),
        partition_end=day(d + 1),
    )


def stored(engine: sa.Engine, name: str, d: int) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                f"select member_key, attributes from {SCHEMA}.snapshot_members "
                "where audience = :a and partition_start = :s"
            ),
            {"a": name, "s": day(d)},
        ).all()
    return dict(rows)


def expected(m: dict[str, dict[int, set[str]]], name: str, d: int) -> set[str]:
    """The same audiences in Python set algebra."""
    a, b, c = (m[x][d] for x in "abc")
    return {
        "a_or_b": a | b,
        "b_or_a": a | b,
        "a_and_b": a & b,
        "a_or_b_not_c": (a | b) - c,
        "a_and_b_not_c": (a & b) - c,
        "a_or_b_or_c": a | b | c,
        "a_not_b_not_c": a - b - c,
        "nested": (a | b) & c,
    }[name]


COMBINED = ["a_or_b", "b_or_a", "a_and_b", "a_or_b_not_c", "a_and_b_not_c", "a_or_b_or_c", "a_not_b_not_c", "nested"]


@pytest.mark.parametrize("seed", [7, 2026])
def test_include_exclude_membership_equals_the_set_algebra_of_its_inputs_across_churn(clean_warehouse, seed):
    memberships = churning_memberships(seed)
    load_activity(clean_warehouse, memberships)
    previous: dict[str, set[str]] = {}
    for d in DAYS:
        for name in ["a", "b", "c", *COMBINED]:  # inputs before the audiences built from them
            result = snapshot(clean_warehouse, name, d)
            members = stored(clean_warehouse, name, d)
            want = memberships[name][d] if name in memberships else expected(memberships, name, d)
            assert set(members) == want, f"{name} on day {d}"
            assert result.member_count == len(want)
            if name in memberships:
                continue
            diff = materialize_diff(
                clean_warehouse,
                name,
                PartitionRef(f"2026-03-{d:02d}", day(d)),
                PartitionRef(f"2026-03-{d - 1:02d}", day(d - 1)) if d > 1 else None,
            )
            before = previous.get(name, set())
            assert (diff.entered, diff.exited) == (len(want - before), len(before - want)), f"{name} day {d}"
            previous[name] = want
    churn = [memberships["a"][d] ^ memberships["a"][d + 1] for d in DAYS[:-1]]
    assert all(churn), "the inputs change members between partitions"


def test_a_members_attributes_come_from_the_first_include_that_holds_them(clean_warehouse):
    memberships = churning_memberships(11)
    load_activity(clean_warehouse, memberships)
    for name in ["a", "b", "c", "a_or_b", "b_or_a", "a_and_b"]:
        snapshot(clean_warehouse, name, 1)
    a, b = memberships["a"][1], memberships["b"][1]
    assert a & b and a - b and b - a, "the fixture needs members in one input only and in both"
    for name, first in [("a_or_b", "a"), ("b_or_a", "b")]:
        for key, attributes in stored(clean_warehouse, name, 1).items():
            source = first if key in memberships[first][1] else ({"a", "b"} - {first}).pop()
            assert attributes == {"email": f"{source}.{key[1:]}@example.com", "kind": source}
    assert all(v["kind"] == "a" for v in stored(clean_warehouse, "a_and_b", 1).values())
    result = snapshot(clean_warehouse, "a_or_b", 1)
    assert result.identifier_counts == {"email": len(a | b)}
    assert (result.window.start, result.window.end) == (day(1), day(2))


def test_a_missing_input_snapshot_fails_clearly_instead_of_making_an_empty_audience(clean_warehouse):
    load_activity(clean_warehouse, churning_memberships(3))
    snapshot(clean_warehouse, "a", 2)
    snapshot(clean_warehouse, "b", 2)
    with pytest.raises(MissingInputSnapshotError) as caught:
        snapshot(clean_warehouse, "a_or_b_not_c", 2)
    assert str(caught.value) == (
        "audience 'a_or_b_not_c': input audience(s) c have no snapshot for partition 2026-03-02 "
        "(never materialized, or pruned); materialize them first"
    )
    with pytest.raises(MissingInputSnapshotError, match="input audience\\(s\\) a, b have no snapshot for partition"):
        snapshot(clean_warehouse, "a_or_b", 3)
    with clean_warehouse.connect() as conn:
        written = conn.execute(
            sa.text(f"select count(*) from {SCHEMA}.snapshot_partitions where audience like 'a_or_b%'")
        ).scalar_one()
    assert written == 0, "nothing is recorded for a partition whose inputs are missing"


def test_an_empty_input_is_a_real_answer_not_a_missing_one(clean_warehouse):
    memberships = churning_memberships(5)
    memberships["c"][4] = set()
    load_activity(clean_warehouse, memberships)
    for name in ["a", "b", "c", "a_or_b_not_c", "a_or_b"]:
        snapshot(clean_warehouse, name, 4)
    assert set(stored(clean_warehouse, "a_or_b_not_c", 4)) == memberships["a"][4] | memberships["b"][4]
