"""Which class speaks to which destination type."""

from __future__ import annotations

import time
from collections.abc import Callable

from audience_pipelines.destinations.base import Destination
from audience_pipelines.destinations.meta_conversions import MetaConversions
from audience_pipelines.destinations.meta_custom_audiences import MetaCustomAudiences
from audience_pipelines.destinations.webhook import Webhook

DESTINATION_CLASSES = {cls.type_name: cls for cls in (Webhook, MetaCustomAudiences, MetaConversions)}


def build_destination(
    config: object, *, log: Callable[[str], None] = lambda m: None, sleep: Callable[[float], None] = time.sleep
) -> Destination:
    """A destination client for a validated destination config."""
    try:
        cls = DESTINATION_CLASSES[config.type]
    except KeyError:
        raise ValueError(f"no destination client for type {config.type!r}") from None
    return cls(config, log=log, sleep=sleep)
