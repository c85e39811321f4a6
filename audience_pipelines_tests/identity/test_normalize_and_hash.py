"""Normalization and hashing per platform, checked against literal normalized values."""

from hashlib import sha256

import pandas as pd
import pytest

from audience_pipelines.identity import (
    FieldSpec,
    IdentifierType,
    explain,
    get_platform,
    normalize_values,
    prepare_identifiers,
    sha256_hex,
)


def h(text: str) -> str:
    return sha256(text.encode()).hexdigest()


def norm(platform: str, kind: str, *values, region: str = "US", regions=None) -> list:
    series = pd.Series(list(values), dtype=object)
    out, _ = normalize_values(
        series,
        IdentifierType(kind),
        get_platform(platform),
        default_region=region,
        regions=pd.Series(regions, dtype=object) if regions else None,
    )
    return [None if v is None or pd.isna(v) else v for v in out]


def reasons(platform: str, kind: str, *values) -> list:
    _, why = normalize_values(pd.Series(list(values), dtype=object), IdentifierType(kind), get_platform(platform))
    return [None if v is None or pd.isna(v) else v for v in why]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" John.Doe@Example.COM ", "john.doe@example.com"), ("ALICE+promo@mail.co.uk", "alice+promo@mail.co.uk")],
)
def test_email_is_trimmed_and_lowercased_then_hashed(raw, expected):
    assert norm("meta", "email", raw) == [expected]
    shown = explain("meta", "email", raw)
    assert (shown.normalized, shown.hashed) == (expected, h(expected))


def test_ga4_removes_dots_before_gmail_only():
    assert norm("ga4", "email", "J.Doe@Gmail.com", "j.doe@example.com") == ["jdoe@gmail.com", "j.doe@example.com"]


def test_invalid_and_empty_emails_are_dropped_with_reasons_never_hashed():
    assert norm("meta", "email", "no-at-sign", "   ", None) == [None, None, None]
    assert reasons("meta", "email", "no-at-sign", "   ", None) == ["invalid_email", "empty", "missing"]


@pytest.mark.parametrize(
    ("raw", "region", "meta", "google"),
    [
        ("+1 (650) 555-1212", "US", "16505551212", "+16505551212"),
        ("(650) 555-1212", "US", "16505551212", "+16505551212"),
        ("650.555.1212", "US", "16505551212", "+16505551212"),
        ("020 7946 0958", "GB", "442079460958", "+442079460958"),
        ("0049 30 1234567", "US", "49301234567", "+49301234567"),
    ],
)
def test_phone_formats_differ_by_platform(raw, region, meta, google):
    assert norm("meta", "phone", raw, region=region) == [meta]  # digits with country code, no '+'
    assert norm("google", "phone", raw, region=region) == [google]  # E.164 with '+'
    assert norm("ga4", "phone", raw, region=region) == [google]


def test_phone_uses_the_rows_country_as_region():
    assert norm("meta", "phone", "020 7946 0958", "(650) 555-1212", regions=["GB", "US"]) == [
        "442079460958",
        "16505551212",
    ]


def test_impossible_phone_numbers_are_dropped():
    assert norm("meta", "phone", "12345") == [None]
    assert reasons("meta", "phone", "12345") == ["invalid_phone"]


def test_tiktok_phone_format_is_a_setting():
    tiktok_digits = get_platform("tiktok", phone_format="digits")
    out, _ = normalize_values(pd.Series(["+1 650 555 1212"]), IdentifierType.PHONE, tiktok_digits)
    assert list(out) == ["16505551212"]
    assert norm("tiktok", "phone", "+1 650 555 1212") == ["+16505551212"]


def test_names_cities_states_zips_countries_genders():
    assert norm("meta", "first_name", "  Zoë-Ann ") == ["zoëann"]
    assert norm("meta", "last_name", "O'Neil Jr.") == ["oneiljr"]
    assert norm("google", "first_name", "  Zoë-Ann ") == ["zoë-ann"]
    assert norm("meta", "first_initial", "Zoë") == ["z"]
    assert norm("meta", "city", "San Francisco", "St. Louis") == ["sanfrancisco", "stlouis"]
    assert norm("meta", "state", "California", " NY ", "new  york") == ["ca", "ny", "ny"]
    assert norm("meta", "zip", "94107-1234", "SW1A 1AA") == ["94107", "sw1a1aa"]
    assert norm("meta", "country", "United States", "GB", "usa", "Narnia") == ["us", "gb", "us", None]
    assert norm("meta", "gender", "Female", "M", "x") == ["f", "m", None]
    assert reasons("meta", "gender", "x") == ["invalid_gender"]


