"""What a snapshot row holds for every kind of column: its non-null values, their fingerprint, its identifiers."""

import sqlalchemy as sa

from audience_pipelines.config import ProjectConfig
from audience_pipelines.warehouse import SCHEMA, materialize_snapshot
from audience_pipelines_tests.warehouse.test_snapshots_and_diffs import day, one_day_audience, snapshot
from audience_pipelines_tests.warehouse.test_snapshots_and_diffs import visits as visits  # the fixture

# Each row tries another kind of value: blanks, nulls, numbers, dates, arrays, JSON with nulls nested inside.
TYPED_ROWS = """
    select * from (values
        ('u1', 'one@example.com', cast('"+1 650 555 0101"' as jsonb), 3, 1.50, true, date '2026-03-01',
         timestamptz '2026-03-01 12:00+00', cast('{"tier": "gold", "note": null, "tags": [1, null]}' as jsonb),
         cast(array['a', null] as text[])),
        ('u2', '   ', cast('"  "' as jsonb), null, null, false, null, null, cast('null' as jsonb), null),
        ('u3', null, cast('null' as jsonb), 0, cast('NaN' as numeric), null, date 'infinity', null,
         cast('[{"x": null}]' as jsonb), cast(array[]::text[] as text[])),
        ('u4', '', null, null, null, null, null, null, cast('{}' as jsonb), null)
    ) as t(member_key, email, phone, visits, score, vip, since, seen_at, profile, tags)
    where :window_start < :window_end
"""
COLUMNS = ["email", "phone", "visits", "score", "vip", "since", "seen_at", "profile", "tags"]


def stored(engine: sa.Engine, audience: str) -> list[sa.Row]:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                f"""select member_key, attributes, attributes_fingerprint,
                           hashtextextended(attributes::text, 0) as fingerprint_of_attributes
                    from {SCHEMA}.snapshot_members where audience = :a order by member_key"""
            ),
            {"a": audience},
        ).all()


def test_attributes_keep_every_non_null_value_of_every_column_type(visits):
    audience = one_day_audience(sql=TYPED_ROWS, identifiers=["email", "phone"], traits=COLUMNS[2:])
    result = snapshot(visits, audience, 1)
    pairs = ", ".join(f"'{c}', t.{c}" for c in COLUMNS)
    with visits.connect() as conn:
        expected = dict(
            conn.execute(
                sa.text(f"select t.member_key, jsonb_strip_nulls(jsonb_build_object({pairs})) from ({TYPED_ROWS}) t"),
                {"window_start": day(1), "window_end": day(2)},
            ).all()
        )
    rows = stored(visits, audience.name)
    assert {row.member_key: row.attributes for row in rows} == expected
    assert expected["u1"]["profile"] == {"tier": "gold", "tags": [1, None]}, "nulls nested in JSON are dropped"
    assert "profile" not in expected["u2"] and expected["u3"]["score"] == "NaN"
    assert all(row.attributes_fingerprint == row.fingerprint_of_attributes for row in rows)
    # a blank or missing identifier is not counted, however it was typed
    assert result.member_count == 4
    assert result.identifier_counts == {"email": 1, "phone": 1}


def test_combined_audience_rows_carry_the_same_fingerprint(visits):
    config = ProjectConfig.model_validate(
        {
            "audiences": [
                {**one_day_audience().model_dump(mode="json", exclude_none=True), "name": "daily"},
                {"name": "again", "type": "dynamic", "refresh": "daily", "start": "2026-03-01", "include": ["daily"]},
            ]
        }
    )
    daily, again = (config.audience(name) for name in ("daily", "again"))
    snapshot(visits, daily, 2)
    result = materialize_snapshot(
        visits, again, partition_key="2026-03-02", partition_start=day(2), partition_end=day(3)
    )
    rows = stored(visits, "again")
    assert [row.member_key for row in rows] == ["u1", "u2", "u4"] and result.member_count == 3
    assert {row.member_key: row.attributes for row in rows} == {
        row.member_key: row.attributes for row in stored(visits, "daily")
    }
    assert all(row.attributes_fingerprint == row.fingerprint_of_attributes for row in rows)
    assert result.identifier_counts == {"email": 3}


def test_a_snapshot_runs_in_a_session_that_already_used_a_temporary_table(visits):
    engine = sa.create_engine(visits.url, pool_size=1, max_overflow=0)
    try:
        with engine.begin() as conn:  # the pool's only session can no longer resize its temporary buffers
            conn.execute(sa.text("create temporary table scratch as select 1 as x"))
        audience = one_day_audience()
        for _ in range(2):  # and the session the first snapshot used is not handed out again half-configured
            result = snapshot(engine, audience, 2)
            assert result.member_count == 3 and result.sample_member_keys == ["u1", "u2", "u4"]
    finally:
        engine.dispose()
