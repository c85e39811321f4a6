"""Device, click and external ids: trimmed, validated where they have a shape, hashed only where a platform says."""

import pytest

from audience_pipelines.identity import explain
from audience_pipelines_tests.identity.support import h, norm, why

IDFA = "AEBE52E7-03EE-455A-B3C4-E57283966239"


def test_madid_is_lowercased_keeps_hyphens_and_is_raw_for_meta():
    assert norm("meta", "madid", f" {IDFA} ") == [IDFA.lower()]
    shown = explain("meta", "madid", IDFA)
    assert (shown.normalized, shown.hashed, shown.hashed_by_platform) == (IDFA.lower(), None, False)
    assert explain("tiktok", "madid", IDFA).hashed == h(IDFA.lower())  # TikTok hashes MAIDs


def test_opted_out_and_malformed_device_ids_are_invalid():
    assert why("meta", "madid", "00000000-0000-0000-0000-000000000000", "not-a-uuid") == ["invalid_format"] * 2


def test_external_id_is_trimmed_case_kept_and_raw_for_meta():
    assert norm("meta", "external_id", "  CRM-0042 ") == ["CRM-0042"]
    assert explain("meta", "external_id", "CRM-0042").hashed is None
    assert explain("tiktok", "external_id", " CRM-0042 ").hashed == h("crm-0042")  # lowercased, then hashed


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("fbp", " fb.1.1558571054389.1098115397 ", "fb.1.1558571054389.1098115397"),
        ("fbc", "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890", None),
        ("gclid", " Cj0KCQjw-abc_DEF ", "Cj0KCQjw-abc_DEF"),
        ("ttclid", " E.C.P.abc123 ", "E.C.P.abc123"),
        ("ga_client_id", " 1234567890.1700000000 ", "1234567890.1700000000"),
        ("ga_client_id", "GA1.1.1234567890.1700000000", "1234567890.1700000000"),  # a whole _ga cookie
    ],
)
def test_click_and_browser_ids_are_trimmed_and_never_hashed(kind, raw, expected):
    expected = expected or raw
    for platform in ("meta", "google", "ga4", "tiktok", "webhook"):
        shown = explain(platform, kind, raw)
        assert (shown.normalized, shown.hashed, shown.hashed_by_platform) == (expected, None, False)


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("fbp", "garbage"),
        ("fbp", "fb.1.1558571054389"),
        ("fbp", "fb.1.1558571054389.abc"),
        ("fbc", "fb.1.abc.IwAR0"),
        ("fbc", "IwAR0xyz"),
        ("ga_client_id", "not-a-client-id"),
    ],
)
def test_malformed_browser_and_client_ids_are_invalid(kind, raw):
    assert norm("meta", kind, raw) == [None]
    assert why("meta", kind, raw) == ["invalid_format"]
