"""Configuration of a Salesforce destination (Campaigns of Contacts or Leads)."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from audience_pipelines.destinations.settings import DestinationConfig, EnvVarName, SettingsModel, url_problem

#: sObject Collections take at most 200 records per request (ref §7)
MAX_RECORDS_PER_REQUEST = 200
DEFAULT_TOKEN_URL = "https://login.salesforce.com/services/oauth2/token"
_URL_REFERENCE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::-([^}]*))?\}")


class SalesforceCredentials(SettingsModel):
    """Names of the environment variables holding the connected app and the user's refresh token."""

    client_id: EnvVarName
    client_secret: EnvVarName
    refresh_token: EnvVarName


class SalesforceSettings(SettingsModel):
    api_version: str = Field(default="62.0", pattern=r"^\d{2}\.0$", description="REST API version, e.g. 62.0")
    token_url: str = Field(default=DEFAULT_TOKEN_URL, description="OAuth token endpoint; ${VAR} expands")
    person_object: Literal["Contact", "Lead"] = Field(default="Contact", description="who campaign members are")
    batch_size: int = Field(default=MAX_RECORDS_PER_REQUEST, ge=1, le=MAX_RECORDS_PER_REQUEST)
    removal: Literal["delete_member", "set_status"] = "delete_member"
    member_status: str | None = Field(default=None, min_length=1, max_length=40, description="Status of added members")
    removed_status: str | None = Field(default=None, min_length=1, max_length=40, description="Status on removal")
    placeholder_last_name: str = Field(default="[not provided]", min_length=1, max_length=80)
    placeholder_company: str = Field(default="[not provided]", min_length=1, max_length=255)
    requests_per_second: float = Field(default=10.0, gt=0, le=100, description="client-side pacing")
    max_query_chars: int = Field(default=8_000, ge=500, le=16_000, description="longest SOQL text per lookup")

    @field_validator("token_url")
    @classmethod
    def _safe_token_url(cls, value: str) -> str:
        if not _URL_REFERENCE.search(value) and (problem := url_problem(value)):
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _statuses(self) -> SalesforceSettings:
        if self.removal == "set_status" and (self.removed_status is None or self.member_status is None):
            raise ValueError(
                "settings.removed_status and settings.member_status are required when settings.removal is set_status"
            )
        if self.removal == "set_status" and self.removed_status == self.member_status:
            raise ValueError("settings.removed_status must differ from settings.member_status")
        return self


class SalesforceConfig(DestinationConfig):
    """Campaigns found by name or created; people upserted by Email; CampaignMembers added and removed."""

    type: Literal["salesforce"]
    credentials: SalesforceCredentials
    settings: SalesforceSettings = SalesforceSettings()

    #: the API root is the ``instance_url`` of the token answer; base_url, when given, overrides it
    default_base_url: ClassVar[str | None] = None

    def resolved_token_url(self) -> str:
        """``settings.token_url`` with environment references expanded, https (or loopback) only."""
        return self.expand_url(self.settings.token_url, "settings.token_url")

    def url_variables(self) -> set[str]:
        found = {match.group(1) for match in _URL_REFERENCE.finditer(self.settings.token_url)}
        return super().url_variables() | found
