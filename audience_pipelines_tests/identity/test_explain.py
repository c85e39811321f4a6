"""explain(): one value through one platform's rules, as the CLI shows it."""

import pytest

from audience_pipelines.identity import Explanation, explain
from audience_pipelines_tests.identity.support import h


def test_a_hashed_identifier():
    assert explain("meta", "phone", "+1 (650) 555-1212") == Explanation(
        normalized="16505551212", hashed=h("16505551212"), reason=None, hashed_by_platform=True
    )


def test_an_unhashed_identifier():
    assert explain("webhook", "phone", "(650) 555-1212") == Explanation("+16505551212", None, None, False)


def test_a_dropped_value_gives_its_reason_and_no_hash():
    assert explain("google", "email", "nobody") == Explanation(None, None, "invalid_email", True)
    assert explain("meta", "email", "   ") == Explanation(None, None, "empty", True)


def test_an_already_hashed_value_passes_through():
    digest = h("someone@example.com")
    assert explain("meta", "email", digest.upper()) == Explanation(digest, digest, None, True)


def test_the_default_region_reads_national_numbers():
    assert explain("meta", "phone", "020 7946 0958", default_region="GB").normalized == "442079460958"


def test_unknown_platforms_and_identifier_types_are_named():
    with pytest.raises(
        ValueError,
        match="unknown platform 'myspace'; known: braze, ga4, google, hubspot, klaviyo, mailchimp, meta, "
        "salesforce, tiktok, webhook",
    ):
        explain("myspace", "email", "a@example.com")
    with pytest.raises(ValueError, match="unknown identifier type 'shoe_size'; known: email, phone"):
        explain("meta", "shoe_size", "42")
