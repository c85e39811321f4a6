"""Mailchimp client: one audience (``settings.list_id``); a sync's list is a tag (static segment) in it.

Adding a batch upserts the members (batch subscribe/update with merge fields), then tags the ones Mailchimp
took; removing untags them (and, with ``removal: unsubscribe``, unsubscribes them). Members are never
deleted or archived. Requests go one at a time (never near the 10 simultaneous connections Mailchimp allows),
paced by a client-side rate limiter.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from audience_pipelines.destinations.http import HttpClient, RateLimiter, json_object
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
from audience_pipelines.destinations.mailchimp import payloads
from audience_pipelines.destinations.mailchimp.errors import Failures, classifier, segment_failures, subscribe_failures
from audience_pipelines.destinations.mailchimp.settings import MailchimpConfig, data_center
from audience_pipelines.destinations.settings import read_env

PAGE = 1000  # segments per page when finding a tag by name


@dataclass
class _Plan:
    """A batch grouped by email: what each request carries and which member keys each email stands for."""

    keys: dict[str, list[str]] = field(default_factory=dict)  # email -> member keys (in batch order)
    merge: dict[str, dict[str, str]] = field(default_factory=dict)  # email -> merge fields
    unusable: list[Rejection] = field(default_factory=list)


class MailchimpClient:
    """Tags (static segments) of one Mailchimp audience (``ListClient``)."""

    def __init__(
        self,
        config: MailchimpConfig,
        *,
        log: Callable[[str], None] = lambda message: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.settings = config.settings
        self.log = log
        variable = config.credentials.api_key
        key = read_env(config.name, "api_key", variable)
        basic = base64.b64encode(f"audience-pipelines:{key}".encode()).decode()
        self._platform = f"mailchimp '{config.name}'"
        self.http = HttpClient.for_destination(
            config,
            config.api_root(data_center(key, config.name, variable)),
            platform=self._platform,
            classify=classifier(variable),
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
            secrets=[key, basic],
            log=log,
            sleep=sleep,
            rate_limiter=RateLimiter(self.settings.requests_per_second),
        )

    @property
    def max_batch_size(self) -> int:
        return self.settings.batch_size

    @property
    def _list_path(self) -> str:
        return f"/lists/{self.settings.list_id}"

    # ------------------------------------------------------------------ tags

    def ensure_list(self, target: ListTarget) -> ListRef:
        """The static segment by id, or the one named ``target.name`` (created empty when absent)."""
        if target.list_id:
            segment = json_object(self._send("GET", f"{self._list_path}/segments/{target.list_id}"), self._platform)
            return self._ref(segment)
        if not target.name:
            raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: a list target needs a list_id or a name")
        found = self._find(target.name)
        return found if found is not None else self._create(target.name)

    def _find(self, name: str) -> ListRef | None:
        offset = 0
        while True:
            params = {"type": "static", "count": str(PAGE), "offset": str(offset)}
            answer = json_object(self._send("GET", f"{self._list_path}/segments", params=params), self._platform)
            segments, total = answer.get("segments"), answer.get("total_items")
            if not isinstance(segments, list) or type(total) is not int:
                raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: malformed segments answer")
            for segment in segments:
                if isinstance(segment, dict) and segment.get("name") == name:
                    return self._ref(segment)
            offset += len(segments)
            if not segments or offset >= total:
                return None

    def _create(self, name: str) -> ListRef:
        try:
            response = self._send("POST", f"{self._list_path}/segments", body=payloads.create_segment_body(name))
        except DestinationError as error:
            if error.status == 400 and (raced := self._find(name)) is not None:
                return raced  # another run created it between our find and our create
            raise
        ref = self._ref(json_object(response, self._platform))
        self.log(
            f"{self._platform}: created tag '{name}' (static segment {ref.id}) in audience {self.settings.list_id}"
        )
        return ref

    def _ref(self, segment: dict[str, Any]) -> ListRef:
        number = segment.get("id")
        if isinstance(number, bool) or not isinstance(number, int | str) or not str(number).isdigit():
            raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: a segment answer has no valid id")
        if segment.get("type", "static") != "static":
            raise DestinationError(
                FailureKind.PERMANENT,
                f"{self._platform}: segment {number} is a {segment.get('type')} segment; a sync needs a tag (static)",
            )
        return ListRef(id=str(number), name=str(segment.get("name") or number))

    # ------------------------------------------------------------------ members

    def plan_members(self, operation: Operation, target: ListRef, batch: Batch) -> list[PlannedRequest]:
        plan = self._group(batch)
        emails = list(plan.keys)
        if not emails:
            return []
        if operation == "add":
            return [self._subscribe(operation, plan, emails), self._segment(operation, target, emails)]
        requests_ = [self._segment(operation, target, emails)]
        if self.settings.removal == "unsubscribe":
            requests_.append(self._subscribe(operation, plan, emails))
        return requests_

    def add_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        return self._apply("add", target, batch)

    def remove_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        return self._apply("remove", target, batch)

    def _group(self, batch: Batch) -> _Plan:
        batch.check_size(self.max_batch_size, "mailchimp")
        plan = _Plan()
        for member in batch.members:
            email = (member.fields.get(payloads.EMAIL) or "").strip().lower()
            if not email:
                plan.unusable.append(Rejection(member.member_key, "no_email", f"no {payloads.EMAIL} to send"))
                continue
            merge = payloads.merge_fields(member.fields)
            for tag in merge:
                if problem := payloads.merge_tag_problem(tag):
                    raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: sync field {problem}")
            plan.keys.setdefault(email, []).append(member.member_key)
            plan.merge.setdefault(email, {}).update(merge)
        return plan

    def _subscribe(self, operation: Operation, plan: _Plan, emails: list[str]) -> PlannedRequest:
        if operation == "add":
            body = payloads.subscribe_body(((e, plan.merge[e]) for e in emails), self.settings.status_if_new)
        else:
            body = payloads.subscribe_body(((e, {}) for e in emails), "unsubscribed")
        return PlannedRequest(operation, "POST", self._list_path, body, {"Content-Type": "application/json"})

    def _segment(self, operation: Operation, target: ListRef, emails: list[str]) -> PlannedRequest:
        path = f"{self._list_path}/segments/{target.id}"
        body = payloads.segment_body(operation, emails)
        return PlannedRequest(operation, "POST", path, body, {"Content-Type": "application/json"})

    def _apply(self, operation: Operation, target: ListRef, batch: Batch) -> BatchOutcome:
        if not target.id.isdigit():
            raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: tag id {target.id!r} is not a number")
        plan = self._group(batch)
        pending = list(plan.keys)
        failed: Failures = {}
        steps = ["subscribe", "segment"] if operation == "add" else ["segment"]
        if operation == "remove" and self.settings.removal == "unsubscribe":
            steps.append("subscribe")
        for step in steps:
            if not pending:
                break
            if step == "subscribe":
                planned = self._subscribe(operation, plan, pending)
                check = subscribe_failures
            else:
                planned = self._segment(operation, target, pending)
                check = segment_failures
            answer = json_object(self._send("POST", planned.path, body=planned.body), self._platform)
            failed.update(check(answer, set(pending), self._platform))
            pending = [email for email in pending if email not in failed]
        rejected = [*plan.unusable]
        for email, (reason, message) in failed.items():
            rejected.extend(Rejection(key, reason, message) for key in plan.keys[email])
        return BatchOutcome(accepted=batch.size - len(rejected), rejected=rejected)

    # ------------------------------------------------------------------ transport

    def _send(
        self, method: str, path: str, *, body: Any = None, params: dict[str, str] | None = None
    ) -> requests.Response:
        extra: dict[str, Any] = {"params": params} if params else {}
        if body is not None:
            extra["data"] = json.dumps(body, separators=(",", ":"))
            extra["headers"] = {"Content-Type": "application/json"}
        return self.http.request(method, path, **extra)

    def close(self) -> None:
        self.http.close()
