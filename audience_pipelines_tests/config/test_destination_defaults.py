"""A destination type's own rules for the syncs that use it: defaults, extra checks, identity settings."""

import datetime as dt

import pytest
from pydantic import ValidationError

from audience_pipelines.config import ProjectConfig
from audience_pipelines.destinations.registry import destination_type


def project(sync: dict, settings: dict | None = None) -> ProjectConfig:
    return ProjectConfig.model_validate(
        {
            "audiences": [
                {"name": "people", "type": "dynamic", "refresh": "daily", "window": "1d", "start": "2026-06-01",
                 "sql": "select 'a' as member_key, '' as email, '' as phone where :window_start < :window_end",
                 "identifiers": ["email", "phone"]}
            ],
            "destinations": [
                {"name": "tiktok", "type": "tiktok_audiences", "credentials": {"access_token": "TIKTOK_TOKEN"},
                 "settings": {"advertiser_id": "7001", **(settings or {})}}
            ],
            "syncs": [{"name": "to_tiktok", "audience": "people", "destination": "tiktok", "type": "list",
                       "target": {"name": "people"}, **sync}],
        }
    )  # fmt: skip


def test_tiktok_syncs_default_to_its_minimum_size_and_cooldown_unless_they_set_their_own():
    both = {"email": "EMAIL_SHA256", "phone": "PHONE_SHA256"}
    defaulted = project({"identifiers": both}).sync("to_tiktok")
    assert (defaulted.min_size, defaulted.cooldown) == (1000, dt.timedelta(minutes=30))
    own = project({"identifiers": both, "min_size": 10, "cooldown": "5m"}).sync("to_tiktok")
    assert (own.min_size, own.cooldown) == (10, dt.timedelta(minutes=5))


def test_the_calculate_type_is_checked_against_the_syncs_identifiers():
    with pytest.raises(ValidationError) as caught:
        project({"identifiers": {"email": "EMAIL_SHA256"}})
    message = str(caught.value)
    assert "sync 'to_tiktok' (item 1)" in message and "field 'identifiers'" in message and "PHONE_SHA256" in message
    single = project({"identifiers": {"email": "EMAIL_SHA256"}}, {"calculate_type": "single"})
    assert single.sync("to_tiktok").identifiers == {"email": "EMAIL_SHA256"}


def test_a_phone_format_setting_reaches_the_identity_rules():
    kind = destination_type("tiktok_audiences")
    both = {"email": "EMAIL_SHA256", "phone": "PHONE_SHA256"}
    default = project({"identifiers": both}).destination("tiktok")
    digits = project({"identifiers": both}, {"phone_format": "digits_with_country_code"}).destination("tiktok")
    assert kind.identity_rules(default).phone_format == "e164"
    assert kind.identity_rules(digits).phone_format == "digits_with_country_code"


def test_a_property_the_destination_cannot_take_is_a_config_error_naming_the_field():
    body = {
        "audiences": [
            {"name": "people", "type": "dynamic", "refresh": "daily", "window": "1d", "start": "2026-06-01",
             "sql": "select 'a' as member_key, '' as email, 1 as ltv where :window_start < :window_end",
             "identifiers": ["email"], "traits": ["ltv"]}
        ],
        "destinations": [{"name": "crm", "type": "klaviyo", "credentials": {"api_key": "KLAVIYO_KEY"}}],
        "syncs": [{"name": "to_crm", "audience": "people", "destination": "crm", "type": "list",
                   "target": {"name": "people"}, "identifiers": {"email": "email"}, "fields": {"ltv": "$value"}}],
    }  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        ProjectConfig.model_validate(body)
    assert "sync 'to_crm' (item 1)" in str(caught.value) and "fields.ltv" in str(caught.value)
    body["syncs"][0]["fields"] = {"ltv": "lifetime_value"}
    assert ProjectConfig.model_validate(body).sync("to_crm").fields == {"ltv": "lifetime_value"}
