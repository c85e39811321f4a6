"""A strict fake of the Salesforce REST API (Campaigns, Contacts, Leads, CampaignMembers), on 127.0.0.1.

Serves ``POST /services/oauth2/token`` (refresh-token grant answering ``access_token`` and ``instance_url``) and,
under ``/services/data/vNN.N``: ``GET query?q=`` (a SOQL subset), ``POST sobjects/Campaign``, ``GET
sobjects/Campaign/{id}`` and ``POST`` / ``PATCH`` / ``DELETE composite/sobjects`` (sObject Collections, at most
200 records, one SaveResult per record in order). Errors are ``[{"message", "errorCode"}]``; a bad session is
401 ``INVALID_SESSION_ID``. People are never deleted. Bodies and tokens are never logged.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from audience_pipelines.destinations.salesforce import fake_soql
from audience_pipelines.destinations.salesforce.fields import STANDARD_FIELDS
from audience_pipelines.destinations.settings import DestinationConfig
from audience_pipelines.sandbox.oauth import FakeTokenEndpoint, OAuthCredentialsFake, fresh_credentials
from audience_pipelines.sandbox.server import BodyError, FakeServer, Request, Response

TOKEN_PATH = "/services/oauth2/token"
SANDBOX_PREFIX = "AUDIENCE_PIPELINES_SALESFORCE_"
TEST_PREFIX = "CONTRACT_SALESFORCE_"
CREDENTIALS = ("client_id", "client_secret", "refresh_token")
MAX_RECORDS = 200
VERSIONS = (31.0, 66.0)
PREFIXES = {"Campaign": "701", "Contact": "003", "Lead": "00Q", "CampaignMember": "00v"}
DEFAULT_STATUSES = ("Planned", "Sent", "Received", "Responded")
CUSTOM_FIELDS = {"Lifetime_Value__c": "number", "Segment__c": "text"}
CAMPAIGN_FIELDS = frozenset({"Name", "IsActive", "Description", "Status", "Type", "StartDate", "EndDate"})
MEMBER_FIELDS = frozenset({"Id", "CampaignId", "ContactId", "LeadId", "Status", "Contact.Email", "Lead.Email"})
_PATH = re.compile(r"^/services/data/v(\d{2}\.\d)(/.*)$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}$")
_NUMBER = re.compile(r"^-?\d{1,16}(?:\.\d{1,2})?$")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = [{"message": message, "errorCode": code}]


def _failure(code: str, message: str, fields: list[str] | None = None, record_id: str | None = None) -> dict:
    result: dict[str, Any] = {
        "success": False,
        "errors": [{"statusCode": code, "message": message, "fields": fields or []}],
    }
    if record_id is not None:
        result["id"] = record_id
    return result


def _success(record_id: str) -> dict[str, Any]:
    return {"id": record_id, "success": True, "errors": []}


class FakeSalesforce(OAuthCredentialsFake, FakeServer):
    """Strict fake Salesforce org with OAuth, for tests and the local sandbox.

    Contract counts: CampaignMember records created, plus emails named in removal lookups (re-sends included).
    """

    credential_fields: ClassVar[tuple[str, ...]] = CREDENTIALS
    test_prefix: ClassVar[str] = TEST_PREFIX
    sandbox_prefix: ClassVar[str] = SANDBOX_PREFIX

    url_env: ClassVar[str] = "AUDIENCE_PIPELINES_SANDBOX_SALESFORCE_URL"

    def __init__(
        self,
        credentials: Mapping[str, str] | None = None,
        *,
        env_prefix: str = TEST_PREFIX,
        custom_fields: Mapping[str, str] | None = None,
        token_lifetime: int = 7_200,
        clock: Callable[[], float] = time.monotonic,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.credentials = dict(credentials or fresh_credentials(CREDENTIALS))
        self.env_prefix = env_prefix
        self.custom_fields = dict(CUSTOM_FIELDS if custom_fields is None else custom_fields)
        self.tokens = FakeTokenEndpoint(
            self.credentials, lifetime=token_lifetime, token_prefix="00Dfake!", clock=clock, answer={}
        )
        self._ids = itertools.count(1)
        self._campaigns: dict[str, dict[str, Any]] = {}
        self._statuses: dict[str, set[str]] = {}
        self._people: dict[str, dict[str, dict[str, Any]]] = {"Contact": {}, "Lead": {}}
        self._emails: dict[str, dict[str, list[str]]] = {"Contact": {}, "Lead": {}}
        self._members: dict[str, dict[str, Any]] = {}
        self._membership: dict[tuple[str, str], str] = {}
        self._by_campaign: dict[str, set[str]] = {}
        self._throttles = 0
        self._limit_exceeded = 0
        self._delays: list[float] = []
        self.person_deletes = 0

    # ------------------------------------------------------------------ contract fake

    def destination(self, type_name: str) -> dict[str, Any]:
        return {
            "credentials": self.credential_variables(),
            "settings": {"token_url": self.url(TOKEN_PATH)},
        }

    def held(self, config: DestinationConfig, list_id: str | None, sync: str) -> set[str]:
        """Emails of the campaign's members (in ``set_status`` removal, those without the removed status)."""
        settings: Any = getattr(config, "settings", None)
        person = getattr(settings, "person_object", "Contact")
        removed = (
            getattr(settings, "removed_status", None) if getattr(settings, "removal", "") == "set_status" else None
        )
        with self._lock:
            members = (self._members[i] for i in self._by_campaign.get(list_id or "", ()))
            return {
                self._people[person][m[f"{person}Id"]]["Email"]
                for m in members
                if m.get(f"{person}Id") and m["Status"] != removed
            }

    def throttle_next(self) -> float | None:
        """The next collection request answers 503 server busy, Salesforce's retryable throttle (no wait given)."""
        with self._lock:
            self._throttles += 1
        return None

    def exceed_request_limit(self, times: int = 1) -> None:
        """The next API requests answer 403 REQUEST_LIMIT_EXCEEDED (the org's daily allocation is used up)."""
        with self._lock:
            self._limit_exceeded += times

    def revoke_credentials(self) -> None:
        self.tokens.revoke()

    def slow_down(self, seconds: float, times: int) -> None:
        with self._lock:
            self._delays.extend([seconds] * times)

    # ------------------------------------------------------------------ scripting and inspection

    def expire_sessions(self) -> None:
        self.tokens.expire()

    def add_campaign(self, name: str) -> str:
        with self._lock:
            return self._new_campaign({"Name": name, "IsActive": True})

    def add_member_status(self, campaign_id: str, label: str) -> None:
        with self._lock:
            self._statuses[campaign_id].add(label)

    def add_person(self, fields: Mapping[str, Any], person_object: str = "Contact") -> str:
        with self._lock:
            return self._insert_person(person_object, dict(fields))

    def people(self, person_object: str = "Contact") -> dict[str, dict[str, Any]]:
        """Id -> fields of every Contact (or Lead)."""
        with self._lock:
            return {pid: dict(record) for pid, record in self._people[person_object].items()}

    def profile_value(self, email: str, name: str) -> object | None:
        """A field of the Contact with this email (``ProfileFake``)."""
        person = self.person_by_email(email)
        return person.get(name) if person else None

    def person_by_email(self, email: str, person_object: str = "Contact") -> dict[str, Any] | None:
        with self._lock:
            ids = self._emails[person_object].get(email.casefold(), [])
            return dict(self._people[person_object][ids[0]]) if ids else None

    def campaign_members(self, campaign_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(self._members[i]) for i in self._by_campaign.get(campaign_id, ())]

    def campaigns(self) -> dict[str, str]:
        with self._lock:
            return {cid: c["Name"] for cid, c in self._campaigns.items()}

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "campaigns": {
                    cid: {"name": c["Name"], "members": len(self._by_campaign[cid])}
                    for cid, c in self._campaigns.items()
                },
                "contacts": len(self._people["Contact"]),
                "leads": len(self._people["Lead"]),
            }

    def default_fault_body(self, status: int) -> Any:
        codes = {401: "INVALID_SESSION_ID", 403: "REQUEST_LIMIT_EXCEEDED", 404: "NOT_FOUND", 503: "SERVER_UNAVAILABLE"}
        return [{"message": "Injected fault", "errorCode": codes.get(status, "UNKNOWN_EXCEPTION")}]

    # ------------------------------------------------------------------ handling

    def handle(self, request: Request) -> Response:
        if request.path == TOKEN_PATH:
            return self._grant(request)
        route = _PATH.match(request.path)
        try:
            if route is None or not VERSIONS[0] <= float(route.group(1)) <= VERSIONS[1]:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            if self.tokens.state(request.header("authorization")) != "live":
                raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
            with self._lock:
                if self._limit_exceeded:
                    self._limit_exceeded -= 1
                    raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            return self._route(request, route.group(1), route.group(2).rstrip("/"))
        except ApiError as error:
            return Response(error.status, error.body)

    def _grant(self, request: Request) -> Response:
        response = self.tokens.grant(request)
        if response.status == 200 and isinstance(response.body, dict):
            response.body.pop("expires_in", None)  # Salesforce gives no lifetime; the org's session timeout applies
            response.body.update(instance_url=self.base_url, token_type="Bearer", id=self.url("/id/00Dfake/005fake"))
        return response

    def _route(self, request: Request, version: str, path: str) -> Response:
        if path == "/query" and request.method == "GET":
            return self._query(request, version)
        if path == "/sobjects/Campaign" and request.method == "POST":
            return self._create_campaign(request)
        if path.startswith("/sobjects/Campaign/") and request.method == "GET":
            return self._read_campaign(path.rsplit("/", 1)[-1], version)
        if path == "/composite/sobjects":
            with self._lock:
                delay = self._delays.pop(0) if self._delays else 0.0
            if delay:
                self._stopping.wait(delay)
            with self._lock:
                if self._throttles:
                    self._throttles -= 1
                    raise ApiError(503, "SERVER_UNAVAILABLE", "Server busy, please try again later.")
            if request.method == "DELETE":
                return self._delete(request)
            if request.method in ("POST", "PATCH"):
                return self._collection(request)
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    @staticmethod
    def _body(request: Request) -> Any:
        if request.content_type != "application/json":
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Content type must be application/json.")
        try:
            return request.json()
        except BodyError:
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON.") from None

    # ------------------------------------------------------------------ campaigns

    def _new_campaign(self, fields: dict[str, Any]) -> str:
        campaign_id = self._new_id("Campaign")
        self._campaigns[campaign_id] = {"Id": campaign_id, **fields}
        self._statuses[campaign_id] = set(DEFAULT_STATUSES)
        self._by_campaign[campaign_id] = set()
        return campaign_id

    def _create_campaign(self, request: Request) -> Response:
        body = self._body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The body must be a JSON object.")
        if unknown := sorted(set(body) - CAMPAIGN_FIELDS):
            raise ApiError(400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type Campaign")
        name = body.get("Name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]")
        if len(name) > 80:
            raise ApiError(400, "STRING_TOO_LONG", "Campaign Name: data value too large (max length=80)")
        with self._lock:
            return Response(201, _success(self._new_campaign(body)))

    def _read_campaign(self, campaign_id: str, version: str) -> Response:
        with self._lock:
            campaign = self._campaigns.get(campaign_id)
            if campaign is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return Response(200, {"attributes": self._attributes("Campaign", campaign_id, version), **campaign})

    # ------------------------------------------------------------------ queries

    def _query(self, request: Request, version: str) -> Response:
        text = request.query.get("q")
        if not text:
            raise ApiError(400, "MALFORMED_QUERY", "A query string is required.")
        try:
            query = fake_soql.parse(text)
        except fake_soql.MalformedQuery as error:
            raise ApiError(400, "MALFORMED_QUERY", str(error)) from None
        allowed = self._queryable(query.sobject)
        if unknown := [name for name in [*query.fields, *query.conditions] if name not in allowed]:
            raise ApiError(400, "INVALID_FIELD", f"No such column '{unknown[0]}' on entity '{query.sobject}'")
        with self._lock:
            rows = [r for r in self._candidates(query) if self._matches(query, r)]
            rows = rows[: query.limit] if query.limit is not None else rows
            records = [self._project(query, row, version) for row in rows]
            if query.sobject == "CampaignMember" and (emails := self._member_emails(query)):
                # a removal's member request: the members to remove are named here (the DELETE carries ids)
                self.count_rows(emails)
        return Response(200, {"totalSize": len(records), "done": True, "records": records})

    def _member_emails(self, query: fake_soql.Query) -> int:
        return sum(len(query.conditions.get(f"{person}.Email", ())) for person in self._people)

    def _queryable(self, sobject: str) -> frozenset[str]:
        if sobject == "Campaign":
            return frozenset({"Id", "CreatedDate", *CAMPAIGN_FIELDS})
        if sobject in self._people:
            return frozenset({"Id", *STANDARD_FIELDS[sobject], *self.custom_fields})
        if sobject == "CampaignMember":
            return MEMBER_FIELDS
        raise ApiError(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")

    def _candidates(self, query: fake_soql.Query) -> list[dict[str, Any]]:
        conditions = query.conditions
        if query.sobject == "Campaign":
            return list(self._campaigns.values())
        if query.sobject in self._people:
            table = self._people[query.sobject]
            if "Email" in conditions:
                ids = [i for email in conditions["Email"] for i in self._emails[query.sobject].get(email, [])]
                return [table[i] for i in sorted(set(ids))]
            return list(table.values())
        person_ids: set[str] | None = None
        for person in self._people:
            if f"{person}.Email" in conditions:
                index = self._emails[person]
                person_ids = {i for email in conditions[f"{person}.Email"] for i in index.get(email, [])}
            elif f"{person}Id" in conditions:
                person_ids = {i for i in self._people[person] if i.casefold() in conditions[f"{person}Id"]}
        campaigns = [c for c in self._campaigns if c.casefold() in conditions.get("CampaignId", {c.casefold()})]
        if person_ids is not None:
            found = (self._membership.get((c, p)) for c in campaigns for p in sorted(person_ids))
            return [self._members[i] for i in found if i is not None]
        return [self._members[i] for c in campaigns for i in sorted(self._by_campaign[c])]

    def _value(self, row: dict[str, Any], name: str) -> Any:
        if "." in name:
            person, field = name.split(".", 1)
            related = self._people[person].get(row.get(f"{person}Id") or "")
            return related.get(field) if related else None
        return row.get(name)

    def _matches(self, query: fake_soql.Query, row: dict[str, Any]) -> bool:
        for name, values in query.conditions.items():
            value = self._value(row, name)
            if value is None or str(value).casefold() not in values:
                return False
        return True

    def _project(self, query: fake_soql.Query, row: dict[str, Any], version: str) -> dict[str, Any]:
        record: dict[str, Any] = {"attributes": self._attributes(query.sobject, row["Id"], version)}
        for name in query.fields:
            if "." in name:
                person, field = name.split(".", 1)
                pid = row.get(f"{person}Id")
                record[person] = (
                    {"attributes": self._attributes(person, pid, version), field: self._value(row, name)}
                    if pid
                    else None
                )
            else:
                record[name] = row.get(name)
        return record

    @staticmethod
    def _attributes(sobject: str, record_id: str, version: str) -> dict[str, str]:
        return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}"}

    # ------------------------------------------------------------------ collections

    def _collection(self, request: Request) -> Response:
        body = self._body(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records or not isinstance(body.get("allOrNone", False), bool):
            raise ApiError(400, "JSON_PARSER_ERROR", "The body must be {allOrNone, records: [...]} with records.")
        if len(records) > MAX_RECORDS:
            raise ApiError(
                400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"
            )
        if not all(
            isinstance(r, dict) and isinstance(r.get("attributes"), dict) and r["attributes"].get("type")
            for r in records
        ):
            raise ApiError(400, "INVALID_TYPE", "Each record needs attributes.type.")
        update = request.method == "PATCH"
        with self._lock:
            results = [self._save(record, update) for record in records]
            self.count_rows(len(records), received=False)
            created = sum(r["attributes"]["type"] == "CampaignMember" for r in records) if not update else 0
            self.count_rows(created, largest=False)
        return Response(200, results)

    def _save(self, record: dict[str, Any], update: bool) -> dict[str, Any]:
        sobject = record["attributes"]["type"]
        fields = {k: v for k, v in record.items() if k != "attributes"}
        record_id = fields.pop("id", None) if update else None
        if update and not isinstance(record_id, str):
            return _failure("MISSING_ARGUMENT", "Id not specified in an update call")
        if "Id" in fields or "id" in fields:
            return _failure("INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Id", ["Id"], record_id)
        if sobject in self._people:
            return self._save_person(sobject, fields, record_id)
        if sobject == "CampaignMember":
            return self._save_member(fields, record_id)
        return _failure("INVALID_TYPE", f"sObject type '{sobject}' is not supported here", record_id=record_id)

    def _field_failure(self, sobject: str, fields: dict[str, Any], record_id: str | None) -> dict[str, Any] | None:
        for name, value in fields.items():
            if name not in STANDARD_FIELDS[sobject] and name not in self.custom_fields:
                return _failure(
                    "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}", [name], record_id
                )
            if self.custom_fields.get(name) == "number" and value is not None and not _NUMBER.match(str(value)):
                return _failure(
                    "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: value not of required type", [name], record_id
                )
        email = fields.get("Email")
        if email is not None and (not isinstance(email, str) or not _EMAIL.match(email)):
            return _failure("INVALID_EMAIL_ADDRESS", f"Email: invalid email address: {email}", ["Email"], record_id)
        return None

    def _save_person(self, sobject: str, fields: dict[str, Any], record_id: str | None) -> dict[str, Any]:
        if (failure := self._field_failure(sobject, fields, record_id)) is not None:
            return failure
        if record_id is None:
            required = ["LastName", "Company"] if sobject == "Lead" else ["LastName"]
            if missing := [name for name in required if not fields.get(name)]:
                return _failure(
                    "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                )
            return _success(self._insert_person(sobject, fields))
        current = self._people[sobject].get(record_id)
        if current is None:
            return _failure("ENTITY_IS_DELETED", "entity is deleted", [], record_id)
        old = str(current.get("Email") or "").casefold()
        current.update(fields)
        if "Email" in fields and old != str(fields["Email"]).casefold():
            self._emails[sobject][old].remove(record_id)
            self._emails[sobject].setdefault(str(fields["Email"]).casefold(), []).append(record_id)
        return _success(record_id)

    def _insert_person(self, sobject: str, fields: dict[str, Any]) -> str:
        person_id = self._new_id(sobject)
        self._people[sobject][person_id] = {"Id": person_id, **fields}
        if fields.get("Email"):
            self._emails[sobject].setdefault(str(fields["Email"]).casefold(), []).append(person_id)
        return person_id

    def _save_member(self, fields: dict[str, Any], record_id: str | None) -> dict[str, Any]:
        if record_id is not None:
            member = self._members.get(record_id)
            if member is None:
                return _failure("ENTITY_IS_DELETED", "entity is deleted", [], record_id)
            if set(fields) - {"Status"}:
                return _failure(
                    "INVALID_FIELD_FOR_INSERT_UPDATE", "Only Status can be updated", sorted(fields), record_id
                )
            if "Status" in fields and fields["Status"] not in self._statuses[member["CampaignId"]]:
                return _failure("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Status: bad value", ["Status"], record_id)
            member.update(fields)
            return _success(record_id)
        if unknown := sorted(set(fields) - {"CampaignId", "ContactId", "LeadId", "Status"}):
            return _failure(
                "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type CampaignMember", unknown
            )
        campaign = fields.get("CampaignId")
        if campaign not in self._campaigns:
            return _failure("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["CampaignId"])
        people = [(p, fields[f"{p}Id"]) for p in self._people if fields.get(f"{p}Id")]
        if len(people) != 1 or people[0][1] not in self._people[people[0][0]]:
            return _failure("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["ContactId", "LeadId"])
        status = fields.get("Status", "Sent")
        if status not in self._statuses[campaign]:
            return _failure("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Status: bad value", ["Status"])
        person, person_id = people[0]
        if (campaign, person_id) in self._membership:
            return _failure("DUPLICATE_VALUE", "Already a campaign member.", [])
        member_id = self._new_id("CampaignMember")
        self._members[member_id] = {"Id": member_id, "CampaignId": campaign, f"{person}Id": person_id, "Status": status}
        self._membership[(campaign, person_id)] = member_id
        self._by_campaign[campaign].add(member_id)
        return _success(member_id)

    def _delete(self, request: Request) -> Response:
        ids = [i for i in (request.query.get("ids") or "").split(",") if i]
        if not ids:
            raise ApiError(400, "MISSING_ARGUMENT", "ids is required.")
        if len(ids) > MAX_RECORDS:
            raise ApiError(
                400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"
            )
        if request.query.get("allOrNone", "false") not in ("true", "false"):
            raise ApiError(400, "INVALID_QUERY_FILTER_OPERATOR", "allOrNone must be true or false.")
        with self._lock:
            results = [self._delete_one(i) for i in ids]
            self.count_rows(len(ids), received=False)
        return Response(200, results)

    def _delete_one(self, record_id: str) -> dict[str, Any]:
        if any(record_id in table for table in self._people.values()):
            self.person_deletes += 1
            return _failure("DELETE_FAILED", "this fake never deletes people", [], record_id)
        member = self._members.pop(record_id, None)
        if member is None:
            return _failure("ENTITY_IS_DELETED", "entity is deleted", [], record_id)
        person = next(p for p in self._people if member.get(f"{p}Id"))
        del self._membership[(member["CampaignId"], member[f"{person}Id"])]
        self._by_campaign[member["CampaignId"]].discard(record_id)
        return _success(record_id)

    def _new_id(self, sobject: str) -> str:
        return f"{PREFIXES[sobject]}Fk{next(self._ids):013d}"
