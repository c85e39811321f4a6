"""TikTok custom audiences through the Segment API: list sync with ``segment/mapping`` (add | delete).

Each request carries ``advertiser_ids``, ``action``, a positional ``id_schema`` and ``batch_data``: one row per
member, one cell per schema name, ``{"id": <sha256>, "audience_ids": [<id>]}`` or ``{}`` where the member lacks
that identifier. The schema follows ``calculate_type``: ``multiple`` always lists EMAIL_SHA256 and PHONE_SHA256
(plus an advertising id when the batch has one), so it is stable across the batches of a sync; ``single`` lists
the one identifier present. TikTok acknowledges a batch as a whole (no per-row result).

Lists: found by exact name (every page of ``dmp/custom_audience/list``), else created with
``segment/audience`` (``action: create``). TikTok allows duplicate names, so a create must never be repeated:
``ensure_list`` finds before it creates, and the engine records the id it returns before the first batch, so a
crash after the create finds the audience by name (or uses the recorded id) on the next run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from audience_pipelines.destinations.kit import (
    Batch,
    BatchOutcome,
    DestinationError,
    FailureKind,
    ListRef,
    ListTarget,
    Operation,
    OutboundMember,
    PlannedRequest,
    Rejection,
)
from audience_pipelines.destinations.tiktok.api import TikTokApiClient
from audience_pipelines.destinations.tiktok.settings import (
    ADVERTISING_IDS,
    AUDIENCE_FIELDS,
    EMAIL,
    MAX_BATCH_SIZE,
    PHONE,
    TikTokAudiencesConfig,
)

PAGE_SIZE = 100
MAX_PAGES = 1_000
MAX_NAME_LENGTH = 128
ACTIONS = {"add": "add", "remove": "delete"}


def id_schema(calculate_type: str, members: Sequence[OutboundMember]) -> list[str]:
    """The positional schema of a batch under ``calculate_type`` (see the module docstring)."""
    present = {name for member in members for name, value in member.fields.items() if value}
    unknown = sorted(present - set(AUDIENCE_FIELDS))
    if unknown:
        raise DestinationError(
            FailureKind.PERMANENT,
            f"TikTok audiences have no identifier(s) {', '.join(unknown)} (allowed: {', '.join(AUDIENCE_FIELDS)})",
        )
    if calculate_type == "multiple":
        advertising = [name for name in ADVERTISING_IDS if name in present]
        if len(advertising) > 1:
            raise DestinationError(
                FailureKind.PERMANENT,
                f"calculate_type 'multiple' takes one advertising id; the batch has {', '.join(advertising)}",
            )
        return [EMAIL, PHONE, *advertising]
    schema = [name for name in AUDIENCE_FIELDS if name in present]
    if len(schema) > 1 or not set(schema) <= {EMAIL, PHONE}:
        raise DestinationError(
            FailureKind.PERMANENT,
            f"calculate_type 'single' sends exactly one of {EMAIL} or {PHONE}; the batch has "
            f"{', '.join(schema)}; map one identifier or set calculate_type: multiple",
        )
    return schema or [EMAIL]


def member_row(schema: Sequence[str], member: OutboundMember, audience_id: str) -> list[dict[str, Any]]:
    """One ``batch_data`` row: a cell per schema name, ``{}`` where the member has no value."""
    return [
        {"id": str(member.fields[name]), "audience_ids": [audience_id]} if member.fields.get(name) else {}
        for name in schema
    ]


class TikTokAudiencesClient(TikTokApiClient):
    """List sync to TikTok custom audiences of one advertiser."""

    config: TikTokAudiencesConfig

    @property
    def max_batch_size(self) -> int:
        return min(self.config.settings.batch_size, MAX_BATCH_SIZE)

    @property
    def advertiser_id(self) -> str:
        return self.config.settings.advertiser_id

    # ------------------------------------------------------------------ lists

    def ensure_list(self, target: ListTarget) -> ListRef:
        """Read the audience by id, or find it by exact name (every page), creating it only when absent.

        Find-then-create: TikTok allows duplicate names, so a second call after a crash between the create
        and the first batch finds the audience instead of creating another.
        """
        if target.list_id:
            return self._get_audience(target.list_id)
        if not target.name:
            raise DestinationError(FailureKind.PERMANENT, f"{self.platform}: a list target needs a list_id or a name")
        if len(target.name) > MAX_NAME_LENGTH:
            message = f"{self.platform}: audience names are at most {MAX_NAME_LENGTH} characters"
            raise DestinationError(FailureKind.PERMANENT, message)
        return self._find_by_name(target.name) or self._create_audience(target.name)

    def _get_audience(self, audience_id: str) -> ListRef:
        self._require_numeric(audience_id)
        params = {"advertiser_id": self.advertiser_id, "custom_audience_ids": json.dumps([audience_id])}
        data = self.call("GET", "dmp/custom_audience/get", params=params)
        for item in data.get("list") or []:
            details = item.get("audience_details", item) if isinstance(item, dict) else {}
            if isinstance(details, dict) and str(details.get("audience_id")) == audience_id:
                return ListRef(audience_id, str(details.get("name") or audience_id))
        message = f"{self.platform}: advertiser {self.advertiser_id} has no custom audience {audience_id}"
        raise DestinationError(FailureKind.PERMANENT, message)

    def _find_by_name(self, name: str) -> ListRef | None:
        """Every audience named ``name``; with duplicates, the oldest (lowest id) and a log line."""
        found: list[str] = []
        page = 1
        while page <= MAX_PAGES:
            params = {"advertiser_id": self.advertiser_id, "page": page, "page_size": PAGE_SIZE}
            data = self.call("GET", "dmp/custom_audience/list", params=params)
            for audience in data.get("list") or []:
                if isinstance(audience, dict) and audience.get("name") == name and audience.get("audience_id"):
                    found.append(str(audience["audience_id"]))
            total = (data.get("page_info") or {}).get("total_page")
            if not isinstance(total, int) or page >= total:
                break
            page += 1
        if not found:
            return None
        chosen = min(found, key=lambda audience_id: (len(audience_id), audience_id))
        if len(found) > 1:
            self.log(f"{self.platform}: {len(found)} custom audiences are named '{name}'; using {chosen}")
        return ListRef(chosen, name)

    def _create_audience(self, name: str) -> ListRef:
        body = {"custom_audience_name": name, "advertiser_id": self.advertiser_id, "action": "create"}
        data = self.call("POST", "segment/audience", json=body)
        audience_id = data.get("audience_id")
        if not audience_id:
            raise DestinationError(FailureKind.PERMANENT, f"{self.platform}: TikTok created an audience without an id")
        self.log(f"{self.platform}: created custom audience '{name}' ({audience_id})")
        return ListRef(str(audience_id), name)

    def delete_list(self, target: ListRef) -> None:
        """``POST dmp/custom_audience/delete`` for this audience."""
        self._require_numeric(target.id)
        body = {"advertiser_id": self.advertiser_id, "custom_audience_ids": [target.id]}
        self.call("POST", "dmp/custom_audience/delete", json=body)
        self.log(f"{self.platform}: deleted custom audience '{target.name}' ({target.id})")

    def _require_numeric(self, audience_id: str) -> None:
        if not audience_id.isdigit():
            message = f"{self.platform}: audience id {audience_id!r} is not numeric"
            raise DestinationError(FailureKind.PERMANENT, message)

    # ------------------------------------------------------------------ members

    def plan_members(self, operation: Operation, target: ListRef, batch: Batch) -> list[PlannedRequest]:
        """``POST segment/mapping`` with ``action`` add | delete; members without any identifier are left out."""
        members = list(batch.members)
        batch.check_size(self.max_batch_size, "TikTok")
        schema = id_schema(self.config.settings.calculate_type, members)
        rows = [member_row(schema, member, target.id) for member in members]
        body = {
            "advertiser_ids": [self.advertiser_id],
            "action": ACTIONS[operation],
            "id_schema": schema,
            "batch_data": [row for row in rows if any(row)],
        }
        return [PlannedRequest(operation, "POST", self.path("segment/mapping"), body)]

    def add_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        return self._mapping("add", target, batch)

    def remove_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        return self._mapping("remove", target, batch)

    def _mapping(self, operation: Operation, target: ListRef, batch: Batch) -> BatchOutcome:
        self._require_numeric(target.id)
        planned = self.plan_members(operation, target, batch)[0]
        schema = planned.body["id_schema"]
        rejected = [
            Rejection(m.member_key, "no_identifier", f"no value for any of {', '.join(schema)}")
            for m in batch.members
            if not any(m.fields.get(name) for name in schema)
        ]
        sent = len(batch.members) - len(rejected)
        if sent:
            self.call("POST", "segment/mapping", json=planned.body)
        return BatchOutcome(accepted=sent, rejected=rejected)
