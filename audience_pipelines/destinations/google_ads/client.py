"""Google Ads Customer Match client: user lists found or created, members uploaded through OfflineUserDataJobs."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from audience_pipelines.destinations.google_ads import payloads
from audience_pipelines.destinations.google_ads.errors import NAME_TAKEN, classifier, partial_rejections
from audience_pipelines.destinations.google_ads.settings import (
    MAX_IDENTIFIERS_PER_REQUEST,
    GoogleAdsConfig,
    customer_digits,
)
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
    UploadResult,
    UploadStatus,
    usable_members,
)
from audience_pipelines.destinations.oauth import AccessTokens
from audience_pipelines.destinations.settings import read_env

AUDIENCE_MANAGER_URL = "https://ads.google.com/aw/audiences/management"
JOB_STATUSES: dict[str, UploadStatus] = {
    "PENDING": "open",
    "RUNNING": "running",
    "SUCCESS": "done",
    "FAILED": "failed",
}
MAX_PAGES = 1_000
_LIST_ID = re.compile(r"^(?:customers/(\d+)/userLists/)?(\d+)$")
_JOB_ID = re.compile(r"^customers/(\d+)/offlineUserDataJobs/(\d+)$")


class GoogleAdsClient:
    """Customer Match user lists (``ListClient``) uploaded through OfflineUserDataJobs (``UploadJobs``)."""

    def __init__(
        self,
        config: GoogleAdsConfig,
        *,
        log: Callable[[str], None] = lambda message: None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.settings = config.settings
        self.customer_id = config.settings.customer_id
        self.log = log
        self.sleep = sleep
        names = config.credentials
        developer_token = read_env(config.name, "developer_token", names.developer_token)
        headers = {"developer-token": developer_token, "Content-Type": "application/json"}
        if names.login_customer_id:
            headers["login-customer-id"] = self._manager_id(names.login_customer_id)
        self.tokens = AccessTokens(
            config,
            config.resolved_token_url(),
            provider="Google",
            log=log,
            sleep=sleep,
            clock=clock,
            remember=self._remember,
        )
        self.http = HttpClient.for_destination(
            config,
            config.resolved_base_url(),
            platform=f"google_ads '{config.name}'",
            classify=classifier(names),
            headers=headers,
            secrets=[developer_token, *self.tokens.secrets()],
            log=log,
            sleep=sleep,
        )
        self._jobs: dict[tuple[str, Operation], str] = {}
        self._finished_adds: dict[str, str] = {}  # user list id -> the add job this client saw succeed

    @property
    def max_batch_size(self) -> int:
        return self.settings.batch_size

    @property
    def _root(self) -> str:
        return f"/{self.settings.api_version}/customers/{self.customer_id}"

    # ------------------------------------------------------------------ lists

    def ensure_list(self, target: ListTarget) -> ListRef:
        if target.list_id:
            list_id = self._list_number(target.list_id)
            rows = self._search(payloads.list_query(list_id))
            if not rows:
                raise DestinationError(
                    FailureKind.PERMANENT, f"{self._platform}: user list {list_id} not found in {self.customer_id}"
                )
            return self._list_ref(rows[0])
        if not target.name:
            raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: a list needs an id or a name")
        found = self._find_list(target.name)
        if found is not None:
            return found
        try:
            answer = self._send(
                "POST", f"{self._root}/userLists:mutate", payloads.create_list_body(target, self.settings)
            )
        except DestinationError as error:
            if error.code == NAME_TAKEN and (raced := self._find_list(target.name)) is not None:
                return raced
            raise
        results = answer.get("results")
        resource = results[0].get("resourceName") if isinstance(results, list) and results else None
        match = _LIST_ID.match(resource) if isinstance(resource, str) else None
        if match is None:
            raise DestinationError(
                FailureKind.PERMANENT, f"{self._platform}: user list created without a resource name"
            )
        self.log(f"{self._platform}: created user list {match.group(2)} ({self.settings.upload_key_type})")
        return ListRef(id=match.group(2), name=target.name, url=AUDIENCE_MANAGER_URL)

    def delete_list(self, target: ListRef) -> None:
        """``userLists:mutate`` with a ``remove`` operation for the list's resource name."""
        resource = f"customers/{self.customer_id}/userLists/{self._list_number(target.id)}"
        answer = self._send("POST", f"{self._root}/userLists:mutate", {"operations": [{"remove": resource}]})
        results = answer.get("results")
        if not (isinstance(results, list) and results and results[0].get("resourceName") == resource):
            raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: Google did not confirm the removal")
        self.log(f"{self._platform}: removed user list {target.id}")

    def _find_list(self, name: str) -> ListRef | None:
        for row in self._search(payloads.list_query()):
            if row.get("userList", {}).get("name") == name:
                return self._list_ref(row)
        return None

    def _list_ref(self, row: dict[str, Any]) -> ListRef:
        user_list = row.get("userList")
        if not isinstance(user_list, dict) or not str(user_list.get("id", "")).isdigit():
            raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: malformed user_list row")
        list_id, name = str(user_list["id"]), str(user_list.get("name", ""))
        key_type = (user_list.get("crmBasedUserList") or {}).get("uploadKeyType")
        if user_list.get("type") != "CRM_BASED" or key_type != self.settings.upload_key_type:
            raise DestinationError(
                FailureKind.PERMANENT,
                f"{self._platform}: user list {list_id} is a {user_list.get('type')} list with upload key type "
                f"{key_type}; settings.upload_key_type is {self.settings.upload_key_type}",
            )
        return ListRef(id=list_id, name=name, url=AUDIENCE_MANAGER_URL)

    def _list_number(self, list_id: str) -> str:
        match = _LIST_ID.match(list_id.strip())
        if match is None or (match.group(1) and match.group(1) != self.customer_id):
            raise DestinationError(
                FailureKind.PERMANENT,
                f"{self._platform}: list_id must be a user list id or customers/{self.customer_id}/userLists/<id>",
            )
        return match.group(2)

    def _list_resource(self, target: ListRef) -> str:
        return f"customers/{self.customer_id}/userLists/{self._list_number(target.id)}"

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
        """The addOperations request, the member key of each operation, and members with nothing to send."""
        batch.check_size(self.max_batch_size, "google_ads")
        key_type = self.settings.upload_key_type
        user_data, keys, unusable = usable_members(
            batch.members,
            lambda fields: payloads.identifiers(fields, key_type),
            f"no identifier usable for a {key_type} list",
        )
        if sum(map(len, user_data)) > MAX_IDENTIFIERS_PER_REQUEST:
            raise ValueError(f"batch carries more than {MAX_IDENTIFIERS_PER_REQUEST:,} identifiers")
        if not user_data:
            return None, keys, unusable
        job = self._jobs.get((target.id, operation), f"customers/{self.customer_id}/offlineUserDataJobs/PENDING")
        path = f"/{self.settings.api_version}/{job}:addOperations"
        body = payloads.add_operations_body(operation, user_data, consent_granted=batch.consent_granted)
        headers = {"Content-Type": "application/json"}
        return PlannedRequest(operation, "POST", path, body, headers), keys, unusable

    def _upload(self, operation: Operation, target: ListRef, batch: Batch) -> BatchOutcome:
        planned, keys, unusable = self._plan(operation, target, batch)
        if planned is None:
            return BatchOutcome(accepted=0, rejected=unusable)
        if (target.id, operation) not in self._jobs:
            self.begin_upload(target, operation)
            planned, keys, unusable = self._plan(operation, target, batch)
            assert planned is not None
        answer = self._send(planned.method, planned.path, planned.body)
        rejected = partial_rejections(answer, keys, self._platform)
        return BatchOutcome(accepted=len(keys) - len(rejected), rejected=[*unusable, *rejected])

    # ------------------------------------------------------------------ upload jobs

    def begin_upload(self, target: ListRef, operation: Operation) -> str:
        body = payloads.create_job_body(self._list_resource(target), operation, self.settings.consent)
        answer = self._send("POST", f"{self._root}/offlineUserDataJobs:create", body)
        job_id = self._job_id(answer.get("resourceName"))
        self._jobs[(target.id, operation)] = job_id
        self.log(f"{self._platform}: created {operation} job {job_id} for user list {target.id}")
        return job_id

    def resume_upload(self, target: ListRef, operation: Operation, job_id: str) -> None:
        self._jobs[(target.id, operation)] = self._job_id(job_id)

    def upload_status(self, target: ListRef, job_id: str) -> UploadStatus:
        status, _ = self._job_status(self._job_id(job_id))
        return JOB_STATUSES[status] if status is not None else "failed"

    def finish_upload(self, target: ListRef, job_id: str) -> UploadResult:
        job = self._job_id(job_id)
        started = [key for key, value in self._jobs.items() if value == job]
        self._jobs = {key: value for key, value in self._jobs.items() if value != job}
        status, reason = self._job_status(job)
        if status == "PENDING":
            self._send("POST", f"/{self.settings.api_version}/{job}:run", {})
            self.log(f"{self._platform}: running job {job}")
        waited, timeout = 0.0, self.settings.job_timeout_seconds
        while status in ("PENDING", "RUNNING"):
            if waited >= timeout:
                message = f"job {job} still {status.lower()} after {waited:.0f}s; its status is checked again later"
                return UploadResult("running", message)
            wait = min(self.settings.job_poll_interval_seconds, timeout - waited)
            self.sleep(wait)
            waited += wait
            status, reason = self._job_status(job)
        if status == "SUCCESS":
            self._finished_adds.update({list_id: job for list_id, op in started if op == "add"})
            return UploadResult("done", f"job {job} succeeded")
        if status is None:
            return UploadResult("failed", f"job {job} not found")
        return UploadResult("failed", f"job {job} failed: {reason or 'no failure reason given'}")

    # ------------------------------------------------------------------ match rates

    def match_report(self, target: ListRef) -> MatchReport | None:
        """The user list's ``size_for_display`` / ``size_for_search`` and, when this client saw an add job
        succeed for it, that job's ``match_rate_range``."""
        rows = self._search(payloads.size_query(self._list_number(target.id)))
        user_list = rows[0].get("userList") if rows else None
        if not isinstance(user_list, dict):
            return None
        display, search = _int64(user_list.get("sizeForDisplay")), _int64(user_list.get("sizeForSearch"))
        rate = self._match_rate(self._finished_adds.get(target.id))
        figures = {"size_for_search": float(search)} if search is not None else {}
        return MatchReport(
            matched_low=display,
            matched_high=display,
            rate_low=rate[0] if rate else None,
            rate_high=rate[1] if rate else None,
            figures=figures,
        )

    def _match_rate(self, job: str | None) -> tuple[float, float] | None:
        if job is None:
            return None
        rows = self._search(payloads.match_rate_query(job))
        found = rows[0].get("offlineUserDataJob") if rows else None
        metadata = found.get("operationMetadata") if isinstance(found, dict) else None
        value = metadata.get("matchRateRange") if isinstance(metadata, dict) else None
        return payloads.MATCH_RATE_RANGES.get(value) if isinstance(value, str) else None

    def _job_status(self, job: str) -> tuple[str | None, str | None]:
        rows = self._search(payloads.job_query(job))
        if not rows:
            return None, None
        found = rows[0].get("offlineUserDataJob")
        status = found.get("status") if isinstance(found, dict) else None
        if status not in JOB_STATUSES:
            raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: job {job} has status {status!r}")
        assert isinstance(found, dict)
        return status, found.get("failureReason")

    def _job_id(self, value: object) -> str:
        match = _JOB_ID.match(value) if isinstance(value, str) else None
        if match is None or match.group(1) != self.customer_id:
            raise DestinationError(
                FailureKind.PERMANENT,
                f"{self._platform}: {value!r} is not an offline user data job of customer {self.customer_id}",
            )
        return match.group(0)

    # ------------------------------------------------------------------ transport

    def _search(self, query: str) -> list[dict[str, Any]]:
        """Every row of a GAQL query, following ``nextPageToken``."""
        rows: list[dict[str, Any]] = []
        body: dict[str, Any] = {"query": query}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            answer = self._send("POST", f"{self._root}/googleAds:search", body)
            results = answer.get("results", [])
            if not isinstance(results, list) or not all(isinstance(row, dict) for row in results):
                raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: malformed search results")
            rows.extend(results)
            token = answer.get("nextPageToken")
            if not token:
                return rows
            if not isinstance(token, str) or token in seen:
                raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: search paging does not advance")
            seen.add(token)
            body = {"query": query, "pageToken": token}
        raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: search returned over {MAX_PAGES} pages")

    def _send(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One API call with a fresh access token; a 401 refreshes the token and tries once more."""
        response = self.tokens.request(self.http, method, path, data=json.dumps(body, separators=(",", ":")))
        return json_object(response, self._platform)

    def _remember(self, token: str) -> None:
        self.http.secrets.append(token)  # tokens are first fetched after __init__

    def _manager_id(self, variable: str) -> str:
        try:
            return customer_digits(read_env(self.config.name, "login_customer_id", variable))
        except ValueError:
            raise DestinationError(
                FailureKind.AUTHENTICATION, f"${variable} must hold a 10-digit manager customer id"
            ) from None

    @property
    def _platform(self) -> str:
        return self.http.platform

    def close(self) -> None:
        self.http.close()
        self.tokens.close()


def _int64(value: object) -> int | None:
    """A REST int64 (a decimal string, or a number) as an int; None when absent or malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
