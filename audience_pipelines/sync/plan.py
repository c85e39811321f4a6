"""Planning a sync run: which snapshot to move the destination to, how much work, and whether it is safe."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from audience_pipelines.config import ProjectConfig, SyncConfig
from audience_pipelines.warehouse.consent import count_without_consent
from audience_pipelines.warehouse.diffs import PartitionRef
from audience_pipelines.warehouse.ledger import PendingKeys, SnapshotRef, count_pending, newest_snapshot
from audience_pipelines.warehouse.sync_runs import RunCounts, get_state, other_runs_seen


@dataclass(frozen=True)
class SyncPlan:
    """What a run will do. ``skip_reason`` is set when there is nothing to do; ``blocked_reason`` when a
    guard refuses the run."""

    sync: str
    destination: str
    audience: str
    snapshot: SnapshotRef | None
    adds: int = 0
    removes: int = 0
    held: int = 0
    #: snapshot members not sent because their row grants no consent (the sync's consent rule)
    without_consent: int = 0
    skip_reason: str | None = None
    blocked_reason: str | None = None
    #: the pending members by key, when few and no other run of the sync was going (see ``PendingKeys``); kept
    #: out of the plan's repr (up to 100,000 keys)
    pending_keys: PendingKeys | None = field(default=None, repr=False)

    @property
    def projected_size(self) -> int:
        return self.held + self.adds - self.removes

    def initial_counts(self) -> RunCounts:
        """A run's counts before anything is sent: the planned work and the members skipped for consent."""
        return RunCounts(planned_adds=self.adds, planned_removes=self.removes, skipped_consent=self.without_consent)


def plan_sync(
    engine: sa.Engine,
    config: ProjectConfig,
    sync_name: str,
    requested: PartitionRef | None = None,
    *,
    run_id: str | None = None,
) -> SyncPlan:
    """Plan from the audience's newest snapshot against the sync's ledger (never an older snapshot).

    ``requested`` is the partition a run was asked for (a Dagster materialization of the destination
    asset): only the newest snapshot's partition can be synced; any other is skipped with the reason.
    ``run_id``: the run this plan is for; its plan names the pending members when they are few.
    """
    sync = config.sync(sync_name)
    base = {"sync": sync.name, "destination": sync.destination, "audience": sync.audience}
    with engine.connect() as conn:
        snapshot = newest_snapshot(conn, sync.audience)
        if snapshot is None:
            return SyncPlan(**base, snapshot=None, skip_reason=f"audience '{sync.audience}' has no snapshot yet")
        if requested is not None and requested.key != snapshot.partition_key:
            return SyncPlan(**base, snapshot=snapshot, skip_reason=_not_newest(requested, snapshot))
        state = get_state(conn, sync.name)
        if state.unlinked:
            return SyncPlan(
                **base,
                snapshot=snapshot,
                skip_reason=f"sync is {state.unlinked}; `audience-pipelines relink {sync.name}` resumes it",
            )
        if state.partition_start is not None and snapshot.partition_start < state.partition_start:
            return SyncPlan(
                **base,
                snapshot=snapshot,
                skip_reason=f"destination already reflects snapshot {state.partition_key}, newer than "
                f"{snapshot.partition_key}; a destination never moves backwards",
            )
        # what the sync's other runs had done, seen before the ledger is read: a run compares it (see PendingKeys)
        seen = other_runs_seen(conn, sync.name, except_run=run_id) if run_id is not None else None
        counts = count_pending(
            conn,
            sync.name,
            snapshot,
            list(sync.identifiers) + list(sync.fields),
            sending=sync.adds,
            consent=sync.consent,
            name_keys=seen is not None and seen[1] == 0,
        )
        adds, removes, held = counts.adds, counts.removes, counts.held
        without_consent = count_without_consent(conn, sync.audience, snapshot.partition_start, sync.consent)
        reflected = (
            state.partition_start == snapshot.partition_start and snapshot.computed_at <= state.snapshot_computed_at
        )
        retries = (adds if sync.adds else 0) + (removes if sync.removes else 0)
        if reflected and not retries:
            return SyncPlan(
                **base,
                snapshot=snapshot,
                skip_reason=f"destination already reflects snapshot {state.partition_key}; nothing newer",
            )
    plan = SyncPlan(
        **base,
        snapshot=snapshot,
        adds=adds if sync.adds else 0,
        removes=removes if sync.removes else 0,
        held=held,
        without_consent=without_consent,
        pending_keys=PendingKeys(*counts.keys, run_id, seen) if counts.keys is not None else None,
    )
    return _guarded(plan, sync, tracked_adds=0 if sync.adds else adds)


def _guarded(plan: SyncPlan, sync: SyncConfig, tracked_adds: int) -> SyncPlan:
    """Refuse runs that would remove too much or leave too few members."""
    if plan.removes == 0:
        return plan
    held = plan.held + tracked_adds
    if held and plan.removes / held > sync.max_exit_ratio:
        reason = (
            f"guard: would remove {plan.removes} of {held} members ({plan.removes / held:.0%}), more than "
            f"max_exit_ratio {sync.max_exit_ratio:.0%}; check snapshot {plan.snapshot.partition_key}; if the change is "
            "intended, raise max_exit_ratio for this sync in the configuration"
        )
        return SyncPlan(**{**plan.__dict__, "blocked_reason": reason})
    if plan.projected_size < sync.min_size:
        reason = (
            f"guard: would leave {plan.projected_size} members, below min_size {sync.min_size} "
            f"(snapshot {plan.snapshot.partition_key})"
        )
        return SyncPlan(**{**plan.__dict__, "blocked_reason": reason})
    return plan


def _not_newest(requested: PartitionRef, newest: SnapshotRef) -> str:
    """Why a run asked for a partition other than the newest snapshot's does nothing."""
    if requested.start < newest.partition_start:
        return (
            f"partition {requested.key} is older than the newest snapshot {newest.partition_key}; a destination "
            f"never moves backwards (materialize {newest.partition_key} to sync the newest membership)"
        )
    return (
        f"partition {requested.key} has no snapshot yet (the newest is {newest.partition_key}); "
        f"materialize the audience's {requested.key} partition first"
    )
