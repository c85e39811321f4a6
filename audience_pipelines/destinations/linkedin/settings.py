"""Configuration of a LinkedIn Matched Audiences (DMP segment) destination."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from audience_pipelines.destinations.settings import DestinationConfig, EnvVarName, SettingsModel, url_problem

#: LinkedIn's cap on elements in one /users request ("up to 5000 per request", stated for companies; ref §4)
MAX_ELEMENTS_PER_REQUEST = 5_000
DEFAULT_TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
_ACCOUNT = re.compile(r"^(?:urn:li:sponsoredAccount:)?(\d{1,20})$")
_URL_REFERENCE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::-([^}]*))?\}")


def account_digits(value: object) -> str:
    """``123`` / ``"urn:li:sponsoredAccount:123"`` -> ``"123"``; anything else is an error."""
    match = _ACCOUNT.match(str(value).strip()) if isinstance(value, str | int) else None
    if match is None:
        raise ValueError("ad_account_id is the numeric ad account id (or urn:li:sponsoredAccount:<id>)")
    return match.group(1)


class LinkedInCredentials(SettingsModel):
    """Names of the environment variables holding the OAuth client and the member's refresh token."""

    client_id: EnvVarName
    client_secret: EnvVarName
    refresh_token: EnvVarName


class LinkedInSettings(SettingsModel):
    ad_account_id: str = Field(description="sponsored ad account that owns the segments")
    source_platform: str = Field(
        pattern=r"^[A-Z][A-Z0-9_]{0,63}$",
        description="sourcePlatform of created / found segments (LinkedIn assigns it to approved partners)",
    )
    api_version: str = Field(
        default="202604", pattern=r"^20\d{2}(?:0[1-9]|1[0-2])$", description="LinkedIn-Version header (YYYYMM)"
    )
    token_url: str = Field(default=DEFAULT_TOKEN_URL, description="OAuth token endpoint; ${VAR} expands")
    batch_size: int = Field(default=MAX_ELEMENTS_PER_REQUEST, ge=1, le=MAX_ELEMENTS_PER_REQUEST)

    @field_validator("ad_account_id", mode="before")
    @classmethod
    def _account(cls, value: Any) -> str:
        return account_digits(value)

    @field_validator("token_url")
    @classmethod
    def _safe_token_url(cls, value: str) -> str:
        if not _URL_REFERENCE.search(value) and (problem := url_problem(value)):
            raise ValueError(problem)
        return value

    @property
    def account_urn(self) -> str:
        return f"urn:li:sponsoredAccount:{self.ad_account_id}"


class LinkedInConfig(DestinationConfig):
    """Matched Audiences: DMP segments of one ad account, members streamed through the versioned REST API."""

    type: Literal["linkedin"]
    credentials: LinkedInCredentials
    settings: LinkedInSettings

    #: paths start with /rest (the versioned API root is https://api.linkedin.com/rest)
    default_base_url: ClassVar[str | None] = "https://api.linkedin.com"

    def resolved_token_url(self) -> str:
        """``settings.token_url`` with environment references expanded, https (or loopback) only."""
        return self.expand_url(self.settings.token_url, "settings.token_url")

    def url_variables(self) -> set[str]:
        found = {match.group(1) for match in _URL_REFERENCE.finditer(self.settings.token_url)}
        return super().url_variables() | found
