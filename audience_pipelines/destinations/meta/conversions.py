"""Meta Conversions API: event sync (``added_to_segment`` / ``removed_from_segment`` as custom events).

Each event is ``POST /{pixel_id}/events`` data with ``action_source: system_generated``, the member's
fields as ``user_data`` (hashed keys as one-element lists, browser and device ids as strings) and the
event properties as ``custom_data``. The event id lets Meta deduplicate a re-sent batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audience_pipelines.destinations.kit import (
    Batch,
    BatchOutcome,
    DestinationError,
    FailureKind,
    OutboundEvent,
    PlannedRequest,
    Rejection,
)
from audience_pipelines.destinations.meta.graph import MetaGraphClient, json_body
from audience_pipelines.destinations.meta.settings import MetaConversionsConfig
from audience_pipelines.privacy import scrub_pii

ACTION_SOURCE = "system_generated"
#: user_data keys sent as a single string; every other key is a one-element list.
STRING_KEYS = frozenset({"fbp", "fbc", "madid", "client_ip_address", "client_user_agent"})


def user_data(fields: Mapping[str, str]) -> dict[str, Any]:
    """``user_data`` from an event's fields (values as they arrive: hashed upstream where Meta hashes)."""
    return {key: str(value) if key in STRING_KEYS else [str(value)] for key, value in fields.items() if value}


def server_event(event: OutboundEvent) -> dict[str, Any]:
    """One Conversions API event."""
    return {
        "event_name": event.event_name,
        "event_time": event.event_time,
        "event_id": event.event_id,
        "action_source": ACTION_SOURCE,
        "user_data": user_data(event.fields),
        "custom_data": dict(event.properties),
    }


class MetaConversionsClient(MetaGraphClient):
    """Event sync to a Meta pixel through the Conversions API."""

    config: MetaConversionsConfig

    @property
    def max_batch_size(self) -> int:
        return self.config.settings.batch_size

    def plan_events(self, batch: Batch) -> list[PlannedRequest]:
        """``POST /{pixel_id}/events`` with the batch's server events."""
        batch.check_size(self.max_batch_size, "Meta")
        body: dict[str, Any] = {"data": [server_event(event) for event in batch.events]}
        if self.config.settings.test_event_code:
            body["test_event_code"] = self.config.settings.test_event_code
        path = f"/{self.config.settings.api_version}/{self.config.settings.pixel_id}/events"
        return [PlannedRequest("events", "POST", path, body)]

    def send_events(self, batch: Batch) -> BatchOutcome:
        """POST the batch; Meta accepts or rejects it whole, and reports how many events it received."""
        planned = self.plan_events(batch)[0]
        if not batch.events:
            return BatchOutcome(accepted=0)
        response = self.http.request("POST", f"{self.config.settings.pixel_id}/events", json=planned.body)
        return self._outcome(json_body(response, self.platform), len(batch.events))

    def _outcome(self, answer: dict[str, Any], size: int) -> BatchOutcome:
        received = answer.get("events_received")
        if isinstance(received, bool) or not isinstance(received, int):
            raise DestinationError(FailureKind.PERMANENT, f"{self.platform}: Meta answered without events_received")
        if not 0 <= received <= size:
            raise DestinationError(
                FailureKind.PERMANENT,
                f"{self.platform}: Meta says it received {received} of {size} events; the answer does not add up",
            )
        for message in answer.get("messages") or []:
            self.log(f"{self.platform}: Meta says: {scrub_pii(str(message))}")
        received = min(max(received, 0), size)
        missing = Rejection(None, "not_received", f"Meta received {received} of {size} events")
        return BatchOutcome(accepted=received, rejected=[missing] * (size - received))
