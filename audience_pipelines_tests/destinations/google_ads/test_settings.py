"""GoogleAdsConfig validation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from audience_pipelines.destinations.google_ads import GOOGLE_ADS, GoogleAdsConfig

CREDENTIALS = {
    "client_id": "C_ID",
    "client_secret": "C_SECRET",
    "refresh_token": "R_TOKEN",
    "developer_token": "D_TOKEN",
}


def config(**settings: Any) -> GoogleAdsConfig:
    body = {"name": "g", "type": "google_ads", "credentials": CREDENTIALS, "settings": {"customer_id": "123-456-7890"}}
    body["settings"].update(settings)
    return GoogleAdsConfig.model_validate(body)


def test_defaults_and_customer_id_without_dashes() -> None:
    settings = config().settings
    assert settings.customer_id == "1234567890"
    assert (settings.api_version, settings.batch_size, settings.membership_life_span_days) == ("v22", 10_000, 540)
    assert settings.consent.ad_user_data == settings.consent.ad_personalization == "UNSPECIFIED"
    assert config().resolved_base_url() == "https://googleads.googleapis.com"
    assert GOOGLE_ADS.fields is not None and "email" in GOOGLE_ADS.fields


@pytest.mark.parametrize(
    "settings",
    [
        {"customer_id": "12345"},
        {"api_version": "22"},
        {"membership_life_span_days": 541},
        {"batch_size": 33_334},  # three identifiers per contact could pass 100,000 per request
        {"upload_key_type": "CRM_ID", "batch_size": 100_001},
        {"upload_key_type": "MOBILE_ADVERTISING_ID"},  # app_id required
        {"app_id": "com.example"},  # app_id only for mobile ids
        {"consent": {"ad_user_data": "YES"}},
        {"job_poll_interval_seconds": 0},
    ],
)
def test_invalid_settings_are_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        config(**settings)


def test_token_url_expands_environment_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_GOOGLE_URL", "http://127.0.0.1:9")
    expanded = config(token_url="${FAKE_GOOGLE_URL}/token")
    assert expanded.resolved_token_url() == "http://127.0.0.1:9/token"
    assert "FAKE_GOOGLE_URL" in expanded.url_variables()
    assert config(upload_key_type="CRM_ID", batch_size=100_000).settings.batch_size == 100_000
