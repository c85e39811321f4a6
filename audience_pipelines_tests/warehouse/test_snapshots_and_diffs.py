"""Snapshots and diffs computed in the warehouse: windows, exact churn, idempotency, missing partitions."""

import datetime as dt

import pytest
import sqlalchemy as sa

from audience_pipelines.config import DynamicAudience, StaticAudience
from audience_pipelines.warehouse import (
    SCHEMA,
    AudienceSqlError,
    MissingSnapshotError,
    PartitionRef,
    materialize_diff,
    materialize_snapshot,
    prune_snapshots,
)

ACTIVE_SQL = """
    select 'u' || user_id as member_key, max(email) as email, count(*) as visits
    from src.visits where visited_at >= :window_start and visited_at < :window_end
    group by user_id
"""


def day(d: int) -> dt.datetime:
    return dt.datetime(2026, 3, d, tzinfo=dt.UTC)


@pytest.fixture
def visits(clean_warehouse: sa.Engine) -> sa.Engine:
    """Users visiting on given days: u1 every day, u2 on days 1-2, u3 on day 3, u4 on day 2."""
    rows = [(1, d) for d in (1, 2, 3, 4)] + [(2, 1), (2, 2), (3, 3), (4, 2)]
    with clean_warehouse.begin() as conn:
        conn.execute(sa.text("drop schema if exists src cascade; create schema src"))
        conn.execute(sa.text("create table src.visits (user_id int, email text, visited_at timestamptz)"))
        conn.execute(
            sa.text("insert into src.visits values (:u, :email, :at)"),
            [{"u": u, "email": f"user{u}@example.com", "at": day(d) + dt.timedelta(hours=12)} for u, d in rows],
        )
    return clean_warehouse


def one_day_audience(**overrides) -> DynamicAudience:
    fields = dict(
        name="daily_visitors",
        type="dynamic",
        refresh="daily",
        window="1d",
        start="2026-03-01",
        sql=ACTIVE_SQL,
        identifiers=["email"],
        traits=["visits"],
    )
    return DynamicAudience.model_validate({**fields, **overrides})


def snapshot(engine: sa.Engine, audience, d: int):
    return materialize_snapshot(
        engine, audience, partition_key=f"2026-03-{d:02d}", partition_start=day(d), partition_end=day(d + 1)
    )


def members(engine: sa.Engine, audience: str, d: int) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                sa.text(
                    f"select member_key from {SCHEMA}.snapshot_members where audience = :a and partition_start = :s"
                ),
                {"a": audience, "s": day(d)},
            ).scalars()
        )


def changes(engine: sa.Engine, audience: str, d: int) -> dict[str, set[str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                f"select change, member_key from {SCHEMA}.membership_changes "
                "where audience = :a and partition_start = :s"
            ),
            {"a": audience, "s": day(d)},
        ).all()
    return {kind: {key for change, key in rows if change == kind} for kind in ("entered", "exited")}


def ref(d: int) -> PartitionRef:
    return PartitionRef(f"2026-03-{d:02d}", day(d))


def test_dynamic_window_is_evaluated_as_of_the_partition_end(visits):
    audience = one_day_audience()
    result = snapshot(visits, audience, 2)
    assert members(visits, audience.name, 2) == {"u1", "u2", "u4"}
    assert result.member_count == 3
    assert result.identifier_counts == {"email": 3}
    assert (result.window.start, result.window.end) == (day(2), day(3))


def test_rolling_window_longer_than_the_refresh_looks_back(visits):
    audience = one_day_audience(window="2d")
    snapshot(visits, audience, 3)
    assert members(visits, audience.name, 3) == {"u1", "u2", "u3", "u4"}


def test_static_audience_keeps_its_fixed_range_whatever_the_partition(visits):
    audience = StaticAudience.model_validate(
        dict(
            name="early_visitors",
            type="static",
            range={"start": "2026-03-01", "end": "2026-03-02"},
            sql=ACTIVE_SQL,
            identifiers=["email"],
            traits=["visits"],
        )
    )
    snapshot(visits, audience, 2)
    snapshot(visits, audience, 4)
    assert members(visits, audience.name, 2) == members(visits, audience.name, 4) == {"u1", "u2"}


