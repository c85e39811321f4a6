"""Audience SQL runs read-only, within its statement timeout, and its errors never quote the values it touched."""

import pytest
import sqlalchemy as sa

from audience_pipelines.warehouse import SCHEMA, AudienceSqlError
from audience_pipelines_tests.warehouse.test_snapshots_and_diffs import one_day_audience, snapshot
from audience_pipelines_tests.warehouse.test_snapshots_and_diffs import visits as visits  # the fixture


def partitions(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"select count(*) from {SCHEMA}.snapshot_partitions")).scalar_one()


def test_a_run_time_error_names_the_code_never_the_value(visits):
    audience = one_day_audience(
        sql="select 'u' || user_id as member_key, email, cast(email as integer) as visits from src.visits "
        "where visited_at >= :window_start and visited_at < :window_end",
    )
    with pytest.raises(AudienceSqlError) as caught:
        snapshot(visits, audience, 1)
    message = str(caught.value)
    assert "audience 'daily_visitors'" in message and "PostgreSQL error 22P02" in message
    assert "@example.com" not in message and "select" not in message.lower()
    assert caught.value.__cause__ is None, "the driver's error (which quotes the value) is not chained"
    assert partitions(visits) == 0


@pytest.mark.parametrize(
    "sql",
    [
        "with gone as (delete from src.visits returning user_id) select 'u' || user_id as member_key, "
        "null as email, 1 as visits from gone where :window_start < :window_end",
        "select 'u' || nextval('src.seq') as member_key, null as email, 1 as visits where :window_start < :window_end",
    ],
    ids=["data-modifying-cte", "side-effecting-function"],
)
def test_audience_sql_cannot_write(visits, sql):
    with visits.begin() as conn:
        conn.execute(sa.text("create sequence src.seq"))
    with pytest.raises(AudienceSqlError, match=r"PostgreSQL error (25006|0A000)"):
        snapshot(visits, one_day_audience(sql=sql), 1)
    with visits.connect() as conn:
        assert conn.execute(sa.text("select count(*) from src.visits")).scalar_one() == 8, "nothing was deleted"


def test_audience_sql_stops_at_its_statement_timeout(visits):
    audience = one_day_audience(
        sql="select 'u1' as member_key, null as email, 1 as visits from pg_sleep(5) where :window_start < :window_end",
        statement_timeout="1s",
    )
    with pytest.raises(AudienceSqlError, match=r"57014.*statement_timeout ran out"):
        snapshot(visits, audience, 1)
