"""Shares, formats and audience behaviour of the generated demo data (5,000 users)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from audience_pipelines.demo import DemoDataSpec, load_demo_data
from audience_pipelines.demo.audiences import (
    ANONYMOUS_PRODUCT_VIEWERS,
    CART_ABANDONERS,
    EXAMPLE_AUDIENCES,
    HIGH_VALUE_CUSTOMERS,
    OCTOBER_2026_PURCHASERS,
)
from audience_pipelines_tests.demo.helpers import scalar

SPEC = DemoDataSpec(users=5_000, end_date=dt.date(2026, 11, 20))  # the day is injected, not today
WINDOW_END = SPEC.window_end
OCTOBER = (dt.datetime(2026, 10, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, tzinfo=dt.UTC))


@pytest.fixture(scope="module")
def engine(new_database: Callable[[], sa.Engine]) -> sa.Engine:
    engine = new_database()
    load_demo_data(engine, SPEC)
    return engine


def members(engine: sa.Engine, query: str, window_start: dt.datetime, window_end: dt.datetime) -> set[str]:
    """member_key values of an audience query, checking they are unique."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(query), {"window_start": window_start, "window_end": window_end}).mappings().all()
    keys = [row["member_key"] for row in rows]
    assert len(keys) == len(set(keys)), "member_key must be unique"
    return set(keys)


def last_days(days: int, *, ending_days_before: int = 0) -> tuple[dt.datetime, dt.datetime]:
    end = WINDOW_END - dt.timedelta(days=ending_days_before)
    return end - dt.timedelta(days=days), end


def test_malformed_contact_share_is_about_three_percent(engine: sa.Engine) -> None:
    email = scalar(
        engine,
        "SELECT avg((email = '' OR position('@' IN email) = 0)::int) FROM demo.profiles WHERE email IS NOT NULL",
    )
    phone = scalar(
        engine,
        "SELECT avg((length(regexp_replace(phone, '[^0-9]', '', 'g')) < 7)::int)"
        " FROM demo.profiles WHERE phone IS NOT NULL",
    )
    assert 0.02 < email < 0.045
    assert 0.02 < phone < 0.045
    assert 0.02 < scalar(engine, "SELECT avg((email IS NULL)::int) FROM demo.profiles") < 0.07
    assert 0.07 < scalar(engine, "SELECT avg((phone IS NULL)::int) FROM demo.profiles") < 0.14


