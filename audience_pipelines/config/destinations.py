"""Destinations in the configuration file: a tagged union of every registered destination type's config.

Each destination package defines its own config model (``type: Literal[...]``, credentials as environment
variable names, settings); this module only joins them, so adding a destination never touches it.
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from audience_pipelines.destinations.registry import DESTINATION_TYPES
from audience_pipelines.destinations.settings import (
    DestinationConfig,
    DestinationSetupError,
    MissingSecretError,
    read_env,
)

DestinationConfigUnion = Annotated[
    Union[tuple(destination.config for destination in DESTINATION_TYPES)],  # noqa: UP007
    Field(discriminator="type"),
]

__all__ = [
    "DestinationConfig",
    "DestinationConfigUnion",
    "DestinationSetupError",
    "MissingSecretError",
    "read_env",
]
