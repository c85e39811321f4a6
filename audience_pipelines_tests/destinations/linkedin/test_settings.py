"""LinkedInConfig validation and the descriptor."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from audience_pipelines.destinations.linkedin import LINKEDIN, LinkedInConfig
from audience_pipelines.identity.rules import get_platform
from audience_pipelines.identity.types import IdentifierType

CREDENTIALS = {"client_id": "LI_ID", "client_secret": "LI_SECRET", "refresh_token": "LI_REFRESH"}


def config(**settings: Any) -> LinkedInConfig:
    body = {"ad_account_id": "123456", "source_platform": "AUDIENCE_PIPELINES", **settings}
    return LinkedInConfig.model_validate(
        {"name": "li", "type": "linkedin", "credentials": CREDENTIALS, "settings": body}
    )


def test_defaults() -> None:
    settings = config().settings
    assert (settings.api_version, settings.batch_size) == ("202604", 5_000)
    assert settings.token_url == "https://www.linkedin.com/oauth/v2/accessToken"
    assert settings.account_urn == "urn:li:sponsoredAccount:123456"
    assert config().resolved_base_url() == "https://api.linkedin.com"


@pytest.mark.parametrize("value", [123456, "123456", "urn:li:sponsoredAccount:123456", " 123456 "])
def test_ad_account_spellings(value: object) -> None:
    assert config(ad_account_id=value).settings.ad_account_id == "123456"


@pytest.mark.parametrize(
    "settings",
    [
        {"ad_account_id": "act_123"},
        {"api_version": "2026-04"},
        {"api_version": "202613"},
        {"api_version": "v2"},
        {"batch_size": 5_001},
        {"batch_size": 0},
        {"token_url": "http://example.com/token"},
        {"source_platform": "segment"},
        {"unknown": 1},
    ],
)
def test_invalid_settings(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        config(**settings)


def test_source_platform_is_required() -> None:
    body = {"name": "li", "type": "linkedin", "credentials": CREDENTIALS, "settings": {"ad_account_id": "1"}}
    with pytest.raises(ValidationError, match="source_platform"):
        LinkedInConfig.model_validate(body)


def test_token_url_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    linked = config(token_url="${LI_TOKEN_URL:-http://127.0.0.1:9/token}")
    assert linked.url_variables() == {"LI_TOKEN_URL"}
    assert linked.resolved_token_url() == "http://127.0.0.1:9/token"
    monkeypatch.setenv("LI_TOKEN_URL", "https://other.example/token")
    assert linked.resolved_token_url() == "https://other.example/token"


def test_descriptor_and_identity_platform() -> None:
    assert LINKEDIN.fields == ("email", "google_aid")
    assert LINKEDIN.capabilities == frozenset({"list"}) and LINKEDIN.list_noun == "matched audience"
    rules = get_platform(LINKEDIN.identity_platform)
    assert rules.hashes(IdentifierType.EMAIL) and rules.normalizer(IdentifierType.EMAIL) == "email"
    assert not rules.hashes(IdentifierType.MADID) and rules.normalizer(IdentifierType.MADID) == "madid"
