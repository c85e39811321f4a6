"""LinkedIn Matched Audiences client: DMP segments found, created or deleted; users added and removed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests

from audience_pipelines.destinations.http import HttpClient, json_object
from audience_pipelines.destinations.kit import (
    Batch,
    BatchOutcome,
    DestinationError,
    FailureKind,
    ListRef,
    ListTarget,
    MatchReport,
    Operation,
    PlannedRequest,
    Rejection,
    usable_members,
)
from audience_pipelines.destinations.linkedin import payloads
from audience_pipelines.destinations.linkedin.errors import DUPLICATE, classifier, element_rejections
from audience_pipelines.destinations.linkedin.settings import LinkedInConfig
from audience_pipelines.destinations.oauth import AccessTokens

#: a 404 on a segment this client created less than this long ago is retried (LinkedIn asks for ~5 s)
FRESH_SECONDS = 120.0
ID_HEADERS = ("x-linkedin-id", "x-restli-id")


class LinkedInClient:
    """DMP segments of one ad account (``ListClient``, ``ListDeletion``)."""

    def __init__(
        self,
        config: LinkedInConfig,
        *,
        log: Callable[[str], None] = lambda message: None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.settings = config.settings
        self.log = log
        self.clock = clock
        self._created: dict[str, float] = {}
        self.tokens = AccessTokens(
            config,
            config.resolved_token_url(),
            provider="LinkedIn",
            log=log,
            sleep=sleep,
            clock=clock,
            remember=self._remember,
        )
        self.http = HttpClient.for_destination(
            config,
            config.resolved_base_url(),
            platform=f"linkedin '{config.name}'",
            classify=classifier(config.credentials, self.settings.api_version, self._fresh),
            headers={"Accept": "application/json", **self._api_headers()},
            secrets=self.tokens.secrets(),
            log=log,
            sleep=sleep,
        )

    @property
    def max_batch_size(self) -> int:
        return self.settings.batch_size

    def _api_headers(self) -> dict[str, str]:
        return {"LinkedIn-Version": self.settings.api_version, "X-Restli-Protocol-Version": payloads.PROTOCOL_VERSION}

    # ------------------------------------------------------------------ segments

    def ensure_list(self, target: ListTarget) -> ListRef:
        """Read the segment by id, or find it by ``sourceSegmentId`` = name, creating it when absent."""
        if target.list_id:
            number = self._number(target.list_id)
            answer = json_object(self._send("GET", f"/rest/dmpSegments/{number}"), self._platform)
            return self._ref(answer, number)
        if not target.name:
            raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: a list target needs a list_id or a name")
        found = self._find(target.name)
        return found if found is not None else self._create(target.name)

    def _find(self, name: str) -> ListRef | None:
        params = payloads.find_params(name, self.settings.source_platform, self.settings.account_urn)
        answer = json_object(self._send("GET", "/rest/dmpSegments", params=params), self._platform)
        elements = answer.get("elements", [])
        if not isinstance(elements, list) or not all(isinstance(element, dict) for element in elements):
            raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: malformed dmpSegments answer")
        return self._ref(elements[0], None) if elements else None

    def _create(self, name: str) -> ListRef:
        body = payloads.create_segment_body(name, self.settings.source_platform, self.settings.account_urn)
        try:
            response = self._send("POST", "/rest/dmpSegments", body=body)
        except DestinationError as error:
            if error.code == DUPLICATE and (raced := self._find(name)) is not None:
                return raced
            raise
        number = next((found for h in ID_HEADERS if (found := payloads.segment_number(response.headers.get(h)))), None)
        if number is None:
            raise DestinationError(
                FailureKind.PERMANENT, f"{self._platform}: segment created without an x-linkedin-id / x-restli-id"
            )
        self._created[number] = self.clock()
        self.log(f"{self._platform}: created DMP segment {number} in ad account {self.settings.ad_account_id}")
        return ListRef(id=number, name=name)

    def _ref(self, segment: dict[str, Any], expected: str | None) -> ListRef:
        number = payloads.segment_number(segment.get("id", expected))
        if number is None or (expected is not None and number != expected):
            raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: a DMP segment answer has no valid id")
        account = segment.get("account")
        if account is not None and account != self.settings.account_urn:
            raise DestinationError(
                FailureKind.PERMANENT,
                f"{self._platform}: DMP segment {number} belongs to another ad account than settings.ad_account_id",
            )
        if segment.get("type", "USER") != "USER":
            raise DestinationError(
                FailureKind.PERMANENT,
                f"{self._platform}: DMP segment {number} is a {segment.get('type')} segment; member syncs need USER",
            )
        return ListRef(id=number, name=str(segment.get("name") or number))

    def match_report(self, target: ListRef) -> MatchReport | None:
        """``GET /rest/dmpSegments/{id}``: the LINKEDIN destination's ``matchedCount`` (members matched over the
        last seven days) against the segment's ``inputCount``, and its ``audienceSize`` (targetable members)."""
        number = self._number(target.id)
        segment = json_object(self._send("GET", f"/rest/dmpSegments/{number}"), self._platform)
        return payloads.match_report(segment)

    def delete_list(self, target: ListRef) -> None:
        """``DELETE /rest/dmpSegments/{id}`` (UNCONFIRMED: not in the reference; LinkedIn's docs list it)."""
        number = self._number(target.id)
        self._send("DELETE", f"/rest/dmpSegments/{number}")
        self.log(f"{self._platform}: deleted DMP segment {number}")

    def _number(self, list_id: str) -> str:
        number = payloads.segment_number(list_id)
        if number is None:
            raise DestinationError(
                FailureKind.PERMANENT, f"{self._platform}: a DMP segment id is a number or urn:li:dmpSegment:<number>"
            )
        return number

    def _fresh(self, number: str) -> bool:
        created = self._created.get(number)
        return created is not None and self.clock() - created < FRESH_SECONDS

    # ------------------------------------------------------------------ members

    def plan_members(self, operation: Operation, target: ListRef, batch: Batch) -> list[PlannedRequest]:
        planned, _, _ = self._plan(operation, target, batch)
        return [planned] if planned is not None else []

    def add_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        return self._upload("add", target, batch)

    def remove_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        return self._upload("remove", target, batch)

    def _plan(
        self, operation: Operation, target: ListRef, batch: Batch
    ) -> tuple[PlannedRequest | None, list[str], list[Rejection]]:
        """The BATCH_CREATE request, the member key of each element, and members with nothing to send."""
        batch.check_size(self.max_batch_size, "linkedin")
        found, keys, unusable = usable_members(
            batch.members, payloads.user_ids, f"no {' or '.join(payloads.FIELDS)} to send"
        )
        if not found:
            return None, keys, unusable
        headers = {"Content-Type": "application/json", **self._api_headers(), "X-RestLi-Method": "BATCH_CREATE"}
        # preview plans for a list not created yet (its id a placeholder); sending checks the id
        path = f"/rest/dmpSegments/{payloads.segment_number(target.id) or target.id}/users"
        body = payloads.users_body(operation, found)
        return PlannedRequest(operation, "POST", path, body, headers), keys, unusable

    def _upload(self, operation: Operation, target: ListRef, batch: Batch) -> BatchOutcome:
        self._number(target.id)
        planned, keys, unusable = self._plan(operation, target, batch)
        if planned is None:
            return BatchOutcome(accepted=0, rejected=unusable)
        response = self._send(planned.method, planned.path, body=planned.body, headers=dict(planned.headers))
        rejected = element_rejections(json_object(response, self._platform), keys, self._platform)
        return BatchOutcome(accepted=len(keys) - len(rejected), rejected=[*unusable, *rejected])

    # ------------------------------------------------------------------ transport

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """One API call with a fresh access token; a 401 refreshes the token and tries once more."""
        extra: dict[str, Any] = {"params": params} if params else {}
        if body is not None:
            extra["data"] = json.dumps(body, separators=(",", ":"))
            headers = {"Content-Type": "application/json", **(headers or {})}
        return self.tokens.request(self.http, method, path, headers=headers, **extra)

    def _remember(self, token: str) -> None:
        self.http.secrets.append(token)  # tokens are first fetched after __init__

    @property
    def _platform(self) -> str:
        return self.http.platform

    def close(self) -> None:
        self.http.close()
        self.tokens.close()
