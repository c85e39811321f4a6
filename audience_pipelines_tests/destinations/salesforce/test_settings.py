"""Validation of Salesforce destinations and of syncs to them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from audience_pipelines.destinations.salesforce import SALESFORCE, SalesforceConfig
from audience_pipelines.destinations.salesforce.fields import field_problem

CREDENTIALS = {"client_id": "SF_CLIENT_ID", "client_secret": "SF_CLIENT_SECRET", "refresh_token": "SF_REFRESH_TOKEN"}


def config(**settings: Any) -> SalesforceConfig:
    return SalesforceConfig.model_validate(
        {"name": "sf", "type": "salesforce", "credentials": CREDENTIALS, "settings": settings}
    )


def test_defaults() -> None:
    settings = config().settings
    assert settings.token_url == "https://login.salesforce.com/services/oauth2/token"
    assert (settings.person_object, settings.removal, settings.batch_size) == ("Contact", "delete_member", 200)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"batch_size": 201}, "batch_size"),
        ({"removal": "set_status"}, "removed_status"),
        ({"removal": "set_status", "member_status": "Sent", "removed_status": "Sent"}, "removed_status"),
        ({"token_url": "http://login.example.com/token"}, "token_url"),
        ({"person_object": "Account"}, "person_object"),
        ({"api_version": "v62"}, "api_version"),
    ],
)
def test_bad_settings_name_the_field(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError) as caught:
        config(**settings)
    assert named in str(caught.value)


def test_credentials_are_variable_names() -> None:
    with pytest.raises(ValidationError, match="refresh_token"):
        SalesforceConfig.model_validate(
            {"name": "sf", "type": "salesforce", "credentials": {**CREDENTIALS, "refresh_token": "5Aep861abc.def"}}
        )


def test_check_sync_requires_email_and_names_unwritable_targets() -> None:
    assert SALESFORCE.check_sync is not None
    assert SALESFORCE.check_sync({"email": "Email", "phone": "MobilePhone"}, config()) == []
    problems = SALESFORCE.check_sync({"email": "email", "phone": "Id"}, config())
    assert any("maps email: Email" in p for p in problems)
    assert any("identifiers.phone" in p and "'Id'" in p for p in problems)
    assert SALESFORCE.check_sync({"email": "Email", "zip": "MailingPostalCode"}, config(person_object="Lead"))


@pytest.mark.parametrize("name", ["Lifetime_Value__c", "acme__Score__c", "FirstName"])
def test_writable_fields(name: str) -> None:
    assert field_problem(name, "Contact") is None


@pytest.mark.parametrize("name", ["OwnerId", "CreatedDate", "a__b__c__c", "__c", "Two__Under__Scores__c", "x y__c"])
def test_unwritable_fields(name: str) -> None:
    assert field_problem(name, "Contact") is not None
