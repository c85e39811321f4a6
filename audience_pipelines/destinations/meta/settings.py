"""Configuration of the Meta destinations (Custom Audiences and the Conversions API)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from audience_pipelines.destinations.settings import DestinationConfig, EnvVarName, SettingsModel

CUSTOMER_FILE_FIELDS = (
    "EXTERN_ID", "EMAIL", "PHONE", "GEN", "DOBY", "DOBM", "DOBD", "LN", "FN", "FI", "CT", "ST", "ZIP",
    "MADID", "COUNTRY",
)  # fmt: skip
USER_DATA_FIELDS = (
    "em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country", "external_id", "fbp", "fbc", "madid",
)  # fmt: skip
GRAPH_API = "https://graph.facebook.com"


class MetaCredentials(SettingsModel):
    access_token: EnvVarName
    app_secret: EnvVarName | None = Field(default=None, description="adds appsecret_proof when set")


class MetaCustomAudiencesSettings(SettingsModel):
    ad_account_id: str = Field(pattern=r"^(act_)?\d+$")
    api_version: str = Field(default="v25.0", pattern=r"^v\d+\.\d+$")
    customer_file_source: Literal["USER_PROVIDED_ONLY", "PARTNER_PROVIDED_ONLY", "BOTH_USER_AND_PARTNER_PROVIDED"] = (
        "USER_PROVIDED_ONLY"
    )
    batch_size: int = Field(default=10_000, ge=1, le=10_000)

    @property
    def account(self) -> str:
        return "act_" + self.ad_account_id.removeprefix("act_")


class MetaCustomAudiencesConfig(DestinationConfig):
    """Meta customer-file Custom Audiences (list sync)."""

    type: Literal["meta_custom_audiences"]
    credentials: MetaCredentials
    settings: MetaCustomAudiencesSettings

    default_base_url: ClassVar[str | None] = GRAPH_API


class MetaConversionsSettings(SettingsModel):
    pixel_id: str = Field(pattern=r"^\d+$")
    api_version: str = Field(default="v25.0", pattern=r"^v\d+\.\d+$")
    batch_size: int = Field(default=500, ge=1, le=1000)
    test_event_code: str | None = None


class MetaConversionsConfig(DestinationConfig):
    """Meta Conversions API (event sync)."""

    type: Literal["meta_conversions"]
    credentials: MetaCredentials
    settings: MetaConversionsSettings

    default_base_url: ClassVar[str | None] = GRAPH_API


MetaConfig = MetaCustomAudiencesConfig | MetaConversionsConfig
