"""Destinations: where audiences go. Credentials are environment variable *names*, never values."""

from __future__ import annotations

import os
import re
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from audience_pipelines.config.audiences import Name, StrictModel

EnvVarName = Annotated[
    str,
    Field(pattern=r"^[A-Z][A-Z0-9_]*$", description="name of an environment variable holding the secret"),
]
_ENV_REFERENCE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::-([^}]*))?\}")


class MissingSecretError(RuntimeError):
    """An environment variable a destination needs is not set."""


def read_env(destination: str, role: str, variable: str) -> str:
    """The value of a credential's environment variable, or an error naming destination and variable."""
    value = os.environ.get(variable)
    if not value:
        raise MissingSecretError(f"destination '{destination}': {role} comes from ${variable}, which is not set")
    return value


class RetrySettings(StrictModel):
    """Request timeouts and retry budget for one destination."""

    max_attempts: int = Field(default=6, ge=1, le=20)
    base_delay_seconds: float = Field(default=1.0, ge=0)
    max_delay_seconds: float = Field(default=60.0, ge=0)
    max_wait_seconds: float = Field(default=300.0, ge=0, description="longest platform-requested wait honoured")
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    read_timeout_seconds: float = Field(default=60.0, gt=0)


class DestinationBase(StrictModel):
    """Fields every destination has."""

    name: Name
    base_url: str | None = Field(default=None, description="API root override; ${VAR} and ${VAR:-default} expand")
    retry: RetrySettings = RetrySettings()

    default_base_url: ClassVar[str | None] = None
    supports: ClassVar[frozenset[str]] = frozenset()
    #: destination fields a sync may map to; None means any field name
    fields: ClassVar[tuple[str, ...] | None] = None

    def resolved_base_url(self) -> str:
        """``base_url`` with environment references expanded (or the platform default)."""
        raw = self.base_url or self.default_base_url
        if raw is None:
            raise MissingSecretError(f"destination '{self.name}': base_url is required")

        def expand(match: re.Match[str]) -> str:
            value = os.environ.get(match.group(1)) or match.group(2)
            if value is None:
                raise MissingSecretError(
                    f"destination '{self.name}': base_url uses ${{{match.group(1)}}}, which is not set"
                )
            return value

        return _ENV_REFERENCE.sub(expand, raw).rstrip("/")


class WebhookCredentials(StrictModel):
    signing_secret: EnvVarName


class WebhookSettings(StrictModel):
    path: str = "/"
    batch_size: int = Field(default=500, ge=1, le=1000)


class WebhookDestination(DestinationBase):
    """Signed JSON batches (Standard Webhooks) to an endpoint you run."""

    type: Literal["webhook"]
    base_url: str
    credentials: WebhookCredentials
    settings: WebhookSettings = WebhookSettings()

    supports: ClassVar[frozenset[str]] = frozenset({"list", "event"})


META_CUSTOMER_FILE_FIELDS = (
    "EXTERN_ID", "EMAIL", "PHONE", "GEN", "DOBY", "DOBM", "DOBD", "LN", "FN", "FI", "CT", "ST", "ZIP",
    "MADID", "COUNTRY",
)  # fmt: skip
META_USER_DATA_FIELDS = (
    "em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country", "external_id", "fbp", "fbc", "madid",
)  # fmt: skip


class MetaCredentials(StrictModel):
    access_token: EnvVarName
    app_secret: EnvVarName | None = Field(default=None, description="adds appsecret_proof when set")


class MetaCustomAudiencesSettings(StrictModel):
    ad_account_id: str = Field(pattern=r"^(act_)?\d+$")
    api_version: str = Field(default="v25.0", pattern=r"^v\d+\.\d+$")
    customer_file_source: Literal["USER_PROVIDED_ONLY", "PARTNER_PROVIDED_ONLY", "BOTH_USER_AND_PARTNER_PROVIDED"] = (
        "USER_PROVIDED_ONLY"
    )
    batch_size: int = Field(default=10_000, ge=1, le=10_000)

    @property
    def account(self) -> str:
        return "act_" + self.ad_account_id.removeprefix("act_")


class MetaCustomAudiencesDestination(DestinationBase):
    """Meta customer-file Custom Audiences (list sync)."""

    type: Literal["meta_custom_audiences"]
    credentials: MetaCredentials
    settings: MetaCustomAudiencesSettings

    default_base_url: ClassVar[str | None] = "https://graph.facebook.com"
    supports: ClassVar[frozenset[str]] = frozenset({"list"})
    fields: ClassVar[tuple[str, ...] | None] = META_CUSTOMER_FILE_FIELDS


class MetaConversionsSettings(StrictModel):
    pixel_id: str = Field(pattern=r"^\d+$")
    api_version: str = Field(default="v25.0", pattern=r"^v\d+\.\d+$")
    batch_size: int = Field(default=500, ge=1, le=1000)
    test_event_code: str | None = None


class MetaConversionsDestination(DestinationBase):
    """Meta Conversions API (event sync)."""

    type: Literal["meta_conversions"]
    credentials: MetaCredentials
    settings: MetaConversionsSettings

    default_base_url: ClassVar[str | None] = "https://graph.facebook.com"
    supports: ClassVar[frozenset[str]] = frozenset({"event"})
    fields: ClassVar[tuple[str, ...] | None] = META_USER_DATA_FIELDS


Destination = Annotated[
    WebhookDestination | MetaCustomAudiencesDestination | MetaConversionsDestination,
    Field(discriminator="type"),
]
