"""HubSpot client: a MANUAL contact list found, created or deleted; contacts upserted by email, then added to
or removed from the list by record id."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from audience_pipelines.destinations.http import HttpClient, RateLimiter, json_object
from audience_pipelines.destinations.hubspot import payloads
from audience_pipelines.destinations.hubspot.errors import DUPLICATE_LIST, batch_parts, classifier, code
from audience_pipelines.destinations.hubspot.settings import HubSpotConfig
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
from audience_pipelines.destinations.settings import read_env
from audience_pipelines.privacy import scrub_values

#: list types whose membership the API may change (DYNAMIC lists follow their filters)
WRITABLE = ("MANUAL", "SNAPSHOT")
NOT_FOUND = "OBJECT_NOT_FOUND"


def pacer(limit: int) -> RateLimiter:
    """At most ``limit`` requests in any 10 s: a burst of a tenth, the rest spread evenly."""
    burst = max(1, limit // 10)
    return RateLimiter(limit - burst, per=10.0, burst=burst)


class HubSpotClient:
    """Contact lists of one HubSpot account (``ListClient``, ``ListDeletion``)."""

    def __init__(
        self,
        config: HubSpotConfig,
        *,
        log: Callable[[str], None] = lambda message: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.log = log
        variable = config.credentials.access_token
        self.token = read_env(config.name, "access_token", variable)
        self.platform = f"hubspot '{config.name}'"
        self._checked: set[str] = set()
        self.http = HttpClient.for_destination(
            config,
            config.resolved_base_url(),
            platform=self.platform,
            classify=classifier(variable),
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
            secrets=[self.token],
            log=log,
            sleep=sleep,
            rate_limiter=pacer(config.settings.requests_per_10_seconds),
        )

    @property
    def max_batch_size(self) -> int:
        return self.config.settings.batch_size

    # ------------------------------------------------------------------ lists

    def ensure_list(self, target: ListTarget) -> ListRef:
        """Read the list by id, or find it by name, creating a MANUAL contact list when there is none."""
        if target.list_id:
            if not target.list_id.isdigit():
                raise DestinationError(
                    FailureKind.PERMANENT, f"{self.platform}: a HubSpot list id is a number (ILS id)"
                )
            return self._ref(self._get(f"{payloads.LISTS}/{target.list_id}"))
        if not target.name:
            raise DestinationError(FailureKind.PERMANENT, f"{self.platform}: a list target needs a list_id or a name")
        found = self._find(target.name)
        return found if found is not None else self._create(target.name)

    def _find(self, name: str) -> ListRef | None:
        try:
            return self._ref(self._get(payloads.by_name_path(name)))
        except DestinationError as error:
            if error.status == 404:
                return None
            raise

    def _create(self, name: str) -> ListRef:
        try:
            response = self.http.request("POST", payloads.LISTS, json=payloads.create_list_body(name))
        except DestinationError as error:  # another run created it between our lookup and our create
            if error.code == DUPLICATE_LIST and (raced := self._find(name)) is not None:
                return raced
            raise
        ref = self._ref(json_object(response, self.platform))
        self.log(f"{self.platform}: created MANUAL contact list {ref.id} '{ref.name}'")
        return ref

    def _get(self, path: str) -> dict[str, Any]:
        return json_object(self.http.request("GET", path), self.platform)

    def _ref(self, answer: Mapping[str, Any]) -> ListRef:
        found = answer.get("list")
        found = found if isinstance(found, dict) else {}
        list_id = str(found.get("listId", ""))
        if not list_id.isdigit():
            raise DestinationError(FailureKind.PERMANENT, f"{self.platform}: a list answer without a listId")
        if found.get("objectTypeId") != payloads.CONTACTS:
            raise DestinationError(
                FailureKind.PERMANENT, f"{self.platform}: list {list_id} is not a contact list (objectTypeId 0-1)"
            )
        if found.get("processingType") not in WRITABLE:
            raise DestinationError(
                FailureKind.PERMANENT,
                f"{self.platform}: list {list_id} is a {found.get('processingType')} list; HubSpot lets the API "
                "change members of MANUAL (static) or SNAPSHOT lists only",
            )
        return ListRef(id=list_id, name=str(found.get("name") or list_id))

    def delete_list(self, target: ListRef) -> None:
        """``DELETE /crm/v3/lists/{listId}`` (HubSpot keeps it restorable for a while; the contacts stay)."""
        self.http.request("DELETE", f"{payloads.LISTS}/{target.id}")
        self.log(f"{self.platform}: deleted list {target.id}")

    # ------------------------------------------------------------------ members

    def plan_members(self, operation: Operation, target: ListRef, batch: Batch) -> list[PlannedRequest]:
        """The contacts request, then the membership request (record ids known only once the first answers)."""
        contacts, _, _ = self._plan_contacts(operation, batch)
        if contacts is None:
            return []
        return [contacts, self._membership(operation, target, [payloads.RECORD_IDS_PLACEHOLDER])]

    def add_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        return self._apply("add", target, batch)

    def remove_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        return self._apply("remove", target, batch)

    def _plan_contacts(
        self, operation: Operation, batch: Batch
    ) -> tuple[PlannedRequest | None, dict[str, list[OutboundMember]], list[Rejection]]:
        """The upsert (add) or read (remove) request, members by email, and members without an email."""
        batch.check_size(self.max_batch_size, "hubspot")
        by_email: dict[str, list[OutboundMember]] = {}
        profiles: dict[str, dict[str, str]] = {}
        unusable: list[Rejection] = []
        for member in batch.members:
            email = (member.fields.get(payloads.EMAIL) or "").strip().lower()
            if not email:
                unusable.append(Rejection(member.member_key, "no_email", "HubSpot matches contacts by email"))
                continue
            by_email.setdefault(email, []).append(member)
            if operation == "add":
                self._check_properties(member.fields)
                profiles[email] = {k: v for k, v in member.fields.items() if k != payloads.EMAIL}
        if not by_email:
            return None, by_email, unusable
        if operation == "add":
            planned = PlannedRequest("add", "POST", payloads.UPSERT, payloads.upsert_body(profiles), _JSON)
        else:
            planned = PlannedRequest("remove", "POST", payloads.READ, payloads.read_body(by_email), _JSON)
        return planned, by_email, unusable

    def _check_properties(self, fields: Mapping[str, str]) -> None:
        for name in fields.keys() - self._checked:
            if (problem := payloads.property_problem(name)) is not None:
                raise DestinationError(FailureKind.PERMANENT, f"{self.platform}: sync field {problem}")
            self._checked.add(name)

    def _membership(self, operation: Operation, target: ListRef, record_ids: list[str]) -> PlannedRequest:
        return PlannedRequest(operation, "PUT", payloads.membership_path(target.id, operation), record_ids, _JSON)

    def _apply(self, operation: Operation, target: ListRef, batch: Batch) -> BatchOutcome:
        planned, by_email, rejected = self._plan_contacts(operation, batch)
        if planned is None:
            return BatchOutcome(accepted=0, rejected=rejected)
        response = self._send(planned)
        answer = json_object(response, self.platform)
        found, error_for = batch_parts(answer, response.status_code, list(by_email), self.platform)
        for email, members in by_email.items():
            if email in found:
                continue
            error = error_for(email)
            if operation == "remove" and error.get("category") == NOT_FOUND:
                continue  # no such contact: it is in no list, so the removal holds
            reason = code(error.get("category"), "not_upserted")
            message = str(error.get("message") or "HubSpot returned no record for this contact")
            rejected.extend(Rejection(m.member_key, reason, scrub_values(message, m.fields)[:300]) for m in members)
        if found:
            rejected.extend(self._change(operation, target, found, by_email))
        return BatchOutcome(accepted=batch.size - len(rejected), rejected=rejected)

    def _change(
        self, operation: Operation, target: ListRef, found: dict[str, str], by_email: dict[str, list[OutboundMember]]
    ) -> list[Rejection]:
        """PUT the record ids; a record HubSpot reports missing (deleted or merged since) rejects its members."""
        ids = sorted(set(found.values()), key=int)
        response = self._send(self._membership(operation, target, ids))
        answer = json_object(response, self.platform)
        changed, missing = answer.get(payloads.MEMBERSHIP_KEYS[operation]), answer.get("recordIdsMissing", [])
        if not _id_list(changed) or not _id_list(missing) or not {str(i) for i in [*changed, *missing]} <= set(ids):
            raise DestinationError(
                FailureKind.PERMANENT,
                f"{self.platform}: not the documented membership answer ({payloads.MEMBERSHIP_KEYS[operation]}, "
                "recordIdsMissing) for the record ids sent; nothing was assumed applied",
                status=response.status_code,
            )
        if operation == "remove":
            return []  # a missing record is in no list: the removal holds
        gone = {str(i) for i in missing}
        return [
            Rejection(m.member_key, "record_missing", "HubSpot reports the contact record missing (deleted or merged)")
            for email, record in found.items()
            if record in gone
            for m in by_email[email]
        ]

    def _send(self, planned: PlannedRequest) -> requests.Response:
        return self.http.request(planned.method, planned.path, json=planned.body)

    def close(self) -> None:
        self.http.close()


_JSON = {"Content-Type": "application/json"}


def _id_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(i, str | int) and str(i).isdigit() for i in value)


__all__ = ["HubSpotClient"]
