"""Salesforce client: Campaigns found or created; Contacts/Leads upserted by Email; CampaignMembers synced."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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
from audience_pipelines.destinations.salesforce import soql
from audience_pipelines.destinations.salesforce.errors import (
    REQUEST_LIMIT,
    classifier,
    query_records,
    save_results,
    valid_id,
)
from audience_pipelines.destinations.salesforce.fields import MATCH_FIELD, field_problems
from audience_pipelines.destinations.salesforce.settings import MAX_RECORDS_PER_REQUEST, SalesforceConfig
from audience_pipelines.destinations.salesforce.tokens import SalesforceTokens
from audience_pipelines.privacy import scrub_values

CAMPAIGN_PREFIX = "701"
MEMBER_PREFIX = "00v"
#: a create that finds the person already in the campaign, or a delete of a member already gone, is done
ALREADY_DONE = frozenset({"DUPLICATE_VALUE", "ENTITY_IS_DELETED"})
SOQL_OVERHEAD = 300  # characters of a lookup besides its IN list


@dataclass
class _People:
    """One batch grouped by email (several member keys may share one person)."""

    keys: dict[str, list[str]] = field(default_factory=dict)
    fields: dict[str, dict[str, str]] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)
    failed: dict[str, tuple[str, str]] = field(default_factory=dict)

    def outcome(self) -> BatchOutcome:
        accepted = sum(len(keys) for email, keys in self.keys.items() if email not in self.failed)
        lost = [
            Rejection(key, code, scrub_values(message, {MATCH_FIELD: email, **self.fields[email]}))
            for email, (code, message) in self.failed.items()
            for key in self.keys[email]
        ]
        return BatchOutcome(accepted=accepted, rejected=[*self.rejected, *lost])


def _chunked(items: Sequence[Any], size: int = MAX_RECORDS_PER_REQUEST) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SalesforceClient:
    """Campaign membership of Contacts (or Leads) with their mapped fields (``ListClient``)."""

    def __init__(
        self,
        config: SalesforceConfig,
        *,
        log: Callable[[str], None] = lambda message: None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.settings = config.settings
        self.person = self.settings.person_object
        self.log = log
        self.platform = f"salesforce '{config.name}'"
        self.api = f"/services/data/v{self.settings.api_version}"
        self.override = config.resolved_base_url() if config.base_url else None
        token_url = config.resolved_token_url()
        self.tokens = SalesforceTokens(
            config, token_url, provider="Salesforce", log=log, sleep=sleep, clock=clock, remember=self._remember
        )
        self.http = HttpClient.for_destination(
            config,
            self.override or token_url,
            platform=self.platform,
            classify=classifier(config.credentials),
            headers={"Accept": "application/json"},
            secrets=self.tokens.secrets(),
            log=log,
            sleep=sleep,
            rate_limiter=RateLimiter(self.settings.requests_per_second),
        )

    @property
    def max_batch_size(self) -> int:
        return self.settings.batch_size

    # ------------------------------------------------------------------ campaigns

    def ensure_list(self, target: ListTarget) -> ListRef:
        """Read the Campaign by id, or find it by Name (SOQL), creating it when absent."""
        if target.list_id:
            if not valid_id(target.list_id, CAMPAIGN_PREFIX):
                raise self._error("a Campaign id has 15 or 18 letters and digits and starts with 701")
            answer = json_object(self._send("GET", f"{self.api}/sobjects/Campaign/{target.list_id}"), self.platform)
            if answer.get("Id") not in (target.list_id, None) and not str(answer.get("Id")).startswith(target.list_id):
                raise self._error("the Campaign answer is for another id")
            return self._ref(str(answer.get("Id") or target.list_id), str(answer.get("Name") or target.list_id))
        name = (target.name or "").strip()
        if not name or len(name) > 80:
            raise self._error("a list target needs a list_id or a Campaign name of 1 to 80 characters")
        found = self._query(soql.campaign_by_name(name))
        if found:
            if len(found) > 1:
                self.log(f"{self.platform}: several Campaigns are named '{name}'; using the oldest, {found[0]['Id']}")
            return self._ref(found[0]["Id"], name)
        body: dict[str, Any] = {"Name": name, "IsActive": True}
        if target.description:
            body["Description"] = target.description[:32_000]
        answer = json_object(self._send("POST", f"{self.api}/sobjects/Campaign", body=body), self.platform)
        campaign_id = answer.get("id")
        if answer.get("success") is not True or not valid_id(campaign_id, CAMPAIGN_PREFIX):
            raise self._error("the Campaign create answer has no success and Campaign id")
        self.log(f"{self.platform}: created Campaign '{name}' ({campaign_id})")
        return self._ref(str(campaign_id), name)

    def _ref(self, campaign_id: str, name: str) -> ListRef:
        root = self.override or self.tokens.instance_url
        return ListRef(id=campaign_id, name=name, url=f"{root}/lightning/r/Campaign/{campaign_id}/view")

    # ------------------------------------------------------------------ planning (also what sending uses)

    def plan_members(self, operation: Operation, target: ListRef, batch: Batch) -> list[PlannedRequest]:
        """Lookups, then the writes as they would go if nobody were found (ids of later steps are placeholders)."""
        people = self._group(batch)
        emails = list(people.keys)
        if not emails:
            return []
        if operation == "add":
            lookups = self._lookups("add", emails, lambda run: soql.people_by_email(self.person, run))
            holders = {email: f"<{self.person} Id of {people.keys[email][0]}>" for email in emails}
            creates = [self._create_people(emails, people)]
            return [*lookups, *creates, *self._member_writes(target, holders)]
        lookups = self._lookups("remove", emails, lambda run: soql.members_by_email(self.person, target.id, run))
        holders = {f"<CampaignMember Id of {people.keys[email][0]}>": email for email in emails}
        return [*lookups, *self._member_removals(list(holders))]

    def _group(self, batch: Batch) -> _People:
        batch.check_size(self.max_batch_size, "salesforce")
        names = {name for member in batch.members for name in member.fields}
        if problems := field_problems(sorted(names), self.person):
            raise self._error("the sync maps fields Salesforce cannot take: " + "; ".join(problems))
        people = _People()
        for member in batch.members:
            email = (member.fields.get(MATCH_FIELD) or "").strip().lower()
            if not email or any(ord(ch) < 32 for ch in email):
                people.rejected.append(Rejection(member.member_key, "no_email", f"no usable {MATCH_FIELD} to match"))
                continue
            people.keys.setdefault(email, []).append(member.member_key)
            people.fields.setdefault(email, {k: v for k, v in member.fields.items() if v not in (None, "")})
        return people

    def _lookups(self, operation: str, emails: list[str], text: Callable[[list[str]], str]) -> list[PlannedRequest]:
        budget = self.settings.max_query_chars - SOQL_OVERHEAD
        return [
            PlannedRequest(operation, "GET", f"{self.api}/query", {"q": text(run)})
            for run in soql.chunks(emails, budget)
        ]

    def _collection(self, operation: str, method: str, records: list[dict[str, Any]]) -> PlannedRequest:
        body = {"allOrNone": False, "records": records}
        return PlannedRequest(
            operation, method, f"{self.api}/composite/sobjects", body, {"Content-Type": "application/json"}
        )

    def _create_people(self, emails: list[str], people: _People) -> PlannedRequest:
        records = []
        for email in emails:
            record: dict[str, Any] = {"attributes": {"type": self.person}, **people.fields[email], MATCH_FIELD: email}
            record.setdefault("LastName", self.settings.placeholder_last_name)
            if self.person == "Lead":
                record.setdefault("Company", self.settings.placeholder_company)
            records.append(record)
        return self._collection("add", "POST", records)

    def _member_writes(self, target: ListRef, person_ids: Mapping[str, str]) -> list[PlannedRequest]:
        status = {"Status": self.settings.member_status} if self.settings.member_status else {}
        records = [
            {"attributes": {"type": "CampaignMember"}, "CampaignId": target.id, f"{self.person}Id": pid, **status}
            for pid in person_ids.values()
        ]
        return [self._collection("add", "POST", list(run)) for run in _chunked(records)]

    def _member_removals(self, member_ids: list[str]) -> list[PlannedRequest]:
        if self.settings.removal == "set_status":
            return self._status_writes("remove", member_ids, str(self.settings.removed_status))
        path = f"{self.api}/composite/sobjects"
        return [
            PlannedRequest("remove", "DELETE", path, {"ids": ",".join(run), "allOrNone": "false"})
            for run in _chunked(member_ids)
        ]

    def _status_writes(self, operation: str, member_ids: Sequence[str], status: str) -> list[PlannedRequest]:
        records = [{"attributes": {"type": "CampaignMember"}, "id": i, "Status": status} for i in member_ids]
        return [self._collection(operation, "PATCH", list(run)) for run in _chunked(records)]

    # ------------------------------------------------------------------ sending

    def add_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        self._campaign(target)
        people = self._group(batch)
        emails = list(people.keys)
        if not emails:
            return people.outcome()
        found = self._people_found(emails)
        ids = dict(found)
        absent = [email for email in emails if email not in found]
        if absent:
            self._write(self._create_people(absent, people), absent, people, ids)
        updates = {
            email: {"attributes": {"type": self.person}, "id": pid, **fields}
            for email, pid in found.items()
            if (fields := {k: v for k, v in people.fields[email].items() if k != MATCH_FIELD})
        }
        for run in _chunked(list(updates)):
            self._write(self._collection("add", "PATCH", [updates[e] for e in run]), list(run), people, {})
        live = {email: ids[email] for email in emails if email not in people.failed}
        duplicates: dict[str, str] = {}
        for planned, run in zip(self._member_writes(target, live), _chunked(list(live)), strict=True):
            self._write(planned, list(run), people, {}, duplicates=duplicates)
        if duplicates and self.settings.removal == "set_status":
            self._restore_status(target, duplicates, people)
        return people.outcome()

    def remove_members(self, target: ListRef, batch: Batch) -> BatchOutcome:
        self._campaign(target)
        people = self._group(batch)
        emails = list(people.keys)
        if not emails:
            return people.outcome()
        owners: dict[str, str] = {}  # CampaignMember id -> email
        for planned in self._lookups("remove", emails, lambda run: soql.members_by_email(self.person, target.id, run)):
            for record in self._query(planned.body["q"]):
                person = record.get(self.person)
                email = person.get("Email") if isinstance(person, dict) else None
                if isinstance(email, str) and email.lower() in people.keys:
                    owners[record["Id"]] = email.lower()
        member_ids = list(owners)
        for planned, run in zip(self._member_removals(member_ids), _chunked(member_ids), strict=True):
            self._write(planned, [owners[i] for i in run], people, {})
        return people.outcome()

    def _people_found(self, emails: list[str]) -> dict[str, str]:
        """email -> the oldest-id person with it (Email comparison in SOQL ignores case)."""
        found: dict[str, str] = {}
        for planned in self._lookups("add", emails, lambda run: soql.people_by_email(self.person, run)):
            for record in sorted(self._query(planned.body["q"]), key=lambda r: r["Id"]):
                email = record.get("Email")
                if isinstance(email, str) and valid_id(record["Id"], soql.PERSON_PREFIX[self.person]):
                    found.setdefault(email.lower(), record["Id"])
        return {email: found[email] for email in emails if email in found}

    def _restore_status(self, target: ListRef, duplicates: dict[str, str], people: _People) -> None:
        """Members already in the campaign (perhaps with the removed status) get the member status again."""
        by_person = {pid: email for email, pid in duplicates.items()}
        owners: dict[str, str] = {}
        text = lambda run: soql.members_by_person(self.person, target.id, run)  # noqa: E731
        for planned in self._lookups("add", list(by_person), text):
            for record in self._query(planned.body["q"]):
                if (email := by_person.get(str(record.get(f"{self.person}Id")))) is not None:
                    owners[record["Id"]] = email
        member_ids = list(owners)
        writes = self._status_writes("add", member_ids, str(self.settings.member_status))
        for planned, run in zip(writes, _chunked(member_ids), strict=True):
            self._write(planned, [owners[i] for i in run], people, {})

    def _write(
        self,
        planned: PlannedRequest,
        emails: list[str],
        people: _People,
        ids: dict[str, str],
        *,
        duplicates: dict[str, str] | None = None,
    ) -> None:
        """Send one collection request; record new ids and per-record failures against the emails sent."""
        answer = self._json(self._send_planned(planned))
        results = save_results(answer, len(emails), self.platform)
        sent = planned.body.get("records") if isinstance(planned.body, dict) else None
        for index, (email, (record_id, code, message)) in enumerate(zip(emails, results, strict=True)):
            if code is None:
                if record_id is not None:
                    ids[email] = record_id
            elif code in ALREADY_DONE:
                if duplicates is not None and sent:
                    duplicates[email] = str(sent[index].get(f"{self.person}Id"))
            else:
                people.failed.setdefault(email, (code, message))

    def _campaign(self, target: ListRef) -> None:
        if not valid_id(target.id, CAMPAIGN_PREFIX):
            raise self._error(f"'{target.id}' is not a Campaign id")

    # ------------------------------------------------------------------ transport

    def _query(self, text: str) -> list[dict[str, Any]]:
        records, following = query_records(
            self._json(self._send("GET", f"{self.api}/query", params={"q": text})), self.platform
        )
        while following is not None:
            more, following = query_records(self._json(self._send("GET", following)), self.platform)
            records.extend(more)
        return records

    def _send_planned(self, planned: PlannedRequest) -> requests.Response:
        if planned.method in ("GET", "DELETE"):
            return self._send(planned.method, planned.path, params=planned.body)
        return self._send(planned.method, planned.path, body=planned.body)

    def _json(self, response: requests.Response) -> Any:
        """A 2xx answer's JSON (object or array); anything else is a permanent failure."""
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise DestinationError(
                FailureKind.PERMANENT,
                f"{self.platform}: expected JSON, got HTTP {response.status_code} {kind}; nothing was assumed applied",
                status=response.status_code,
            ) from None

    def _send(
        self, method: str, path: str, *, body: Any = None, params: Mapping[str, str] | None = None
    ) -> requests.Response:
        """One call with a current access token; a 401 refreshes the token and tries once more."""
        extra: dict[str, Any] = {"params": dict(params)} if params else {}
        headers: dict[str, str] = {}
        if body is not None:
            extra["data"] = json.dumps(body, separators=(",", ":"))
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            token = self.tokens.current()
            root = self.override or self.tokens.instance_url
            try:
                return self.http.request(
                    method, f"{root}{path}", headers={**headers, "Authorization": f"Bearer {token}"}, **extra
                )
            except DestinationError as error:
                if error.code == REQUEST_LIMIT:
                    raise DestinationError(
                        FailureKind.THROTTLED,
                        f"{self.platform}: the org's API request limit (a rolling 24 hours) is used up; the next run "
                        f"resumes from the ledger ({error.message})",
                        status=error.status,
                        code=error.code,
                    ) from None
                if error.status != 401 or attempt == 2:
                    raise
                self.log(f"{self.platform}: session refused (HTTP 401); refreshing the access token once")
                self.tokens.invalidate()
        raise AssertionError("unreachable")

    def _error(self, message: str) -> DestinationError:
        return DestinationError(FailureKind.PERMANENT, f"{self.platform}: {message}")

    def _remember(self, token: str) -> None:
        self.http.secrets.append(token)

    def close(self) -> None:
        self.http.close()
        self.tokens.close()
