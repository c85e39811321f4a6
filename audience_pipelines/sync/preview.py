"""Preview: the exact requests the next run of a sync would send, built by the same code, never sent.

The plan is the real one (newest snapshot against the ledger, guards included); the first members of each
operation are read, normalized and hashed as a run would, batched with their stable ids, and handed to the
destination client's ``plan_*`` methods, which the real sends also go through. Nothing is written to the
ledger or run history, and nothing goes over the network (unless the caller asks a client to validate).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from audience_pipelines.config import ProjectConfig, SyncConfig
from audience_pipelines.destinations.kit import (
    Batch,
    DestinationClient,
    EventClient,
    ListClient,
    ListRef,
    PlannedRequest,
)
from audience_pipelines.destinations.registry import build_client, destination_type
from audience_pipelines.identity import PlatformRules
from audience_pipelines.privacy import mask_secrets
from audience_pipelines.sync.outbound import event_batch, member_batch, prepare_members, removal_members
from audience_pipelines.sync.plan import SyncPlan, plan_sync
from audience_pipelines.warehouse.ledger import PendingMember, PendingPage, iter_pending_adds, iter_pending_removes
from audience_pipelines.warehouse.sync_runs import get_state

NEW_LIST = "NEW_LIST"


@dataclass(frozen=True)
class PreviewRequest:
    """One request of the preview, with the members it carries."""

    operation: str
    request: PlannedRequest
    members: int


@dataclass
class Preview:
    """What the next run would do and send."""

    sync: SyncConfig
    destination_type: str
    plan: SyncPlan
    list_ref: ListRef | None = None
    requests: list[PreviewRequest] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    validation: list[str] = field(default_factory=list)
    validated: bool = False
    secrets: list[str] = field(default_factory=list)

    def json_lines(self) -> Iterator[dict[str, Any]]:
        """One JSON-able object per request, secrets masked."""
        for item in self.requests:
            yield self.masked(
                {
                    "sync": self.sync.name,
                    "destination_type": self.destination_type,
                    "operation": item.operation,
                    "method": item.request.method,
                    "path": item.request.path,
                    "headers": dict(item.request.headers),
                    "body": item.request.body,
                }
            )

    def summary_lines(self) -> list[str]:
        """A readable account of the plan and each request (secrets masked)."""
        plan, sync = self.plan, self.sync
        kind = f"{self.destination_type}, {sync.type} sync, {sync.mode}"
        lines = [f"{sync.name}: {sync.audience} -> {sync.destination} ({kind})"]
        if plan.skip_reason:
            return [*lines, f"  nothing to send: {plan.skip_reason}"]
        lines.append(
            f"  plan to snapshot {plan.snapshot.partition_key}: {plan.adds} to add, {plan.removes} to remove, "
            f"{plan.held} held now"
        )
        lines.append(f"  guard: {plan.blocked_reason or 'passes (min_size, max_exit_ratio)'}")
        if self.list_ref is not None:
            where = "found or created by name on the first run" if self.list_ref.id == NEW_LIST else "known"
            lines.append(f"  list: '{self.list_ref.name}' ({self.list_ref.id}, {where})")
        lines.extend(f"  skipped {key}: {reason}" for key, reason in self.skipped.items())
        for item, line in zip(self.requests, self.json_lines(), strict=True):
            lines.append(f"  {item.operation}: {line['method']} {line['path']} ({item.members} member(s))")
            lines.append("    " + json.dumps(line["body"], indent=2, sort_keys=True).replace("\n", "\n    "))
        if self.validation or self.validated:
            lines.append("  validation: " + ("no problems found" if not self.validation else ""))
            lines.extend(f"    {problem}" for problem in self.validation)
        lines.append("  Nothing was sent; the ledger and run history are unchanged.")
        return lines

    def masked(self, value: Any) -> Any:
        """``value`` with every credential value of the destination replaced by ``***``."""
        if isinstance(value, str):
            return mask_secrets(value, self.secrets)
        if isinstance(value, dict):
            return {key: self.masked(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.masked(item) for item in value]
        return value


def preview_sync(
    engine: sa.Engine, config: ProjectConfig, sync_name: str, *, limit: int = 3, validate: bool = False
) -> Preview:
    """Plan the sync and build the requests for its first ``limit`` adds and removes."""
    sync = config.sync(sync_name)
    destination = config.destination(sync.destination)
    kind = destination_type(destination.type)
    plan = plan_sync(engine, config, sync_name)
    preview = Preview(sync, kind.name, plan, secrets=_credential_values(destination))
    if plan.skip_reason or plan.snapshot is None:
        return preview
    client = build_client(destination)
    try:
        if sync.type == "list":
            preview.list_ref = _known_list(engine, sync)
        _preview_adds(engine, preview, client, kind.identity_rules(destination), limit, validate)
        if sync.removes:
            _preview_removes(engine, preview, client, limit, validate)
    finally:
        client.close()
    return preview


def _known_list(engine: sa.Engine, sync: SyncConfig) -> ListRef:
    """The list a run would write to, as far as it is known without asking the platform."""
    with engine.connect() as conn:
        state = get_state(conn, sync.name)
    target = sync.target
    list_id = target.list_id or state.list_id or NEW_LIST
    return ListRef(list_id, state.list_name or target.name or list_id)


def _first_page(pages: Iterator[list[PendingMember]]) -> list[PendingMember]:
    return next(pages, [])


def _first_add_page(pages: Iterator[PendingPage]) -> PendingPage | None:
    return next(pages, None)


def _preview_adds(
    engine: sa.Engine, preview: Preview, client: DestinationClient, platform: PlatformRules, limit: int, validate: bool
) -> None:
    sync, plan = preview.sync, preview.plan
    if not sync.adds:
        return
    events = sync.type == "event"
    columns = [*sync.identifiers, *sync.fields]
    pending = _first_add_page(
        iter_pending_adds(
            engine,
            sync.name,
            plan.snapshot,
            columns,
            sending=True,
            batch_size=limit,
            with_transition=events,
            consent=sync.consent,
        )
    )
    if pending is None:
        return
    prepared = prepare_members(
        pending, sync, platform=platform, operation="add", default_region=sync.default_phone_region
    )
    preview.skipped.update({row.member_key: row.message for row in prepared.skipped if row.member_key})
    if not prepared.members:
        return
    if events:
        default = plan.snapshot.partition_key
        transitions = {
            key: entered or default for key, entered in zip(pending.member_keys, pending.transitions, strict=True)
        }
        batch = event_batch(sync, sync.added_event, prepared.members, transitions, int(time.time()))
        _add_events(preview, client, batch, validate)
    else:
        batch = member_batch(sync, "add", prepared.members, prepared.fingerprints, plan.snapshot.partition_key)
        _add_members(preview, client, "add", batch)


def _preview_removes(
    engine: sa.Engine, preview: Preview, client: DestinationClient, limit: int, validate: bool
) -> None:
    sync, plan = preview.sync, preview.plan
    events = sync.type == "event"
    pending = _first_page(
        iter_pending_removes(
            engine, sync.name, plan.snapshot, batch_size=limit, with_transition=events, consent=sync.consent
        )
    )
    if not pending:
        return
    members = removal_members(pending)
    if events:
        transitions = {m.member_key: m.transition or plan.snapshot.partition_key for m in pending}
        sent_at = int(time.time())
        _add_events(preview, client, event_batch(sync, sync.removed_event, members, transitions, sent_at), validate)
    else:
        fingerprints = [m.source_fingerprint for m in pending]
        _add_members(
            preview, client, "remove", member_batch(sync, "remove", members, fingerprints, plan.snapshot.partition_key)
        )


def _add_members(preview: Preview, client: DestinationClient, operation: str, batch: Batch) -> None:
    assert isinstance(client, ListClient) and preview.list_ref is not None
    for request in client.plan_members(operation, preview.list_ref, batch):
        preview.requests.append(PreviewRequest(operation, request, batch.size))


def _add_events(preview: Preview, client: DestinationClient, batch: Batch, validate: bool) -> None:
    assert isinstance(client, EventClient)
    for request in client.plan_events(batch):
        preview.requests.append(PreviewRequest("events", request, batch.size))
    validator = getattr(client, "validate_events", None)
    if validate and validator is None:
        preview.validation.append(f"{preview.destination_type} has no validation endpoint; nothing was validated")
    elif validate:
        preview.validation.extend(validator(batch))
        preview.validated = True


def _credential_values(destination: Any) -> list[str]:
    """The values of the environment variables a destination's credentials name."""
    credentials = getattr(destination, "credentials", None)
    names = credentials.model_dump().values() if credentials is not None else ()
    return [os.environ[name] for name in names if isinstance(name, str) and os.environ.get(name)]
