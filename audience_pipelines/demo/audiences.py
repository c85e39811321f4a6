"""Example audience queries over the demo tables.

Each query returns one row per member with a text ``member_key``, identifier columns and a trait. Every query
takes ``:window_start`` / ``:window_end`` (timestamptz, end exclusive); for the static October audience
they are the fixed range 2026-10-01 .. 2026-11-01.
"""

from __future__ import annotations

CART_ABANDONERS = """
WITH carts AS (
    SELECT
        e.user_id,
        count(*) FILTER (WHERE e.event_type = 'add_to_cart') AS cart_adds,
        max(e.occurred_at) FILTER (WHERE e.event_type = 'add_to_cart') AS last_cart_at
    FROM demo.events AS e
    WHERE e.event_type IN ('add_to_cart', 'purchase')
      AND e.occurred_at >= :window_start
      AND e.occurred_at < :window_end
      AND e.user_id IS NOT NULL
    GROUP BY e.user_id
    HAVING count(*) FILTER (WHERE e.event_type = 'add_to_cart') > 0
       AND count(*) FILTER (WHERE e.event_type = 'purchase') = 0
)
SELECT
    'user:' || p.user_id AS member_key,
    p.email, p.phone, p.first_name, p.last_name, p.city, p.state, p.zip, p.country, p.external_id,
    v.fbp, v.fbc, v.gclid, v.ga_client_id, v.ttclid,
    c.cart_adds, c.last_cart_at
FROM carts AS c
JOIN demo.profiles AS p ON p.user_id = c.user_id
LEFT JOIN LATERAL (
    SELECT vv.fbp, vv.fbc, vv.gclid, vv.ga_client_id, vv.ttclid
    FROM demo.visitors AS vv
    WHERE vv.user_id = c.user_id
    ORDER BY vv.first_seen_at DESC, vv.visitor_id
    LIMIT 1
) AS v ON true
"""
"""(a) Known users who added to cart in the window and did not purchase in it."""

HIGH_VALUE_CUSTOMERS = """
SELECT
    'user:' || p.user_id AS member_key,
    p.email, p.phone, p.first_name, p.last_name, p.gender, p.date_of_birth,
    p.city, p.state, p.zip, p.country, p.external_id,
    s.lifetime_value, s.orders
FROM (
    SELECT e.user_id, sum(e.value) AS lifetime_value, count(*) AS orders
    FROM demo.events AS e
    WHERE e.event_type = 'purchase'
      AND e.occurred_at >= :window_start
      AND e.occurred_at < :window_end
      AND e.user_id IS NOT NULL
    GROUP BY e.user_id
    HAVING sum(e.value) >= 500
) AS s
JOIN demo.profiles AS p ON p.user_id = s.user_id
"""
"""(b) Known users whose purchases in the window (90 days) add up to at least 500."""

OCTOBER_2026_PURCHASERS = """
SELECT
    p.external_id AS member_key,
    p.email, p.phone, p.first_name, p.last_name, p.city, p.state, p.zip, p.country, p.external_id,
    s.october_revenue, s.orders
FROM (
    SELECT e.user_id, sum(e.value) AS october_revenue, count(*) AS orders
    FROM demo.events AS e
    WHERE e.event_type = 'purchase'
      AND e.occurred_at >= :window_start
      AND e.occurred_at < :window_end
      AND e.user_id IS NOT NULL
    GROUP BY e.user_id
) AS s
JOIN demo.profiles AS p ON p.user_id = s.user_id
"""
"""(c) Known users who purchased in the window; a static audience binds 2026-10-01 .. 2026-11-01."""

ANONYMOUS_PRODUCT_VIEWERS = """
SELECT
    v.visitor_id AS member_key,
    v.fbp, v.fbc, v.gclid, v.ga_client_id, v.ttclid,
    w.products_viewed, w.last_viewed_at
FROM (
    SELECT e.visitor_id, count(*) AS products_viewed, max(e.occurred_at) AS last_viewed_at
    FROM demo.events AS e
    WHERE e.event_type = 'product_viewed'
      AND e.occurred_at >= :window_start
      AND e.occurred_at < :window_end
      AND e.user_id IS NULL
    GROUP BY e.visitor_id
) AS w
JOIN demo.visitors AS v ON v.visitor_id = w.visitor_id
WHERE v.user_id IS NULL
  AND v.fbp IS NOT NULL
"""
"""(d) Anonymous visitors with a Meta browser id who viewed products in the window."""

EXAMPLE_AUDIENCES: dict[str, str] = {
    "cart_abandoners_7d": CART_ABANDONERS,
    "high_value_customers_90d": HIGH_VALUE_CUSTOMERS,
    "october_2026_purchasers": OCTOBER_2026_PURCHASERS,
    "anonymous_product_viewers_7d": ANONYMOUS_PRODUCT_VIEWERS,
}
"""Example audiences by name; the suffix says the window their bind parameters are meant for."""