def test_diffs_give_exact_entered_and_exited_sets_across_partitions(visits):
    audience = one_day_audience()
    for d in (1, 2, 3):
        snapshot(visits, audience, d)
    first = materialize_diff(visits, audience.name, ref(1), None)
    second = materialize_diff(visits, audience.name, ref(2), ref(1))
    third = materialize_diff(visits, audience.name, ref(3), ref(2))
    assert changes(visits, audience.name, 1) == {"entered": {"u1", "u2"}, "exited": set()}
    assert changes(visits, audience.name, 2) == {"entered": {"u4"}, "exited": set()}
    assert changes(visits, audience.name, 3) == {"entered": {"u3"}, "exited": {"u2", "u4"}}
    assert (first.entered, second.entered, third.entered, third.exited) == (2, 1, 1, 2)
    assert third.exit_ratio == pytest.approx(2 / 3)
    with visits.connect() as conn:
        history = conn.execute(
            sa.text(
                f"select partition_key, change from {SCHEMA}.membership_history "
                "where audience = :a and member_key = 'u2' order by changed_at"
            ),
            {"a": audience.name},
        ).all()
    assert [tuple(row) for row in history] == [("2026-03-01", "entered"), ("2026-03-03", "exited")]


def test_rematerializing_a_partition_replaces_it_exactly(visits):
    audience = one_day_audience()
    snapshot(visits, audience, 1)
    snapshot(visits, audience, 2)
    materialize_diff(visits, audience.name, ref(2), ref(1))
    with visits.begin() as conn:
        conn.execute(sa.text("delete from src.visits where user_id = 4"))
    again = snapshot(visits, audience, 2)
    assert again.member_count == 2
    assert members(visits, audience.name, 2) == {"u1", "u2"}
    rerun = materialize_diff(visits, audience.name, ref(2), ref(1))
    assert (rerun.entered, rerun.exited) == (0, 0)
    assert changes(visits, audience.name, 2) == {"entered": set(), "exited": set()}


def test_a_missing_previous_snapshot_is_an_error_not_an_everyone_left_diff(visits):
    audience = one_day_audience()
    snapshot(visits, audience, 3)
    with pytest.raises(MissingSnapshotError, match="previous snapshot partition 2026-03-02 was never materialized"):
        materialize_diff(visits, audience.name, ref(3), ref(2))
    with pytest.raises(MissingSnapshotError, match="snapshot partition 2026-03-04 has not been materialized"):
        materialize_diff(visits, audience.name, ref(4), ref(3))
    assert changes(visits, audience.name, 3) == {"entered": set(), "exited": set()}


def test_duplicate_member_keys_are_reported_with_the_audience_name(visits):
    audience = one_day_audience(sql="select 'same' as member_key, email, 1 as visits from src.visits")
    with pytest.raises(AudienceSqlError, match="audience 'daily_visitors': its SQL must return one row per member"):
        snapshot(visits, audience, 1)


def test_undeclared_columns_are_reported_before_anything_is_written(visits):
    audience = one_day_audience(identifiers=["email", "phone"])
    with pytest.raises(AudienceSqlError, match="does not return the declared column\\(s\\) phone"):
        snapshot(visits, audience, 1)


def test_pruning_keeps_snapshots_a_later_diff_still_needs(visits):
    audience = one_day_audience()
    for d in (1, 2, 3, 4):
        snapshot(visits, audience, d)
    materialize_diff(visits, audience.name, ref(2), ref(1))
    materialize_diff(visits, audience.name, ref(3), ref(2))
    pruned = prune_snapshots(visits, audience.name, dt.timedelta(days=1))
    # Day 1 and 2 are older than a day before the newest (day 4) and their successors' diffs exist;
    # day 3 is needed by the diff of day 4, which has not run yet, and day 4 is the newest.
    assert pruned == 2
    assert members(visits, audience.name, 3) and members(visits, audience.name, 4)
    assert not members(visits, audience.name, 1) and not members(visits, audience.name, 2)
