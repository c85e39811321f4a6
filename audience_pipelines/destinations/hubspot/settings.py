"""Configuration of a HubSpot destination: a private app token and batch / pacing settings."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from audience_pipelines.destinations.settings import DestinationConfig, EnvVarName, SettingsModel

#: inputs per contacts batch request (upsert and read), ref §6
MAX_BATCH_INPUTS = 100


class HubSpotCredentials(SettingsModel):
    """Name of the environment variable holding the private app (or OAuth) access token."""

    access_token: EnvVarName


class HubSpotSettings(SettingsModel):
    batch_size: int = Field(default=MAX_BATCH_INPUTS, ge=1, le=MAX_BATCH_INPUTS)
    requests_per_10_seconds: int = Field(
        default=100,
        ge=2,
        le=250,
        description="the account's burst limit (100 Free/Starter, 190 Professional/Enterprise, 250 with the "
        "API add-on), shared by every app of the account",
    )


class HubSpotConfig(DestinationConfig):
    """Contacts upserted by email (with mapped properties) and added to / removed from a MANUAL list."""

    type: Literal["hubspot"]
    credentials: HubSpotCredentials
    settings: HubSpotSettings = HubSpotSettings()

    default_base_url: ClassVar[str | None] = "https://api.hubapi.com"
