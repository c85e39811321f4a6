"""Dial-out prefixes by region (phonenumbers' metadata), and idempotence: a number already in the platform's
format (country code + number, or E.164) never gets a second country code."""

import pytest

from audience_pipelines.identity import explain
from audience_pipelines_tests.identity.support import norm

UK = "+442079460958"


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("011 44 20 7946 0958", "US"),  # North America
        ("011-44-20-7946-0958", "CA"),
        ("0011 44 20 7946 0958", "AU"),  # Australia
        ("0014 44 20 7946 0958", "AU"),  # Australia, another carrier
        ("0021 44 20 7946 0958", "BR"),  # Brazil: 00 + carrier code
        ("0015 44 20 7946 0958", "BR"),
        ("001 44 20 7946 0958", "KR"),  # Korea: 001 / 002 / 008 ...
        ("002 44 20 7946 0958", "KR"),
        ("008 44 20 7946 0958", "KR"),
        ("010 44 20 7946 0958", "JP"),  # Japan
        ("8~10 44 20 7946 0958", "RU"),  # Russia: 8, wait for the tone, 10
        ("00 44 20 7946 0958", "DE"),
        ("0044 20 7946 0958", "US"),  # 00 is read as a dial-out prefix anywhere
    ],
)
def test_dial_out_prefixes_follow_the_rows_region(raw, region):
    assert norm("google", "phone", raw, countries=[region]) == [UK]
    assert norm("meta", "phone", raw, region=region) == [UK[1:]]


@pytest.mark.parametrize(
    ("formatted", "region"),
    [
        ("16505551212", "US"),
        ("16505551212", "GB"),
        ("447911123456", "US"),
        ("447911123456", "GB"),
        ("4930123456", "DE"),  # starts with DE's own code and is valid that way
        ("49301234567", "DE"),
        ("393123456789", "IT"),
        ("33612345678", "FR"),
        ("61412345678", "AU"),
        ("5511961234567", "BR"),
        ("919876543210", "IN"),
    ],
)
@pytest.mark.parametrize("platform", ["meta", "google", "ga4", "tiktok", "webhook"])
def test_normalizing_a_normalized_number_changes_nothing(formatted, region, platform):
    (once,) = norm(platform, "phone", formatted, countries=[region])
    assert once is not None and once.removeprefix("+") == formatted
    assert norm(platform, "phone", once, countries=[region]) == [once]
    digits = norm(platform, "phone", formatted, countries=[region], phone_format="digits_with_country_code")
    assert digits == [formatted]


def test_a_national_number_is_still_national():
    assert norm("meta", "phone", "(415) 555-1212") == ["14155551212"]  # not Swiss +41 55 555 12 12
    assert norm("meta", "phone", "7911 123456", region="GB") == ["447911123456"]  # a lost trunk 0
    assert explain("meta", "phone", "06 12 34 56 78", default_region="FR").normalized == "33612345678"
