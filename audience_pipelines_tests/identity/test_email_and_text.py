"""Email normalization and the text handling every normalizer shares (trim, NFC, missing vs empty)."""

import numpy as np
import pandas as pd
import pytest

from audience_pipelines.identity import explain
from audience_pipelines.identity.text import as_text, text
from audience_pipelines_tests.identity.support import h, norm, plain, why


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" John.Doe@Example.COM ", "john.doe@example.com"),
        ("ALICE+promo@Mail.co.uk", "alice+promo@mail.co.uk"),
        ("\tbob@example.org\n", "bob@example.org"),
        ("\u00a0carol@example.com\u200b", "carol@example.com"),  # no-break space, zero-width space
    ],
)
def test_email_is_trimmed_and_lowercased_then_hashed(raw, expected):
    assert norm("meta", "email", raw) == [expected]
    shown = explain("meta", "email", raw)
    assert (shown.normalized, shown.hashed, shown.reason) == (expected, h(expected), None)


def test_google_email_matches_the_published_customer_match_vector():
    # The Google Ads addOperations example carries hashedEmail 87924606...; that is sha256("test@gmail.com").
    shown = explain("google", "email", "  Test@Gmail.com ")
    assert shown.hashed == h("test@gmail.com")
    assert shown.hashed == "87924606b4131a8aceeeae8868531fbb9712aaa07a5d3a756b26ce0f5d6ca674"


def test_customer_match_keeps_gmail_dots_and_ga4_removes_them():
    assert norm("google", "email", "J.Doe@Gmail.com") == ["j.doe@gmail.com"]
    assert norm("ga4", "email", "J.Doe@Gmail.com", "j.o.e@googlemail.com", "j.doe@example.com") == [
        "jdoe@gmail.com",
        "joe@googlemail.com",
        "j.doe@example.com",
    ]
    assert why("ga4", "email", "...@gmail.com") == ["invalid_email"]


@pytest.mark.parametrize("raw", ["no-at-sign", "a@b", "a b@example.com", "a@@example.com", "a@example.com.", "@x.com"])
def test_malformed_emails_are_dropped_as_invalid(raw):
    assert norm("meta", "email", raw) == [None]
    assert why("meta", "email", raw) == ["invalid_email"]


def test_missing_and_blank_values_have_their_own_reasons():
    values = [None, np.nan, pd.NA, "", "   ", "\t\n"]
    assert norm("meta", "email", *values) == [None] * 6
    assert why("meta", "email", *values) == ["missing", "missing", "missing", "empty", "empty", "empty"]


def test_reasons_are_none_not_nan_where_values_are_kept():
    _, reasons = text(pd.Series(["a", None, " "], dtype=object))
    assert reasons.tolist() == [None, "missing", "empty"]


def test_decomposed_and_composed_accents_normalize_to_the_same_text():
    composed, decomposed = "Zo\u00eb", "Zoe\u0308"
    out, _ = text(pd.Series([composed, decomposed], dtype=object))
    assert out.tolist() == ["Zo\u00eb", "Zo\u00eb"]


def test_non_text_values_are_read_as_text():
    values = pd.Series([6505551212.0, 42, b"caf\xc3\xa9", None, "x"], dtype=object)
    assert plain(as_text(values)) == ["6505551212", "42", "café", None, "x"]
    assert plain(as_text(pd.Series([94107.0, np.nan]))) == ["94107", None]
    assert plain(as_text(pd.Series(["a", None], dtype="str"))) == ["a", None]


@pytest.mark.parametrize(
    "raw",
    [
        "mailto:Jane.Doe@Example.com",
        "MAILTO: jane.doe@example.com",
        "mailto:jane.doe@example.com?subject=Hello",
        "<jane.doe@example.com>",
        " < Jane.Doe@Example.com > ",
        "Jane Doe <jane.doe@example.com>",
        '"Doe, Jane" <JANE.DOE@example.com>',
        "<mailto:jane.doe@example.com>",
    ],
)
@pytest.mark.parametrize("platform", ["meta", "google", "ga4", "tiktok", "webhook"])
def test_wrapped_emails_are_unwrapped_before_hashing(platform, raw):
    assert norm(platform, "email", raw) == ["jane.doe@example.com"]
    if platform in ("meta", "google"):
        assert explain(platform, "email", raw).hashed == h("jane.doe@example.com")


@pytest.mark.parametrize("raw", ["<>", "mailto:", "Jane Doe <not an email>", "mailto:nobody"])
def test_a_wrapper_around_nothing_is_invalid(raw):
    assert why("meta", "email", raw) == ["invalid_email"]
