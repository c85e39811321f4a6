"""Configuration of a GA4 Measurement Protocol destination (event sync)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from audience_pipelines.destinations.ga4.limits import MAX_EVENTS_PER_REQUEST
from audience_pipelines.destinations.settings import DestinationConfig, EnvVarName, SettingsModel

ValidateMode = Literal["first_batch", "every_batch", "never"]


class GA4Credentials(SettingsModel):
    """Environment variable names of the web stream's measurement id and Measurement Protocol API secret."""

    measurement_id: EnvVarName
    api_secret: EnvVarName


class GA4Settings(SettingsModel):
    """Batch bound and when to check payloads through the validation server (``validate`` in YAML)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    batch_size: int = Field(default=MAX_EVENTS_PER_REQUEST, ge=1, le=MAX_EVENTS_PER_REQUEST)
    validation: ValidateMode = Field(
        default="first_batch",
        alias="validate",
        description="check payloads through /debug/mp/collect before sending: /mp/collect answers 2xx even when "
        "it drops an invalid payload",
    )


class GA4Config(DestinationConfig):
    """Events to a GA4 web data stream through the Measurement Protocol."""

    type: Literal["ga4"]
    credentials: GA4Credentials
    settings: GA4Settings = GA4Settings()

    default_base_url: ClassVar[str | None] = "https://www.google-analytics.com"