def test_dates_of_birth():
    assert norm("meta", "date_of_birth", "1985-03-07", "not a date") == ["19850307", None]
    assert norm("meta", "dob_year", "1985") == ["1985"]
    assert norm("meta", "dob_month", "March", "3", "13") == ["03", "03", None]
    assert norm("meta", "dob_day", "7", "31", "32") == ["07", "31", None]


def test_click_and_client_ids_are_validated_and_never_hashed():
    assert norm("meta", "fbp", " fb.1.1558571054389.1098115397 ", "garbage") == ["fb.1.1558571054389.1098115397", None]
    assert norm("meta", "fbc", "fb.1.1554763741205.AbCdEf") == ["fb.1.1554763741205.AbCdEf"]
    prepared = prepare_identifiers(
        pd.DataFrame({"fbp": ["fb.1.1558571054389.1098115397"], "external_id": ["CRM-1"]}),
        {
            "fbp": FieldSpec("fbp", IdentifierType.FBP),
            "external_id": FieldSpec("external_id", IdentifierType.EXTERNAL_ID),
        },
        "meta",
    )
    assert prepared.values.iloc[0].to_dict() == {"fbp": "fb.1.1558571054389.1098115397", "external_id": "CRM-1"}


def test_already_hashed_values_pass_through_lowercased():
    digest = h("someone@example.com")
    prepared = prepare_identifiers(
        pd.DataFrame({"email": [digest.upper(), "Someone@Example.com"]}),
        {"EMAIL": FieldSpec("email", IdentifierType.EMAIL)},
        "meta",
    )
    assert list(prepared.values["EMAIL"]) == [digest, digest]


def test_the_empty_string_is_never_hashed():
    with pytest.raises(ValueError, match="refusing to hash an empty identifier"):
        sha256_hex(pd.Series(["fine", ""], dtype=object))


def test_prepare_counts_drops_and_flags_rows_without_any_identifier():
    frame = pd.DataFrame(
        {
            "email": ["a@example.com", "broken", None, ""],
            "phone": [None, "+1 650 555 1212", "123", None],
        }
    )
    prepared = prepare_identifiers(
        frame,
        {"EMAIL": FieldSpec("email", IdentifierType.EMAIL), "PHONE": FieldSpec("phone", IdentifierType.PHONE)},
        "meta",
    )
    assert list(prepared.usable) == [True, True, False, False]
    assert prepared.drop_counts() == {"EMAIL:invalid_email": 1, "EMAIL:empty": 1, "PHONE:invalid_phone": 1}
    assert prepared.values.loc[0, "EMAIL"] == h("a@example.com")
    assert prepared.values.loc[1, "PHONE"] == h("16505551212")
    assert prepared.values.loc[2].isna().all() and prepared.values.loc[3].isna().all()
    assert "broken" not in repr(prepared.drop_reasons) and "123" not in repr(prepared.drop_reasons)


def test_webhook_normalizes_without_hashing():
    shown = explain("webhook", "phone", "(650) 555-1212")
    assert (shown.normalized, shown.hashed, shown.hashed_by_platform) == ("+16505551212", None, False)


def test_unknown_platform_and_identifier_are_named():
    with pytest.raises(ValueError, match="unknown platform 'myspace'; known: ga4, google, meta, tiktok, webhook"):
        get_platform("myspace")
    with pytest.raises(ValueError, match="unknown identifier type 'shoe_size'"):
        explain("meta", "shoe_size", "42")


def test_the_north_american_fast_path_agrees_with_phonenumbers():
    import phonenumbers

    samples = ["6505550123", "(212) 555-0199", "+1 415 555 2671", "1-303-555-0100", "+1 (604) 555 0188", "416.555.0123"]
    fast = norm("google", "phone", *samples)
    slow = [
        phonenumbers.format_number(phonenumbers.parse(s, "US"), phonenumbers.PhoneNumberFormat.E164) for s in samples
    ]
    assert fast == slow
