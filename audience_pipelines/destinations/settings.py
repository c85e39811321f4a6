"""Configuration shared by every destination type: the base model, retry budget and credentials.

Credentials in configuration are environment variable *names*; their values are read at run time by
:func:`read_env` and never stored, logged or printed.
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Annotated, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

EnvVarName = Annotated[
    str,
    Field(pattern=r"^[A-Z][A-Z0-9_]*$", description="name of an environment variable holding the secret"),
]
DestinationName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
_ENV_REFERENCE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::-([^}]*))?\}")


class DestinationSetupError(RuntimeError):
    """A destination cannot be used as configured; the message names the destination and what to fix."""


class MissingSecretError(DestinationSetupError):
    """An environment variable a destination needs is not set."""


class InvalidSecretError(DestinationSetupError):
    """An environment variable a destination needs holds something that cannot be the secret."""


class UnsafeUrlError(DestinationSetupError):
    """A destination URL that is not https (outside loopback), or not a URL at all."""


_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def url_problem(url: str) -> str | None:
    """Why ``url`` may not be a destination's address: https anywhere, plain http only on loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL with a host"
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return f"{url!r} is plain http; use https (plain http is accepted only for loopback addresses)"
    return None


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_env(destination: str, role: str, variable: str) -> str:
    """The value of a credential's environment variable, or an error naming destination and variable."""
    value = os.environ.get(variable)
    if not value:
        raise MissingSecretError(f"destination '{destination}': {role} comes from ${variable}, which is not set")
    return value


def looks_like_a_token(name: str) -> bool:
    """An all-caps credential "name" that is more likely the secret itself than a variable's name."""
    digits = sum(ch.isdigit() for ch in name)
    return len(name) > 48 or ("_" not in name and len(name) >= 20) or (len(name) >= 16 and digits / len(name) > 0.3)


def credential_warnings(config: DestinationConfig) -> list[str]:
    """Credentials that name no set variable here, or whose name looks like a pasted secret."""
    credentials = getattr(config, "credentials", None)
    found, unset = [], []
    for field_name, variable in (credentials.model_dump() if credentials is not None else {}).items():
        if not isinstance(variable, str):
            continue
        if looks_like_a_token(variable):
            found.append(
                f"destination '{config.name}': credentials.{field_name} looks like a secret, not the name of an "
                "environment variable holding one"
            )
        elif not os.environ.get(variable):
            unset.append(f"${variable}")
    if unset:
        found.append(f"destination '{config.name}': {', '.join(unset)} not set here; its runs fail until they are")
    return found


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

    @field_validator("base_url")
    @classmethod
    def _safe_base_url(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_REFERENCE.search(value) and (problem := url_problem(value)):
            raise ValueError(problem)
        return value

    def resolved_base_url(self) -> str:
        """``base_url`` with environment references expanded (or the platform default)."""
        raw = self.base_url or self.default_base_url
        if raw is None:
            raise MissingSecretError(f"destination '{self.name}': base_url is required")
        return self.expand_url(raw, "base_url").rstrip("/")

    def expand_url(self, raw: str, field: str) -> str:
        """A URL setting with ``${VAR}`` / ``${VAR:-default}`` expanded, checked to be https (or loopback)."""

        def expand(match: re.Match[str]) -> str:
            value = os.environ.get(match.group(1)) or match.group(2)
            if value is None:
                raise MissingSecretError(
                    f"destination '{self.name}': {field} uses ${{{match.group(1)}}}, which is not set"
                )
            return value

        url = _ENV_REFERENCE.sub(expand, raw)
        if problem := url_problem(url):
            raise UnsafeUrlError(f"destination '{self.name}': {field}: {problem}")
        return url

    def url_variables(self) -> set[str]:
        """Environment variables that ``base_url`` refers to."""
        return {match.group(1) for match in _ENV_REFERENCE.finditer(self.base_url or "")}
