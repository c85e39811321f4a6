"""Executing a sync plan: stream pending work in bounded batches, checkpoint each acknowledged batch."""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa

from audience_pipelines.config import SyncConfig
from audience_pipelines.destinations.kit import (
    Batch,
    BatchOutcome,
    DestinationClient,
    DestinationError,
    EventClient,
    FailureKind,
    ListClient,
    ListRef,
    ListTarget,
    MatchReport,
    Operation,
    OutboundMember,
    UploadJobs,
    UploadResult,
)
from audience_pipelines.identity import PlatformRules
from audience_pipelines.privacy import describe_error, scrub_values
from audience_pipelines.sync.outbound import (
    PreparedMembers,
    event_batch,
    ledger_rows,
    member_batch,
    prepare_members,
    removal_members,
)
from audience_pipelines.sync.overlap import OrderedWriter, ReadAhead
from audience_pipelines.sync.plan import SyncPlan
from audience_pipelines.warehouse.failures import MemberFailure, clear_failures, has_failures, record_failures
from audience_pipelines.warehouse.ledger import (
    PendingKeys,
    PendingMember,
    PendingPage,
    confirm_upload,
    discard_upload,
    held_by_another,
    iter_pending_adds,
    iter_pending_removes,
    mark_removing,
    record_held,
    record_removed,
    refresh_ledger_statistics,
    reset_ledger,
    snapshot_unchanged,
)
from audience_pipelines.warehouse.locks import SyncBusyError, sync_lock
from audience_pipelines.warehouse.sync_runs import (
    MatchFigures,
    RejectedRow,
    RunCounts,
    get_state,
    other_runs_seen,
    record_rejections,
    save_list,
    save_upload,
)

#: Members read from the warehouse and normalized per page (pandas work is cheaper in larger frames).
READ_PAGE = 10_000

#: Members written in one run after which the ledger is analyzed again (its statistics guide the page query).
ANALYZE_AFTER = 50_000


@dataclass(frozen=True)
class Outgoing:
    """One destination batch of members ready to send, column-wise: each member's source fingerprint, the
    partition it entered at (event syncs), its snapshot row's fingerprint and whether the ledger held it when
    read line up with ``members``."""

    members: list[OutboundMember]
    fingerprints: list[str]
    transitions: list[str]
    snapshot_fingerprints: list[int | None]
    held: list[bool]

    def __len__(self) -> int:
        return len(self.members)

    def __getitem__(self, part: slice) -> Outgoing:
        return Outgoing(
            self.members[part],
            self.fingerprints[part],
            self.transitions[part],
            self.snapshot_fingerprints[part],
            self.held[part],
        )

    def __add__(self, other: Outgoing) -> Outgoing:
        return Outgoing(
            self.members + other.members,
            self.fingerprints + other.fingerprints,
            self.transitions + other.transitions,
            self.snapshot_fingerprints + other.snapshot_fingerprints,
            self.held + other.held,
        )


__all__ = ["READ_PAGE", "SyncBusyError", "SyncFailed", "SyncResult", "SyncRunner"]


class SyncFailed(RuntimeError):
    """A run stopped on a destination error; everything acknowledged before it is checkpointed."""

    def __init__(self, message: str, counts: RunCounts) -> None:
        super().__init__(message)
        self.counts = counts


@dataclass
class SyncResult:
    """What a completed run did."""

    counts: RunCounts
    list_ref: ListRef | None
    batches: int = 0
    drop_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    #: what the platform reported matching after the run (list syncs to platforms that report it)
    match_report: MatchReport | None = None
    match: MatchFigures | None = None

    @property
    def status(self) -> str:
        return "partial" if self.counts.rejected else "success"


