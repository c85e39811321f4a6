"""GA4 Measurement Protocol client: one ``/mp/collect`` request per member, checked before it is sent.

``/mp/collect`` answers 2xx even when it drops a payload, so the client enforces GA4's limits itself (a member
that would be dropped is a :class:`Rejection`) and, per the ``validate`` setting, sends the same payloads to
``/debug/mp/collect`` first: any validation message fails the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from audience_pipelines.destinations.ga4.payload import MemberRequest, encode, member_request
from audience_pipelines.destinations.ga4.settings import GA4Config
from audience_pipelines.destinations.http import HttpClient, default_classifier
from audience_pipelines.destinations.kit import (
    Batch,
    BatchOutcome,
    DestinationError,
    FailureKind,
    OutboundEvent,
    PlannedRequest,
    Rejection,
)
from audience_pipelines.destinations.settings import read_env
from audience_pipelines.privacy import scrub_pii

COLLECT_PATH = "/mp/collect"
DEBUG_PATH = "/debug/mp/collect"
MASK = "***"
MAX_REPORTED_MESSAGES = 5


@dataclass(frozen=True)
class _Plan:
    """The requests a batch becomes, each with the member it carries, and the members not sent."""

    requests: list[tuple[MemberRequest, PlannedRequest]]
    rejected: list[Rejection]


class GA4Client:
    """Event sync to a GA4 web data stream through the Measurement Protocol."""

    def __init__(
        self,
        config: GA4Config,
        *,
        log: Callable[[str], None] = lambda message: None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        credentials = config.credentials
        self.measurement_id = read_env(config.name, "measurement_id", credentials.measurement_id)
        self._api_secret = read_env(config.name, "api_secret", credentials.api_secret)
        self.clock = clock
        self.platform = f"ga4 '{config.name}'"
        self._validated = False
        self.http = HttpClient.for_destination(
            config,
            config.resolved_base_url(),
            platform=self.platform,
            classify=self._classify,
            headers={"Content-Type": "application/json"},
            secrets=[self._api_secret],
            log=log,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"GA4Client(name={self.config.name!r}, measurement_id={self.measurement_id!r})"

    @property
    def max_batch_size(self) -> int:
        return self.config.settings.batch_size

    # ------------------------------------------------------------------ planning

    def plan_events(self, batch: Batch) -> list[PlannedRequest]:
        """One ``POST /mp/collect`` per member (the API secret shown as ``***``); refused members have none."""
        return [planned for _, planned in self._plan(batch).requests]

    def _plan(self, batch: Batch) -> _Plan:
        batch.check_size(self.max_batch_size, "GA4")
        now = self.clock()
        planned: list[tuple[MemberRequest, PlannedRequest]] = []
        rejected: list[Rejection] = []
        for (member_key, _), events in _group(batch.events).items():
            request = member_request(member_key, events, audience=batch.audience, sync=batch.sync, now=now)
            if request.body is None:
                reason = request.reason or "invalid"
                rejected.extend(Rejection(member_key, reason, request.message) for _ in events)
                continue
            headers = {"Content-Type": "application/json"}
            planned.append((request, PlannedRequest("events", "POST", self._path(COLLECT_PATH), request.body, headers)))
        return _Plan(planned, rejected)

    def _path(self, path: str) -> str:
        return f"{path}?measurement_id={quote(self.measurement_id, safe='')}&api_secret={MASK}"

    # ------------------------------------------------------------------ sending

    def send_events(self, batch: Batch) -> BatchOutcome:
        """Validate (per the ``validate`` setting), then send each member's request."""
        plan = self._plan(batch)
        if plan.requests and self._should_validate():
            failures = self._validation_failures(plan)
            if failures:
                shown = list(dict.fromkeys(failures))[:MAX_REPORTED_MESSAGES]
                raise DestinationError(
                    FailureKind.PERMANENT,
                    f"{self.platform}: the GA4 validation server refused {len(failures)} field(s): " + "; ".join(shown),
                    code="validation_failed",
                )
            self._validated = True
        accepted = 0
        for request, planned in plan.requests:
            self._send(planned)
            accepted += request.events
        return BatchOutcome(accepted=accepted, rejected=plan.rejected)

    def validate_events(self, batch: Batch) -> list[str]:
        """Every problem with this batch: members the client would not send, then validation-server messages."""
        plan = self._plan(batch)
        problems = [f"member {r.member_key}: {r.reason}: {r.message}" for r in plan.rejected]
        for request, planned in plan.requests:
            for message in self._validate(planned):
                detail = scrub_pii(str(message.get("description", "")))
                problems.append(f"member {request.member_key}: {_field(message)}: {detail}")
        return problems

    def _should_validate(self) -> bool:
        mode = self.config.settings.validation
        return mode == "every_batch" or (mode == "first_batch" and not self._validated)

    def _validation_failures(self, plan: _Plan) -> list[str]:
        return [_field(message) for _, planned in plan.requests for message in self._validate(planned)]

    def _validate(self, planned: PlannedRequest) -> list[dict[str, Any]]:
        """The validation server's messages for one planned request."""
        response = self._post(DEBUG_PATH, planned.body)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        messages = answer.get("validationMessages") if isinstance(answer, dict) else None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            kind = response.headers.get("Content-Type", "no content type")
            raise DestinationError(
                FailureKind.PERMANENT,
                f"{self.platform}: the validation server answered HTTP {response.status_code} ({kind}) "
                "without validationMessages",
                status=response.status_code,
            )
        return messages

    def _send(self, planned: PlannedRequest) -> None:
        self._post(planned.path.partition("?")[0], planned.body)

    def _post(self, path: str, body: Any) -> requests.Response:
        params = {"measurement_id": self.measurement_id, "api_secret": self._api_secret}
        return self.http.request("POST", path, params=params, data=encode(body))

    def _classify(self, response: requests.Response) -> DestinationError | None:
        if response.status_code in (401, 403):
            credentials = self.config.credentials
            return DestinationError(
                FailureKind.AUTHENTICATION,
                f"{self.platform}: GA4 refused the measurement id or API secret (HTTP {response.status_code}); "
                f"check ${credentials.measurement_id} and ${credentials.api_secret}",
                status=response.status_code,
            )
        return default_classifier(response)

    def close(self) -> None:
        self.http.close()


def _group(events: Sequence[OutboundEvent]) -> dict[tuple[str, int], list[OutboundEvent]]:
    """Events by member and timestamp, in batch order (a request carries one user and one timestamp)."""
    groups: dict[tuple[str, int], list[OutboundEvent]] = {}
    for event in events:
        groups.setdefault((event.member_key, event.event_time), []).append(event)
    return groups


def _field(message: dict[str, Any]) -> str:
    """A validation message as field path and code: never the description, which may quote values."""
    return f"{message.get('fieldPath') or '(body)'} ({message.get('validationCode') or 'UNKNOWN'})"
