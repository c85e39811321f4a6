"""Configuration of a Google Ads Customer Match destination."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from audience_pipelines.destinations.settings import (
    DestinationConfig,
    EnvVarName,
    SettingsModel,
)

#: Google's cap on user identifiers in one addOperations request (ref §2 Limits)
MAX_IDENTIFIERS_PER_REQUEST = 100_000
#: identifiers one member can carry per upload key type (email, phone, address / one id)
IDENTIFIERS_PER_MEMBER = {"CONTACT_INFO": 3, "CRM_ID": 1, "MOBILE_ADVERTISING_ID": 1}

UploadKeyType = Literal["CONTACT_INFO", "CRM_ID", "MOBILE_ADVERTISING_ID"]
ConsentStatus = Literal["GRANTED", "DENIED", "UNSPECIFIED"]
CustomerId = Annotated[str, Field(description="Google Ads customer id; dashes are removed")]
_URL_REFERENCE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::-([^}]*))?\}")


def customer_digits(value: str) -> str:
    """``123-456-7890`` -> ``1234567890``; anything but 10 digits is an error."""
    digits = value.replace("-", "").strip()
    if not re.fullmatch(r"\d{10}", digits):
        raise ValueError("a Google Ads customer id is 10 digits (dashes allowed)")
    return digits


class GoogleAdsCredentials(SettingsModel):
    """Names of the environment variables holding the OAuth client, refresh token and developer token."""

    client_id: EnvVarName
    client_secret: EnvVarName
    refresh_token: EnvVarName
    developer_token: EnvVarName
    #: manager account the credentials act through (sent as login-customer-id)
    login_customer_id: EnvVarName | None = None


class Consent(SettingsModel):
    """EU user consent sent with every add job (ignored by Google for remove jobs).

    Default UNSPECIFIED: GRANTED is an attestation that you collected consent, which only you can make;
    DENIED makes Google refuse the job. Set both to GRANTED once you have confirmed consent for EEA users.
    """

    ad_user_data: ConsentStatus = "UNSPECIFIED"
    ad_personalization: ConsentStatus = "UNSPECIFIED"


class GoogleAdsSettings(SettingsModel):
    customer_id: CustomerId
    api_version: str = Field(default="v22", pattern=r"^v\d{2}$")
    token_url: str = Field(default="https://oauth2.googleapis.com/token", description="${VAR} expands")
    upload_key_type: UploadKeyType = "CONTACT_INFO"
    app_id: str | None = Field(default=None, min_length=1, description="only for MOBILE_ADVERTISING_ID lists")
    membership_life_span_days: int = Field(default=540, ge=0, le=540)
    consent: Consent = Consent()
    batch_size: int = Field(default=10_000, ge=1, le=MAX_IDENTIFIERS_PER_REQUEST, description="members per request")
    job_poll_interval_seconds: float = Field(default=30.0, ge=1.0, le=600.0)
    job_timeout_seconds: float = Field(default=1800.0, ge=0.0, le=6 * 3600.0)

    @field_validator("customer_id")
    @classmethod
    def _customer_digits(cls, value: str) -> str:
        return customer_digits(value)

    @model_validator(mode="after")
    def _check(self) -> GoogleAdsSettings:
        if (self.app_id is not None) != (self.upload_key_type == "MOBILE_ADVERTISING_ID"):
            raise ValueError("app_id is required for MOBILE_ADVERTISING_ID lists and allowed for no other")
        most = MAX_IDENTIFIERS_PER_REQUEST // IDENTIFIERS_PER_MEMBER[self.upload_key_type]
        if self.batch_size > most:
            raise ValueError(
                f"batch_size {self.batch_size} could exceed Google's {MAX_IDENTIFIERS_PER_REQUEST:,} identifiers "
                f"per request; at most {most} members for {self.upload_key_type}"
            )
        return self


class GoogleAdsConfig(DestinationConfig):
    """Customer Match user lists through the Google Ads REST API (OfflineUserDataJob uploads)."""

    type: Literal["google_ads"]
    credentials: GoogleAdsCredentials
    settings: GoogleAdsSettings

    default_base_url: ClassVar[str | None] = "https://googleads.googleapis.com"

    def resolved_token_url(self) -> str:
        """``settings.token_url`` with environment references expanded, https (or loopback) only."""
        return self.expand_url(self.settings.token_url, "settings.token_url")

    def url_variables(self) -> set[str]:
        found = {match.group(1) for match in _URL_REFERENCE.finditer(self.settings.token_url)}
        return super().url_variables() | found
