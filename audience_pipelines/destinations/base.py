"""The one small protocol every destination implements, and the values that cross it.

A destination receives batches whose identifier values are already normalized and hashed by the identity
layer; it only builds the platform's payload, sends it, and reports what the platform accepted. Every
failure it raises is a :class:`DestinationError` classified by what the engine should do about it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Protocol, runtime_checkable


class FailureKind(StrEnum):
    """What a failed request means for the run."""

    RETRYABLE = "retryable"  # transient: timeout, connection reset, 5xx
    THROTTLED = "throttled"  # the platform asks us to slow down (wait in retry_after)
    AUTHENTICATION = "authentication"  # bad or expired credentials: fail fast, no retry
    PERMANENT = "permanent"  # the request itself is wrong or refused for good


class DestinationError(Exception):
    """A classified failure. The message never contains secrets or raw identifiers."""

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.status = status
        self.code = code

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.message}"


@dataclass(frozen=True)
class ListTarget:
    """Which list a sync writes to: an existing id, or a name to find or create."""

    list_id: str | None = None
    name: str | None = None
    description: str = ""


@dataclass(frozen=True)
class ListRef:
    """A resolved destination list."""

    id: str
    name: str
    url: str | None = None


@dataclass(frozen=True)
class OutboundMember:
    """One member as sent: destination field -> value (normalized, hashed where the platform hashes)."""

    member_key: str
    fields: Mapping[str, str]


@dataclass(frozen=True)
class OutboundEvent:
    """One ``added_to_segment`` / ``removed_from_segment`` event for a member."""

    event_id: str
    event_name: str
    event_time: int
    member_key: str
    fields: Mapping[str, str]
    properties: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Batch:
    """A bounded batch with a stable id: re-sending the same members after a crash reuses the same id."""

    batch_id: str
    members: Sequence[OutboundMember] = ()
    events: Sequence[OutboundEvent] = ()
    sync: str = ""
    audience: str = ""


@dataclass(frozen=True)
class Rejection:
    """A row the platform did not accept. ``member_key`` is None when the platform gave only a count."""

    member_key: str | None
    reason: str
    message: str = ""


@dataclass(frozen=True)
class BatchOutcome:
    """What the platform acknowledged for one batch."""

    accepted: int
    rejected: Sequence[Rejection] = ()

    @property
    def rejected_keys(self) -> set[str]:
        return {r.member_key for r in self.rejected if r.member_key is not None}


@runtime_checkable
class Destination(Protocol):
    """A platform that holds lists of members and/or receives events."""

    type_name: ClassVar[str]
    identity_platform: ClassVar[str]
    supports_lists: ClassVar[bool]
    supports_events: ClassVar[bool]

    @property
    def max_batch_size(self) -> int:
        """The most members or events one request may carry."""
        ...

    def ensure_list(self, target: ListTarget) -> ListRef:
        """Find the target list (by id or name), creating it by name when it does not exist."""
        ...

    def add_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        """Add a batch of members to the list."""
        ...

    def remove_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        """Remove a batch of members from the list."""
        ...

    def send_events(self, batch: Batch) -> BatchOutcome:
        """Send a batch of events."""
        ...

    def close(self) -> None:
        """Release the HTTP session."""
        ...


def require_fields(fields: Sequence[str], allowed: Sequence[str], destination: str) -> None:
    """Raise ValueError naming unknown destination fields (used by config validation)."""
    unknown = [f for f in fields if f not in allowed]
    if unknown:
        raise ValueError(f"{destination} has no field(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
