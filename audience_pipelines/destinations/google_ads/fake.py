"""A strict fake of the Google Ads REST API for Customer Match, on 127.0.0.1.

Serves the OAuth token endpoint (``POST /token``, refresh-token grant, expiring access tokens) and, under
``/{version}/customers/{customer_id}/``: ``googleAds:search`` (a GAQL subset over ``user_list`` and
``offline_user_data_job``, paged), ``userLists:mutate`` (create), ``offlineUserDataJobs:create``,
``offlineUserDataJobs/{id}:addOperations`` and ``offlineUserDataJobs/{id}:run``. Jobs go PENDING -> RUNNING
-> SUCCESS across status polls; members are applied to the list when a job succeeds. Bodies and tokens are
never logged.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, ClassVar

from audience_pipelines.destinations.google_ads import fake_rules as rules
from audience_pipelines.destinations.settings import DestinationConfig
from audience_pipelines.sandbox.matching import count_matched
from audience_pipelines.sandbox.oauth import FakeTokenEndpoint, OAuthCredentialsFake, fresh_credentials
from audience_pipelines.sandbox.server import BodyError, FakeServer, Request, Response, member_labels

CUSTOMER_ID = "1234567890"
SANDBOX_PREFIX = "AUDIENCE_PIPELINES_GOOGLE_ADS_"
TEST_PREFIX = "CONTRACT_GOOGLE_ADS_"
CREDENTIALS = ("client_id", "client_secret", "refresh_token", "developer_token")
SCOPE = "https://www.googleapis.com/auth/adwords"
KNOWN_FIELDS = {
    "user_list": frozenset(
        f"user_list.{name}"
        for name in (
            "resource_name",
            "id",
            "name",
            "description",
            "type",
            "membership_life_span",
            "crm_based_user_list.upload_key_type",
            "crm_based_user_list.app_id",
            "size_for_display",
            "size_for_search",
        )
    ),
    "offline_user_data_job": frozenset(
        f"offline_user_data_job.{name}"
        for name in (
            "resource_name",
            "id",
            "type",
            "status",
            "failure_reason",
            "customer_match_user_list_metadata.user_list",
            "operation_metadata.match_rate_range",
        )
    ),
}
_ROUTE = re.compile(
    r"^/(?P<version>v\d{2})/customers/(?P<customer>[^/]+)/"
    r"(?:(?P<call>googleAds:search|userLists:mutate|offlineUserDataJobs:create)"
    r"|offlineUserDataJobs/(?P<job>\d+):(?P<action>addOperations|run))$"
)
Identity = frozenset[tuple[str, str]]


@dataclass
class _UserList:
    id: int
    name: str
    description: str
    life_span: int
    key_type: str
    app_id: str | None
    type: str = "CRM_BASED"
    members: dict[Identity, None] = field(default_factory=dict)  # an ordered set
    consents: dict[Identity, dict[str, str]] = field(default_factory=dict)  # consent each member was added with


@dataclass
class _Job:
    id: int
    list_id: int
    status: str = "PENDING"
    kind: str | None = None
    staged: list[tuple[str, list[Identity]]] = field(default_factory=list)
    failure_reason: str | None = None
    fail_with: str | None = None
    polls: int = 0
    consent: dict[str, str] = field(default_factory=dict)  # job-level consent
    member_consents: dict[Identity, dict[str, str]] = field(default_factory=dict)  # UserData.consent, per member
    match_rate_range: str | None = None


class FakeGoogleAds(OAuthCredentialsFake, FakeServer):
    """Strict fake Google Ads API (Customer Match) with OAuth, for tests and the local sandbox."""

    credential_fields: ClassVar[tuple[str, ...]] = CREDENTIALS
    test_prefix: ClassVar[str] = TEST_PREFIX
    sandbox_prefix: ClassVar[str] = SANDBOX_PREFIX

    url_env: ClassVar[str] = "AUDIENCE_PIPELINES_SANDBOX_GOOGLE_ADS_URL"

    def __init__(
        self,
        credentials: dict[str, str] | None = None,
        *,
        customer_id: str = CUSTOMER_ID,
        login_customer_id: str | None = None,
        env_prefix: str = TEST_PREFIX,
        token_lifetime: int = 3599,
        page_size: int = 10_000,
        polls_to_finish: int = 1,
        clock: Callable[[], float] = time.monotonic,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.credentials = dict(credentials or fresh_credentials(CREDENTIALS))
        self.customer_id = customer_id
        self.login_customer_id = login_customer_id
        self.env_prefix = env_prefix
        self.page_size = page_size
        self.polls_to_finish = polls_to_finish
        self._clock = clock
        self._ids = itertools.count(1_000_001)
        self.tokens = FakeTokenEndpoint(
            self.credentials,
            lifetime=token_lifetime,
            token_prefix="ya29.fake-",
            clock=clock,
            answer={"scope": SCOPE, "token_type": "Bearer"},
        )
        self._terms_accepted = True
        self._lists: dict[int, _UserList] = {}
        self._jobs: dict[int, _Job] = {}
        self._job_failures: list[str] = []
        self._conflicts = 0
        self._throttles: list[float] = []
        self._member_delays: list[float] = []

    # ------------------------------------------------------------------ contract fake

    def destination(self, type_name: str) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "credentials": self.credential_variables(),
            "settings": {"customer_id": self.customer_id, "token_url": self.url("/token")},
        }

    def held(self, config: DestinationConfig, list_id: str | None, sync: str) -> set[str]:
        if list_id is None:
            return set()
        with self._lock:
            user_list = self._lists.get(int(list_id.rsplit("/", 1)[-1]))
            members = user_list.members if user_list else {}
            return member_labels(_label_pair(member) for member in members)

    @property
    def token_requests(self) -> int:
        """Grants asked of the token endpoint so far."""
        return self.tokens.requests

    def throttle_next(self, seconds: float = 2.0) -> float | None:
        """The next addOperations answers 429 RESOURCE_EXHAUSTED with ``retryDelay`` of ``seconds``."""
        with self._lock:
            self._throttles.append(seconds)
        return seconds

    def revoke_credentials(self) -> None:
        self.tokens.revoke()

    def slow_down(self, seconds: float, times: int) -> None:
        with self._lock:
            self._member_delays.extend([seconds] * times)

    # ------------------------------------------------------------------ scripting and inspection

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (the refresh token still works)."""
        self.tokens.expire()

    def fail_next_job(self, reason: str = "UNKNOWN") -> None:
        """The next job that is run ends FAILED with ``failure_reason``."""
        with self._lock:
            self._job_failures.append(reason)

    def conflict_next(self, times: int = 1) -> None:
        """The next addOperations requests answer CONCURRENT_MODIFICATION."""
        with self._lock:
            self._conflicts += times

    def refuse_data_terms(self) -> None:
        """Behave like a customer that has not accepted the customer data terms."""
        with self._lock:
            self._terms_accepted = False

    def add_user_list(self, name: str, key_type: str = "CONTACT_INFO", *, list_type: str = "CRM_BASED") -> str:
        """Create a user list directly; returns its id."""
        with self._lock:
            list_id = next(self._ids)
            self._lists[list_id] = _UserList(list_id, name, "", 540, key_type, None, list_type)
            return str(list_id)

    def members(self, list_id: str) -> list[set[tuple[str, str]]]:
        """Members of a list, each as its set of ``(identifier kind, value)``."""
        with self._lock:
            return [set(member) for member in self._lists[int(list_id)].members]

    def matched_members(self, list_id: str) -> int:
        """Members of the list the fake counts as matched (its size_for_display)."""
        with self._lock:
            return _matched(self._lists[int(list_id.rsplit("/", 1)[-1])])

    def member_consents(self, list_id: str) -> list[dict[str, str]]:
        """The consent each member of the list was added with (its UserData's, else its job's)."""
        with self._lock:
            user_list = self._lists[int(list_id)]
            return [dict(user_list.consents.get(member, {})) for member in user_list.members]

    def job_status(self, job: str) -> str:
        with self._lock:
            return self._jobs[int(job.rsplit("/", 1)[-1])].status

    def state(self) -> dict[str, Any]:
        with self._lock:
            lists = {
                str(ul.id): {"name": ul.name, "upload_key_type": ul.key_type, "members": len(ul.members)}
                for ul in self._lists.values()
            }
            jobs = {str(job.id): {"list": str(job.list_id), "status": job.status} for job in self._jobs.values()}
            return {"customer_id": self.customer_id, "lists": lists, "jobs": jobs}

    def default_fault_body(self, status: int) -> Any:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return rules.status_body(status, phrase)

    # ------------------------------------------------------------------ handling

    def handle(self, request: Request) -> Response:
        if request.path == "/token":
            return self.tokens.grant(request)
        route = _ROUTE.match(request.path)
        if route is None:
            return Response(404, rules.status_body(404, "Requested entity was not found."))
        if request.method != "POST":
            return Response(405, rules.status_body(405, "Method not allowed."))
        version = route.group("version")
        try:
            self._authorize(request, version, route.group("customer"))
            if route.group("action") == "addOperations":
                self._before_members(version)
            body = self._json(request)
            with self._lock:
                answer = self._dispatch(route, version, body)
        except rules.ApiError as error:
            return Response(error.status, error.body)
        return Response(200, answer)

    def _dispatch(self, route: re.Match[str], version: str, body: Any) -> dict[str, Any]:
        call, action = route.group("call"), route.group("action")
        if call == "googleAds:search":
            return self._search(version, rules.strict(body, rules.SEARCH))
        if call == "userLists:mutate":
            return self._create_lists(version, rules.strict(body, rules.MUTATE_LISTS))
        if call == "offlineUserDataJobs:create":
            return self._create_job(version, rules.strict(body, rules.CREATE_JOB))
        job = self._job(version, int(route.group("job")))
        if action == "run":
            return self._run(version, job, rules.strict(body, rules.RUN_JOB))
        return self._add_operations(version, job, rules.strict(body, rules.ADD_OPERATIONS))

    def _authorize(self, request: Request, version: str, customer: str) -> None:
        state = self.tokens.state(request.header("authorization"))
        if state != "live":
            code = "OAUTH_TOKEN_EXPIRED" if state == "expired" else "OAUTH_TOKEN_INVALID"
            message = "Request had invalid authentication credentials."
            raise rules.ads_error(401, version, [rules.failure("authenticationError", code, message)], message)
        if request.header("developer-token") != self.credentials["developer_token"]:
            error = rules.failure("authenticationError", "DEVELOPER_TOKEN_INVALID", "The developer token is invalid.")
            raise rules.ads_error(401, version, [error], "The caller does not have permission")
        manager = request.header("login-customer-id")
        if customer != self.customer_id or manager != self.login_customer_id:
            message = "User doesn't have permission to access customer."
            error = rules.failure("authorizationError", "USER_PERMISSION_DENIED", message)
            raise rules.ads_error(403, version, [error], "The caller does not have permission")

    def _before_members(self, version: str) -> None:
        """Scripted delays, throttles and conflicts for member requests."""
        with self._lock:
            delay = self._member_delays.pop(0) if self._member_delays else 0.0
        if delay:
            self._stopping.wait(delay)
        with self._lock:
            if self._throttles:
                seconds = self._throttles.pop(0)
                error = rules.failure("quotaError", "RESOURCE_EXHAUSTED", "Too many requests.")
                error["details"] = {"quotaErrorDetails": {"rateScope": "DEVELOPER", "retryDelay": f"{seconds:g}s"}}
                raise rules.ads_error(429, version, [error], "Resource has been exhausted.")
            if self._conflicts:
                self._conflicts -= 1
                message = "Multiple requests were attempting to modify the same resource at once."
                raise rules.ads_error(
                    400, version, [rules.failure("databaseError", "CONCURRENT_MODIFICATION", message)]
                )

    @staticmethod
    def _json(request: Request) -> Any:
        if not request.body:
            return {}
        if request.content_type != "application/json":
            raise rules.ApiError(400, rules.status_body(400, "Send application/json."))
        try:
            return request.json()
        except BodyError:
            raise rules.invalid_json("", "The body is not JSON.") from None

    # ------------------------------------------------------------------ search

    def _search(self, version: str, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("query"):
            raise rules.ads_error(400, version, [rules.failure("queryError", "QUERY_ERROR", "Query is empty.")])
        query = rules.parse_query(body["query"], KNOWN_FIELDS, version)
        entities = self._lists.values() if query.resource == "user_list" else self._jobs.values()
        values = [self._values(entity) for entity in sorted(entities, key=lambda e: e.id)]
        found = [row for row in values if rules.matches(query, row)]
        if query.resource == "offline_user_data_job":
            self._advance(int(row["offline_user_data_job.id"]) for row in found)
            found = [self._values(self._jobs[int(row["offline_user_data_job.id"])]) for row in found]
        found = found[: query.limit] if query.limit is not None else found
        digest = hashlib.sha256(body["query"].encode()).hexdigest()[:12]
        offset = 0
        if body.get("pageToken"):
            token = re.fullmatch(rf"(\d+)\.{digest}", body["pageToken"])
            if token is None:
                raise rules.ads_error(400, version, [rules.failure("requestError", "INVALID_PAGE_TOKEN", "Bad token.")])
            offset = int(token.group(1))
        page = found[offset : offset + self.page_size]
        answer: dict[str, Any] = {"fieldMask": rules.field_mask(query), "requestId": rules.request_id()}
        if page:
            answer["results"] = [rules.render_row(query, row) for row in page]
        if offset + self.page_size < len(found):
            answer["nextPageToken"] = f"{offset + self.page_size}.{digest}"
        return answer

    def _values(self, entity: _UserList | _Job) -> dict[str, Any]:
        prefix = f"customers/{self.customer_id}"
        if isinstance(entity, _UserList):
            return {
                "user_list.resource_name": f"{prefix}/userLists/{entity.id}",
                "user_list.id": entity.id,
                "user_list.name": entity.name,
                "user_list.description": entity.description or None,
                "user_list.type": entity.type,
                "user_list.membership_life_span": entity.life_span,
                "user_list.crm_based_user_list.upload_key_type": entity.key_type
                if entity.type == "CRM_BASED"
                else None,
                "user_list.crm_based_user_list.app_id": entity.app_id,
                "user_list.size_for_display": _matched(entity),
                "user_list.size_for_search": _matched(entity) * 9 // 10,
            }
        return {
            "offline_user_data_job.resource_name": f"{prefix}/offlineUserDataJobs/{entity.id}",
            "offline_user_data_job.id": entity.id,
            "offline_user_data_job.type": "CUSTOMER_MATCH_USER_LIST",
            "offline_user_data_job.status": entity.status,
            "offline_user_data_job.failure_reason": entity.failure_reason,
            "offline_user_data_job.customer_match_user_list_metadata.user_list": f"{prefix}/userLists/{entity.list_id}",
            "offline_user_data_job.operation_metadata.match_rate_range": entity.match_rate_range,
        }

    def _advance(self, job_ids: Any) -> None:
        """A status poll moves a running job on: RUNNING for ``polls_to_finish`` polls, then it ends."""
        for job_id in job_ids:
            job = self._jobs[job_id]
            if job.status != "RUNNING":
                continue
            if job.polls < self.polls_to_finish:
                job.polls += 1
                continue
            if job.fail_with is not None:
                job.status, job.failure_reason = "FAILED", job.fail_with
                continue
            job.status = "SUCCESS"
            self._apply(self._lists[job.list_id], job)

    @staticmethod
    def _apply(user_list: _UserList, job: _Job) -> None:
        """Members are kept as the exact identifier sets uploaded (matching them to Google accounts, which may
        join two uploads that share a phone, is not modelled). A removal takes out the identical set, or, when
        none is identical, every member sharing an identifier with it. The job's match rate range is the share
        of its uploaded members the fake counts as matched."""
        uploaded = [identity for kind, identities in job.staged if kind != "removeAll" for identity in identities]
        job.match_rate_range = rules.match_rate_range(
            count_matched((value for _, value in identity) for identity in uploaded), len(uploaded)
        )
        for kind, identities in job.staged:
            for identity in identities:
                if kind == "removeAll":
                    user_list.members.clear()
                elif kind == "create":
                    user_list.members[identity] = None
                    user_list.consents[identity] = job.member_consents.get(identity, job.consent)
                elif identity in user_list.members:
                    del user_list.members[identity]
                else:
                    user_list.members = {member: None for member in user_list.members if not member & identity}

    # ------------------------------------------------------------------ user lists

    def _create_lists(self, version: str, body: dict[str, Any]) -> dict[str, Any]:
        operations = body.get("operations") or []
        if not operations:
            raise rules.ads_error(400, version, [rules.failure("fieldError", "REQUIRED", "operations is required.")])
        prefix = f"customers/{self.customer_id}/userLists"
        removals = [op["remove"] for op in operations if isinstance(op, dict) and "remove" in op]
        if removals:  # UserListOperation.remove: the resource names of lists to delete
            return self._remove_lists(version, removals, prefix, bool(body.get("validateOnly")))
        created: list[_UserList] = []
        for index, operation in enumerate(operations):
            created.append(self._new_list(version, index, operation.get("create") or {}, created))
        if body.get("validateOnly"):
            return {}
        for user_list in created:
            self._lists[user_list.id] = user_list
        return {"results": [{"resourceName": f"{prefix}/{user_list.id}"} for user_list in created]}

    def _remove_lists(self, version: str, names: list[Any], prefix: str, validate_only: bool) -> dict[str, Any]:
        ids = []
        for index, name in enumerate(names):
            tail = str(name).removeprefix(prefix + "/")
            if not tail.isdigit() or int(tail) not in self._lists:
                path = [{"fieldName": "operations", "index": index}, {"fieldName": "remove"}]
                raise rules.ads_error(
                    400, version, [rules.failure("mutateError", "RESOURCE_NOT_FOUND", "Resource was not found.", path)]
                )
            ids.append(int(tail))
        if not validate_only:
            for list_id in ids:
                del self._lists[list_id]
        return {"results": [{"resourceName": f"{prefix}/{list_id}"} for list_id in ids]}

    def _new_list(self, version: str, index: int, create: dict[str, Any], pending: list[_UserList]) -> _UserList:
        def refuse(category: str, code: str, message: str, name: str) -> rules.ApiError:
            path = [{"fieldName": "operations", "index": index}, {"fieldName": "create"}, {"fieldName": name}]
            return rules.ads_error(400, version, [rules.failure(category, code, message, path)])

        name = create.get("name", "")
        if not name.strip() or len(name) > 255:
            raise refuse("userListError", "INVALID_NAME", "Name is invalid.", "name")
        if any(other.name == name for other in [*self._lists.values(), *pending]):
            raise refuse("userListError", "NAME_ALREADY_USED", "Name is already being used.", "name")
        crm = create.get("crmBasedUserList")
        if not crm or "uploadKeyType" not in crm:
            raise refuse(
                "userListError", "CONCRETE_TYPE_REQUIRED", "A CRM-based list is required.", "crm_based_user_list"
            )
        if (crm["uploadKeyType"] == "MOBILE_ADVERTISING_ID") != bool(crm.get("appId")):
            code = "APP_ID_NOT_SET" if crm["uploadKeyType"] == "MOBILE_ADVERTISING_ID" else "APP_ID_NOT_ALLOWED"
            raise refuse("userListError", code, "appId is only for mobile id lists.", "crm_based_user_list")
        life_span = create.get("membershipLifeSpan", 30)
        if not (0 <= life_span <= 540 or life_span == 10_000):
            raise refuse("rangeError", "TOO_HIGH", "Membership life span is out of range.", "membership_life_span")
        description = create.get("description", "")
        return _UserList(next(self._ids), name, description, life_span, crm["uploadKeyType"], crm.get("appId"))

    # ------------------------------------------------------------------ jobs

    def _job(self, version: str, job_id: int) -> _Job:
        if job_id not in self._jobs:
            message = "The resource was not found."
            raise rules.ads_error(404, version, [rules.failure("mutateError", "RESOURCE_NOT_FOUND", message)], message)
        return self._jobs[job_id]

    def _create_job(self, version: str, body: dict[str, Any]) -> dict[str, Any]:
        def refuse(code: str, message: str) -> rules.ApiError:
            return rules.ads_error(400, version, [rules.failure("offlineUserDataJobError", code, message)])

        job = body.get("job") or {}
        metadata = job.get("customerMatchUserListMetadata")
        if job.get("type") != "CUSTOMER_MATCH_USER_LIST" or metadata is None:
            raise refuse("INVALID_USER_LIST_TYPE", "Only Customer Match jobs are supported.")
        match = re.fullmatch(rf"customers/{self.customer_id}/userLists/(\d+)", metadata.get("userList", ""))
        user_list = self._lists.get(int(match.group(1))) if match else None
        if user_list is None:
            raise refuse("INVALID_USER_LIST_ID", "The user list ID provided for the job is invalid.")
        if user_list.type != "CRM_BASED":
            raise refuse("INVALID_USER_LIST_TYPE", "Type of the user list is not applicable for the job.")
        consent = metadata.get("consent") or {}
        if not self._terms_accepted or "DENIED" in consent.values():
            raise refuse(
                "CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS",
                "The customer has not accepted the customer data terms in the conversion settings page.",
            )
        if body.get("validateOnly"):
            return {}
        created = _Job(next(self._ids), user_list.id, consent=dict(consent))
        self._jobs[created.id] = created
        return {"resourceName": f"customers/{self.customer_id}/offlineUserDataJobs/{created.id}"}

    def _run(self, version: str, job: _Job, body: dict[str, Any]) -> dict[str, Any]:
        if job.status != "PENDING":
            message = "Once the upload job is started, it cannot be run again."
            raise rules.ads_error(
                400, version, [rules.failure("offlineUserDataJobError", "JOB_ALREADY_STARTED", message)]
            )
        if body.get("validateOnly"):
            return {}
        job.status, job.polls = "RUNNING", 0
        job.fail_with = self._job_failures.pop(0) if self._job_failures else None
        return {"name": f"customers/{self.customer_id}/operations/{secrets.token_hex(8)}"}

    def _add_operations(self, version: str, job: _Job, body: dict[str, Any]) -> dict[str, Any]:
        def refuse(code: str, message: str, path: list[dict[str, Any]] | None = None) -> rules.ApiError:
            return rules.ads_error(400, version, [rules.failure("offlineUserDataJobError", code, message, path)])

        operations = body.get("operations") or []
        if not operations:
            raise rules.ads_error(400, version, [rules.failure("fieldError", "REQUIRED", "operations is required.")])
        if job.status != "PENDING":
            raise refuse("JOB_ALREADY_STARTED", "Once the upload job is started, new operations cannot be added.")
        kinds = [
            rules.one_of(op, frozenset({"create", "remove", "removeAll"}), f"operations[{i}]")
            for i, op in enumerate(operations)
        ]
        if None in kinds:
            raise rules.ads_error(400, version, [rules.failure("fieldError", "REQUIRED", "An operation is empty.")])
        if "removeAll" in kinds[1:] or operations[0].get("removeAll") is False:
            raise refuse("INVALID_OPERATION_ORDER", "removeAll must be the first operation.")
        data_kinds = {kind for kind in kinds if kind != "removeAll"} | ({job.kind} if job.kind else set())
        if len(data_kinds) > 1:
            raise refuse(
                "CONFLICTING_OPERATION", "Mixing creation and removal of offline data in the same job is not allowed."
            )
        user_list = self._lists[job.list_id]
        total = 0
        errors: list[dict[str, Any]] = []
        staged: list[tuple[str, Identity]] = []
        for index, (kind, operation) in enumerate(zip(kinds, operations, strict=True)):
            if kind == "removeAll":
                staged.append(("removeAll", frozenset()))
                continue
            found = operation[kind].get("userIdentifiers") or []
            total += len(found)
            if len(found) > rules.MAX_IDENTIFIERS_PER_USER_DATA or total > rules.MAX_IDENTIFIERS_PER_REQUEST:
                path = [{"fieldName": "operations", "index": index}]
                raise refuse("TOO_MANY_USER_IDENTIFIERS", "At most 100,000 per request and 20 per operation.", path)
            op_errors, identity = self._check_user_data(index, kind, found, user_list.key_type)
            errors.extend(op_errors)
            if not op_errors:
                staged.append((kind, identity))
                if kind == "create" and "consent" in operation[kind]:
                    job.member_consents[identity] = dict(operation[kind]["consent"])
        if errors and not body.get("enablePartialFailure"):
            raise rules.ads_error(400, version, errors)
        if body.get("validateOnly"):
            return {}
        job.kind = job.kind or next(iter(data_kinds), None)
        for kind, identity in staged:
            job.staged.append((kind, [identity]))
        self.count_rows(len(operations))
        if not errors:
            return {}
        first = errors[0]["message"]
        detail = {"@type": rules.failure_type(version), "errors": errors, "requestId": rules.request_id()}
        partial = {"code": 3, "message": f"Multiple errors in 'details'. First error: {first}", "details": [detail]}
        return {"partialFailureError": partial}

    @staticmethod
    def _check_user_data(
        index: int, kind: str, found: list[dict[str, Any]], key_type: str
    ) -> tuple[list[dict[str, Any]], Identity]:
        errors: list[dict[str, Any]] = []
        keys: set[tuple[str, str]] = set()
        if not found:
            path = [{"fieldName": "operations", "index": index}, {"fieldName": kind}]
            message = "The user identifier is missing valid data."
            errors.append(rules.failure("offlineUserDataJobError", "MISSING_USER_IDENTIFIER", message, path))
        for position, identifier in enumerate(found):
            where = f"operations[{index}].{kind}.userIdentifiers[{position}]"
            which = rules.one_of(identifier, rules.IDENTIFIER_KINDS, where)
            problem = (
                rules.Problem("MISSING_USER_IDENTIFIER", "The user identifier is missing.", ())
                if which is None
                else rules.identifier_problem(which, identifier, key_type)
            )
            if problem is not None:
                path = rules.operation_path(index, kind, position, problem.fields)
                errors.append(rules.failure("offlineUserDataJobError", problem.code, problem.message, path))
            elif which is not None:
                keys.add(rules.identifier_key(which, identifier))
        return errors, frozenset(keys)


def _matched(user_list: _UserList) -> int:
    return count_matched((value for _, value in member) for member in user_list.members)


def _label_pair(member: Identity) -> tuple[str | None, str]:
    """A member's hashed email (if any) and its whole identity, for :func:`member_labels`."""
    emails = sorted(value for kind, value in member if kind == "hashedEmail")
    return (emails[0] if emails else None), "|".join(f"{kind}={value}" for kind, value in sorted(member))
