"""Generated corpora (``corpus.py``) checked against rules rather than examples: phone digits equal
phonenumbers' E.164, normalizing twice changes nothing, the hash is the SHA-256 of the normalized value, outputs
use each platform's alphabet, marks survive, junk never gets through."""

from __future__ import annotations

import re
import unicodedata
from hashlib import sha256

import pandas as pd
import phonenumbers
import pytest

from audience_pipelines.identity import FieldSpec, get_platform, normalize_values, prepare_identifiers
from audience_pipelines.identity.junk import junk_reasons
from audience_pipelines_tests.identity import corpus
from audience_pipelines_tests.identity.support import plain

PLATFORMS = ["meta", "google", "ga4", "tiktok", "webhook"]
PHONES = corpus.phones()
EMAILS = corpus.emails()
NAMES = corpus.names()


def _prepared(platform: str, kind: str, values: list, countries: list | None = None, **settings):
    frame = pd.DataFrame({"v": pd.Series(values, dtype=object)})
    if countries is not None:
        frame["country"] = pd.Series(countries, dtype=object)
    rules = get_platform(platform, **settings)
    return prepare_identifiers(
        frame, {"F": FieldSpec("v", kind)}, rules, country_column="country" if countries else None, keep_normalized=True
    )


def _check_hashes(prepared, platform: str, kind: str) -> None:
    normalized, sent = plain(prepared.normalized["F"]), plain(prepared.values["F"])
    hashed = get_platform(platform).hashes(kind)
    for value, out in zip(normalized, sent, strict=True):
        expected = None if value is None else sha256(value.encode()).hexdigest() if hashed else value
        assert out == expected


@pytest.mark.parametrize("phone_format", ["e164", "digits_with_country_code"])
def test_every_regions_numbers_in_every_writing_match_phonenumbers_e164(phone_format):
    raw = [p.raw for p in PHONES]
    regions = [p.region for p in PHONES]
    prepared = _prepared("tiktok", "phone", raw, regions, phone_format=phone_format)
    got = plain(prepared.normalized["F"])
    expected = [p.e164 if phone_format == "e164" else p.e164[1:] for p in PHONES]
    wrong = [(p.raw, p.region, g) for p, g, e in zip(PHONES, got, expected, strict=True) if g != e]
    assert wrong == []
    _check_hashes(prepared, "tiktok", "phone")
    assert len(PHONES) > 2500 and len({p.region for p in PHONES}) > 200


@pytest.mark.parametrize("platform", PLATFORMS)
def test_phone_normalization_is_idempotent_in_the_rows_region(platform):
    e164 = sorted({(p.e164, p.region) for p in PHONES})
    rules = get_platform(platform)
    regions = pd.Series([r for _, r in e164], dtype=object)
    once, _ = normalize_values(pd.Series([n for n, _ in e164], dtype=object), "phone", rules, countries=regions)
    twice, _ = normalize_values(once, "phone", rules, countries=regions)
    assert plain(twice) == plain(once)
    digits = "digits_with_country_code" if rules.phone_format == "e164" else "e164"
    other = rules.with_settings(phone_format=digits)
    once, _ = normalize_values(pd.Series([n for n, _ in e164], dtype=object), "phone", other, countries=regions)
    assert plain(normalize_values(once, "phone", other, countries=regions)[0]) == plain(once)


def test_digits_of_another_country_in_a_us_row_keep_their_country_unless_they_are_a_us_number():
    """Deliberate: Meta's format drops the '+', so digits are ambiguous across countries: ``6581234567`` is
    Singapore's +65 8123 4567 and also a North American number (area code 658). Read again in a row of
    another country, the national reading wins when it is valid there, and in US/CA rows every 10-digit
    number shaped like a North American one (area code and exchange 2-9) is North American (the vectorized
    fast path); otherwise the country code is kept. Same-country rows are idempotent (the test above)."""
    e164 = sorted({p.e164 for p in PHONES})
    once, _ = normalize_values(pd.Series([n[1:] for n in e164], dtype=object), "phone", "meta")
    kept = 0
    for number, out in zip(e164, plain(once), strict=True):
        us = phonenumbers.parse(number[1:], "US")
        if not phonenumbers.is_valid_number(us) and not re.fullmatch(r"[2-9]\d\d[2-9]\d{6}", number[1:]):
            assert out == number[1:], number
            kept += 1
    assert kept > 300


