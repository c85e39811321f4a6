"""Validation of Mailchimp destinations and syncs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from audience_pipelines.destinations.mailchimp import MAILCHIMP, MailchimpConfig
from audience_pipelines.destinations.mailchimp.payloads import check_mapping

BODY = {"name": "mc", "type": "mailchimp", "credentials": {"api_key": "MAILCHIMP_API_KEY"}}


def config(**settings: object) -> MailchimpConfig:
    return MailchimpConfig.model_validate({**BODY, "settings": {"list_id": "a1b2c3d4e5", **settings}})


def test_defaults() -> None:
    settings = config().settings
    assert (settings.removal, settings.status_if_new, settings.batch_size) == ("remove_tag", "subscribed", 500)
    assert config().api_root("us6") == "https://us6.api.mailchimp.com/3.0"


def test_the_audience_id_is_required_and_named() -> None:
    with pytest.raises(ValidationError) as caught:
        MailchimpConfig.model_validate({**BODY, "settings": {}})
    assert "list_id" in str(caught.value)


@pytest.mark.parametrize(
    "settings",
    [{"batch_size": 501}, {"removal": "delete"}, {"removal": "archive"}, {"status_if_new": "cleaned"}],
)
def test_out_of_contract_settings_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as caught:
        config(**settings)
    assert next(iter(settings)) in str(caught.value)


def test_credentials_are_variable_names() -> None:
    with pytest.raises(ValidationError):
        MailchimpConfig.model_validate({**BODY, "credentials": {"api_key": "abc-us6"}, "settings": {"list_id": "x"}})


def test_check_sync_needs_one_email_and_valid_merge_tags() -> None:
    assert MAILCHIMP.check_sync is not None
    assert MAILCHIMP.check_sync({"email": "email_address", "phone": "PHONE"}, config()) == []
    problems = check_mapping({"phone": "PHONE"})
    assert problems and "email_address" in problems[0] and "field 'identifiers'" in problems[0]
    problems = check_mapping({"email": "email_address", "first_name": "first name", "zip": "EMAIL", "x": "MC_X"})
    assert [p.split(":")[0] for p in problems] == [
        "field 'identifiers.first_name'",
        "field 'identifiers.zip'",
        "field 'identifiers.x'",
    ]
    assert "reserves" in problems[1]
    assert check_mapping({"email": "email_address", "ltv": "LIFETIMEVALUE"})[0].endswith("at most 10 characters)")


def test_check_sync_names_bad_field_targets() -> None:
    assert MAILCHIMP.check_sync is not None
    identifiers = {"email": "email_address"}
    assert MAILCHIMP.check_sync(identifiers, config(), {"lifetime_value": "LTV"}) == []
    problems = MAILCHIMP.check_sync(
        identifiers, config(), {"lifetime_value": "ltv", "a": "EMAIL", "b": "email_address"}
    )
    assert [p.split(":")[0] for p in problems] == [
        "field 'fields.lifetime_value'",
        "field 'fields.a'",
        "field 'fields.b'",
    ]
