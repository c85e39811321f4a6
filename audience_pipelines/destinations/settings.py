"""Configuration shared by every destination type: the base model, retry budget and credentials.

Credentials in configuration are environment variable *names*; their values are read at run time by
:func:`read_env` and never stored, logged or printed.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

EnvVarName = Annotated[
    str,
    Field(pattern=r"^[A-Z][A-Z0-9_]*$", description="name of an environment variable holding the secret"),
]
DestinationName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
_ENV_REFERENCE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::-([^}]*))?\}")


class MissingSecretError(RuntimeError):
    """An environment variable a destination needs is not set."""


class InvalidSecretError(MissingSecretError):
    """An environment variable a destination needs holds something that cannot be the secret."""


def read_env(destination: str, role: str, variable: str) -> str:
    """The value of a credential's environment variable, or an error naming destination and variable."""
    value = os.environ.get(variable)
    if not value:
        raise MissingSecretError(f"destination '{destination}': {role} comes from ${variable}, which is not set")
    return value


class SettingsModel(BaseModel):
    """Base of every destination settings model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RetrySettings(SettingsModel):
    """Request timeouts and retry budget for one destination."""

    max_attempts: int = Field(default=6, ge=1, le=20)
    base_delay_seconds: float = Field(default=1.0, ge=0)
    max_delay_seconds: float = Field(default=60.0, ge=0)
    max_wait_seconds: float = Field(default=300.0, ge=0, description="longest platform-requested wait honoured")
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    read_timeout_seconds: float = Field(default=60.0, gt=0)


class DestinationConfig(SettingsModel):
    """Fields every destination has. Each type adds ``type: Literal[...]``, ``credentials`` and ``settings``."""

    name: DestinationName
    base_url: str | None = Field(default=None, description="API root override; ${VAR} and ${VAR:-default} expand")
    retry: RetrySettings = RetrySettings()

    #: the platform's API root when base_url is not given (None: base_url is required)
    default_base_url: ClassVar[str | None] = None

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

    def url_variables(self) -> set[str]:
        """Environment variables that ``base_url`` refers to."""
        return {match.group(1) for match in _ENV_REFERENCE.finditer(self.base_url or "")}