@pytest.mark.parametrize("platform", PLATFORMS)
def test_emails_unwrap_trim_lowercase_and_hash(platform):
    prepared = _prepared(platform, "email", [raw for raw, _ in EMAILS])
    got = plain(prepared.normalized["F"])
    expected = [e for _, e in EMAILS]
    if platform == "ga4":  # GA4 removes the dots of gmail local parts
        expected = [
            e.split("@")[0].replace(".", "") + "@gmail.com" if e.endswith("@gmail.com") else e for e in expected
        ]
    assert got == expected
    _check_hashes(prepared, platform, "email")
    again = _prepared(platform, "email", got)
    assert plain(again.normalized["F"]) == got
    for value in got:
        assert value == value.lower() and value.count("@") == 1 and not any(c.isspace() for c in value)


def _marks_and_letters(text: str) -> tuple[str, str]:
    decomposed = unicodedata.normalize("NFD", text)
    return (
        "".join(c for c in decomposed if unicodedata.category(c).startswith("M")),
        "".join(c for c in decomposed if unicodedata.category(c).startswith("L")),
    )


@pytest.mark.parametrize(("platform", "kind"), [("meta", "first_name"), ("meta", "city"), ("meta", "last_name")])
def test_meta_names_and_cities_keep_every_letter_and_mark_in_nfc_and_nothing_else(platform, kind):
    raw = [r for _, r, _ in NAMES]
    prepared = _prepared(platform, kind, raw)
    got = plain(prepared.normalized["F"])
    for source, out in zip(raw, got, strict=True):
        assert out is not None, source
        assert unicodedata.is_normalized("NFC", out), source
        assert out == out.lower()
        assert all(unicodedata.category(c)[0] in "LM" for c in out), source
        assert _marks_and_letters(out) == _marks_and_letters(source.lower()), source
    _check_hashes(prepared, platform, kind)
    again = _prepared(platform, kind, got)
    assert plain(again.normalized["F"]) == got


@pytest.mark.parametrize(
    ("platform", "kind", "allowed"),
    [("ga4", "first_name", "LMZ"), ("ga4", "city", "LMZ"), ("tiktok", "city", "LMN"), ("tiktok", "first_name", None)],
)
def test_other_platforms_keep_marks_and_their_own_alphabet(platform, kind, allowed):
    raw = [r for _, r, _ in NAMES]
    got = plain(_prepared(platform, kind, raw).normalized["F"])
    for source, out in zip(raw, got, strict=True):
        assert unicodedata.is_normalized("NFC", out) and out == out.lower()
        assert _marks_and_letters(out)[0] == _marks_and_letters(source.lower())[0], source
        if allowed:
            assert all(unicodedata.category(c)[0] in allowed for c in out), source
    assert plain(_prepared(platform, kind, got).normalized["F"]) == got


@pytest.mark.parametrize("platform", PLATFORMS)
def test_junk_never_gets_through_any_identifier(platform):
    values = corpus.junk()
    for kind in ["email", "phone", "first_name", "city", "zip", "country", "external_id", "madid", "gclid"]:
        prepared = _prepared(platform, kind, values)
        assert prepared.values["F"].isna().all(), kind
        reasons = set(plain(prepared.drop_reasons["F"]))
        assert reasons <= {"empty", "placeholder", "hashed_empty", "degenerate_hash"}, kind
    assert sum(r is not None for r in junk_reasons(pd.Series(values, dtype=object).str.strip())) > 40