def test_contacts_are_messy_but_fake(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        emails = conn.execute(sa.text("SELECT email FROM demo.profiles WHERE position('@' IN email) > 0")).scalars()
        domains = {e.strip().split("@")[1].lower() for e in emails}
        assert domains == {"example.com", "example.org", "example.net"}
        assert conn.execute(sa.text("SELECT count(*) FROM demo.profiles WHERE email <> trim(email)")).scalar_one() > 0
        assert conn.execute(sa.text("SELECT count(*) FROM demo.profiles WHERE email ~ '[A-Z]'")).scalar_one() > 0
        phones = conn.execute(sa.text("SELECT phone FROM demo.profiles WHERE phone <> ''")).scalars().all()
    for pattern in (r"^\+1 \d{3}-555-01\d\d$", r"^\(\d{3}\) 555-01\d\d$", r"^\d{3}\.555\.01\d\d$", r"^\d{3}55501\d\d$"):
        assert any(re.match(pattern, p) for p in phones), pattern
    assert any(p.startswith("+44 ") for p in phones)
    assert any(p.startswith("0049 ") for p in phones)
    fictional = scalar(
        engine,
        """
        SELECT count(*) FILTER (WHERE CASE
            WHEN country IN ('US', 'CA', 'United States') THEN right(digits, 10) ~ '^[0-9]{3}55501[0-9]{2}$'
            WHEN country = 'GB' THEN digits ~ '(2079460|1[0-9]{2}4960|7700900)[0-9]{3}$'
            ELSE true
        END) = count(*)
        FROM (
            SELECT country, regexp_replace(phone, '[^0-9]', '', 'g') AS digits FROM demo.profiles
        ) AS p
        WHERE length(digits) >= 7
        """,
    )
    assert fictional


def test_profile_attributes_are_mixed(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        countries = dict(conn.execute(sa.text("SELECT country, count(*) FROM demo.profiles GROUP BY 1")).all())
        genders = set(conn.execute(sa.text("SELECT DISTINCT gender FROM demo.profiles")).scalars())
        states = set(conn.execute(sa.text("SELECT DISTINCT state FROM demo.profiles WHERE country = 'US'")).scalars())
        zips = conn.execute(sa.text("SELECT zip FROM demo.profiles WHERE country = 'US'")).scalars().all()
        gb_zips = conn.execute(sa.text("SELECT zip FROM demo.profiles WHERE country = 'GB'")).scalars().all()
        assert conn.execute(sa.text("SELECT avg((date_of_birth IS NULL)::int) FROM demo.profiles")).scalar_one() > 0.1
        external = conn.execute(sa.text("SELECT external_id FROM demo.profiles WHERE user_id = 123")).scalar_one()
    assert external == "crm-000123"
    assert countries["US"] > 0.6 * SPEC.users
    assert {"GB", "CA", "DE", "FR", "United States"} <= countries.keys()
    assert {"M", "F", "female", None} <= genders
    assert {"CA", "California", "NY"} <= states
    assert all(re.fullmatch(r"\d{5}(-\d{4})?", z) for z in zips)
    assert any("-" in z for z in zips) and any("-" not in z for z in zips)
    assert all(re.fullmatch(r"[A-Z]{1,2}\d{1,2} \d[A-Z]{2}", z) for z in gb_zips)


def test_visitor_identities(engine: sa.Engine) -> None:
    linked = scalar(engine, "SELECT avg((user_id IS NOT NULL)::int) FROM demo.visitors")
    per_user = scalar(engine, "SELECT count(*)::float / (SELECT count(*) FROM demo.profiles) FROM demo.visitors")
    assert 0.35 < linked < 0.45
    assert 1.4 < per_user < 1.6
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM demo.visitors")).mappings().all()
    assert all(re.fullmatch(r"fb\.1\.\d{13}\.\d{10}", r["fbp"]) for r in rows if r["fbp"] is not None)
    assert all(re.fullmatch(r"fb\.1\.\d{13}\.[A-Za-z0-9_-]+", r["fbc"]) for r in rows if r["fbc"] is not None)
    assert all(re.fullmatch(r"\d{10}\.\d{10}", r["ga_client_id"]) for r in rows if r["ga_client_id"] is not None)
    assert 0.4 < sum(r["fbc"] is None for r in rows) / len(rows) < 0.6
    assert 0 < sum(r["gclid"] is None for r in rows) < len(rows)
    assert 0 < sum(r["ttclid"] is None for r in rows) < len(rows)
    assert (
        scalar(
            engine,
            "SELECT count(*) FROM demo.visitors v LEFT JOIN demo.profiles p USING (user_id) "
            "WHERE v.user_id IS NOT NULL AND p.user_id IS NULL",
        )
        == 0
    )


def test_events_fit_the_window_and_their_visitor(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        first, last = conn.execute(sa.text("SELECT min(occurred_at), max(occurred_at) FROM demo.events")).one()
        mismatched = conn.execute(
            sa.text(
                "SELECT count(*) FROM demo.events e JOIN demo.visitors v USING (visitor_id)"
                " WHERE e.user_id IS DISTINCT FROM v.user_id OR e.occurred_at < v.first_seen_at"
            )
        ).scalar_one()
        orphans = conn.execute(
            sa.text("SELECT count(*) FROM demo.events e LEFT JOIN demo.visitors v USING (visitor_id) WHERE v IS NULL")
        ).scalar_one()
        types = dict(conn.execute(sa.text("SELECT event_type, count(*) FROM demo.events GROUP BY 1")).all())
        values = conn.execute(
            sa.text(
                "SELECT count(*) FILTER (WHERE (value IS NULL) = (event_type = 'purchase')),"
                " min(value), max(value),"
                " percentile_cont(0.5) WITHIN GROUP (ORDER BY value),"
                " avg((value >= 200)::int)"
                " FROM demo.events"
            )
        ).one()
    assert SPEC.window_start <= first and last < SPEC.window_end
    assert mismatched == 0 and orphans == 0
    assert set(types) == {"page_view", "product_viewed", "add_to_cart", "purchase"}
    assert types["page_view"] > types["product_viewed"] > types["add_to_cart"] > types["purchase"]
    assert 3 < sum(types.values()) / SPEC.users < 6
    misplaced, low, high, median, big_share = values
    assert misplaced == 0
    assert low >= 10 and high <= 1500
    assert 10 < median < 80
    assert 0.03 < big_share < 0.2


def test_recent_activity_is_busier_and_varies_by_day(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        daily = (
            conn.execute(sa.text("SELECT count(*) FROM demo.events GROUP BY date_trunc('day', occurred_at) ORDER BY 1"))
            .scalars()
            .all()
        )
    assert len(daily) == SPEC.days
    assert len(set(daily)) > SPEC.days // 2


def test_example_audiences_are_populated_and_identified(engine: sa.Engine) -> None:
    week = last_days(7)
    sizes = {
        "cart_abandoners_7d": members(engine, CART_ABANDONERS, *week),
        "high_value_customers_90d": members(engine, HIGH_VALUE_CUSTOMERS, *last_days(90)),
        "october_2026_purchasers": members(engine, OCTOBER_2026_PURCHASERS, *OCTOBER),
        "anonymous_product_viewers_7d": members(engine, ANONYMOUS_PRODUCT_VIEWERS, *week),
    }
    assert set(sizes) == set(EXAMPLE_AUDIENCES)
    # at 5,000 users; the default 20,000 gives about four times as many
    assert len(sizes["cart_abandoners_7d"]) > 200
    assert len(sizes["high_value_customers_90d"]) > 25
    assert len(sizes["october_2026_purchasers"]) > 200
    assert len(sizes["anonymous_product_viewers_7d"]) > 200
    assert all(k.startswith("user:") for k in sizes["cart_abandoners_7d"] | sizes["high_value_customers_90d"])
    assert all(k.startswith("crm-") for k in sizes["october_2026_purchasers"])
    assert all(re.fullmatch(r"[0-9a-f-]{36}", k) for k in sizes["anonymous_product_viewers_7d"])
    with engine.connect() as conn:
        row = (
            conn.execute(sa.text(CART_ABANDONERS), {"window_start": week[0], "window_end": week[1]}).mappings().first()
        )
        anonymous = (
            conn.execute(sa.text(ANONYMOUS_PRODUCT_VIEWERS), {"window_start": week[0], "window_end": week[1]})
            .mappings()
            .first()
        )
    assert row is not None and anonymous is not None
    assert {"email", "phone", "first_name", "last_name", "zip", "country", "external_id", "cart_adds"} <= row.keys()
    assert {"fbp", "fbc", "gclid", "ga_client_id", "ttclid", "products_viewed"} <= anonymous.keys()
    assert anonymous["fbp"] is not None


def test_high_value_customers_spent_at_least_500(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        rows = (
            conn.execute(sa.text(HIGH_VALUE_CUSTOMERS), {"window_start": last_days(90)[0], "window_end": WINDOW_END})
            .mappings()
            .all()
        )
    assert rows and all(r["lifetime_value"] >= 500 for r in rows)


@pytest.mark.parametrize("query", [CART_ABANDONERS, ANONYMOUS_PRODUCT_VIEWERS], ids=["cart", "anonymous"])
def test_seven_day_audiences_churn_from_day_to_day(engine: sa.Engine, query: str) -> None:
    today = members(engine, query, *last_days(7))
    yesterday = members(engine, query, *last_days(7, ending_days_before=1))
    joined, left = today - yesterday, yesterday - today
    assert joined and left
    assert len(joined | left) < len(today)
