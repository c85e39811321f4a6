"""SQL for the demo data generator.

Every random choice is ``demo.uniform(seed, salt, i)``: a uniform double in [0, 1) derived from
``hashint8extended(i, hashtextextended(salt, seed))``, so the same spec yields the same rows on every run.
Statements take bind parameters (``:seed``, ``:users`` ...) that :mod:`audience_pipelines.demo.data` supplies.

Shape of the data: profiles are numbered 1..users; each profile has 0-3 linked browsers (about 0.6 per
profile) and there are 0.9 anonymous browsers per profile, so ~1.5 visitors per user with ~40% linked.
Each visitor has a segment (anonymous, known, vip) and an engagement level (expected sessions per window,
exponential); sessions fall on days drawn from a pre-holiday ramp (traffic grows towards ``end_date``). A
session is a page view, maybe a second one, maybe product views, maybe an add-to-cart, maybe a purchase.

Tables are built with ``CREATE TABLE ... AS`` from scratch tables (``demo.build_*``) so PostgreSQL can
compute rows in parallel workers; keys and indexes are added after loading. ``visitor_id`` and
``event_type`` use the "C" collation (byte order): their indexes build several times faster, and comparing
them with default-collation text works as usual.
"""

from __future__ import annotations

from collections.abc import Iterable

from audience_pipelines.demo.reference import (
    FEMALE_FIRST_NAMES,
    LAST_NAMES,
    MALE_FIRST_NAMES,
    PLACES,
    email_slug,
    place_thresholds,
)

GENERATOR_VERSION = 1
"""Bump when the generated data changes, so existing demo data is rebuilt."""

ADVISORY_LOCK_KEY = 0x6170_6465_6D6F
"""``pg_advisory_xact_lock`` key serialising concurrent loaders in one database."""


SESSION_MARGIN_SECONDS = 1800
"""Sessions start at least this long before the window end, so all their events fall inside it."""

RAMP = 2.0
"""Steepness of the traffic ramp: the last day of the window sees ``e**RAMP`` times the first day's traffic."""

ANONYMOUS_PER_USER = 0.9
"""Anonymous-only visitors per profile (linked visitors add ~0.6 per profile)."""


SEGMENT_ANONYMOUS, SEGMENT_KNOWN, SEGMENT_VIP = 1, 2, 3
VIP_SHARE = 0.12
"""Share of profiles that are big spenders: more sessions, more purchases, bigger baskets."""

LINKED_BROWSER_THRESHOLDS = (0.50, 0.91, 0.99)
"""A profile has 0, 1, 2 or 3 linked browsers with probabilities 50%, 41%, 8% and 1%."""

SEGMENT_PARAMETERS: dict[str, tuple[float, float, float]] = {
    # (anonymous, known, vip)
    "new": (0.65, 0.35, 0.35),  # share of visitors first seen inside the window
    "sessions": (0.20, 2.5, 5.0),  # mean sessions per whole window (exponentially distributed)
    "second_page": (0.03, 0.03, 0.03),  # P(a second page view in a session)
    "view": (0.60, 0.62, 0.70),  # P(session views a product)
    "view_two": (0.05, 0.08, 0.15),  # P(session views a second product)
    "cart_after_view": (0.15, 0.60, 0.60),  # P(add to cart | viewed a product)
    "quick_cart": (0.03, 0.12, 0.15),  # P(add to cart | no product view)
    "purchase": (0.20, 0.28, 0.40),  # P(purchase | added to cart)
    "mid_tier": (0.82, 0.82, 0.45),  # purchase values below this quantile are 10-80
    "high_tier": (0.95, 0.95, 0.70),  # ... below this 80-200, above it 200-1500
}
"""Behaviour of the three visitor segments, indexed in SQL by the segment number."""


