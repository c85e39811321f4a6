"""Configuration of a Klaviyo list destination."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from audience_pipelines.destinations.settings import DestinationConfig, EnvVarName, SettingsModel

#: profiles in one bulk import job (ref §5: "≤10,000 profiles, ≤5 MB payload")
MAX_IMPORT_PROFILES = 10_000
#: profiles in one DELETE /api/lists/{id}/relationships/profiles (ref §5: max 1000)
MAX_LIST_RELATIONSHIPS = 1_000
DEFAULT_REVISION = "2026-07-15"


class KlaviyoCredentials(SettingsModel):
    """Name of the environment variable holding the private API key (``pk_...``)."""

    api_key: EnvVarName


class KlaviyoSettings(SettingsModel):
    revision: str = Field(default=DEFAULT_REVISION, pattern=r"^20\d{2}-\d{2}-\d{2}(\.pre)?$")
    batch_size: int = Field(default=MAX_IMPORT_PROFILES, ge=1, le=MAX_IMPORT_PROFILES)
    #: client-side pacing: the "M" tier documented for lists, list relationships and bulk import (10/s, 150/m)
    requests_per_minute: float = Field(default=150.0, gt=0, le=3_500)
    burst: int = Field(default=10, ge=1, le=350)
    job_poll_seconds: float = Field(default=2.0, ge=0, description="wait between bulk import job status reads")
    job_timeout_seconds: float = Field(default=600.0, ge=0, description="longest wait for one import job")


class KlaviyoConfig(DestinationConfig):
    """Klaviyo lists: profiles upserted (with mapped properties) by bulk import jobs, removed by profile id."""

    type: Literal["klaviyo"]
    credentials: KlaviyoCredentials
    settings: KlaviyoSettings = KlaviyoSettings()

    #: paths start with /api
    default_base_url: ClassVar[str | None] = "https://a.klaviyo.com"
