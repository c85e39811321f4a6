"""Phone numbers: parsed with phonenumbers, region from the row's country or the default, formatted per platform."""

import random

import pandas as pd
import phonenumbers
import pytest

from audience_pipelines.identity import explain, fast_lane, get_platform, normalize_values, phones
from audience_pipelines_tests.identity.support import h, norm, plain, why


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+1 (650) 555-1212", "US", "+16505551212"),
        ("(650) 555-1212", "US", "+16505551212"),
        ("650.555.1212", "US", "+16505551212"),
        ("6505551212", "US", "+16505551212"),
        ("1-650-555-1212", "US", "+16505551212"),
        ("+1 650 555 1212 ext. 7", "US", "+16505551212"),
        ("416-555-0123", "CA", "+14165550123"),
        ("020 7946 0958", "GB", "+442079460958"),  # national trunk 0 dropped
        ("+44 (0)20 7946 0958", "US", "+442079460958"),
        ("0044 20 7946 0958", "US", "+442079460958"),  # 00 international prefix
        ("011 44 20 7946 0958", "US", "+442079460958"),  # US international prefix
        ("07700 900123", "GB", "+447700900123"),
        ("030 1234567", "DE", "+49301234567"),
        ("0049 30 1234567", "US", "+49301234567"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("06 6982 1234", "IT", "+390669821234"),  # Italian numbers keep their leading zero
        ("0412 345 678", "AU", "+61412345678"),
        ("03-1234-5678", "JP", "+81312345678"),
    ],
)
def test_meta_hashes_digits_with_country_code_google_and_ga4_e164(raw, region, e164):
    digits = e164.removeprefix("+")
    assert norm("meta", "phone", raw, region=region) == [digits]
    assert norm("google", "phone", raw, region=region) == [e164]
    assert norm("ga4", "phone", raw, region=region) == [e164]
    assert norm("webhook", "phone", raw, region=region) == [e164]
    shown = explain("meta", "phone", raw, default_region=region)
    assert (shown.normalized, shown.hashed) == (digits, h(digits))
    assert explain("google", "phone", raw, default_region=region).hashed == h(e164)


def test_meta_and_google_phone_hashes_of_the_same_number_differ_only_by_the_plus():
    assert explain("meta", "phone", "+1 (650) 555-1212").hashed == h("16505551212")
    assert explain("google", "phone", "+1 (650) 555-1212").hashed == h("+16505551212")


@pytest.mark.parametrize(
    "raw",
    [
        "12345",  # too short
        "555-1212",  # a local number: no area code, so no country-code form
        "+1 000 000 0000",  # North American area codes start with 2-9
        "(150) 555-1212",
        "(650) 155-1212",  # so do exchanges
        "0650 555 1212",  # no US number starts with 0
        "6505551212123456",  # too long
        "+44 20",
        "call me",
    ],
)
def test_impossible_numbers_are_dropped_and_never_hashed(raw):
    assert norm("meta", "phone", raw) == [None]
    assert why("meta", "phone", raw) == ["invalid_phone"]
    assert explain("meta", "phone", raw).hashed is None


def test_phone_reasons_for_missing_and_blank():
    assert why("meta", "phone", None, "", "  ", "+1 650 555 1212") == ["missing", "empty", "empty", None]


def test_the_rows_country_is_the_region_for_numbers_without_a_country_code():
    raw = ["020 7946 0958", "(650) 555-1212", "030 1234567", "+33 6 12 34 56 78", "0491 570 156"]
    countries = ["GB", "us", "Germany", "GB", None]
    assert norm("meta", "phone", *raw, countries=countries, region="AU") == [
        "442079460958",
        "16505551212",
        "49301234567",
        "33612345678",  # a '+' number keeps its own country code
        "61491570156",  # no row country: the default region
    ]


def test_an_unknown_row_country_falls_back_to_the_default_region():
    assert norm("meta", "phone", "(650) 555-1212", countries=["Narnia"]) == ["16505551212"]


def test_the_default_region_is_a_platform_setting():
    assert norm("meta", "phone", "020 7946 0958") == [None]  # a US default cannot read a UK national number
    assert norm("meta", "phone", "020 7946 0958", default_region="GB") == ["442079460958"]
    assert get_platform("meta", default_region="gb").default_region == "GB"


def test_numbers_from_numeric_columns():
    out, _ = normalize_values(pd.Series([6505551212.0, 6505551212, None]), "phone", "meta")
    assert plain(out) == ["16505551212", "16505551212", None]


