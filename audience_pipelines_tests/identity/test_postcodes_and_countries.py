"""Postcodes outside the US keep all their characters (only a US ZIP+4 is cut to 5 digits); country values that
say "no country" are not read as country codes."""

import pytest

from audience_pipelines.identity import explain
from audience_pipelines_tests.identity.support import h, norm, why


@pytest.mark.parametrize(
    ("raw", "country", "meta"),
    [
        ("00-950", "PL", "00950"),
        ("100-0001", "JP", "1000001"),
        ("1000-001", "PT", "1000001"),
        ("01310-100", "BR", "01310100"),
        ("123-4567", None, "1234567"),
        ("SW1A 1AA", "GB", "sw1a1aa"),
        ("94107-1234", "US", "94107"),
        ("94107 - 1234", None, "94107"),  # no country: a ZIP+4 shape is a US ZIP+4
        ("12345-6789", "DE", "123456789"),  # a German row's value is not a US ZIP+4
    ],
)
def test_meta_postcodes_lose_spaces_and_dashes_but_only_us_zips_are_cut(raw, country, meta):
    assert norm("meta", "zip", raw, countries=[country]) == [meta]
    assert norm("meta", "zip", meta, countries=[country]) == [meta]  # idempotent


def test_tiktok_and_google_keep_the_dash_of_non_us_postcodes():
    assert norm("tiktok", "zip", "00-950", "100 0001", "94107-1234") == ["00-950", "1000001", "94107"]
    assert norm("google", "zip", "00-950", "100-0001", "94107-1234") == ["00-950", "100-0001", "94107"]
    assert explain("meta", "zip", "00-950").hashed == h("00950")


@pytest.mark.parametrize("raw", ["N/A", "n/a", "none", "None", "-", "N.A.", "n.a", "Unknown", "other", "U/K", "XX"])
def test_values_that_are_not_countries_never_become_codes(raw):
    (reason,) = why("meta", "country", raw)
    assert reason in {"placeholder", "invalid_country"}
    assert norm("google", "country", raw) == [None]


def test_real_two_letter_codes_still_work():
    assert norm("meta", "country", "NA", "na", "Namibia ", "U.S.", "uk") == ["na", "na", None, "us", "gb"]


def test_a_placeholder_row_country_falls_back_to_the_default_region_for_phones():
    assert norm("meta", "phone", "020 7946 0958", countries=["N/A"], region="GB") == ["442079460958"]
