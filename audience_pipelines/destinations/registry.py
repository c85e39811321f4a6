"""Which class speaks to which destination type."""

from __future__ import annotations

import time
from collections.abc import Callable

from audience_pipelines.destinations.base import Destination


def build_destination(
    config: object,
    *,
    log: Callable[[str], None] = lambda m: None,
    sleep: Callable[[float], None] = time.sleep,
) -> Destination:
    """A destination client for a validated destination config."""
    kind = config.type
    if kind == "webhook":
        from audience_pipelines.destinations.webhook import Webhook

        return Webhook(config, log=log, sleep=sleep)
    if kind == "meta_custom_audiences":
        from audience_pipelines.destinations.meta_custom_audiences import MetaCustomAudiences

        return MetaCustomAudiences(config, log=log, sleep=sleep)
    if kind == "meta_conversions":
        from audience_pipelines.destinations.meta_conversions import MetaConversions

        return MetaConversions(config, log=log, sleep=sleep)
    raise ValueError(f"no destination client for type {kind!r}")
