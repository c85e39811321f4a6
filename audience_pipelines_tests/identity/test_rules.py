"""Platform rules are data: every identifier has a normalizer; hashing and phone format differ per platform."""

import pytest

from audience_pipelines.identity import NORMALIZERS, PLATFORMS, IdentifierType, PlatformRules, get_platform
from audience_pipelines.identity import IdentifierType as I

PERSONAL = {I.EMAIL, I.PHONE, I.FIRST_NAME, I.LAST_NAME, I.FIRST_INITIAL, I.GENDER, I.DATE_OF_BIRTH}
PERSONAL |= {I.DOB_YEAR, I.DOB_MONTH, I.DOB_DAY, I.CITY, I.STATE, I.ZIP, I.COUNTRY}


def test_identifier_values_are_the_audience_column_names():
    assert [i.value for i in IdentifierType] == [
        "email", "phone", "first_name", "last_name", "first_initial", "gender", "date_of_birth", "dob_year",
        "dob_month", "dob_day", "city", "state", "zip", "country", "madid", "external_id", "fbp", "fbc", "gclid",
        "ga_client_id", "ttclid",
    ]  # fmt: skip


@pytest.mark.parametrize("name", sorted(PLATFORMS))
def test_every_platform_has_a_known_normalizer_for_every_identifier(name):
    rules = PLATFORMS[name]
    assert set(rules.normalizers) == set(IdentifierType)
    assert set(rules.normalizers.values()) <= set(NORMALIZERS)
    assert rules.name == name


def test_meta_hashes_personal_keys_and_sends_ids_raw():
    meta = get_platform("meta")
    assert meta.hashed == PERSONAL
    assert not {I.EXTERNAL_ID, I.MADID, I.FBP, I.FBC} & meta.hashed
    assert meta.phone_format == "digits_with_country_code"


def test_google_and_ga4_hash_contact_keys_only_and_use_e164():
    for name in ("google", "ga4"):
        rules = get_platform(name)
        assert rules.hashed == {I.EMAIL, I.PHONE, I.FIRST_NAME, I.LAST_NAME}
        assert rules.phone_format == "e164"


def test_webhook_hashes_nothing():
    assert get_platform("webhook").hashed == frozenset()


def test_tiktok_phone_format_and_default_region_are_settings():
    assert get_platform("tiktok").phone_format == "e164"
    changed = get_platform("tiktok", phone_format="digits_with_country_code", default_region="gb")
    assert (changed.phone_format, changed.default_region) == ("digits_with_country_code", "GB")
    assert get_platform("tiktok").phone_format == "e164"  # the registry is untouched


def test_unknown_platform_settings_and_rules_are_named():
    with pytest.raises(
        ValueError,
        match="unknown platform 'myspace'; known: braze, ga4, google, hubspot, klaviyo, mailchimp, meta, "
        "salesforce, tiktok, webhook",
    ):
        get_platform("myspace")
    with pytest.raises(ValueError, match="unknown phone format 'dots'"):
        get_platform("tiktok", phone_format="dots")
    with pytest.raises(ValueError, match="unknown default region 'Narnia'"):
        get_platform("meta", default_region="Narnia")
    with pytest.raises(ValueError, match=r"no normalizer for \['phone'"):
        PlatformRules("partial", {I.EMAIL: "email"}, frozenset(), "e164", ())
    normalizers = {**PLATFORMS["meta"].normalizers, I.EMAIL: "soundex"}
    with pytest.raises(ValueError, match=r"unknown normalizers \['soundex'\]"):
        PlatformRules("odd", normalizers, frozenset(), "e164", ())


def test_rules_cannot_be_changed_in_place():
    meta = get_platform("meta")
    with pytest.raises(TypeError):
        meta.normalizers[I.EMAIL] = "raw_id"  # type: ignore[index]
    with pytest.raises(AttributeError):
        meta.phone_format = "e164"  # type: ignore[misc]
