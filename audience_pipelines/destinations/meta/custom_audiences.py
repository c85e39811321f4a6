"""Meta customer-file Custom Audiences: list sync through ``/{audience_id}/users`` (POST adds, DELETE removes).

Values arrive normalized and hashed by the identity layer (EXTERN_ID and MADID raw) and are sent as they
are. Each request carries a multi-key ``{"payload": {"schema": [...], "data": [[...]]}}`` whose schema is
the fields present in the batch, in the canonical order of :data:`CUSTOMER_FILE_FIELDS` (so it is
stable across the batches of one sync), with ``""`` where a member lacks a field; at most 10,000 rows.

Partial failure comes back only as counts plus ``invalid_entry_samples`` (sampled value -> reason). Samples
are mapped back to members by value; each invalid row no sample points to becomes its own
``Rejection(None, "invalid_entry", ...)``, so ``accepted + len(rejected)`` is always the batch size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from audience_pipelines.destinations.kit import (
    Batch,
    BatchOutcome,
    DestinationError,
    FailureKind,
    ListRef,
    ListTarget,
    MatchReport,
    Operation,
    OutboundMember,
    PlannedRequest,
    Rejection,
)
from audience_pipelines.destinations.meta.graph import MetaGraphClient, json_body
from audience_pipelines.destinations.meta.settings import CUSTOMER_FILE_FIELDS, MetaCustomAudiencesConfig
from audience_pipelines.privacy import scrub_pii

MAX_ROWS = 10_000
AUDIENCE_FIELDS = "id,name"
#: the custom audience's matched-size bounds (Meta gives a range, never an exact count)
SIZE_FIELDS = "approximate_count_lower_bound,approximate_count_upper_bound"
#: Wording of Meta's refusal to shrink an audience below its minimum size. UNCONFIRMED: quoted by
#: grouparoo#1108 and braze-docs#9623 ("Audience Size too low"), not seen in a Meta reference.
TOO_SMALL_MARKERS = ("too small", "size too low")


def payload_schema(members: Sequence[OutboundMember]) -> list[str]:
    """Fields present in any member, in canonical order; an unknown field is a programming error."""
    present = {name for member in members for name in member.fields}
    unknown = sorted(present - set(CUSTOMER_FILE_FIELDS))
    if unknown:
        raise ValueError(f"Meta customer files have no field(s) {', '.join(unknown)}")
    return [name for name in CUSTOMER_FILE_FIELDS if name in present]


def payload_rows(schema: Sequence[str], members: Sequence[OutboundMember]) -> list[list[str]]:
    """One row per member in schema order, ``""`` for a missing field."""
    return [[str(member.fields.get(name) or "") for name in schema] for member in members]


def value_index(members: Sequence[OutboundMember], rows: Sequence[Sequence[str]]) -> dict[str, list[str]]:
    """Each value sent (and each whole row as JSON, in case Meta samples a row) -> member keys, in order."""
    index: dict[str, list[str]] = {}
    for member, row in zip(members, rows, strict=True):
        for value in {*row, json.dumps(list(row))} - {""}:
            index.setdefault(value, []).append(member.member_key)
    return index


def reason_without_value(reason: Any, value: str) -> str:
    """Meta's reason for a sample with the sampled value (and any PII-looking text) removed."""
    text = str(reason or "invalid entry")
    return scrub_pii(text.replace(value, "<value>") if value else text)


def invalid_entry_rejections(
    samples: Any, invalid: int, members: Sequence[OutboundMember], rows: Sequence[Sequence[str]]
) -> list[Rejection]:
    """Exactly ``invalid`` rejections: members a sample points to by key, the rest without one."""
    if invalid <= 0:
        return []
    if isinstance(samples, list):
        samples = dict.fromkeys(map(str, samples), "")
    index = value_index(members, rows)
    rejected: dict[str, Rejection] = {}
    for value, reason in (samples if isinstance(samples, Mapping) else {}).items():
        for key in index.get(str(value), []):
            if len(rejected) < invalid and key not in rejected:
                message = f"Meta: {reason_without_value(reason, str(value))}"
                rejected[key] = Rejection(key, "invalid_entry", message)
    message = f"Meta reported an invalid entry without a sample ({invalid} invalid, {len(rejected)} sampled)"
    return [*rejected.values(), *[Rejection(None, "invalid_entry", message)] * (invalid - len(rejected))]


