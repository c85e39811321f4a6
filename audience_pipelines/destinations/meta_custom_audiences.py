"""Meta customer-file Custom Audiences: list sync through ``/{audience_id}/users`` (POST adds, DELETE removes).

Values arrive normalized and hashed by the identity layer (EXTERN_ID and MADID raw); this module builds
the multi-key payload, at most 10,000 rows a request, and maps ``invalid_entry_samples`` back to members.
"""

from __future__ import annotations

from typing import ClassVar

from audience_pipelines.config.destinations import META_CUSTOMER_FILE_FIELDS
from audience_pipelines.destinations.base import (
    Batch,
    BatchOutcome,
    DestinationError,
    FailureKind,
    ListRef,
    ListTarget,
    Rejection,
)
from audience_pipelines.destinations.meta_graph import MetaGraphDestination
from audience_pipelines.privacy import scrub_pii

MAX_ROWS = 10_000


class MetaCustomAudiences(MetaGraphDestination):
    """List sync to a Meta customer-file custom audience."""

    type_name: ClassVar[str] = "meta_custom_audiences"
    supports_lists: ClassVar[bool] = True
    supports_events: ClassVar[bool] = False

    @property
    def max_batch_size(self) -> int:
        return min(self.config.settings.batch_size, MAX_ROWS)

    def ensure_list(self, target: ListTarget) -> ListRef:
        if target.list_id:
            found = self.http.request("GET", target.list_id, params={"fields": "id,name"}).json()
            return self._ref(found["id"], found.get("name", target.list_id))
        account = self.config.settings.account
        path, params = f"{account}/customaudiences", {"fields": "id,name", "limit": 100}
        while path:
            page = self.http.request("GET", path, params=params).json()
            for audience in page.get("data", []):
                if audience.get("name") == target.name:
                    return self._ref(audience["id"], audience["name"])
            path, params = (page.get("paging") or {}).get("next"), None
        created = self.http.request(
            "POST",
            f"{account}/customaudiences",
            json={
                "name": target.name,
                "subtype": "CUSTOM",
                "description": target.description or f"Synced by Audience Pipelines ({target.name})",
                "customer_file_source": self.config.settings.customer_file_source,
            },
        ).json()
        return self._ref(created["id"], target.name)

    def _ref(self, audience_id: str, name: str) -> ListRef:
        account = self.config.settings.account.removeprefix("act_")
        url = f"https://business.facebook.com/adsmanager/audiences?act={account}&ids={audience_id}"
        return ListRef(id=str(audience_id), name=name, url=url)

    def add_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        return self._users("POST", target, batch)

    def remove_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        try:
            return self._users("DELETE", target, batch)
        except DestinationError as error:
            message = error.message.lower()
            if error.kind is FailureKind.PERMANENT and ("too small" in message or "size too low" in message):
                raise DestinationError(
                    FailureKind.PERMANENT,
                    f"Meta refused the removal because the audience would become too small: {error.message}",
                    status=error.status,
                    code="audience_too_small",
                ) from None
            raise

    def send_events(self, batch: Batch) -> BatchOutcome:
        raise DestinationError(FailureKind.PERMANENT, "meta_custom_audiences does not accept events")

    def _users(self, method: str, target: ListRef, batch: Batch) -> BatchOutcome:
        if len(batch.members) > self.max_batch_size:
            raise ValueError(f"batch of {len(batch.members)} rows exceeds Meta's limit of {self.max_batch_size}")
        present = {field for member in batch.members for field in member.fields}
        schema = [field for field in META_CUSTOMER_FILE_FIELDS if field in present]
        data = [[member.fields.get(field, "") for field in schema] for member in batch.members]
        answer = self.http.request(
            method, f"{target.id}/users", json={"payload": {"schema": schema, "data": data}}
        ).json()
        return _outcome(answer, batch)


def _outcome(answer: dict, batch: Batch) -> BatchOutcome:
    """Accepted rows, and rejected ones mapped back to members through the sampled values."""
    invalid = int(answer.get("num_invalid_entries") or 0)
    samples = answer.get("invalid_entry_samples") or {}
    owners = {value: m.member_key for m in batch.members for value in m.fields.values() if value}
    rejected = []
    seen: set[str] = set()
    for value, reason in samples.items():
        key = owners.get(value)
        if key and key not in seen:
            seen.add(key)
            rejected.append(Rejection(key, "invalid_entry", scrub_pii(str(reason)).replace(value, "<value>")))
    unattributed = max(invalid - len(rejected), 0)
    rejected += [
        Rejection(None, "invalid_entry", "Meta reported an invalid entry without a sample") for _ in range(unattributed)
    ]
    return BatchOutcome(accepted=len(batch.members) - len(rejected), rejected=rejected)
