"""The destination kit: the values that cross into a destination, the capability protocols a client
implements, the descriptor that registers a destination type, and what its fake must offer the shared
contract suite.

A destination receives batches whose identifier values are already normalized and hashed by the identity
layer; it only builds the platform's requests, sends them, and reports what the platform accepted. Request
building is separate from sending (``plan_*`` methods return :class:`PlannedRequest` values), so ``preview``
shows exactly what a run would send through the same code. Every failure is a :class:`DestinationError`
classified by what the engine should do about it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Literal, Protocol, Self, runtime_checkable

from audience_pipelines.destinations.settings import DestinationConfig
from audience_pipelines.identity import PlatformRules, get_platform

SyncType = Literal["list", "event"]
Operation = Literal["add", "remove"]


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


# ---------------------------------------------------------------------------------------------- values


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


@dataclass(frozen=True, slots=True)
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
    #: every member granted consent through the sync's consent column (a platform taking per-member
    #: consent, such as Google Customer Match, sends it with each member)
    consent_granted: bool = False

    @property
    def size(self) -> int:
        return len(self.members) + len(self.events)

    def check_size(self, limit: int, platform: str) -> None:
        """Refuse, before anything is built or sent, a batch larger than a request may carry."""
        if self.size > limit:
            noun = "events" if self.events else "members"
            raise ValueError(f"batch of {self.size} {noun} exceeds the {platform} batch size {limit}")


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


def usable_members(
    members: Sequence[OutboundMember], extract: Callable[[Mapping[str, str]], list[Any]], reason: str
) -> tuple[list[list[Any]], list[str], list[Rejection]]:
    """Each member's identifiers as the platform takes them (``extract``), the member keys in the same order,
    and a ``no_usable_identifier`` rejection for every member left with none."""
    found: list[list[Any]] = []
    keys: list[str] = []
    unusable: list[Rejection] = []
    for member in members:
        if identifiers := extract(member.fields):
            found.append(identifiers)
            keys.append(member.member_key)
        else:
            unusable.append(Rejection(member.member_key, "no_usable_identifier", reason))
    return found, keys, unusable


@dataclass(frozen=True)
class PlannedRequest:
    """One HTTP request exactly as a run would send it (path relative to the destination's base URL)."""

    operation: str
    method: str
    path: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


UploadStatus = Literal["open", "running", "done", "failed"]


@dataclass(frozen=True)
class UploadResult:
    """How an upload job ended: ``done`` applies every acknowledged batch, ``failed`` applies none."""

    status: UploadStatus
    message: str = ""


# ---------------------------------------------------------------------------------------------- clients


@runtime_checkable
class DestinationClient(Protocol):
    """What every client offers: its batch bound and a way to release its HTTP session."""

    @property
    def max_batch_size(self) -> int:
        """The most members or events one request may carry."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class ListClient(DestinationClient, Protocol):
    """A platform that holds lists (audiences, segments, user lists) of members."""

    def ensure_list(self, target: ListTarget) -> ListRef:
        """Find the target list (by id or name), creating it by name when it does not exist."""
        ...

    def plan_members(self, operation: Operation, target: ListRef, batch: Batch) -> list[PlannedRequest]:
        """The request(s) that add or remove this batch (built, not sent)."""
        ...

    def add_members(self, target: ListRef, batch: Batch) -> BatchOutcome: ...

    def remove_members(self, target: ListRef, batch: Batch) -> BatchOutcome: ...


@runtime_checkable
class ListDeletion(Protocol):
    """Optional: the platform's API can delete a list (``audience-pipelines delete-list``)."""

    def delete_list(self, target: ListRef) -> None:
        """Delete the list on the platform; raise :class:`DestinationError` when the platform refuses."""
        ...


@runtime_checkable
class EventClient(DestinationClient, Protocol):
    """A platform that receives ``added_to_segment`` / ``removed_from_segment`` events."""

    def plan_events(self, batch: Batch) -> list[PlannedRequest]:
        """The request(s) that send this batch of events (built, not sent)."""
        ...

    def send_events(self, batch: Batch) -> BatchOutcome: ...


@runtime_checkable
class UploadJobs(Protocol):
    """Optional hooks for platforms that apply members through a job (create, add batches, run, poll).

    The engine calls :meth:`begin_upload` before the first batch of an operation and records the job id;
    ``add_members`` / ``remove_members`` then go into that job and each acknowledged batch is checkpointed;
    :meth:`finish_upload` runs the job and waits (bounded) for it. After a crash the engine asks
    :meth:`upload_status` about the recorded job and finishes it, or forgets what it staged if it failed.
    """

    def begin_upload(self, target: ListRef, operation: Operation) -> str:
        """Create a job for ``operation`` on ``target``; returns its id."""
        ...

    def resume_upload(self, target: ListRef, operation: Operation, job_id: str) -> None:
        """Route the next batches of ``operation`` into the existing job ``job_id``."""
        ...

    def upload_status(self, target: ListRef, job_id: str) -> UploadStatus: ...

    def finish_upload(self, target: ListRef, job_id: str) -> UploadResult:
        """Run the job (if it is still open) and wait until it is done or failed."""
        ...


@dataclass(frozen=True)
class MatchReport:
    """What a platform reports about how many members of a list it matched to its users.

    ``matched_low``/``matched_high`` bound the matched count (equal when the platform gives one number);
    ``rate_low``/``rate_high`` bound the platform's own match rate as a fraction, where it reports one;
    ``figures`` holds other numbers it reports (e.g. ``size_for_search``), by name.
    """

    matched_low: int | None = None
    matched_high: int | None = None
    rate_low: float | None = None
    rate_high: float | None = None
    figures: Mapping[str, float] = field(default_factory=dict)


@runtime_checkable
class MatchReporting(Protocol):
    """Optional: the platform reports how many members of a list it matched (read after a list sync)."""

    def match_report(self, target: ListRef) -> MatchReport | None:
        """The platform's current figures for the list, or None when it has none yet."""
        ...


# ---------------------------------------------------------------------------------------------- fakes


@runtime_checkable
class ContractFake(Protocol):
    """What a destination's strict fake offers the demo sandbox and the shared contract suite.

    A fake is started with fixed test credentials (:meth:`for_tests`) or with credentials from the
    environment (:meth:`for_sandbox`, which also exports ``url_env`` for the example configuration).
    """

    url_env: ClassVar[str]

    @classmethod
    def for_tests(cls) -> Self: ...

    @classmethod
    def for_sandbox(cls) -> Self:
        """Started, with credentials from the environment (random ones set when absent); exports url_env."""
        ...

    def stop(self) -> None: ...

    def environment(self) -> dict[str, str]:
        """Environment variable -> value for the credentials :meth:`destination` names."""
        ...

    def destination(self, type_name: str) -> dict[str, Any]:
        """A destination body (without name) pointing at this fake: base_url, credentials, settings."""
        ...

    def secrets(self) -> list[str]:
        """Every credential value a client could leak."""
        ...

    def held(self, config: DestinationConfig, list_id: str | None, sync: str) -> set[str]:
        """What the fake holds for a sync: list members, or members whose latest event is an add.

        Values are the ``ContractCase.match_field`` values as received (member keys when it is None).
        """
        ...

    def rows_received(self) -> int:
        """Members or events received in accepted member/event requests, re-sends included."""
        ...

    def largest_request(self) -> int:
        """The most members or events one accepted request carried."""
        ...

    def throttle_next(self) -> float | None:
        """Make the next member/event request throttled; the wait the platform asks for (None: no hint)."""
        ...

    def fail_next(self, status: int, *, times: int = 1) -> None:
        """Answer the next requests with a server error."""
        ...

    def revoke_credentials(self) -> None:
        """Make every later request fail authentication."""
        ...

    def slow_down(self, seconds: float, times: int) -> None:
        """Delay the next member/event requests (for crash tests)."""
        ...


@runtime_checkable
class MatchReportingFake(Protocol):
    """A fake of a platform that reports match figures: the members of a list it counts as matched."""

    def matched_members(self, list_id: str) -> int:
        """How many members of the list the fake matched (what its match figures are computed from)."""
        ...


@runtime_checkable
class ProfileFake(Protocol):
    """A fake of a platform that keeps profiles with properties (CRM and email destinations)."""

    def profile_value(self, email: str, name: str) -> object | None:
        """The value of property ``name`` on the profile with this (normalized) email, or None."""
        ...


@dataclass(frozen=True)
class ContractCase:
    """How the contract suite syncs to one destination type.

    ``identifiers`` maps columns of the suite's audience (email, phone, first_name, last_name, country, zip,
    external_id, ga_client_id, fbp) to destination fields; ``batch_setting`` is the settings key that
    bounds a request; ``match_field`` is the destination field whose value the fake keys a member by.
    """

    sync_type: SyncType
    identifiers: Mapping[str, str]
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: audience trait -> destination property written to the profile (the suite's trait is ``lifetime_value``)
    fields: Mapping[str, str] = field(default_factory=dict)
    batch_setting: str = "batch_size"
    match_field: str | None = None


# ---------------------------------------------------------------------------------------------- descriptor


@dataclass(frozen=True)
class DestinationType:
    """Everything the project needs to know about one destination type, registered in one place."""

    name: str
    config: type[DestinationConfig]
    client: Callable[..., DestinationClient]
    capabilities: frozenset[SyncType]
    identity_platform: str
    kind: str
    fake: type[ContractFake]
    #: one case per sync type the contract suite runs against the fake
    contracts: tuple[ContractCase, ...]
    #: destination fields a sync may map identifiers and extra fields to; None means any name
    fields: tuple[str, ...] | None = None
    #: where a sync's list lives on the platform, for messages (e.g. "custom audience")
    list_noun: str = "list"
    #: defaults for the fields of a sync to this type that the sync does not set (e.g. TikTok's min_size)
    sync_defaults: Mapping[str, Any] = field(default_factory=dict)
    #: extra checks of a sync against this type: (identifiers, destination config, fields) -> problems
    check_sync: Callable[[Mapping[str, str], DestinationConfig, Mapping[str, str]], list[str]] | None = None
    #: the client reports match figures (:class:`MatchReporting`) and the fake computes them
    #: (:class:`MatchReportingFake`); the contract suite checks both for every type that says so
    reports_matches: bool = False

    def __post_init__(self) -> None:
        literal = self.config.model_fields["type"].annotation
        if getattr(literal, "__args__", None) != (self.name,):
            raise TypeError(f"{self.config.__name__}.type must be Literal[{self.name!r}]")
        if not self.contracts or any(case.sync_type not in self.capabilities for case in self.contracts):
            raise TypeError(f"destination type {self.name!r}: give contract cases for supported sync types")

    def identity_rules(self, config: DestinationConfig) -> PlatformRules:
        """The identity platform's rules, with a ``phone_format`` setting of the destination applied."""
        phone_format = getattr(getattr(config, "settings", None), "phone_format", None)
        return get_platform(self.identity_platform, phone_format=phone_format)

    def build_client(
        self, config: DestinationConfig, *, log: Callable[[str], None], sleep: Callable[[float], None]
    ) -> DestinationClient:
        return self.client(config, log=log, sleep=sleep)
