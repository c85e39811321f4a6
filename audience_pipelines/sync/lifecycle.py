"""Unlink, relink and delete-list: stopping a sync while keeping or removing what the destination holds.

- **Unlink** stops a sync (planning, the sensor and schedules skip it, saying why) and leaves the destination
  list as it is. The ledger is kept, so a **relink** resumes without re-sending anyone.
- **Delete-list** deletes the list on the platform, where its API allows it, after a confirmation that must
  equal the list's name; the ledger is cleared and the sync stays unlinked until relinked (a later run would
  create a new list). Each is recorded in run history.
- Removing a sync from the configuration leaves the destination's members in place; its ledger and history
  remain in the warehouse.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from audience_pipelines.config import ProjectConfig
from audience_pipelines.destinations.kit import ListDeletion, ListRef
from audience_pipelines.destinations.registry import build_client, destination_type
from audience_pipelines.warehouse.ledger import reset_ledger
from audience_pipelines.warehouse.locks import sync_lock
from audience_pipelines.warehouse.sync_runs import (
    RunCounts,
    finish_run,
    forget_list,
    get_state,
    save_unlinked,
    start_run,
)


class LifecycleError(RuntimeError):
    """An unlink, relink or delete-list that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class LifecycleResult:
    run_id: str
    message: str


def unlink_sync(engine: sa.Engine, config: ProjectConfig, name: str) -> LifecycleResult:
    """Stop the sync, leaving its destination list and its ledger as they are."""
    sync = config.sync(name)
    with engine.connect() as conn:
        state = get_state(conn, name)
    if state.unlinked:
        raise LifecycleError(f"sync '{name}' is already {state.unlinked}")
    message = (
        "unlinked: runs stop; the destination keeps its members"
        + (f" in '{state.list_name}' ({state.list_id})" if state.list_id else "")
        + f"; `audience-pipelines relink {name}` resumes from the ledger"
    )
    with sync_lock(engine, name), engine.begin() as conn:
        save_unlinked(conn, name, "unlinked")
        run_id = _record(conn, sync, "unlink", message)
    return LifecycleResult(run_id, message)


def relink_sync(engine: sa.Engine, config: ProjectConfig, name: str) -> LifecycleResult:
    """Let an unlinked sync run again; what its ledger holds is not sent again."""
    sync = config.sync(name)
    with engine.connect() as conn:
        state = get_state(conn, name)
    if not state.unlinked:
        raise LifecycleError(f"sync '{name}' is not unlinked")
    message = "relinked: the next run resumes from the ledger"
    with sync_lock(engine, name), engine.begin() as conn:
        save_unlinked(conn, name, None)
        run_id = _record(conn, sync, "relink", message)
    return LifecycleResult(run_id, message)


def delete_list(engine: sa.Engine, config: ProjectConfig, name: str, confirm: str) -> LifecycleResult:
    """Delete the sync's list on the platform (confirmed by its exact name), clear the ledger, unlink."""
    sync = config.sync(name)
    destination = config.destination(sync.destination)
    kind = destination_type(destination.type)
    if sync.type != "list":
        raise LifecycleError(f"sync '{name}' is an event sync: it has no list to delete")
    with engine.connect() as conn:
        state = get_state(conn, name)
    if not state.list_id:
        raise LifecycleError(f"sync '{name}' has no {kind.list_noun} yet (it has never run); nothing to delete")
    if confirm != state.list_name:
        raise LifecycleError(
            f"the confirmation must be the {kind.list_noun}'s exact name, '{state.list_name}'; nothing was deleted"
        )
    client = build_client(destination)
    try:
        if not isinstance(client, ListDeletion):
            raise LifecycleError(
                f"{kind.name} has no API to delete a {kind.list_noun}; nothing was deleted (unlink the sync and "
                "remove the list in the platform's own interface)"
            )
        with sync_lock(engine, name):
            client.delete_list(ListRef(state.list_id, state.list_name or "", state.list_url))
            with engine.begin() as conn:
                dropped = reset_ledger(conn, name)
                forget_list(conn, name)
                save_unlinked(conn, name, "unlinked after its list was deleted")
                message = (
                    f"deleted {kind.list_noun} '{state.list_name}' ({state.list_id}) on {destination.name}; "
                    f"forgot {dropped} ledger entries; the sync is unlinked (relink to build a new list)"
                )
                run_id = _record(conn, sync, "delete-list", message)
    finally:
        client.close()
    return LifecycleResult(run_id, message)


def _record(conn: sa.Connection, sync, trigger: str, message: str) -> str:
    run_id = f"{trigger}-{uuid.uuid4().hex[:12]}"
    start_run(
        conn, run_id=run_id, sync=sync.name, destination=sync.destination, audience=sync.audience, trigger=trigger
    )
    finish_run(conn, run_id, status="success", counts=RunCounts(), partition_key=None, error_summary=message)
    return run_id
