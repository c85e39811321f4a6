"""Configuration of a signed webhook destination."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from audience_pipelines.destinations.settings import DestinationConfig, EnvVarName, SettingsModel


class WebhookCredentials(SettingsModel):
    signing_secret: EnvVarName


class WebhookSettings(SettingsModel):
    path: str = "/"
    batch_size: int = Field(default=500, ge=1, le=1000)


class WebhookConfig(DestinationConfig):
    """Signed JSON batches (Standard Webhooks) to an endpoint you run."""

    type: Literal["webhook"]
    base_url: str
    credentials: WebhookCredentials
    settings: WebhookSettings = WebhookSettings()
