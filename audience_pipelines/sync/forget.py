"""Forgetting a person: suppress, remove from every destination holding them, erase their identifiers.

A request goes in three steps, each recorded in ``forget_requests`` so a crashed request resumes:

1. **Suppress**: keyed hashes of every identity key of theirs (typed or found in their snapshot rows) join the
   suppression list, and their member keys the forgotten members; later snapshots and syncs skip them.
2. **Remove**: one run per sync whose ledger holds them (run history, trigger ``forget``), through the sync's
   remove path: list syncs remove the members, event syncs send ``removed_from_segment``. Ledger rows go only
   once the destination acknowledged the removal.
3. **Erase**: once no destination holds them, their snapshot rows, ledger rows, refusal messages and retry
   records go; membership history and run history keep member-keyed rows without identifiers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from audience_pipelines.config import ProjectConfig, SyncConfig
from audience_pipelines.destinations.registry import build_client, destination_type
from audience_pipelines.privacy import describe_error
from audience_pipelines.sync.find import PersonQuery, find_member_keys, identity_keys, phone_digit_forms
from audience_pipelines.sync.runner import SyncFailed, SyncResult, SyncRunner
from audience_pipelines.sync.service import reconcile_abandoned_runs
from audience_pipelines.warehouse.ledger import PendingMember
from audience_pipelines.warehouse.locks import SyncBusyError
from audience_pipelines.warehouse.people import (
    count_ledger_rows,
    drop_ledger_rows,
    erase_members,
    find_request,
    finish_request,
    identity_keys_of,
    keyed_hash,
    ledger_rows,
    ledger_syncs_holding,
    save_step,
    start_request,
    suppress,
    suppression_key,
)
from audience_pipelines.warehouse.sync_runs import RunCounts, finish_run, start_run


@dataclass(frozen=True)
class SyncRemoval:
    """One sync's forget run."""

    sync: str
    destination: str
    run_id: str | None
    status: str
    removed: int
    message: str = ""


@dataclass
class ForgetReport:
    """What a forget request did (no identifier values)."""

    request_id: str
    member_keys: tuple[str, ...]
    resumed: bool = False
    suppressed: int = 0
    removals: list[SyncRemoval] = field(default_factory=list)
    erased: dict[str, int] = field(default_factory=dict)
    done: bool = False
    already_forgotten: bool = False

    @property
    def pending(self) -> list[SyncRemoval]:
        return [r for r in self.removals if r.status not in ("success", "erased")]


class ForgetRunner(SyncRunner):
    """A sync runner that removes given members (not a snapshot's leavers) through the sync's remove path."""

    def remove(self, pending: list[PendingMember], transition: str) -> SyncResult:
        result = SyncResult(RunCounts(planned_removes=len(pending)), list_ref=None)
        with self.session(result, f"forget run of '{self.sync.name}'"):
            self._remove_page(pending, {m.member_key: transition for m in pending}, transition, result)
            self._finish_upload(result.list_ref, "remove")
        return result


def forget_person(
    engine: sa.Engine,
    config: ProjectConfig,
    query: PersonQuery,
    *,
    log: Callable[[str], None] = lambda message: None,
    sleep: Callable[[float], None] = time.sleep,
) -> ForgetReport:
    """Suppress, remove and erase the members matching ``query`` (resuming an unfinished request for them)."""
    query.check()
    key = suppression_key(why="forget-user")
    typed_keys = identity_keys(query)
    if query.member_key:
        typed_keys.append(f"member_key:{query.member_key.strip()}")
    typed_hashes = sorted({keyed_hash(key, k) for k in typed_keys})
    with engine.begin() as conn:
        earlier = find_request(conn, typed_hashes)
        found = find_member_keys(conn, config, query, everywhere=True)
        resumed = earlier is not None and earlier.status == "running"
        if earlier is not None and not resumed and not found:
            report = ForgetReport(earlier.request_id, earlier.member_keys, already_forgotten=True, done=True)
            report.erased = dict(earlier.erased or {})
            return report
        request_id = earlier.request_id if resumed else f"forget-{uuid.uuid4().hex[:12]}"
        members = sorted(found | set(earlier.member_keys if resumed else ()))
        suppressed_keys = _suppression_keys(conn, typed_keys, members, query.phone_region)
        hashes = {keyed_hash(key, k): k.partition(":")[0] for k in suppressed_keys}
        start_request(conn, request_id, sorted(set(typed_hashes) | set(hashes)), members)
        suppress(conn, request_id, hashes, members)
        save_step(conn, request_id, "suppressed", len(hashes))
        held = int(earlier.steps.get("ledger rows", 0)) if resumed else count_ledger_rows(conn, members)
        save_step(conn, request_id, "ledger rows", held)
    report = ForgetReport(request_id, tuple(members), resumed=resumed, suppressed=len(hashes))
    log(f"{request_id}: {len(members)} member(s); {len(hashes)} keyed hash(es) on the suppression list")
    with engine.connect() as conn:
        holding = ledger_syncs_holding(conn, members) if members else []
    for sync_name in holding:
        removal = _remove_from_sync(engine, config, sync_name, members, request_id, log=log, sleep=sleep)
        report.removals.append(removal)
        with engine.begin() as conn:
            save_step(conn, request_id, f"removed:{sync_name}", {"status": removal.status, "run_id": removal.run_id})
        log(f"{request_id}: {sync_name}: {removal.status}, {removal.removed} removed {removal.message}".rstrip())
    if report.pending:
        return report
    with engine.begin() as conn:
        report.erased = erase_members(conn, members)
        report.erased["ledger rows"] = held  # removed with each destination's acknowledgement, or left over
        save_step(conn, request_id, "erased", report.erased)
        finish_request(conn, request_id, report.erased)
    report.done = True
    return report