@dataclass
class SyncRunner:
    """Runs one sync's plan against one destination, writing the ledger and run history as it goes."""

    engine: sa.Engine
    sync: SyncConfig
    destination: DestinationClient
    identity_platform: PlatformRules | str
    run_id: str
    log: Callable[[str], None] = lambda message: None
    clock: Callable[[], float] = time.time
    _jobs: dict[str, str] = field(default_factory=dict)
    #: Whether acknowledged members may have refusals on record to clear (known at the start of the adds).
    _add_failures_on_record: bool = True
    #: Whether this run changed the ledger before its own work (a new list, an earlier run's job settled).
    _ledger_changed_at_start: bool = False

    def run(self, plan: SyncPlan) -> SyncResult:
        assert plan.snapshot is not None and plan.blocked_reason is None and plan.skip_reason is None
        result = SyncResult(plan.initial_counts(), list_ref=None)
        started = time.monotonic()
        with long_lived_objects_frozen(), self.session(result, f"sync '{self.sync.name}'"):
            named = self._named_work(plan)
            self._additions(plan, result, named.adds if named else None)
            self._finish_upload(result.list_ref, "add")
            if self.sync.removes:
                self._removals(plan, result, named.removes if named else None)
                self._finish_upload(result.list_ref, "remove")
        result.seconds = time.monotonic() - started
        return result

    @contextlib.contextmanager
    def session(self, result: SyncResult, label: str) -> Iterator[None]:
        """Hold the sync's lock with its list resolved and an earlier run's upload job settled; any error ends
        the work as :class:`SyncFailed` with the progress so far and a scrubbed reason."""
        with sync_lock(self.engine, self.sync.name):
            try:
                if self.sync.type == "list":
                    result.list_ref = self._resolve_list()
                    self._recover_upload(result.list_ref)
                yield
            except DestinationError as error:
                raise SyncFailed(
                    f"{label} stopped after {result.batches} acknowledged batch(es): {error}", result.counts
                ) from None
            except Exception as error:  # anything else still ends the run with its progress and a scrubbed reason
                raise SyncFailed(
                    f"{label} stopped after {result.batches} acknowledged batch(es): {describe_error(error)}",
                    result.counts,
                ) from error

    def _named_work(self, plan: SyncPlan) -> PendingKeys | None:
        """The members the plan named, when they are still all the work: nothing but this run has written the
        sync's ledger or retry records since it was planned (no other run or lifecycle action started or
        ended) and its snapshot partition was not rebuilt. Otherwise None: the run pages through the snapshot."""
        keys = plan.pending_keys
        if keys is None:
            return None
        with self.engine.connect() as conn:
            current = (
                not self._ledger_changed_at_start
                and other_runs_seen(conn, self.sync.name, except_run=keys.run_id) == keys.seen
                and snapshot_unchanged(conn, plan.snapshot)
            )
        if not current:
            self.log(f"{self.sync.name}: the sync's work changed since it was planned; reading it from the snapshot")
            return None
        self.log(
            f"{self.sync.name}: looking up the {len(keys.adds)} member(s) to add and {len(keys.removes)} to remove "
            "that the plan named"
        )
        return keys

    @property
    def lists(self) -> ListClient:
        assert isinstance(self.destination, ListClient), f"{self.sync.destination} holds no lists"
        return self.destination

    @property
    def events(self) -> EventClient:
        assert isinstance(self.destination, EventClient), f"{self.sync.destination} takes no events"
        return self.destination

    @property
    def uploads(self) -> UploadJobs | None:
        """The destination's upload-job hooks, for platforms that apply members through a job."""
        return self.destination if isinstance(self.destination, UploadJobs) else None

    def _resolve_list(self) -> ListRef:
        target = self.sync.target
        ref = self.lists.ensure_list(ListTarget(target.list_id, target.name, target.description))
        with self.engine.begin() as conn:
            previous = get_state(conn, self.sync.name).list_id
            if previous is not None and previous != ref.id:
                dropped = reset_ledger(conn, self.sync.name)
                self._ledger_changed_at_start = True
                self.log(
                    f"{self.sync.name}: target list changed ({previous} -> {ref.id}); "
                    f"forgot {dropped} ledger entries, the new list is filled from scratch"
                )
            save_list(conn, self.sync.name, ref.id, ref.name, ref.url)
        self.log(f"{self.sync.name}: syncing to list '{ref.name}' ({ref.id})")
        return ref

    def _page_size(self) -> int:
        """Rows read and normalized together: about READ_PAGE, a whole number of destination batches."""
        batch = self.destination.max_batch_size
        return max(batch, READ_PAGE // batch * batch)

    def _additions(self, plan: SyncPlan, result: SyncResult, named: tuple[str, ...] | None) -> None:
        """Send pending adds: a thread reads and prepares pages ahead, this one sends, another checkpoints.
        ``named``: the members the plan named (looked up by key), or None to page through the snapshot."""
        sending = self.sync.adds
        events = self.sync.type == "event"
        operation = "add" if sending else "track"
        pages = iter_pending_adds(
            self.engine,
            self.sync.name,
            plan.snapshot,
            [*self.sync.identifiers, *self.sync.fields],
            sending=sending,
            batch_size=self._page_size(),
            with_transition=events,
            consent=self.sync.consent,
            only=named,
        )
        with self.engine.connect() as conn:
            self._add_failures_on_record = has_failures(conn, self.sync.name, "add")
        # Sending runs ahead of checkpointing only where a re-sent batch changes nothing (the destination drops
        # a batch id it has processed); elsewhere a batch goes out once the one before it is recorded, so a kill
        # re-sends at most the batch in flight.
        run_ahead = getattr(self.destination, "deduplicates_batches", False)
        reader = ReadAhead(((page, self._prepare(page, operation)) for page in pages), depth=1)
        writer = OrderedWriter(self.engine)
        try:
            for chunk in self._outgoing_batches(reader, plan, result, writer):
                if not sending:
                    self._checkpoint(writer, chunk, plan, status="tracked", outcome=None)
                    continue
                job = None
                if not run_ahead:
                    writer.wait_until_written()
                if events:
                    transitions = dict(zip((m.member_key for m in chunk.members), chunk.transitions, strict=True))
                    batch = event_batch(self.sync, self.sync.added_event, chunk.members, transitions, int(self.clock()))
                    outcome = self.events.send_events(batch)
                else:
                    key = plan.snapshot.partition_key
                    batch = member_batch(self.sync, "add", chunk.members, chunk.fingerprints, key)
                    job = self._upload_job(result.list_ref, "add")
                    outcome = self.lists.add_members(result.list_ref, batch)
                self._count(result, batch, outcome, "add")
                self._checkpoint(writer, chunk, plan, status="sent", outcome=outcome, job_id=job)
                rows = _rejected_rows(outcome, "add", chunk.members)
                if rows:
                    fingerprints = dict(zip((m.member_key for m in chunk.members), chunk.fingerprints, strict=True))
                    self._record_rejections(rows, "add", fingerprints, park_at_once=False, result=result, writer=writer)
        except BaseException:
            reader.close()
            with contextlib.suppress(Exception):  # the error that stopped the run is the one to report
                writer.close()  # still checkpoints every batch acknowledged before it
            raise
        reader.close()
        writer.close()
        if result.counts.accepted + result.counts.skipped_invalid >= ANALYZE_AFTER:
            with self.engine.begin() as conn:
                refresh_ledger_statistics(conn)

    def _prepare(self, page: PendingPage, operation: str) -> PreparedMembers:
        """Normalize and hash a page (in the reading thread)."""
        return prepare_members(
            page,
            self.sync,
            platform=self.identity_platform,
            operation=operation,
            default_region=self.sync.default_phone_region,
        )

    def _outgoing_batches(
        self,
        pages: Iterable[tuple[PendingPage, PreparedMembers]],
        plan: SyncPlan,
        result: SyncResult,
        writer: OrderedWriter,
    ) -> Iterator[Outgoing]:
        """Full destination batches cut from the stream of sendable members across pages (the last may be short).

        Batches depend only on which members are pending, not on where pages begin, so a run resuming after a
        crash rebuilds the unrecorded batches with the same members, hence the same batch ids.
        """
        size = self.destination.max_batch_size
        waiting = Outgoing([], [], [], [], [])
        for page, prepared in pages:
            for key, count in prepared.drop_counts.items():
                result.drop_counts[key] = result.drop_counts.get(key, 0) + count
            if prepared.skipped:
                result.counts.skipped_invalid += len(prepared.skipped)
                page_fingerprints = dict(zip(page.member_keys, page.fingerprints, strict=True))
                self._record_rejections(
                    prepared.skipped, "add", page_fingerprints, park_at_once=True, result=result, writer=writer
                )
            default = plan.snapshot.partition_key
            transitions = [entered or default for entered in prepared.transitions]
            waiting += Outgoing(
                prepared.members, prepared.fingerprints, transitions, prepared.snapshot_fingerprints, prepared.held
            )
            whole = len(waiting) - len(waiting) % size
            for start in range(0, whole, size):
                yield waiting[start : start + size]
            waiting = waiting[whole:]
        if len(waiting):
            yield waiting

    def _removals(self, plan: SyncPlan, result: SyncResult, named: tuple[str, ...] | None) -> None:
        events = self.sync.type == "event"
        pages = iter_pending_removes(
            self.engine,
            self.sync.name,
            plan.snapshot,
            batch_size=self._page_size(),
            with_transition=events,
            consent=self.sync.consent,
            only=named,
        )
        for pending in pages:
            if not events:
                pending = self._keep_shared_people(plan, pending)
            transitions = _transitions(pending, plan) if events else {}
            self._remove_page(pending, transitions, plan.snapshot.partition_key, result)

    def _remove_page(
        self, pending: list[PendingMember], transitions: dict[str, str], snapshot: str, result: SyncResult
    ) -> None:
        """Send removals for ``pending`` in destination batches; record each acknowledged member at once."""
        events = self.sync.type == "event"
        fingerprints = {m.member_key: m.source_fingerprint for m in pending}
        for chunk in _chunks(removal_members(pending), self.destination.max_batch_size):
            job = None
            if events:
                batch = event_batch(self.sync, self.sync.removed_event, chunk, transitions, int(self.clock()))
                outcome = self.events.send_events(batch)
            else:
                sent = [fingerprints[m.member_key] for m in chunk]
                batch = member_batch(self.sync, "remove", chunk, sent, snapshot)
                job = self._upload_job(result.list_ref, "remove")
                outcome = self.lists.remove_members(result.list_ref, batch)
            self._count(result, batch, outcome, "remove")
            removed = [m.member_key for m in chunk if m.member_key not in outcome.rejected_keys]
            with self.engine.begin() as conn:
                if job is None:
                    record_removed(conn, self.sync.name, removed)
                else:
                    mark_removing(conn, self.sync.name, removed, job)
                clear_failures(conn, self.sync.name, "remove", removed)
            rows = _rejected_rows(outcome, "remove", chunk)
            self._record_rejections(rows, "remove", fingerprints, park_at_once=False, result=result)

    def _keep_shared_people(self, plan: SyncPlan, pending: list[PendingMember]) -> list[PendingMember]:
        """Leavers whose identifiers a staying member also holds leave the ledger, not the platform."""
        with self.engine.begin() as conn:
            keys = [m.member_key for m in pending]
            shared = held_by_another(conn, self.sync.name, plan.snapshot, keys, self.sync.consent)
            if shared:
                record_removed(conn, self.sync.name, sorted(shared))
        if shared:
            self.log(
                f"{self.sync.name}: {len(shared)} leaving member(s) carry exactly the identifiers of a member who "
                "stays; the platform holds them as one person, so no removal is sent for them"
            )
        return [m for m in pending if m.member_key not in shared]

    def _count(self, result: SyncResult, batch: Batch, outcome: BatchOutcome, operation: str) -> None:
        size = len(batch.members) + len(batch.events)
        result.batches += 1
        result.counts.sent += size
        result.counts.accepted += size - len(outcome.rejected)
        result.counts.rejected += len(outcome.rejected)
        self.log(
            f"{self.sync.name}: {operation} batch {result.batches}: {size} sent, "
            f"{size - len(outcome.rejected)} accepted, {len(outcome.rejected)} rejected "
            f"(totals: {result.counts.accepted} accepted, {result.counts.rejected} rejected, "
            f"{result.counts.skipped_invalid} skipped invalid)"
        )

    def _checkpoint(
        self,
        writer: OrderedWriter,
        chunk: Outgoing,
        plan: SyncPlan,
        *,
        status: str,
        outcome: BatchOutcome | None,
        job_id: str | None = None,
    ) -> None:
        """Queue an acknowledged batch for the ledger, behind every batch acknowledged before it.

        Each member's snapshot fingerprint goes with it, so the next plan skips members whose row is unchanged.
        """
        rejected = outcome.rejected_keys if outcome else set()
        rows = ledger_rows(chunk.members, chunk.fingerprints, chunk.snapshot_fingerprints, chunk.held, rejected)
        sync, partition_key = self.sync.name, plan.snapshot.partition_key

        clear = self._add_failures_on_record

        def write(conn: sa.Connection) -> None:
            record_held(conn, sync, rows, status=status, partition_key=partition_key, job_id=job_id)
            if clear:
                clear_failures(conn, sync, "add", sorted(rows.member_keys))

        # a checkpoint lost with an asynchronous commit only makes the next run re-send the batch under its id
        writer.submit(write, relaxed=True)

    # ------------------------------------------------------------------ upload jobs

    def _upload_job(self, ref: ListRef | None, operation: Operation) -> str | None:
        """The job this operation's batches go into (begun and recorded on first use), or None."""
        if self.uploads is None or ref is None:
            return None
        if operation not in self._jobs:
            job = self.uploads.begin_upload(ref, operation)
            with self.engine.begin() as conn:
                save_upload(conn, self.sync.name, job, operation)
            self._jobs[operation] = job
            self.log(f"{self.sync.name}: {operation} job {job} started")
        return self._jobs[operation]

    def _finish_upload(self, ref: ListRef | None, operation: Operation) -> None:
        """Run this operation's job, then confirm what it staged (or forget it if the job failed)."""
        job = self._jobs.pop(operation, None)
        if job is None or self.uploads is None or ref is None:
            return
        self.log(f"{self.sync.name}: running {operation} job {job}")
        outcome = self.uploads.finish_upload(ref, job)
        self._require_ended(job, outcome)
        self._settle(job, outcome)
        if outcome.status == "failed":
            raise DestinationError(
                FailureKind.PERMANENT,
                f"{operation} job {job} failed on the destination ({outcome.message}); nothing it staged is "
                "recorded, the next run sends it again",
            )

    def _recover_upload(self, ref: ListRef) -> None:
        """A job left by a killed run is finished (its acknowledged batches applied) or, if it failed, forgotten."""
        with self.engine.connect() as conn:
            state = get_state(conn, self.sync.name)
        job = state.upload_job_id
        if job is None or self.uploads is None:
            return
        self._ledger_changed_at_start = True
        status = self.uploads.upload_status(ref, job)
        self.log(f"{self.sync.name}: found {state.upload_operation} job {job} of an earlier run ({status})")
        outcome = UploadResult(status) if status in ("done", "failed") else self.uploads.finish_upload(ref, job)
        self._require_ended(job, outcome)
        self._settle(job, outcome)

    @staticmethod
    def _require_ended(job: str, outcome: UploadResult) -> None:
        """A job still running when the wait ran out stays recorded: the next run waits for it again."""
        if outcome.status not in ("done", "failed"):
            raise DestinationError(
                FailureKind.RETRYABLE,
                f"job {job} is still {outcome.status} on the destination ({outcome.message}); what it staged stays "
                "pending and the next run finishes it before sending anything else",
            )

    def _settle(self, job: str, outcome: UploadResult) -> None:
        with self.engine.begin() as conn:
            if outcome.status == "done":
                added, removed = confirm_upload(conn, self.sync.name, job)
                note = f"done: {added} added, {removed} removed"
            else:
                forgotten, restored = discard_upload(conn, self.sync.name, job)
                note = f"{outcome.status}: {forgotten} staged adds forgotten, {restored} removals held again"
            save_upload(conn, self.sync.name, None, None)
        self.log(f"{self.sync.name}: job {job} {note}")

    def _record_rejections(
        self,
        rows: list[RejectedRow],
        operation: str,
        fingerprints: dict[str, str],
        *,
        park_at_once: bool,
        result: SyncResult,
        writer: OrderedWriter | None = None,
    ) -> None:
        """Store refusals in run history and count an attempt per member (parking it after the last one).

        A member with no usable identifier is parked at once: retrying cannot help until its values change.
        With a ``writer``, this is queued behind the checkpoints before it; else written at once.
        """
        if not rows:
            return
        failures = [
            MemberFailure(row.member_key, row.reason, fingerprints.get(row.member_key, ""))
            for row in rows
            if row.member_key is not None
        ]
        park_after = 1 if park_at_once else self.sync.max_member_attempts
        run_id, sync = self.run_id, self.sync.name

        def write(conn: sa.Connection) -> None:
            record_rejections(conn, run_id, sync, rows)
            parked = record_failures(conn, sync, operation, failures, park_after=park_after)
            if parked:
                result.counts.parked += parked
                self.log(f"{sync}: {parked} member(s) parked after refusals (see `audience-pipelines runs`)")

        if writer is not None:
            writer.submit(write)
            return
        with self.engine.begin() as conn:
            write(conn)


@contextlib.contextmanager
def long_lived_objects_frozen() -> Iterator[None]:
    """Keep the cyclic garbage collector off the objects that existed before the run (``gc.freeze``).

    A run allocates a few objects per member, which triggers collections; each full collection otherwise walks
    every object the process holds (Dagster, pandas, SQLAlchemy: millions), which made building members about
    five times slower. Those objects are collectable again (``gc.unfreeze``) when the run ends.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _chunks(items: list[OutboundMember], size: int) -> Iterator[list[OutboundMember]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _transitions(pending: list[PendingMember], plan: SyncPlan) -> dict[str, str]:
    return {m.member_key: m.transition or plan.snapshot.partition_key for m in pending}


def _rejected_rows(outcome: BatchOutcome, operation: str, members: list[OutboundMember]) -> list[RejectedRow]:
    """Rejections as history rows, each message scrubbed of the values sent for its member."""
    if not outcome.rejected:
        return []
    sent = {m.member_key: m.fields for m in members}
    return [
        RejectedRow(r.member_key, operation, r.reason, scrub_values(r.message, sent.get(r.member_key or "", {})))
        for r in outcome.rejected
    ]