def _literal(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def _text_array(values: Iterable[str | None]) -> str:
    return "ARRAY[" + ", ".join(_literal(v) for v in values) + "]::text[]"


def _segment_array(parameter: str, segment: str) -> str:
    """SQL picking ``parameter`` of the segment numbered by the SQL expression ``segment``."""
    values = ", ".join(repr(v) for v in SEGMENT_PARAMETERS[parameter])
    return f"(ARRAY[{values}]::double precision[])[{segment}]"


def _place_column(attribute: str, index: str) -> str:
    """SQL picking ``attribute`` of the place numbered ``index`` (1-based) from an array literal."""
    return f"({_text_array(getattr(place, attribute) for place in PLACES)})[{index}]"


SESSION_SETTINGS: tuple[str, ...] = (
    "SET LOCAL work_mem = '256MB'",
    "SET LOCAL maintenance_work_mem = '512MB'",
    "SET LOCAL synchronous_commit = off",
    # let CREATE TABLE AS hand row generation to parallel workers (the leader writes the rows)
    "SET LOCAL parallel_setup_cost = 0",
    "SET LOCAL parallel_tuple_cost = 0",
    "SET LOCAL min_parallel_table_scan_size = 0",
)

SETUP_STATEMENTS: tuple[str, ...] = (
    "CREATE SCHEMA IF NOT EXISTS demo",
    """
    CREATE OR REPLACE FUNCTION demo.uniform(seed bigint, salt text, i bigint)
    RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT (hashint8extended(i, hashtextextended(salt, seed)) & 9007199254740991)::double precision
               / 9007199254740992::double precision
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION demo.token(seed bigint, salt text, i bigint)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        -- 32 url-safe base64 characters (24 hashed bytes), the shape of ad click ids
        SELECT replace(replace(encode(
                   int8send(hashint8extended(i, hashtextextended(salt || '#1', seed)))
                   || int8send(hashint8extended(i, hashtextextended(salt || '#2', seed)))
                   || int8send(hashint8extended(i, hashtextextended(salt || '#3', seed))),
                   'base64'), '+', '-'), '/', '_')
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION demo.ramp(u double precision, x0 double precision, k double precision)
    RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        -- inverse CDF of a density proportional to exp(k * x) on [x0, 1): a point in time, as a fraction
        SELECT ln(exp(k * x0) + u * (exp(k) - exp(k * x0))) / k
    $$
    """,
    """
    CREATE TABLE IF NOT EXISTS demo.generation (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        generator_version integer NOT NULL,
        users integer NOT NULL,
        seed bigint NOT NULL,
        end_date date NOT NULL,
        days integer NOT NULL,
        profiles bigint NOT NULL,
        visitors bigint NOT NULL,
        events bigint NOT NULL,
        seconds double precision NOT NULL,
        generated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "DROP TABLE IF EXISTS demo.events, demo.visitors, demo.profiles",
    "DROP TABLE IF EXISTS demo.build_numbers, demo.build_visitors, demo.build_sessions",
)

CREATE_NUMBERS = """
CREATE UNLOGGED TABLE demo.build_numbers AS
SELECT n FROM generate_series(1, CAST(:users AS bigint)) AS n
"""
"""Scratch table 1..users: a table (unlike generate_series) can be scanned by parallel workers."""

CREATE_PROFILES = f"""
CREATE TABLE demo.profiles AS
SELECT
    e.user_id,
    CASE
        WHEN e.u_email < 0.040 THEN NULL
        WHEN e.u_email < 0.052 THEN ''                                    -- malformed: empty
        WHEN e.u_email < 0.070 THEN e.local_part || '.' || e.domain      -- malformed: no '@'
        ELSE
            CASE WHEN e.u_email_space < 0.02 THEN ' ' WHEN e.u_email_space < 0.03 THEN '  ' ELSE '' END
            || CASE
                WHEN e.u_email_case < 0.75 THEN e.local_part || '@' || e.domain
                WHEN e.u_email_case < 0.90 THEN initcap(e.local_part) || '@' || e.domain
                WHEN e.u_email_case < 0.95 THEN upper(e.local_part || '@' || e.domain)
                ELSE e.local_part || '@' || upper(e.domain)
            END
            || CASE WHEN e.u_email_space >= 0.985 THEN ' ' ELSE '' END
    END::text AS email,
    CASE
        WHEN e.u_phone < 0.100 THEN NULL
        WHEN e.u_phone < 0.112 THEN ''                                    -- malformed: empty
        WHEN e.u_phone < 0.130 THEN '1' || lpad(e.k_phone::text, 4, '0')  -- malformed: too short
        WHEN e.country_code IN ('US', 'CA') THEN
            CASE
                WHEN e.u_phone_format < 0.22 THEN '+1 ' || e.area || '-555-01' || e.d2b
                WHEN e.u_phone_format < 0.44 THEN '(' || e.area || ') 555-01' || e.d2b
                WHEN e.u_phone_format < 0.58 THEN e.area || '.555.01' || e.d2b
                WHEN e.u_phone_format < 0.74 THEN e.area || '55501' || e.d2b
                WHEN e.u_phone_format < 0.86 THEN '+1' || e.area || '55501' || e.d2b
                ELSE '1-' || e.area || '-555-01' || e.d2b
            END
        WHEN e.country_code = 'GB' THEN
            CASE
                WHEN e.u_phone_format < 0.40 THEN '+44 ' || e.gb_area || ' ' || e.gb_number
                WHEN e.u_phone_format < 0.75 THEN '0' || e.gb_area || ' ' || e.gb_number
                WHEN e.u_phone_format < 0.90 THEN '+44' || e.gb_area || replace(e.gb_number, ' ', '')
                ELSE '0044 ' || e.gb_area || ' ' || e.gb_number
            END
        WHEN e.country_code = 'DE' THEN
            CASE
                WHEN e.u_phone_format < 0.35 THEN '+49 ' || e.area || ' ' || e.local || e.d3
                WHEN e.u_phone_format < 0.60 THEN '0049 ' || e.area || ' ' || e.local || e.d3
                WHEN e.u_phone_format < 0.85 THEN '0' || e.area || ' ' || e.local || e.d3
                ELSE '0' || e.area || '/' || e.local || e.d3
            END
        ELSE
            CASE
                WHEN e.u_phone_format < 0.45 THEN '+33 ' || e.fr_area || ' ' || e.fr_number
                WHEN e.u_phone_format < 0.85 THEN '0' || e.fr_area || ' ' || e.fr_number
                ELSE '+33' || e.fr_area || replace(e.fr_number, ' ', '')
            END
    END::text AS phone,
    CASE
        WHEN e.u_name_case < 0.03 THEN upper(e.first_name)
        WHEN e.u_name_case < 0.05 THEN lower(e.first_name)
        WHEN e.u_name_case < 0.06 THEN e.first_name || ' '
        ELSE e.first_name
    END::text AS first_name,
    CASE
        WHEN e.u_name_case < 0.03 THEN upper(e.last_name)
        WHEN e.u_name_case < 0.05 THEN lower(e.last_name)
        ELSE e.last_name
    END::text AS last_name,
    CASE
        WHEN e.u_gender_label < 0.14 THEN NULL
        WHEN e.u_gender_label < 0.55 THEN e.sex
        WHEN e.u_gender_label < 0.75 THEN CASE e.sex WHEN 'F' THEN 'female' ELSE 'male' END
        WHEN e.u_gender_label < 0.87 THEN CASE e.sex WHEN 'F' THEN 'Female' ELSE 'Male' END
        WHEN e.u_gender_label < 0.93 THEN lower(e.sex)
        WHEN e.u_gender_label < 0.97 THEN CASE e.sex WHEN 'F' THEN 'FEMALE' ELSE 'MALE' END
        ELSE 'U'
    END::text AS gender,
    CASE
        WHEN e.u_birth >= 0.2
        THEN CAST(:end_date AS date) - (6575 + floor(power((e.u_birth - 0.2) / 0.8, 1.6) * 22645))::integer
    END::date AS date_of_birth,
    CASE WHEN e.u_city_case < 0.03 THEN upper(e.city) ELSE e.city END::text AS city,
    CASE
        WHEN e.country_code IN ('US', 'CA') THEN
            CASE
                WHEN e.u_state < 0.65 THEN e.state_code
                WHEN e.u_state < 0.90 THEN e.state_name
                WHEN e.u_state < 0.95 THEN lower(e.state_code)
            END
        WHEN e.u_state < 0.60 THEN e.state_name
    END::text AS state,
    CASE e.country_code
        WHEN 'US' THEN
            e.postal || lpad((e.k_zip % 100)::text, 2, '0')
            || CASE WHEN e.u_zip4 < 0.25 THEN '-' || lpad((e.k_zip / 100 % 10000)::text, 4, '0') ELSE '' END
        WHEN 'GB' THEN
            e.postal || (1 + e.k_zip % 20) || ' ' || (e.k_zip / 20 % 10)
            || substr('ABDEFGHJLNPQRSTUWXYZ', 1 + (e.k_zip / 200 % 20)::integer, 1)
            || substr('ABDEFGHJLNPQRSTUWXYZ', 1 + (e.k_zip / 4000 % 20)::integer, 1)
        WHEN 'CA' THEN
            e.postal || (e.k_zip % 10)
            || substr('ABCEGHJKLMNPRSTVXY', 1 + (e.k_zip / 10 % 18)::integer, 1)
            || ' ' || (e.k_zip / 180 % 10)
            || substr('ABCEGHJKLMNPRSTVXY', 1 + (e.k_zip / 1800 % 18)::integer, 1)
            || (e.k_zip / 32400 % 10)
        WHEN 'DE' THEN e.postal || lpad((e.k_zip % 1000)::text, 3, '0')
        ELSE e.postal || (1 + e.k_zip % 9)
    END::text AS zip,
    CASE
        WHEN e.u_country < 0.005 THEN NULL
        WHEN e.country_code = 'US' AND e.u_country < 0.05 THEN 'United States'
        ELSE e.country_code
    END::text AS country,
    'crm-' || lpad(e.user_id::text, greatest(6, length(e.user_id::text)), '0')::text AS external_id,
    CAST(:window_end AS timestamptz)
        - (60 + floor(power(e.u_created, 1.7) * 1460 * 86400)) * interval '1 second' AS created_at
FROM (
    SELECT
        d.*,
        {_place_column("country", "d.place_no")} AS country_code,
        {_place_column("city", "d.place_no")} AS city,
        {_place_column("state_code", "d.place_no")} AS state_code,
        {_place_column("state_name", "d.place_no")} AS state_name,
        {_place_column("postal", "d.place_no")} AS postal,
        {_place_column("area", "d.place_no")} AS area,
        {_place_column("local", "d.place_no")} AS local,
        CASE
            WHEN d.u_email_style < 0.45 THEN d.first_slug || '.' || d.last_slug || d.user_id
            WHEN d.u_email_style < 0.65 THEN d.first_slug || d.user_id
            WHEN d.u_email_style < 0.80 THEN left(d.first_slug, 1) || '.' || d.last_slug || d.user_id
            WHEN d.u_email_style < 0.90 THEN d.first_slug || d.last_slug || d.user_id
            ELSE d.last_slug || '.' || d.first_slug || d.user_id
        END AS local_part,
        CASE
            WHEN d.u_email_domain < 0.60 THEN 'example.com'
            WHEN d.u_email_domain < 0.85 THEN 'example.org'
            ELSE 'example.net'
        END AS domain,
        (floor(d.u_phone_digits * 10000))::integer AS k_phone,
        (floor(d.u_zip * 1000000))::integer AS k_zip,
        lpad((floor(d.u_phone_digits * 10000)::integer % 100)::text, 2, '0') AS d2b,
        lpad((floor(d.u_phone_digits * 10000)::integer % 1000)::text, 3, '0') AS d3,
        CASE WHEN d.u_phone_mobile < 0.35 THEN '7700' ELSE {_place_column("area", "d.place_no")} END AS gb_area,
        CASE WHEN d.u_phone_mobile < 0.35 THEN '900' ELSE {_place_column("local", "d.place_no")} END
            || lpad((floor(d.u_phone_digits * 10000)::integer % 1000)::text, 3, '0') AS gb_number,
        CASE WHEN d.u_phone_mobile < 0.30 THEN '6' ELSE {_place_column("area", "d.place_no")} END AS fr_area,
        CASE WHEN d.u_phone_mobile < 0.30 THEN '39 98' ELSE {_place_column("local", "d.place_no")} END
            || ' ' || lpad((floor(d.u_phone_digits * 10000)::integer / 100)::text, 2, '0')
            || ' ' || lpad((floor(d.u_phone_digits * 10000)::integer % 100)::text, 2, '0') AS fr_number
    FROM (
        SELECT
            r.*,
            CASE WHEN r.u_sex < 0.51 THEN 'F' ELSE 'M' END AS sex,
            CASE
                WHEN r.u_sex < 0.51 THEN ({_text_array(FEMALE_FIRST_NAMES)})[1 + floor(r.u_first * {len(FEMALE_FIRST_NAMES)})::integer]
                ELSE ({_text_array(MALE_FIRST_NAMES)})[1 + floor(r.u_first * {len(MALE_FIRST_NAMES)})::integer]
            END AS first_name,
            CASE
                WHEN r.u_sex < 0.51 THEN ({_text_array(email_slug(n) for n in FEMALE_FIRST_NAMES)})[1 + floor(r.u_first * {len(FEMALE_FIRST_NAMES)})::integer]
                ELSE ({_text_array(email_slug(n) for n in MALE_FIRST_NAMES)})[1 + floor(r.u_first * {len(MALE_FIRST_NAMES)})::integer]
            END AS first_slug,
            ({_text_array(LAST_NAMES)})[1 + floor(r.u_last * {len(LAST_NAMES)})::integer] AS last_name,
            ({_text_array(email_slug(n) for n in LAST_NAMES)})[1 + floor(r.u_last * {len(LAST_NAMES)})::integer] AS last_slug,
            width_bucket(r.u_place, ARRAY[{", ".join(repr(t) for t in place_thresholds())}]::double precision[])
                AS place_no
        FROM (
            SELECT
                n AS user_id,
                demo.uniform(:seed, 'profile.sex', n) AS u_sex,
                demo.uniform(:seed, 'profile.first_name', n) AS u_first,
                demo.uniform(:seed, 'profile.last_name', n) AS u_last,
                demo.uniform(:seed, 'profile.name_case', n) AS u_name_case,
                demo.uniform(:seed, 'profile.gender_label', n) AS u_gender_label,
                demo.uniform(:seed, 'profile.birth', n) AS u_birth,
                demo.uniform(:seed, 'profile.email', n) AS u_email,
                demo.uniform(:seed, 'profile.email_style', n) AS u_email_style,
                demo.uniform(:seed, 'profile.email_domain', n) AS u_email_domain,
                demo.uniform(:seed, 'profile.email_case', n) AS u_email_case,
                demo.uniform(:seed, 'profile.email_space', n) AS u_email_space,
                demo.uniform(:seed, 'profile.phone', n) AS u_phone,
                demo.uniform(:seed, 'profile.phone_format', n) AS u_phone_format,
                demo.uniform(:seed, 'profile.phone_digits', n) AS u_phone_digits,
                demo.uniform(:seed, 'profile.phone_mobile', n) AS u_phone_mobile,
                demo.uniform(:seed, 'profile.place', n) AS u_place,
                demo.uniform(:seed, 'profile.city_case', n) AS u_city_case,
                demo.uniform(:seed, 'profile.state', n) AS u_state,
                demo.uniform(:seed, 'profile.zip', n) AS u_zip,
                demo.uniform(:seed, 'profile.zip4', n) AS u_zip4,
                demo.uniform(:seed, 'profile.country', n) AS u_country,
                demo.uniform(:seed, 'profile.created', n) AS u_created
            FROM demo.build_numbers AS b(n)
        ) AS r
    ) AS d
) AS e
"""  # noqa: E501


CREATE_VISITOR_PLAN = f"""
CREATE UNLOGGED TABLE demo.build_visitors AS
SELECT
    x.ord,
    CAST(encode(
        int8send(hashint8extended(x.ord, hashtextextended('visitor.id#1', CAST(:seed AS bigint))))
        || int8send(hashint8extended(x.ord, hashtextextended('visitor.id#2', CAST(:seed AS bigint)))),
        'hex')::uuid AS text) COLLATE "C" AS visitor_id,
    x.user_id,
    x.segment,
    x.is_new,
    x.x0,
    CASE
        WHEN x.is_new THEN CAST(:window_start AS timestamptz) + floor(x.x0 * :span) * interval '1 second'
        ELSE CAST(:window_start AS timestamptz)
            - (3600 + floor(power(x.u_first_seen, 1.5) * 630 * 86400)) * interval '1 second'
    END AS first_seen_at,
    -- a visitor first seen inside the window has its first session right then, plus later ones in
    -- proportion to the rest of the window; one first seen before the window may not come back at all
    least(100, x.is_new::integer + floor(x.engagement * (1 - x.x0) + x.u_rounding))::integer AS sessions
FROM (
    SELECT
        r.*,
        CASE WHEN r.is_new THEN demo.ramp(r.u_first_seen, 0, {RAMP}) ELSE 0 END AS x0,
        -ln(1 - r.u_engagement) * {_segment_array("sessions", "r.segment")} AS engagement
    FROM (
        SELECT
            v.*,
            demo.uniform(:seed, 'visitor.new', v.ord) < {_segment_array("new", "v.segment")} AS is_new,
            demo.uniform(:seed, 'visitor.first_seen', v.ord) AS u_first_seen,
            demo.uniform(:seed, 'visitor.engagement', v.ord) AS u_engagement,
            demo.uniform(:seed, 'visitor.rounding', v.ord) AS u_rounding
        FROM (
            -- number n yields profile n's linked browsers (slots 1-3) and, while n <= anonymous, one
            -- anonymous browser (slot 0); ord numbers visitors: linked 4(n-1)+slot, anonymous 4*users+n
            SELECT
                CASE WHEN s.slot = 0 THEN CAST(:users AS bigint) * 4 + b.n ELSE (b.n - 1) * 4 + s.slot END AS ord,
                CASE WHEN s.slot > 0 THEN b.n END AS user_id,
                CASE
                    WHEN s.slot = 0 THEN {SEGMENT_ANONYMOUS}
                    WHEN demo.uniform(:seed, 'user.vip', b.n) < {VIP_SHARE} THEN {SEGMENT_VIP}
                    ELSE {SEGMENT_KNOWN}
                END AS segment
            FROM demo.build_numbers AS b
            CROSS JOIN LATERAL generate_series(
                CASE WHEN b.n <= CAST(:anonymous AS bigint) THEN 0 ELSE 1 END,
                width_bucket(demo.uniform(:seed, 'visitor.devices', b.n), ARRAY{list(LINKED_BROWSER_THRESHOLDS)})
            ) AS s(slot)
        ) AS v
    ) AS r
) AS x
"""
"""Scratch table with one row per visitor: identity, segment, first sighting and number of sessions."""

CREATE_VISITORS = """
CREATE TABLE demo.visitors AS
SELECT
    r.visitor_id,
    r.user_id,
    CASE WHEN r.u_fbp < 0.90
        THEN 'fb.1.' || (r.first_seen_ms + floor(r.u_fbp_ms * 1000))::bigint
            || '.' || (1000000000 + floor(r.u_fbp_id * 9000000000))::bigint
    END::text AS fbp,
    CASE WHEN r.u_fbp < 0.90 AND r.u_fbc < 0.55
        THEN 'fb.1.' || (r.first_seen_ms + floor(r.u_fbc * 3000000))::bigint
            || '.IwAR' || demo.token(:seed, 'visitor.fbclid', r.ord)
    END::text AS fbc,
    CASE WHEN r.u_gclid < 0.35
        THEN 'Cj0KCQiA' || demo.token(:seed, 'visitor.gclid', r.ord) || demo.token(:seed, 'visitor.gclid2', r.ord)
    END::text AS gclid,
    CASE WHEN r.u_ga < 0.92
        THEN (1000000000 + floor(r.u_ga_id * 1147483647))::bigint || '.' || (r.first_seen_ms / 1000)
    END::text AS ga_client_id,
    CASE WHEN r.u_ttclid < 0.15
        THEN 'E.C.P.' || demo.token(:seed, 'visitor.ttclid', r.ord)
    END::text AS ttclid,
    r.first_seen_at
FROM (
    SELECT
        p.ord,
        p.visitor_id,
        p.user_id,
        p.first_seen_at,
        floor(date_part('epoch', p.first_seen_at) * 1000)::bigint AS first_seen_ms,
        demo.uniform(:seed, 'visitor.fbp', p.ord) AS u_fbp,
        demo.uniform(:seed, 'visitor.fbp_ms', p.ord) AS u_fbp_ms,
        demo.uniform(:seed, 'visitor.fbp_id', p.ord) AS u_fbp_id,
        demo.uniform(:seed, 'visitor.fbc', p.ord) AS u_fbc,
        demo.uniform(:seed, 'visitor.gclid', p.ord) AS u_gclid,
        demo.uniform(:seed, 'visitor.ga', p.ord) AS u_ga,
        demo.uniform(:seed, 'visitor.ga_id', p.ord) AS u_ga_id,
        demo.uniform(:seed, 'visitor.ttclid', p.ord) AS u_ttclid
    FROM demo.build_visitors AS p
) AS r
"""

CREATE_SESSIONS = """
CREATE UNLOGGED TABLE demo.build_sessions AS
SELECT
    bv.ord * 128 + generate_series(0, bv.sessions - 1) AS session_key,
    bv.visitor_id,
    bv.user_id,
    bv.segment,
    bv.is_new,
    bv.x0
FROM demo.build_visitors AS bv
"""
"""Scratch table with one row per session; ``session_key % 128`` is the visitor's session number."""

CREATE_EVENTS = f"""
CREATE TABLE demo.events AS
SELECT
    s.session_key * 8 + st.step AS event_id,
    s.visitor_id,
    s.user_id,
    CAST(st.event_type AS text) COLLATE "C" AS event_type,
    s.started_at
        + (st.base_offset + floor(demo.uniform(:seed, 'event.offset', s.session_key * 8 + st.step) * st.jitter))
        * interval '1 second' AS occurred_at,
    CAST(CASE WHEN st.step = 6 THEN s.purchase_value END AS numeric(10, 2)) AS value
FROM (
    SELECT
        g.session_key,
        g.visitor_id,
        g.user_id,
        -- a new visitor's first session starts when it was first seen
        CAST(:window_start AS timestamptz) + floor(
            CASE
                WHEN g.session_key % 128 = 0 AND g.is_new THEN g.x0
                ELSE demo.ramp(g.u_start, g.x0, {RAMP})
            END * :span
        ) * interval '1 second' AS started_at,
        g.u_page < {_segment_array("second_page", "g.segment")} AS second_page,
        g.u_view < {_segment_array("view", "g.segment")} AS viewed,
        g.u_view < {_segment_array("view_two", "g.segment")} AS viewed_two,
        g.u_cart < g.p_cart AS carted,
        g.u_cart < g.p_cart AND g.u_purchase < {_segment_array("purchase", "g.segment")} AS purchased,
        -- purchase value: low (10-80), mid (80-200) or high (200-1500) tier
        round(CAST(
            CASE
                WHEN g.u_value_tier < {_segment_array("mid_tier", "g.segment")} THEN 10 + 70 * power(g.u_value, 1.4)
                WHEN g.u_value_tier < {_segment_array("high_tier", "g.segment")} THEN 80 + 120 * g.u_value
                ELSE 200 + 1300 * power(g.u_value, 2.2)
            END AS numeric), 2) AS purchase_value
    FROM (
        SELECT
            q.*,
            CASE
                WHEN q.u_view < {_segment_array("view", "q.segment")}
                THEN {_segment_array("cart_after_view", "q.segment")}
                ELSE {_segment_array("quick_cart", "q.segment")}
            END AS p_cart
        FROM (
            SELECT
                bs.*,
                demo.uniform(:seed, 'session.start', bs.session_key) AS u_start,
                demo.uniform(:seed, 'session.page', bs.session_key) AS u_page,
                demo.uniform(:seed, 'session.view', bs.session_key) AS u_view,
                demo.uniform(:seed, 'session.cart', bs.session_key) AS u_cart,
                demo.uniform(:seed, 'session.purchase', bs.session_key) AS u_purchase,
                demo.uniform(:seed, 'session.value_tier', bs.session_key) AS u_value_tier,
                demo.uniform(:seed, 'session.value', bs.session_key) AS u_value
            FROM demo.build_sessions AS bs
        ) AS q
    ) AS g
) AS s
-- a session emits the funnel steps it reached, each some seconds to minutes after the session start
JOIN (
    VALUES
        (1, 'page_view', 0, 1),
        (2, 'page_view', 20, 240),
        (3, 'product_viewed', 30, 300),
        (4, 'product_viewed', 360, 300),
        (5, 'add_to_cart', 700, 300),
        (6, 'purchase', 1020, 600)
) AS st(step, event_type, base_offset, jitter)
    ON CASE st.step
        WHEN 1 THEN true
        WHEN 2 THEN s.second_page
        WHEN 3 THEN s.viewed
        WHEN 4 THEN s.viewed_two
        WHEN 5 THEN s.carted
        ELSE s.purchased
    END
"""

FINALIZE_STATEMENTS: tuple[str, ...] = (
    "DROP TABLE demo.build_sessions, demo.build_visitors, demo.build_numbers",
    "ALTER TABLE demo.profiles ADD CONSTRAINT profiles_pkey PRIMARY KEY (user_id)",
    "ALTER TABLE demo.visitors ADD CONSTRAINT visitors_pkey PRIMARY KEY (visitor_id)",
    """
    ALTER TABLE demo.events
        ALTER COLUMN visitor_id SET NOT NULL,
        ALTER COLUMN event_type SET NOT NULL,
        ALTER COLUMN occurred_at SET NOT NULL,
        ADD CONSTRAINT events_pkey PRIMARY KEY (event_id)
    """,
    "CREATE INDEX visitors_user_id_idx ON demo.visitors (user_id)",
    "CREATE INDEX events_event_type_occurred_at_idx ON demo.events (event_type, occurred_at)",
    "CREATE INDEX events_user_id_idx ON demo.events (user_id)",
    "CREATE INDEX events_visitor_id_idx ON demo.events (visitor_id)",
    "ANALYZE demo.profiles",
    "ANALYZE demo.visitors",
    "ANALYZE demo.events",
)

RECORD_GENERATION = """
INSERT INTO demo.generation AS g (
    singleton, generator_version, users, seed, end_date, days, profiles, visitors, events, seconds, generated_at
)
VALUES (true, :version, :users, :seed, :end_date, :days, :profiles, :visitors, :events, :seconds, now())
ON CONFLICT (singleton) DO UPDATE SET
    generator_version = excluded.generator_version,
    users = excluded.users,
    seed = excluded.seed,
    end_date = excluded.end_date,
    days = excluded.days,
    profiles = excluded.profiles,
    visitors = excluded.visitors,
    events = excluded.events,
    seconds = excluded.seconds,
    generated_at = excluded.generated_at
"""

TABLES_PRESENT = """
SELECT to_regclass('demo.generation') IS NOT NULL
   AND to_regclass('demo.profiles') IS NOT NULL
   AND to_regclass('demo.visitors') IS NOT NULL
   AND to_regclass('demo.events') IS NOT NULL
"""

CURRENT_GENERATION = """
SELECT generator_version, users, seed, end_date, days, profiles, visitors, events
FROM demo.generation
"""
