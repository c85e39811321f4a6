"""Loading, idempotency and determinism of the demo data generator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from audience_pipelines.demo import DemoDataSpec, data, load_demo_data
from audience_pipelines_tests.demo.helpers import checksums, scalar

DAY = dt.date(2026, 11, 20)  # tests inject the day the data is anchored to
SPEC = DemoDataSpec(users=3_000, end_date=DAY)

EXPECTED_COLUMNS = {
    "profiles": [
        ("user_id", "bigint", "NO"),
        ("email", "text", "YES"),
        ("phone", "text", "YES"),
        ("first_name", "text", "YES"),
        ("last_name", "text", "YES"),
        ("gender", "text", "YES"),
        ("date_of_birth", "date", "YES"),
        ("city", "text", "YES"),
        ("state", "text", "YES"),
        ("zip", "text", "YES"),
        ("country", "text", "YES"),
        ("external_id", "text", "YES"),
        ("created_at", "timestamp with time zone", "YES"),
    ],
    "visitors": [
        ("visitor_id", "text", "NO"),
        ("user_id", "bigint", "YES"),
        ("fbp", "text", "YES"),
        ("fbc", "text", "YES"),
        ("gclid", "text", "YES"),
        ("ga_client_id", "text", "YES"),
        ("ttclid", "text", "YES"),
        ("first_seen_at", "timestamp with time zone", "YES"),
    ],
    "events": [
        ("event_id", "bigint", "NO"),
        ("visitor_id", "text", "NO"),
        ("user_id", "bigint", "YES"),
        ("event_type", "text", "NO"),
        ("occurred_at", "timestamp with time zone", "NO"),
        ("value", "numeric", "YES"),
    ],
}

EXPECTED_INDEXES = {
    "profiles_pkey": "(user_id)",
    "visitors_pkey": "(visitor_id)",
    "visitors_user_id_idx": "(user_id)",
    "events_pkey": "(event_id)",
    "events_event_type_occurred_at_idx": "(event_type, occurred_at)",
    "events_user_id_idx": "(user_id)",
    "events_visitor_id_idx": "(visitor_id)",
}


def _filenodes(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(sa.text(f"SELECT pg_relation_filenode('demo.{table}')")).scalar_one()
            for table in ("profiles", "visitors", "events")
        }


@pytest.fixture(scope="module")
def loaded(new_database: Callable[[], sa.Engine]) -> sa.Engine:
    engine = new_database()
    load_demo_data(engine, SPEC)
    return engine


def test_spec_defaults_and_window() -> None:
    spec = DemoDataSpec(end_date=DAY)
    assert (spec.users, spec.seed, spec.end_date, spec.days) == (20_000, 7, DAY, 90)
    assert spec.window_end == dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
    assert spec.window_start == dt.datetime(2026, 8, 23, tzinfo=dt.UTC)


def test_the_data_is_anchored_to_the_day_it_is_generated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "today_utc", lambda: dt.date(2027, 2, 3))
    assert DemoDataSpec().end_date == dt.date(2027, 2, 3)
    assert DemoDataSpec().window_end == dt.datetime(2027, 2, 4, tzinfo=dt.UTC)


@pytest.mark.parametrize("kwargs", [{"users": 0}, {"days": 0}, {"seed": 2**63}])
def test_spec_rejects_invalid_values(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        DemoDataSpec(**kwargs)


def test_first_load_creates_tables(new_database: Callable[[], sa.Engine]) -> None:
    engine = new_database()
    summary = load_demo_data(engine, SPEC)
    assert summary.created
    assert summary.spec == SPEC
    assert summary.profiles == SPEC.users
    assert 1.4 * SPEC.users < summary.visitors < 1.6 * SPEC.users
    assert 3 * SPEC.users < summary.events < 6 * SPEC.users
    assert summary.seconds > 0
    for table, count in (("profiles", summary.profiles), ("visitors", summary.visitors), ("events", summary.events)):
        assert scalar(engine, f"SELECT count(*) FROM demo.{table}") == count
    row = scalar(engine, "SELECT to_jsonb(g) - 'generated_at' - 'seconds' FROM demo.generation AS g")
    assert row == {
        "singleton": True,
        "generator_version": 1,
        "users": SPEC.users,
        "seed": SPEC.seed,
        "end_date": "2026-11-20",
        "days": 90,
        "profiles": summary.profiles,
        "visitors": summary.visitors,
        "events": summary.events,
    }


def test_tables_have_the_documented_shape(loaded: sa.Engine) -> None:
    with loaded.connect() as conn:
        for table, expected in EXPECTED_COLUMNS.items():
            columns = conn.execute(
                sa.text(
                    "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
                    " WHERE table_schema = 'demo' AND table_name = :table ORDER BY ordinal_position"
                ),
                {"table": table},
            ).all()
            assert [tuple(c) for c in columns] == expected
        value_type = conn.execute(
            sa.text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = 'demo.events'::regclass AND attname = 'value'"
            )
        ).scalar_one()
        assert value_type == "numeric(10,2)"
        indexes = dict(
            conn.execute(
                sa.text(
                    "SELECT indexname, substring(indexdef FROM '\\(.*\\)$') FROM pg_indexes"
                    " WHERE schemaname = 'demo' AND tablename IN ('profiles', 'visitors', 'events')"
                )
            ).all()
        )
        assert indexes == EXPECTED_INDEXES
        leftovers = conn.execute(
            sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'demo' AND tablename LIKE 'build%'")
        ).scalar_one()
        assert leftovers == 0


def test_second_load_with_same_spec_writes_nothing(loaded: sa.Engine) -> None:
    before = (_filenodes(loaded), scalar(loaded, "SELECT generated_at FROM demo.generation"), checksums(loaded))
    summary = load_demo_data(loaded, SPEC)
    assert not summary.created
    assert (summary.profiles, summary.visitors, summary.events) == tuple(
        scalar(loaded, f"SELECT count(*) FROM demo.{table}") for table in ("profiles", "visitors", "events")
    )
    after = (_filenodes(loaded), scalar(loaded, "SELECT generated_at FROM demo.generation"), checksums(loaded))
    assert after == before


def test_replace_rebuilds_byte_identical_rows(loaded: sa.Engine) -> None:
    before = checksums(loaded)
    nodes = _filenodes(loaded)
    summary = load_demo_data(loaded, SPEC, replace=True)
    assert summary.created
    assert _filenodes(loaded) != nodes
    assert checksums(loaded) == before


def test_same_spec_gives_identical_tables_in_another_database(
    loaded: sa.Engine, new_database: Callable[[], sa.Engine]
) -> None:
    other = new_database()
    load_demo_data(other, SPEC)
    assert checksums(other) == checksums(loaded)


def test_different_spec_rebuilds(new_database: Callable[[], sa.Engine]) -> None:
    engine = new_database()
    load_demo_data(engine, SPEC)
    original = checksums(engine)

    reseeded = load_demo_data(engine, DemoDataSpec(users=SPEC.users, seed=SPEC.seed + 1, end_date=DAY))
    assert reseeded.created
    assert scalar(engine, "SELECT seed FROM demo.generation") == SPEC.seed + 1
    assert all(a != b for a, b in zip(checksums(engine).values(), original.values(), strict=True))

    resized = load_demo_data(engine, DemoDataSpec(users=1_000, end_date=DAY))
    assert resized.created
    assert scalar(engine, "SELECT count(*) FROM demo.profiles") == 1_000
    assert scalar(engine, "SELECT users FROM demo.generation") == 1_000

    back = load_demo_data(engine, SPEC)
    assert back.created
    assert checksums(engine) == original


def test_shorter_window_ends_at_end_date(new_database: Callable[[], sa.Engine]) -> None:
    engine = new_database()
    spec = DemoDataSpec(users=500, end_date=dt.date(2025, 1, 31), days=10)
    load_demo_data(engine, spec)
    first, last = (
        scalar(engine, "SELECT min(occurred_at) FROM demo.events"),
        scalar(engine, "SELECT max(occurred_at) FROM demo.events"),
    )
    assert spec.window_start <= first < last < spec.window_end


def test_failed_rebuild_leaves_previous_data(loaded: sa.Engine) -> None:
    before = checksums(loaded)
    with loaded.begin() as conn:
        conn.execute(sa.text("CREATE VIEW public.demo_dependent AS SELECT event_id FROM demo.events"))
    try:
        with pytest.raises(sa.exc.DBAPIError, match="depend"):
            load_demo_data(loaded, SPEC, replace=True)
        assert checksums(loaded) == before
        assert scalar(loaded, "SELECT to_regclass('demo.build_numbers') IS NULL")
    finally:
        with loaded.begin() as conn:
            conn.execute(sa.text("DROP VIEW public.demo_dependent"))
