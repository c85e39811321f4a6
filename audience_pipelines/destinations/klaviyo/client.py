"""Klaviyo list client: lists found or created, profiles upserted into a list by bulk import jobs, profiles
removed from a list by id (found by identifier first)."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import requests

from audience_pipelines.destinations.http import HttpClient, RateLimiter, default_classifier, json_object
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
    UploadResult,
    UploadStatus,
)
from audience_pipelines.destinations.klaviyo import payloads as p
from audience_pipelines.destinations.klaviyo.settings import MAX_LIST_RELATIONSHIPS, KlaviyoConfig
from audience_pipelines.destinations.settings import read_env
from audience_pipelines.privacy import scrub_pii

#: import job states that end a job (others: queued, processing)
ENDED = ("complete", "cancelled")


def classifier(variable: str) -> Callable[[requests.Response], DestinationError | None]:
    """HTTP semantics plus Klaviyo's error envelope; authentication failures name the key's variable."""

    def classify(response: requests.Response) -> DestinationError | None:
        error = default_classifier(response)
        if error is None:
            return None
        first = _first_error(response)
        code = first.get("code") if isinstance(first.get("code"), str) else None
        detail = scrub_pii(str(first.get("detail") or first.get("title") or ""))[:300]
        if detail:
            error.message = f"HTTP {response.status_code} {code or ''}: {detail}".replace(" :", ":")
        error.code = code
        if error.kind is FailureKind.AUTHENTICATION:
            error.message += f" (check the private API key in ${variable} and its scopes)"
        return error

    return classify


def _first_error(response: requests.Response) -> dict[str, Any]:
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        return {}
    return errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}


class KlaviyoClient:
    """Klaviyo lists (``ListClient``, ``ListDeletion``) filled through bulk import jobs (``UploadJobs``)."""

    def __init__(
        self,
        config: KlaviyoConfig,
        *,
        log: Callable[[str], None] = lambda message: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.settings = config.settings
        self.log = log
        self.sleep = sleep
        self._platform = f"klaviyo '{config.name}'"
        variable = config.credentials.api_key
        key = read_env(config.name, "the private API key", variable)
        self.http = HttpClient.for_destination(
            config,
            config.resolved_base_url(),
            platform=self._platform,
            classify=classifier(variable),
            headers={
                "Authorization": f"Klaviyo-API-Key {key}",
                "revision": self.settings.revision,
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            secrets=[key],
            log=log,
            sleep=sleep,
            rate_limiter=RateLimiter(self.settings.requests_per_minute, 60.0, burst=self.settings.burst),
        )

    @property
    def max_batch_size(self) -> int:
        return self.settings.batch_size

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ lists

    def ensure_list(self, target: ListTarget) -> ListRef:
        """Read the list by id, or find it by exact name, creating it when absent (150 new lists a day)."""
        if target.list_id:
            return self._ref(self._data(self._send("GET", f"{p.LISTS}/{target.list_id}"), "list"))
        if not target.name:
            raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: a list target needs a list_id or a name")
        name = json.dumps(target.name)
        answer = json_object(self._send("GET", p.LISTS, params={"filter": f"equals(name,{name})"}), self._platform)
        found = answer.get("data")
        if not isinstance(found, list):
            raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: malformed list search answer")
        for item in found:
            if isinstance(item, dict) and (item.get("attributes") or {}).get("name") == target.name:
                return self._ref(item)
        body = {"data": {"type": "list", "attributes": {"name": target.name}}}
        created = self._ref(self._data(self._send("POST", p.LISTS, json=body, expect=201), "list"))
        self.log(f"{self._platform}: created list {created.id}")
        return created

    def delete_list(self, target: ListRef) -> None:
        self._send("DELETE", f"{p.LISTS}/{target.id}", expect=204)

    def _ref(self, item: dict[str, Any]) -> ListRef:
        list_id, name = item.get("id"), (item.get("attributes") or {}).get("name")
        if item.get("type") != "list" or not isinstance(list_id, str) or not isinstance(name, str):
            raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: a list answer has no id or name")
        return ListRef(id=list_id, name=name, url=f"https://www.klaviyo.com/list/{list_id}")

    # ------------------------------------------------------------------ members

    def plan_members(self, operation: Operation, target: ListRef, batch: Batch) -> list[PlannedRequest]:
        """Adds: one bulk import job per chunk. Removes: the profile lookups (the DELETE carries the ids found)."""
        if operation == "add":
            self._check_fields(batch.members)
            return [
                PlannedRequest("add", "POST", p.IMPORT_JOBS, body)
                for _, body in p.import_chunks(target.id, batch.members)
            ]
        return [PlannedRequest("remove", "GET", path) for path, _ in self._lookups(batch.members)]

    def add_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        """Each import job is sent, then polled until it ends; its per-profile errors become rejections."""
        self._check_fields(batch.members)
        rejected: list[Rejection] = []
        for members, body in p.import_chunks(target.id, batch.members):
            job = self._data(self._send("POST", p.IMPORT_JOBS, json=body, expect=202), p.IMPORT_JOB_TYPE)
            if not isinstance(job.get("id"), str):
                raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: import job answer without an id")
            rejected.extend(self._await_job(job["id"], members))
        return BatchOutcome(accepted=batch.size - len(rejected), rejected=rejected)

    def remove_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        """Profiles found by identifier leave the list (the profile and its properties stay); members with no
        profile are not in the list, so they count as removed."""
        rejected: list[Rejection] = []
        ids: list[str] = []
        for path, members in self._lookups(batch.members):
            ids.extend(self._profile_ids(path, members))
        for start in range(0, len(ids), MAX_LIST_RELATIONSHIPS):
            chunk = ids[start : start + MAX_LIST_RELATIONSHIPS]
            body = p.relationships_body(chunk)
            self._send("DELETE", f"{p.LISTS}/{target.id}/relationships/profiles", json=body, expect=204)
        for member in batch.members:
            if p.lookup_key(member) is None:
                rejected.append(Rejection(member.member_key, "no_identifier", "no email, phone_number or external_id"))
        return BatchOutcome(accepted=batch.size - len(rejected), rejected=rejected)

    def _check_fields(self, members: Sequence[OutboundMember]) -> None:
        names = {name for member in members for name in member.fields}
        problems = p.check_fields({name: name for name in names - set(p.IDENTIFIERS)})
        if problems:
            raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: " + "; ".join(problems))

    def _lookups(self, members: Sequence[OutboundMember]) -> list[tuple[str, list[OutboundMember]]]:
        groups: dict[str, list[OutboundMember]] = {}
        for member in members:
            if (key := p.lookup_key(member)) is not None:
                groups.setdefault(key[0], []).append(member)
        found = []
        for identifier, group in groups.items():
            for start in range(0, len(group), p.LOOKUP_SIZE):
                chunk = group[start : start + p.LOOKUP_SIZE]
                found.append((p.lookup_path(identifier, [m.fields[identifier] for m in chunk]), chunk))
        return found

    def _profile_ids(self, path: str, members: Sequence[OutboundMember]) -> list[str]:
        ids: list[str] = []
        next_path: str | None = path
        for _ in range(len(members) + 1):  # emails are unique; a shared phone may page on
            if next_path is None:
                break
            answer = json_object(self._send("GET", next_path), self._platform)
            data = answer.get("data")
            if not isinstance(data, list) or not all(
                isinstance(i, dict) and isinstance(i.get("id"), str) for i in data
            ):
                raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: malformed profiles answer")
            ids.extend(item["id"] for item in data)
            next_path = self._next(answer)
        return ids

    def _next(self, answer: dict[str, Any]) -> str | None:
        link = (answer.get("links") or {}).get("next")
        return p.same_origin_path(link, self.http.base_url) if isinstance(link, str) and link else None

    # ------------------------------------------------------------------ import jobs

    def _await_job(self, job_id: str, members: Sequence[OutboundMember]) -> list[Rejection]:
        polls = 1 + math.ceil(self.settings.job_timeout_seconds / max(self.settings.job_poll_seconds, 0.001))
        for attempt in range(polls):
            if attempt:
                self.sleep(self.settings.job_poll_seconds)
            job = self._data(self._send("GET", f"{p.IMPORT_JOBS}/{job_id}"), p.IMPORT_JOB_TYPE)
            attributes = job.get("attributes") or {}
            status = attributes.get("status")
            if status == "cancelled":
                raise DestinationError(
                    FailureKind.PERMANENT, f"{self._platform}: import job {job_id} was cancelled; the batch is re-sent"
                )
            if status == "complete":
                failed = attributes.get("failed_count")
                return self._job_errors(job_id, members) if isinstance(failed, int) and failed > 0 else []
            if status not in ("queued", "processing"):
                raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: import job in unknown state")
        raise DestinationError(
            FailureKind.RETRYABLE,
            f"{self._platform}: import job {job_id} still running after {self.settings.job_timeout_seconds:.0f}s; "
            "the batch is not recorded and the next run sends it again (imports are upserts)",
        )

    def _job_errors(self, job_id: str, members: Sequence[OutboundMember]) -> list[Rejection]:
        """Per-profile import errors, each mapped to its member (by position, else by identifier)."""
        by_identity = {(n, m.fields[n]): m.member_key for m in members for n in p.IDENTIFIERS if m.fields.get(n)}
        found: dict[str, Rejection] = {}
        unmapped = 0
        next_path: str | None = f"{p.IMPORT_JOBS}/{job_id}/import-errors?page%5Bsize%5D=100"
        for _ in range(len(members) // 100 + 2):
            if next_path is None:
                break
            answer = json_object(self._send("GET", next_path), self._platform)
            errors = answer.get("data")
            if not isinstance(errors, list):
                raise DestinationError(FailureKind.PERMANENT, f"{self._platform}: malformed import errors answer")
            for error in (e for e in errors if isinstance(e, dict)):
                index, identity = p.error_index(error), p.error_identity(error)
                key = members[index].member_key if index is not None and index < len(members) else None
                key = key or (by_identity.get(identity) if identity else None)
                attributes = error.get("attributes") or {}
                code = str(attributes.get("code") or "import_error")
                message = scrub_pii(str(attributes.get("detail") or attributes.get("title") or ""))[:300]
                if key is None:
                    unmapped += 1
                elif key not in found:
                    found[key] = Rejection(key, code, message)
            next_path = self._next(answer)
        rejected = list(found.values())
        room = len(members) - len(rejected)
        rejected += [Rejection(None, "import_error", "an import error naming no profile")] * min(unmapped, room)
        return rejected

    def begin_upload(self, target: ListRef, operation: Operation) -> str:
        """A client-side id grouping this run's batches (each batch is its own, already ended, import job)."""
        return f"klaviyo-{operation}-{uuid.uuid4().hex[:16]}"

    def resume_upload(self, target: ListRef, operation: Operation, job_id: str) -> None:
        """Nothing to route: every acknowledged batch's import job had ended when it was acknowledged."""

    def upload_status(self, target: ListRef, job_id: str) -> UploadStatus:
        """``done``: a batch is acknowledged only after its import job completed (or its removal answered 204)."""
        return "done"

    def finish_upload(self, target: ListRef, job_id: str) -> UploadResult:
        return UploadResult("done", "every batch's import job had completed when it was acknowledged")

    # ------------------------------------------------------------------ http

    def _send(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> requests.Response:
        response = self.http.request(method, path, **kwargs)
        if response.status_code != expect:
            raise DestinationError(
                FailureKind.PERMANENT,
                f"{self._platform}: {method} {path.split('?')[0]} answered HTTP {response.status_code}, "
                f"not the documented {expect}; nothing is assumed done",
                status=response.status_code,
            )
        return response

    def _data(self, response: requests.Response, kind: str) -> dict[str, Any]:
        data = json_object(response, self._platform).get("data")
        if not isinstance(data, dict) or data.get("type") != kind:
            raise DestinationError(
                FailureKind.PERMANENT, f"{self._platform}: expected a '{kind}' resource, got something else"
            )
        return data
