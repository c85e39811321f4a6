"""Braze configuration and sync validation messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from audience_pipelines.destinations.braze import BRAZE, BrazeConfig, check_sync

BASE = {
    "name": "bz",
    "type": "braze",
    "base_url": "https://rest.iad-01.braze.com",
    "credentials": {"api_key": "BRAZE_KEY"},
}


def config(**settings: object) -> BrazeConfig:
    return BrazeConfig.model_validate({**BASE, "settings": settings})


def test_defaults_follow_the_documented_limits() -> None:
    settings = config().settings
    assert (settings.batch_size, settings.rate_limit_requests, settings.rate_limit_seconds) == (75, 3000, 3.0)
    assert (settings.membership, settings.attribute) == ("array", "audiences")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"settings": {"batch_size": 76}}, "batch_size"),
        ({"settings": {"attribute": "$aud"}}, "attribute"),
        ({"settings": {"membership": "list"}}, "membership"),
        ({"credentials": {"api_key": "not a variable"}}, "api_key"),
        ({"base_url": "http://rest.iad-01.braze.com"}, "base_url"),
    ],
)
def test_invalid_settings_name_the_field(body: dict[str, object], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        BrazeConfig.model_validate({**BASE, **body})


def test_base_url_is_required() -> None:
    with pytest.raises(ValidationError, match="base_url"):
        BrazeConfig.model_validate({k: v for k, v in BASE.items() if k != "base_url"})


def test_check_sync_names_bad_identifiers_and_fields() -> None:
    assert BRAZE.check_sync is not None
    assert BRAZE.check_sync({"email": "email", "external_id": "external_id"}, config()) == []
    problems = BRAZE.check_sync({"email": "email_address"}, config())
    assert problems == [
        "field 'identifiers.email': Braze identifies users by external_id, email, phone, not 'email_address'"
    ]
    found = check_sync(
        {"email": "email"},
        config(),
        {"ltv": "$ltv", "tier": "audiences", "crm": "braze_id", "ok": "lifetime_value", "name": "first_name"},
    )
    assert [p.split(":")[0] for p in found] == ["field 'fields.ltv'", "field 'fields.tier'", "field 'fields.crm'"]
    assert check_sync({"email": "email"}, config(membership="boolean"), {"tier": "audiences"}) == []
