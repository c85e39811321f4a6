"""The registry: every destination type the project speaks to, one line each.

Configuration validation, the pydantic config union, the clients a run builds, the sandbox that ``demo`` and
``dev`` start, the demo summary and the contract test suite are all derived from this tuple.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from audience_pipelines.destinations.braze import BRAZE
from audience_pipelines.destinations.ga4 import GA4
from audience_pipelines.destinations.google_ads import GOOGLE_ADS
from audience_pipelines.destinations.hubspot import HUBSPOT
from audience_pipelines.destinations.kit import ContractFake, DestinationClient, DestinationType
from audience_pipelines.destinations.klaviyo import KLAVIYO
from audience_pipelines.destinations.linkedin import LINKEDIN
from audience_pipelines.destinations.mailchimp import MAILCHIMP
from audience_pipelines.destinations.meta import META_CONVERSIONS, META_CUSTOM_AUDIENCES
from audience_pipelines.destinations.salesforce import SALESFORCE
from audience_pipelines.destinations.settings import DestinationConfig
from audience_pipelines.destinations.tiktok import TIKTOK_AUDIENCES, TIKTOK_EVENTS
from audience_pipelines.destinations.webhook import WEBHOOK

DESTINATION_TYPES: tuple[DestinationType, ...] = (
    WEBHOOK,
    META_CUSTOM_AUDIENCES,
    META_CONVERSIONS,
    GOOGLE_ADS,
    GA4,
    TIKTOK_AUDIENCES,
    TIKTOK_EVENTS,
    LINKEDIN,
    KLAVIYO,
    HUBSPOT,
    SALESFORCE,
    BRAZE,
    MAILCHIMP,
)

_BY_NAME = {destination.name: destination for destination in DESTINATION_TYPES}


def destination_type(name: str) -> DestinationType:
    """The registered destination type called ``name``."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown destination type {name!r}; known: {', '.join(sorted(_BY_NAME))}") from None


def fake_classes() -> list[type[ContractFake]]:
    """Each distinct fake server once (several destination types may share one)."""
    return list(dict.fromkeys(destination.fake for destination in DESTINATION_TYPES))


def build_client(
    config: DestinationConfig,
    *,
    log: Callable[[str], None] = lambda message: None,
    sleep: Callable[[float], None] = time.sleep,
) -> DestinationClient:
    """A client for a validated destination config."""
    return destination_type(config.type).build_client(config, log=log, sleep=sleep)
