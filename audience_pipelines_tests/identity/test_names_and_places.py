"""Names, cities, states, ZIP / postal codes and countries, per platform."""

import pytest

from audience_pipelines.identity import explain
from audience_pipelines_tests.identity.support import h, norm, why


def test_meta_names_keep_letters_in_any_script_and_drop_the_rest():
    raw = ["  Zoë-Ann ", "O'Neil Jr.", "José María", "Александр", "Mary Ann", "François3", "李"]
    expected = ["zoëann", "oneiljr", "josémaría", "александр", "maryann", "françois", "李"]
    assert norm("meta", "first_name", *raw) == expected
    assert norm("meta", "last_name", *raw) == expected
    assert explain("meta", "last_name", "O'Neil Jr.").hashed == h("oneiljr")
    assert explain("meta", "first_name", "Zoë").hashed == h("zoë")  # UTF-8 bytes of the accented letter


def test_decomposed_accents_hash_like_composed_ones():
    assert explain("meta", "first_name", "Zoe\u0308").hashed == h("zo\u00eb")


def test_a_name_without_letters_is_invalid():
    assert norm("meta", "first_name", "123", "!!") == [None, None]
    assert why("meta", "first_name", "123", "!!", " ") == ["invalid_format", "invalid_format", "empty"]


def test_names_per_platform():
    assert norm("google", "first_name", "  Zoë-Ann ", "MARY ANN") == ["zoë-ann", "mary ann"]  # trim + lower only
    assert norm("ga4", "last_name", "  O'Neil-Smith 3rd ") == ["oneilsmith rd"]  # digits and symbols removed
    assert norm("tiktok", "first_name", " Mary Ann ", "Zoë-Ann") == ["maryann", "zoë-ann"]  # whitespace removed
    assert explain("google", "first_name", " Jane ").hashed == h("jane")


def test_first_initial_is_the_first_letter():
    assert norm("meta", "first_initial", "Zoë", "  j.", "Émile", "123") == ["z", "j", "é", None]
    assert explain("meta", "first_initial", "Zoë").hashed == h("z")


def test_city_is_lowercase_letters_only_for_meta():
    raw = ["San Francisco", "St. Louis", "Winston-Salem", "München", "New York 10001"]
    assert norm("meta", "city", *raw) == ["sanfrancisco", "stlouis", "winstonsalem", "münchen", "newyork"]
    assert explain("meta", "city", "San Francisco").hashed == h("sanfrancisco")
    assert norm("ga4", "city", "St. Louis") == ["st louis"]
    assert norm("tiktok", "city", "San Francisco") == ["sanfrancisco"]
    assert explain("tiktok", "city", "Austin").hashed is None  # TikTok takes the city unhashed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("California", "ca"),
        (" NY ", "ny"),
        ("new  york", "ny"),
        ("N.Y.", "ny"),
        ("New-York", "ny"),
        ("District of Columbia", "dc"),
        ("Puerto Rico", "pr"),
        ("Île-de-France", "îledefrance"),  # not a US state: lowercase, no punctuation or spaces
        ("Ontario", "ontario"),
    ],
)
def test_state_names_become_codes(raw, expected):
    assert norm("meta", "state", raw) == [expected]
    assert explain("meta", "state", raw).hashed == h(expected)


def test_zip_takes_the_part_before_the_dash_without_whitespace():
    raw = ["94107-1234", "SW1A 1AA", "02134", "M5V 3L9", "75008", 94107.0, " 941 07 "]
    assert norm("meta", "zip", *raw) == ["94107", "sw1a1aa", "02134", "m5v3l9", "75008", "94107", "94107"]
    assert explain("meta", "zip", "94107-1234").hashed == h("94107")
    assert explain("meta", "zip", "SW1A 1AA").hashed == h("sw1a1aa")


def test_us_rows_keep_five_digit_zips():
    raw = ["941071234", "2134", 501, "SW1A 1AA", "9410", "94107", "941071234", "2134"]
    countries = ["US", "United States", "US", "US", "GB", "GB", None, None]
    assert norm("meta", "zip", *raw, countries=countries) == [
        "94107", "02134", "00501", None, "9410", "94107", "94107", "2134",
    ]  # fmt: skip
    assert why("meta", "zip", "SW1A 1AA", "12", "1234567", countries=["US"] * 3) == ["invalid_format"] * 3
    assert norm("meta", "zip", "941071234", region="GB") == ["941071234"]  # not known to be a US ZIP+4
    assert why("meta", "zip", "-", "- -") == ["placeholder", "invalid_format"]  # nothing left once dashes go


def test_google_postal_code_is_sent_unhashed_as_written():
    assert norm("google", "zip", "94107-1234", " SW1A  1AA ", "941071234") == ["94107", "SW1A 1AA", "94107"]
    assert explain("google", "zip", "94107").hashed is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("US", "us"),
        ("us", "us"),
        ("USA", "us"),
        ("United States", "us"),
        ("U.S.A.", "us"),
        ("U S ", "us"),
        ("GB", "gb"),
        ("United Kingdom", "gb"),
        ("UK", "gb"),
        ("Deutschland", "de"),
        ("DEU", "de"),
        ("España", "es"),
        ("fr", "fr"),
        ("XK", "xk"),
    ],
)
def test_country_becomes_a_lowercase_iso_code(raw, expected):
    assert norm("meta", "country", raw) == [expected]
    assert explain("meta", "country", raw).hashed == h(expected)


def test_unknown_countries_are_invalid():
    assert norm("meta", "country", "Narnia", "xx", "12") == [None, None, None]
    assert why("meta", "country", "Narnia", "xx", "12") == ["invalid_country"] * 3


def test_google_country_code_is_upper_case_and_unhashed():
    assert norm("google", "country", "United States", "gb") == ["US", "GB"]
    shown = explain("google", "country", "usa")
    assert (shown.normalized, shown.hashed, shown.hashed_by_platform) == ("US", None, False)