def _suppression_keys(conn: sa.Connection, typed_keys: list[str], members: list[str], region: str) -> set[str]:
    """Typed identity keys, the identity keys of the members' snapshot rows (phones in both digit forms) and
    their member keys."""
    keys = set(typed_keys) | {f"member_key:{m}" for m in members}
    for found in identity_keys_of(conn, members):
        kind, _, value = found.partition(":")
        if kind == "phone":
            keys.update(f"phone:{digits}" for digits in phone_digit_forms(value, region))
        keys.add(found)
    return keys


def _remove_from_sync(
    engine: sa.Engine,
    config: ProjectConfig,
    sync_name: str,
    members: list[str],
    request_id: str,
    *,
    log: Callable[[str], None],
    sleep: Callable[[float], None],
) -> SyncRemoval:
    """One forget run for one sync (or, for a sync no longer configured, its ledger rows dropped)."""
    try:
        sync = config.sync(sync_name)
    except KeyError:
        with engine.begin() as conn:
            dropped = drop_ledger_rows(conn, sync_name, members)
        return SyncRemoval(
            sync_name, "?", None, "erased", dropped, "(no longer configured: the destination was not contacted)"
        )
    with engine.connect() as conn:
        rows = ledger_rows(conn, sync_name, members)
    pending = [PendingMember(key, fields, fingerprint) for key, fields, fingerprint, _ in rows]
    run_id = f"{request_id}-{uuid.uuid4().hex[:6]}"
    with engine.begin() as conn:
        start_run(
            conn, run_id=run_id, sync=sync.name, destination=sync.destination, audience=sync.audience, trigger="forget"
        )
    reconcile_abandoned_runs(engine, sync.name, run_id)
    counts = RunCounts(planned_removes=len(pending))
    status, message = "failed", ""
    try:
        result = _remove_members(engine, config, sync, run_id, pending, f"forget:{request_id}", log=log, sleep=sleep)
        counts = result.counts
        status = "partial" if counts.rejected else "success"
        message = f"forget request {request_id}: {counts.accepted} removal(s) acknowledged"
        if counts.rejected:
            message += f", {counts.rejected} refused (rerun forget-user to retry)"
    except SyncFailed as failure:
        counts, message = failure.counts, str(failure)
    except SyncBusyError as busy:
        status, message = "skipped", f"{busy}; rerun forget-user to finish"
    except Exception as error:  # a missing secret, a bad base_url
        message = f"forget run of '{sync.name}' could not start: {describe_error(error)}"
    with engine.begin() as conn:
        finish_run(conn, run_id, status=status, counts=counts, partition_key=None, error_summary=message)
    note = message if status != "success" else ""
    return SyncRemoval(sync.name, sync.destination, run_id, status, counts.accepted, note)


def _remove_members(
    engine: sa.Engine,
    config: ProjectConfig,
    sync: SyncConfig,
    run_id: str,
    pending: list[PendingMember],
    transition: str,
    *,
    log: Callable[[str], None],
    sleep: Callable[[float], None],
) -> SyncResult:
    destination = config.destination(sync.destination)
    platform = destination_type(destination.type).identity_rules(destination)
    client = build_client(destination, log=log, sleep=sleep)
    try:
        return ForgetRunner(engine, sync, client, platform, run_id, log=log).remove(pending, transition)
    finally:
        client.close()
