"""HubSpot configuration and sync validation messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from audience_pipelines.destinations.hubspot import HUBSPOT, HubSpotConfig, check_sync
from audience_pipelines.destinations.settings import MissingSecretError

BODY = {"name": "hs", "type": "hubspot", "credentials": {"access_token": "HUBSPOT_TOKEN"}}


def config(**changes: object) -> HubSpotConfig:
    return HubSpotConfig.model_validate({**BODY, **changes})


def test_defaults_point_at_hubspot_with_its_documented_limits() -> None:
    found = config()
    assert found.resolved_base_url() == "https://api.hubapi.com"
    assert (found.settings.batch_size, found.settings.requests_per_10_seconds) == (100, 100)
    assert HUBSPOT.identity_platform == "hubspot" and HUBSPOT.capabilities == {"list"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"settings": {"batch_size": 101}}, "batch_size"),
        ({"settings": {"requests_per_10_seconds": 1000}}, "requests_per_10_seconds"),
        ({"credentials": {"access_token": "pat-na1-1234"}}, "access_token"),
        ({"credentials": {}}, "access_token"),
        ({"base_url": "http://api.hubapi.com"}, "base_url"),
        ({"settings": {"portal": 1}}, "portal"),
    ],
)
def test_invalid_settings_name_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        config(**changes)
    assert field in str(caught.value)


def test_a_missing_token_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUBSPOT_TOKEN", raising=False)
    with pytest.raises(MissingSecretError, match=r"\$HUBSPOT_TOKEN"):
        HUBSPOT.build_client(config(), log=print, sleep=lambda seconds: None)


def test_check_sync_accepts_email_and_writable_properties() -> None:
    identifiers = {"email": "email", "phone": "mobilephone", "external_id": "crm_id"}
    assert check_sync(identifiers, config(), {"lifetime_value": "lifetime_value"}) == []


EMAIL_ONLY = {"email": "email"}


@pytest.mark.parametrize(
    ("identifiers", "fields", "expected"),
    [
        ({"phone": "phone"}, {}, "field 'identifiers': hubspot matches contacts by email"),
        ({"email": "email", "external_id": "email"}, {}, "map exactly one identifier column to 'email'"),
        ({"email": "email", "phone": "Phone Number"}, {}, "field 'identifiers.phone': 'Phone Number' is not a HubSpot"),
        ({"email": "email", "external_id": "hs_object_id"}, {}, "field 'identifiers.external_id': 'hs_object_id' is"),
        (EMAIL_ONLY, {"ltv": "hs_object_id"}, "field 'fields.ltv': 'hs_object_id' is a read-only HubSpot property"),
        (EMAIL_ONLY, {"ltv": "Lifetime-Value"}, "field 'fields.ltv': 'Lifetime-Value' is not a HubSpot property"),
        (EMAIL_ONLY, {"contact": "email"}, "field 'fields.contact': property 'email' is already written"),
    ],
)
def test_check_sync_names_the_field(identifiers: dict[str, str], fields: dict[str, str], expected: str) -> None:
    problems = check_sync(identifiers, config(), fields)
    assert any(expected in problem for problem in problems), problems