def upload_outcome(answer: Mapping[str, Any], members: Sequence[OutboundMember], rows: list[list[str]]) -> BatchOutcome:
    """Accepted rows and rejections from a ``/users`` answer (``num_received``, ``num_invalid_entries``).

    Counts that are missing or do not add up (more received than sent, more invalid than received) are a
    failure, never taken as success.
    """
    size = len(rows)
    received, invalid = answer.get("num_received"), answer.get("num_invalid_entries", 0)
    if not _count(received) or not _count(invalid) or received > size or invalid > received:
        raise DestinationError(
            FailureKind.PERMANENT,
            f"Meta's answer does not add up for a batch of {size} rows (num_received {received!r}, "
            f"num_invalid_entries {invalid!r}); nothing of this batch is recorded as delivered",
        )
    rejected = invalid_entry_rejections(answer.get("invalid_entry_samples"), invalid, members, rows)
    missing = [Rejection(None, "not_received", f"Meta received {received} of {size} rows")] * (size - received)
    return BatchOutcome(accepted=received - invalid, rejected=[*rejected, *missing])


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def size_report(answer: Mapping[str, Any]) -> MatchReport | None:
    """Meta's approximate matched-size bounds; None while Meta has none (absent or negative, as when the
    audience is still being processed) or when they do not make a range."""
    low, high = answer.get("approximate_count_lower_bound"), answer.get("approximate_count_upper_bound")
    if not _count(low) or not _count(high) or low > high:
        return None
    return MatchReport(matched_low=low, matched_high=high)


def is_too_small(error: DestinationError) -> bool:
    """A permanent refusal worded like "the audience would become too small" (unconfirmed wording)."""
    text = error.message.lower()
    return error.kind is FailureKind.PERMANENT and any(marker in text for marker in TOO_SMALL_MARKERS)


