"""Meta Conversions API: event sync (``added_to_segment`` / ``removed_from_segment`` as custom events)."""

from __future__ import annotations

from typing import ClassVar

from audience_pipelines.destinations.base import (
    Batch,
    BatchOutcome,
    DestinationError,
    FailureKind,
    ListRef,
    ListTarget,
    Rejection,
)
from audience_pipelines.destinations.meta_graph import MetaGraphDestination

#: user_data keys sent as strings rather than lists of hashes.
RAW_KEYS = frozenset({"fbp", "fbc", "madid", "client_ip_address", "client_user_agent"})


class MetaConversions(MetaGraphDestination):
    """Event sync to a Meta pixel through the Conversions API."""

    type_name: ClassVar[str] = "meta_conversions"
    supports_lists: ClassVar[bool] = False
    supports_events: ClassVar[bool] = True

    @property
    def max_batch_size(self) -> int:
        return self.config.settings.batch_size

    def send_events(self, batch: Batch) -> BatchOutcome:
        if len(batch.events) > self.max_batch_size:
            raise ValueError(f"batch of {len(batch.events)} events exceeds the batch size {self.max_batch_size}")
        data = [
            {
                "event_name": event.event_name,
                "event_time": event.event_time,
                "event_id": event.event_id,
                "action_source": "system_generated",
                "user_data": {k: (v if k in RAW_KEYS else [v]) for k, v in event.fields.items()},
                "custom_data": dict(event.properties),
            }
            for event in batch.events
        ]
        body: dict[str, object] = {"data": data}
        if self.config.settings.test_event_code:
            body["test_event_code"] = self.config.settings.test_event_code
        answer = self.http.request("POST", f"{self.config.settings.pixel_id}/events", json=body).json()
        received = int(answer.get("events_received", 0))
        missing = len(batch.events) - received
        rejected = [Rejection(None, "not_received", "Meta acknowledged fewer events than sent")] * max(missing, 0)
        return BatchOutcome(accepted=received, rejected=rejected)

    def ensure_list(self, target: ListTarget) -> ListRef:
        raise DestinationError(FailureKind.PERMANENT, "meta_conversions sends events and holds no lists")

    def add_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        raise DestinationError(FailureKind.PERMANENT, "meta_conversions sends events and holds no lists")

    def remove_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        raise DestinationError(FailureKind.PERMANENT, "meta_conversions sends events and holds no lists")
