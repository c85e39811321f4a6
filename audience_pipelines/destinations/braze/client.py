"""Braze client: list membership and mapped traits written to user profiles through ``POST /users/track``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping

from audience_pipelines.destinations.braze import payloads
from audience_pipelines.destinations.braze.errors import classifier, rejections
from audience_pipelines.destinations.braze.settings import BrazeConfig
from audience_pipelines.destinations.http import HttpClient, RateLimiter
from audience_pipelines.destinations.kit import (
    Batch,
    BatchOutcome,
    DestinationError,
    FailureKind,
    ListRef,
    ListTarget,
    Operation,
    PlannedRequest,
    Rejection,
)
from audience_pipelines.destinations.settings import read_env

#: the id ``preview`` gives a list no run has resolved yet (Braze's 'list' is then the target name)
PREVIEW_PLACEHOLDER = "NEW_LIST"


class BrazeClient:
    """Audience membership as a profile attribute (``ListClient``); there is no list object to create."""

    def __init__(
        self,
        config: BrazeConfig,
        *,
        log: Callable[[str], None] = lambda message: None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.settings = config.settings
        variable = config.credentials.api_key
        self.api_key = read_env(config.name, "api_key", variable)
        self.http = HttpClient.for_destination(
            config,
            config.resolved_base_url(),
            platform=f"braze '{config.name}'",
            classify=classifier(variable, clock),
            headers={"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"},
            secrets=[self.api_key],
            log=log,
            sleep=sleep,
            rate_limiter=RateLimiter(self.settings.rate_limit_requests, self.settings.rate_limit_seconds),
        )

    @property
    def max_batch_size(self) -> int:
        return self.settings.batch_size

    def ensure_list(self, target: ListTarget) -> ListRef:
        """The 'list' is a value of the membership attribute (or, in boolean mode, an attribute name): the
        target's id or name, checked locally; nothing is created and no request is sent."""
        name = target.list_id or target.name
        if not name or (problem := payloads.property_problem(name)):
            reason = problem if name else "a list target needs a list_id or a name"
            raise DestinationError(FailureKind.PERMANENT, f"{self.http.platform}: audience name {reason}")
        return ListRef(id=name, name=name)

    def plan_members(self, operation: Operation, target: ListRef, batch: Batch) -> list[PlannedRequest]:
        planned, _, _ = self._plan(operation, target, batch)
        return [planned] if planned is not None else []

    def add_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        return self._send("add", target, batch)

    def remove_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        return self._send("remove", target, batch)

    def _plan(
        self, operation: Operation, target: ListRef, batch: Batch
    ) -> tuple[PlannedRequest | None, list[int], list[Rejection]]:
        """The request, the batch position of each attributes object, and members with no identifier."""
        batch.check_size(self.max_batch_size, "braze")
        name = target.name if target.id == PREVIEW_PLACEHOLDER else target.id
        membership = payloads.membership_value(self.settings.membership, self.settings.attribute, name, operation)
        key = payloads.membership_key(self.config)
        objects, positions, unusable = [], [], []
        for position, member in enumerate(batch.members):
            primary = payloads.primary_identifier(member.fields)
            if primary is None:
                reason = f"no {', '.join(payloads.IDENTIFIERS)} to identify the profile"
                unusable.append(Rejection(member.member_key, "no_usable_identifier", reason))
                continue
            if operation == "add":
                self._check_fields(member.fields, key, name)
            objects.append(payloads.attributes_object(member.fields, primary, operation, membership))
            positions.append(position)
        if not objects:
            return None, positions, unusable
        headers = {"Content-Type": "application/json", "Authorization": "Bearer ***"}
        return (
            PlannedRequest(operation, "POST", payloads.TRACK_PATH, {"attributes": objects}, headers),
            positions,
            unusable,
        )

    def _check_fields(self, fields: Mapping[str, str], key: str | None, name: str) -> None:
        for field in fields:
            if field in payloads.IDENTIFIERS:
                continue
            problem = payloads.field_problem(field, key) or (
                f"'{field}' is the boolean attribute of this audience" if key is None and field == name else None
            )
            if problem:
                raise DestinationError(FailureKind.PERMANENT, f"{self.http.platform}: sync field {problem}")

    def _send(self, operation: Operation, target: ListRef, batch: Batch) -> BatchOutcome:
        planned, positions, unusable = self._plan(operation, target, batch)
        if planned is None:
            return BatchOutcome(accepted=0, rejected=unusable)
        body = json.dumps(planned.body, separators=(",", ":"))
        response = self.http.request("POST", planned.path, data=body, headers={"Content-Type": "application/json"})
        members = [batch.members[p] for p in positions]
        rejected = rejections(
            response, [m.member_key for m in members], [m.fields for m in members], self.http.platform
        )
        return BatchOutcome(accepted=len(members) - len(rejected), rejected=[*unusable, *rejected])

    def close(self) -> None:
        self.http.close()