class MetaCustomAudiencesClient(MetaGraphClient):
    """List sync to customer-file Custom Audiences of one ad account."""

    config: MetaCustomAudiencesConfig

    @property
    def max_batch_size(self) -> int:
        return min(self.config.settings.batch_size, MAX_ROWS)

    # ------------------------------------------------------------------ lists

    def match_report(self, target: ListRef) -> MatchReport | None:
        """``GET /{audience_id}?fields=approximate_count_lower_bound,approximate_count_upper_bound``."""
        self._require_numeric(target.id)
        answer = json_body(self.http.request("GET", target.id, params={"fields": SIZE_FIELDS}), self.platform)
        return size_report(answer)

    def delete_list(self, target: ListRef) -> None:
        """``DELETE /{audience_id}``; Meta answers ``{"success": true}``."""
        self._require_numeric(target.id)
        answer = json_body(self.http.request("DELETE", target.id), self.platform)
        if answer.get("success") is not True:
            raise DestinationError(FailureKind.PERMANENT, f"{self.platform}: Meta did not confirm the deletion")
        self.log(f"{self.platform}: deleted custom audience {target.id}")

    def ensure_list(self, target: ListTarget) -> ListRef:
        """Read the audience by id, or find it by exact name (every page), creating it when absent."""
        if target.list_id:
            return self._get_audience(target.list_id)
        if not target.name:
            raise DestinationError(FailureKind.PERMANENT, f"{self.platform}: a list target needs a list_id or a name")
        return self._find_by_name(target.name) or self._create_audience(target)

    def _get_audience(self, audience_id: str) -> ListRef:
        self._require_numeric(audience_id)
        response = self.http.request("GET", audience_id, params={"fields": AUDIENCE_FIELDS})
        answer = json_body(response, self.platform)
        return self._ref(str(answer.get("id", audience_id)), str(answer.get("name", audience_id)))

    def _find_by_name(self, name: str) -> ListRef | None:
        """Page with the ``after`` cursor (the token never goes to a URL the server chose)."""
        path = f"{self.config.settings.account}/customaudiences"
        params = {"fields": AUDIENCE_FIELDS}
        while True:
            answer = json_body(self.http.request("GET", path, params=params), self.platform)
            for audience in answer.get("data") or []:
                if isinstance(audience, dict) and audience.get("name") == name and audience.get("id"):
                    return self._ref(str(audience["id"]), name)
            paging = answer.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return None
            params = {"fields": AUDIENCE_FIELDS, "after": after}

    def _create_audience(self, target: ListTarget) -> ListRef:
        body = {
            "name": target.name,
            "subtype": "CUSTOM",
            "description": target.description or f"Synced by Audience Pipelines ({target.name})",
            "customer_file_source": self.config.settings.customer_file_source,
        }
        path = f"{self.config.settings.account}/customaudiences"
        answer = json_body(self.http.request("POST", path, json=body), self.platform)
        if not answer.get("id"):
            raise DestinationError(FailureKind.PERMANENT, f"{self.platform}: Meta created an audience without an id")
        self.log(f"{self.platform}: created custom audience '{target.name}' ({answer['id']})")
        return self._ref(str(answer["id"]), str(target.name))

    def _ref(self, audience_id: str, name: str) -> ListRef:
        digits = self.config.settings.account.removeprefix("act_")
        url = f"https://business.facebook.com/adsmanager/audiences?act={digits}&ids={audience_id}"
        return ListRef(audience_id, name, url)

    def _require_numeric(self, audience_id: str) -> None:
        if not audience_id.isdigit():
            message = f"{self.platform}: audience id {audience_id!r} is not numeric"
            raise DestinationError(FailureKind.PERMANENT, message)

    # ------------------------------------------------------------------ members

    def add_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        """POST the batch to ``/{audience_id}/users``."""
        return self._upload("POST", target, batch)

    def remove_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        """DELETE the batch from ``/{audience_id}/users`` (same body shape as adding)."""
        try:
            return self._upload("DELETE", target, batch)
        except DestinationError as error:
            if not is_too_small(error):
                raise
            raise DestinationError(
                FailureKind.PERMANENT,
                "Meta refused the removal: the audience would become too small; nothing in this batch was "
                f"removed ({error.message})",
                status=error.status,
                code="audience_too_small",
            ) from None

    def plan_members(self, operation: Operation, target: ListRef, batch: Batch) -> list[PlannedRequest]:
        """``POST`` (add) or ``DELETE`` (remove) ``/{audience_id}/users`` with the multi-key payload."""
        members = list(batch.members)
        if len(members) > self.max_batch_size:
            raise ValueError(f"batch of {len(members)} members exceeds Meta's limit of {self.max_batch_size}")
        schema = payload_schema(members)
        body = {"payload": {"schema": schema, "data": payload_rows(schema, members)}}
        method = "POST" if operation == "add" else "DELETE"
        version = self.config.settings.api_version
        return [PlannedRequest(operation, method, f"/{version}/{target.id}/users", body)]

    def _upload(self, method: str, target: ListRef, batch: Batch) -> BatchOutcome:
        if not batch.members:
            return BatchOutcome(accepted=0)
        self._require_numeric(target.id)
        planned = self.plan_members("add" if method == "POST" else "remove", target, batch)[0]
        response = self.http.request(method, f"{target.id}/users", json=planned.body)
        answer = json_body(response, self.platform)
        return upload_outcome(answer, list(batch.members), planned.body["payload"]["data"])
