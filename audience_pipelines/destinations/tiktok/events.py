"""TikTok Events API: event sync (``added_to_segment`` / ``removed_from_segment``) to ``event/track``.

One request per batch: ``event_source`` (``web``: the source id is a pixel code), ``event_source_id``, optional
``test_event_code`` and ``data`` events with ``event``, ``event_time`` (unix seconds), the engine's
deterministic ``event_id`` (TikTok deduplicates on it), ``user`` and ``properties`` (the audience and sync).
Values arrive normalized and hashed by the identity layer; email, phone and external_id go as one-element lists,
every other ``user`` key (``ttclid``, ``ttp``, ...) as a string. TikTok accepts or refuses a batch whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audience_pipelines.destinations.kit import Batch, BatchOutcome, OutboundEvent, PlannedRequest
from audience_pipelines.destinations.tiktok.api import TikTokApiClient
from audience_pipelines.destinations.tiktok.settings import TikTokEventsConfig

#: ``user`` keys sent as a list of hashes; the others are single strings.
LIST_KEYS = frozenset({"email", "phone", "external_id"})


def user(fields: Mapping[str, str]) -> dict[str, Any]:
    """The ``user`` object from an event's fields, as they arrive."""
    return {key: [str(value)] if key in LIST_KEYS else str(value) for key, value in fields.items() if value}


def track_event(event: OutboundEvent) -> dict[str, Any]:
    """One Events API event."""
    return {
        "event": event.event_name,
        "event_time": event.event_time,
        "event_id": event.event_id,
        "user": user(event.fields),
        "properties": dict(event.properties),
    }


class TikTokEventsClient(TikTokApiClient):
    """Event sync to a TikTok pixel through the Events API."""

    config: TikTokEventsConfig

    @property
    def max_batch_size(self) -> int:
        return self.config.settings.batch_size

    def plan_events(self, batch: Batch) -> list[PlannedRequest]:
        """``POST event/track`` with the batch's events."""
        batch.check_size(self.max_batch_size, "TikTok")
        settings = self.config.settings
        body: dict[str, Any] = {
            "event_source": settings.event_source,
            "event_source_id": settings.event_source_id,
            "data": [track_event(event) for event in batch.events],
        }
        if settings.test_event_code:
            body["test_event_code"] = settings.test_event_code
        return [PlannedRequest("events", "POST", self.path("event/track"), body)]

    def send_events(self, batch: Batch) -> BatchOutcome:
        """POST the batch; ``code == 0`` accepts every event of it."""
        planned = self.plan_events(batch)[0]
        if not batch.events:
            return BatchOutcome(accepted=0)
        self.call("POST", "event/track", json=planned.body)
        return BatchOutcome(accepted=len(batch.events))