def test_tiktok_phone_format_is_a_setting_and_matches_both_published_vectors():
    # TikTok Events API example: "phone": ["910a625c..."] is sha256("+15555555555") (E.164, the default).
    default = explain("tiktok", "phone", "(555) 555-5555")
    assert default.normalized == "+15555555555"
    assert default.hashed == h("+15555555555")
    assert default.hashed == "910a625c4ba147b544e6bd2f267e130ae14c591b6ba9c25cb8573322dedbebd0"
    # TikTok help-center example hash 65b7e6dc... is sha256("37493828222"): digits, no '+'.
    digits = get_platform("tiktok", phone_format="digits_with_country_code")
    out, _ = normalize_values(pd.Series(["+374 93 828222"]), "phone", digits)
    assert plain(out) == ["37493828222"]
    assert h("37493828222").startswith("65b7e6dc")


def _counting(monkeypatch, owner, name: str) -> list:
    calls = []
    real = getattr(owner, name)

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls


def test_each_distinct_number_is_read_once_and_plain_text_never_reaches_phonenumbers_parse(monkeypatch):
    reads = _counting(monkeypatch, fast_lane, "digits_e164")
    parses = _counting(monkeypatch, phonenumbers, "parse")
    raw = ["020 7946 0958", "020 7946 0959", "+49 30 1234567"] * 1000
    out, _ = normalize_values(pd.Series(raw), "phone", "google", default_region="GB")
    assert len(reads) == 3
    assert parses == []  # plain digits and punctuation are read from phonenumbers' metadata (phone_reading.py)
    assert plain(out)[:3] == ["+442079460958", "+442079460959", "+49301234567"]
    reads.clear()
    countries = pd.Series(["GB", "DE"] * 1500)
    normalize_values(pd.Series(["0301234567"] * 3000), "phone", "google", countries=countries)
    assert sorted(args[-1] for args in reads) == ["DE", "GB"]  # one reading per distinct (region, number)


def test_each_distinct_number_that_is_not_plain_text_is_parsed_once(monkeypatch):
    calls = _counting(monkeypatch, phonenumbers, "parse")
    raw = ["020\u00a07946 0958", "020\u00a07946 0959", "+49\u00a030 1234567"] * 1000  # no-break spaces
    out, _ = normalize_values(pd.Series(raw), "phone", "google", default_region="GB")
    assert len(calls) == 3
    assert plain(out)[:3] == ["+442079460958", "+442079460959", "+49301234567"]
    calls.clear()
    countries = pd.Series(["GB", "DE"] * 1500)
    normalize_values(pd.Series(["030\u00a01234567"] * 3000), "phone", "google", countries=countries)
    assert sorted(args[1] for args in calls) == ["DE", "GB"]  # one parse per distinct (region, number)


def _random_north_american(rng: random.Random) -> str:
    area = rng.choice(["650", "212", "416", "150", "050", "911", "555"])
    exchange = rng.choice(["555", "155", "055", "234"])
    line = f"{rng.randrange(10000):04d}"
    shape = rng.choice(
        ["{a}{e}{l}", "({a}) {e}-{l}", "{a}.{e}.{l}", "+1 {a} {e} {l}", "1-{a}-{e}-{l}", "+{a}{e}{l}",
         "1{a}{e}{l}", "2{a}{e}{l}", "+1 ({a}) {e}-{l}", " {a}-{e}-{l} ", "+11{a}{e}{l}", "({a} {e}-{l}",
         "{a}) {e} {l}", "1 ({a}){e}.{l}", "+1.{a}.{e}.{l}", "{a}-{e}{l}", "+ 1 {a} {e} {l}", "{a} {e} {l} 1"]
    )  # fmt: skip
    return shape.format(a=area, e=exchange, l=line)


def test_the_north_american_fast_path_agrees_with_phonenumbers():
    rng = random.Random(20260901)
    values = [_random_north_american(rng) for _ in range(3000)]
    regions = [rng.choice(["US", "CA", "GB"]) for _ in values]
    fast = phones.nanp_fast_path(pd.Series(values, dtype=object), pd.Series(regions, dtype=object))
    handled = [(v, r, f) for v, r, f in zip(values, regions, fast, strict=True) if f is not None]
    assert len(handled) > 400  # the fast path does take the common shapes
    for value, region, formatted in handled:
        number = phonenumbers.parse(value, region)
        assert phonenumbers.is_possible_number(number), value
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == formatted, value
    everything, _ = normalize_values(pd.Series(values), "phone", "google", countries=pd.Series(regions))
    slow = [phones.e164(v.strip(), r) for v, r in zip(values, regions, strict=True)]
    assert plain(everything) == slow
