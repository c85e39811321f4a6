"""Executing a sync plan: stream pending work in bounded batches, checkpoint each acknowledged batch."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa

from audience_pipelines.config import SyncConfig
from audience_pipelines.destinations.base import (
    Batch,
    BatchOutcome,
    Destination,
    DestinationError,
    ListRef,
    ListTarget,
    OutboundMember,
)
from audience_pipelines.sync.outbound import (
    event_batch,
    ledger_entries,
    member_batch,
    prepare_members,
    removal_members,
)
from audience_pipelines.sync.plan import SyncPlan
from audience_pipelines.warehouse.ledger import (
    PendingMember,
    iter_pending_adds,
    iter_pending_removes,
    record_held,
    record_removed,
    reset_ledger,
)
from audience_pipelines.warehouse.sync_runs import (
    RejectedRow,
    RunCounts,
    get_state,
    record_rejections,
    save_list,
)

#: Members read from the warehouse and normalized per page (pandas work is cheaper in larger frames).
READ_PAGE = 10_000


class SyncBusyError(RuntimeError):
    """Another run of the same sync holds its lock."""


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

    @property
    def status(self) -> str:
        return "partial" if self.counts.rejected else "success"


@contextlib.contextmanager
def sync_lock(engine: sa.Engine, sync: str) -> Iterator[None]:
    """A session-level advisory lock: two runs of one sync never interleave, whatever launched them."""
    key = f"audience_pipelines.sync:{sync}"
    with engine.connect() as conn:
        if not conn.execute(sa.text("select pg_try_advisory_lock(hashtext(:k))"), {"k": key}).scalar_one():
            raise SyncBusyError(f"sync '{sync}' is already running (its lock is held); not starting a second run")
        try:
            yield
        finally:
            conn.execute(sa.text("select pg_advisory_unlock(hashtext(:k))"), {"k": key})
            conn.commit()


@dataclass
class SyncRunner:
    """Runs one sync's plan against one destination, writing the ledger and run history as it goes."""

    engine: sa.Engine
    sync: SyncConfig
    destination: Destination
    run_id: str
    log: Callable[[str], None] = lambda message: None
    clock: Callable[[], float] = time.time

    def run(self, plan: SyncPlan) -> SyncResult:
        assert plan.snapshot is not None and plan.blocked_reason is None and plan.skip_reason is None
        result = SyncResult(RunCounts(planned_adds=plan.adds, planned_removes=plan.removes), list_ref=None)
        started = time.monotonic()
        with sync_lock(self.engine, self.sync.name):
            try:
                if self.sync.type == "list":
                    result.list_ref = self._resolve_list()
                self._additions(plan, result)
                if self.sync.removes:
                    self._removals(plan, result)
            except DestinationError as error:
                raise SyncFailed(
                    f"sync '{self.sync.name}' stopped after {result.batches} acknowledged batch(es): {error}",
                    result.counts,
                ) from None
        result.seconds = time.monotonic() - started
        return result

    def _resolve_list(self) -> ListRef:
        target = self.sync.target
        ref = self.destination.ensure_list(ListTarget(target.list_id, target.name, target.description))
        with self.engine.begin() as conn:
            previous = get_state(conn, self.sync.name).list_id
            if previous is not None and previous != ref.id:
                dropped = reset_ledger(conn, self.sync.name)
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

    def _additions(self, plan: SyncPlan, result: SyncResult) -> None:
        sending = self.sync.adds
        events = self.sync.type == "event"
        pages = iter_pending_adds(
            self.engine,
            self.sync.name,
            plan.snapshot,
            [*self.sync.identifiers, *self.sync.fields],
            sending=sending,
            batch_size=self._page_size(),
            with_transition=events,
        )
        for pending in pages:
            prepared = prepare_members(
                pending,
                self.sync,
                platform=self.destination.identity_platform,
                operation="add" if sending else "track",
                default_region=self.sync.default_phone_region,
            )
            for key, count in prepared.drop_counts.items():
                result.drop_counts[key] = result.drop_counts.get(key, 0) + count
            result.counts.skipped_invalid += len(prepared.skipped)
            self._record_rejections(prepared.skipped)
            transitions = _transitions(pending, plan) if events else {}
            for chunk in _chunks(prepared.members, self.destination.max_batch_size):
                if not sending:
                    self._checkpoint(chunk, prepared.fingerprints, plan, status="tracked", outcome=None)
                    continue
                if events:
                    batch = event_batch(self.sync, self.sync.added_event, chunk, transitions, int(self.clock()))
                    outcome = self.destination.send_events(batch)
                else:
                    batch = member_batch(self.sync, "add", chunk, prepared.fingerprints)
                    outcome = self.destination.add_members(result.list_ref, batch)
                self._count(result, batch, outcome, "add")
                self._checkpoint(chunk, prepared.fingerprints, plan, status="sent", outcome=outcome)

    def _removals(self, plan: SyncPlan, result: SyncResult) -> None:
        events = self.sync.type == "event"
        pages = iter_pending_removes(
            self.engine, self.sync.name, plan.snapshot, batch_size=self._page_size(), with_transition=events
        )
        for pending in pages:
            fingerprints = {m.member_key: m.source_fingerprint for m in pending}
            transitions = _transitions(pending, plan) if events else {}
            for chunk in _chunks(removal_members(pending), self.destination.max_batch_size):
                if events:
                    batch = event_batch(self.sync, self.sync.removed_event, chunk, transitions, int(self.clock()))
                    outcome = self.destination.send_events(batch)
                else:
                    batch = member_batch(self.sync, "remove", chunk, fingerprints)
                    outcome = self.destination.remove_members(result.list_ref, batch)
                self._count(result, batch, outcome, "remove")
                removed = [m.member_key for m in chunk if m.member_key not in outcome.rejected_keys]
                with self.engine.begin() as conn:
                    record_removed(conn, self.sync.name, removed)
                    record_rejections(conn, self.run_id, self.sync.name, _rejected_rows(outcome, "remove"))

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
        members: list[OutboundMember],
        fingerprints: dict[str, str],
        plan: SyncPlan,
        *,
        status: str,
        outcome: BatchOutcome | None,
    ) -> None:
        """Write an acknowledged batch to the ledger at once (one transaction with its rejections)."""
        rejected = outcome.rejected_keys if outcome else set()
        keys = {m.member_key for m in members} - rejected
        with self.engine.begin() as conn:
            record_held(
                conn,
                self.sync.name,
                ledger_entries(members, fingerprints, keys),
                status=status,
                partition_key=plan.snapshot.partition_key,
            )
            if outcome:
                record_rejections(conn, self.run_id, self.sync.name, _rejected_rows(outcome, "add"))

    def _record_rejections(self, rows: list[RejectedRow]) -> None:
        if rows:
            with self.engine.begin() as conn:
                record_rejections(conn, self.run_id, self.sync.name, rows)


def _chunks(items: list[OutboundMember], size: int) -> Iterator[list[OutboundMember]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _transitions(pending: list[PendingMember], plan: SyncPlan) -> dict[str, str]:
    return {m.member_key: m.transition or plan.snapshot.partition_key for m in pending}


def _rejected_rows(outcome: BatchOutcome, operation: str) -> list[RejectedRow]:
    return [RejectedRow(r.member_key, operation, r.reason, r.message) for r in outcome.rejected]
