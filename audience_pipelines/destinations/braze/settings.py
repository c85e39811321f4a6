"""Configuration of a Braze destination (audience membership written to user profiles via /users/track)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from audience_pipelines.destinations.braze.payloads import property_problem
from audience_pipelines.destinations.settings import DestinationConfig, EnvVarName, SettingsModel

#: attributes objects one /users/track request may carry (75 combined across arrays on current accounts)
MAX_OBJECTS_PER_REQUEST = 75
#: documented /users/track rate limit: 3,000 requests per 3 seconds per workspace
RATE_LIMIT_REQUESTS = 3_000
RATE_LIMIT_SECONDS = 3.0


class BrazeCredentials(SettingsModel):
    """Name of the environment variable holding the REST API key (permission ``users.track``)."""

    api_key: EnvVarName


class BrazeSettings(SettingsModel):
    membership: Literal["array", "boolean"] = Field(
        default="array",
        description="array: the list name is added to / removed from an array attribute; "
        "boolean: an attribute named after the list is set true / false",
    )
    attribute: str = Field(default="audiences", description="the array custom attribute (membership: array)")
    batch_size: int = Field(default=MAX_OBJECTS_PER_REQUEST, ge=1, le=MAX_OBJECTS_PER_REQUEST)
    rate_limit_requests: int = Field(default=RATE_LIMIT_REQUESTS, ge=1, description="client-side pacing")
    rate_limit_seconds: float = Field(default=RATE_LIMIT_SECONDS, gt=0)

    @field_validator("attribute")
    @classmethod
    def _valid_attribute(cls, value: str) -> str:
        if problem := property_problem(value):
            raise ValueError(f"attribute {problem}")
        return value


class BrazeConfig(DestinationConfig):
    """Braze REST API of one workspace; ``base_url`` is the workspace's cluster (e.g. rest.iad-01.braze.com)."""

    type: Literal["braze"]
    base_url: str
    credentials: BrazeCredentials
    settings: BrazeSettings = BrazeSettings()
