"""The fake Google Ads API is as strict as the REST API, over real HTTP."""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests

from audience_pipelines.destinations.google_ads import FakeGoogleAds, GoogleAdsConfig
from audience_pipelines.destinations.kit import ContractFake
from audience_pipelines_tests.destinations.google_ads.conftest import sha256

ROOT = "/v22/customers/1234567890"
HASH = sha256("a@x.com")


class Api:
    """Raw calls to the fake with a valid access token and developer token."""

    def __init__(self, fake: FakeGoogleAds) -> None:
        self.fake = fake
        form = {"grant_type": "refresh_token", **{k: fake.credentials[k] for k in ("client_id", "client_secret")}}
        form["refresh_token"] = fake.credentials["refresh_token"]
        token = requests.post(fake.url("/token"), data=form, timeout=5).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}", "developer-token": fake.credentials["developer_token"]}

    def post(self, path: str, body: Any, **headers: str) -> requests.Response:
        return requests.post(self.fake.url(path), json=body, headers={**self.headers, **headers}, timeout=5)

    def job(self, consent: dict[str, str] | None = None) -> str:
        list_id = self.fake.add_user_list(f"list {len(self.fake.state()['lists'])}")
        metadata: dict[str, Any] = {"userList": f"customers/1234567890/userLists/{list_id}"}
        if consent:
            metadata["consent"] = consent
        body = {"job": {"type": "CUSTOMER_MATCH_USER_LIST", "customerMatchUserListMetadata": metadata}}
        answer = self.post(f"{ROOT}/offlineUserDataJobs:create", body)
        assert answer.status_code == 200, answer.text
        return "/v22/" + answer.json()["resourceName"]

    def add(self, job: str, operations: list[dict[str, Any]], partial: bool = True) -> requests.Response:
        return self.post(f"{job}:addOperations", {"operations": operations, "enablePartialFailure": partial})


def creates(*identifiers: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"create": {"userIdentifiers": [identifier]}} for identifier in identifiers]


def codes(response: requests.Response) -> list[str]:
    body = response.json()
    status = body.get("error") or body.get("partialFailureError")
    return [next(iter(e["errorCode"].values())) for d in status.get("details", []) for e in d.get("errors", [])]


@pytest.fixture
def api(fake: FakeGoogleAds) -> Api:
    return Api(fake)


def test_unknown_fields_anywhere_are_refused(api: Api) -> None:
    job = api.job()
    nested = api.add(job, [{"create": {"userIdentifiers": [{"hashedEmail": HASH, "hashedEmailAddress": HASH}]}}])
    assert nested.status_code == 400
    assert 'Unknown name "hashedEmailAddress"' in nested.json()["error"]["message"]
    top = api.post(f"{job}:addOperations", {"operations": creates({"hashedEmail": HASH}), "partialFailure": True})
    assert top.status_code == 400


def test_snake_case_field_names_are_accepted_like_the_api(api: Api) -> None:
    job = api.job()
    body = {"operations": [{"create": {"user_identifiers": [{"hashed_email": HASH}]}}], "enable_partial_failure": True}
    assert api.post(f"{job}:addOperations", body).json() == {}


def test_a_malformed_hash_is_a_partial_failure_or_a_request_error(api: Api) -> None:
    job = api.job()
    partial = api.add(job, creates({"hashedEmail": HASH}, {"hashedEmail": HASH.upper()}))
    assert partial.status_code == 200
    error = partial.json()["partialFailureError"]["details"][0]["errors"][0]
    assert error["errorCode"] == {"offlineUserDataJobError": "INVALID_SHA256_FORMAT"}
    assert error["location"]["fieldPathElements"][0] == {"fieldName": "operations", "index": 1}
    whole = api.add(job, creates({"hashedEmail": "abc"}), partial=False)
    assert whole.status_code == 400 and codes(whole) == ["INVALID_SHA256_FORMAT"]


def test_one_identifier_type_per_user_identifier(api: Api) -> None:
    response = api.add(api.job(), creates({"hashedEmail": HASH, "hashedPhoneNumber": HASH}))
    assert response.status_code == 400 and "Oneof" in response.json()["error"]["message"]


def test_at_most_20_identifiers_per_user_data(api: Api) -> None:
    many = [{"hashedEmail": sha256(str(n))} for n in range(21)]
    response = api.add(api.job(), [{"create": {"userIdentifiers": many}}])
    assert response.status_code == 400 and codes(response) == ["TOO_MANY_USER_IDENTIFIERS"]


def test_at_most_100000_identifiers_per_request(api: Api, fake: FakeGoogleAds) -> None:
    list_id = fake.add_user_list("crm", "CRM_ID")
    body = {"job": {"type": "CUSTOMER_MATCH_USER_LIST", "customerMatchUserListMetadata": {}}}
    body["job"]["customerMatchUserListMetadata"]["userList"] = f"customers/1234567890/userLists/{list_id}"
    job = "/v22/" + api.post(f"{ROOT}/offlineUserDataJobs:create", body).json()["resourceName"]
    ids = [{"thirdPartyUserId": str(n)} for n in range(20)]
    operations = [{"create": {"userIdentifiers": ids}}] * 5_000
    assert api.add(job, operations).status_code == 200
    over = api.add(job, [*operations, {"create": {"userIdentifiers": ids[:1]}}])
    assert over.status_code == 400 and codes(over) == ["TOO_MANY_USER_IDENTIFIERS"]


def test_create_and_remove_never_mix_in_one_job(api: Api) -> None:
    job = api.job()
    both = [*creates({"hashedEmail": HASH}), {"remove": {"userIdentifiers": [{"hashedEmail": HASH}]}}]
    assert codes(api.add(job, both)) == ["CONFLICTING_OPERATION"]
    assert api.add(job, creates({"hashedEmail": HASH})).status_code == 200
    later = api.add(job, [{"remove": {"userIdentifiers": [{"hashedEmail": HASH}]}}])
    assert later.status_code == 400 and codes(later) == ["CONFLICTING_OPERATION"]


def test_operations_on_a_running_job_are_refused(api: Api, fake: FakeGoogleAds) -> None:
    job = api.job()
    assert api.add(job, creates({"hashedEmail": HASH})).status_code == 200
    assert api.post(f"{job}:run", {}).status_code == 200
    assert fake.job_status(job) == "RUNNING"
    late = api.add(job, creates({"hashedEmail": HASH}))
    assert late.status_code == 400 and codes(late) == ["JOB_ALREADY_STARTED"]
    assert codes(api.post(f"{job}:run", {})) == ["JOB_ALREADY_STARTED"]


def test_jobs_on_unknown_lists_and_denied_consent_are_refused(api: Api) -> None:
    body = {"job": {"type": "CUSTOMER_MATCH_USER_LIST", "customerMatchUserListMetadata": {"userList": "x"}}}
    assert codes(api.post(f"{ROOT}/offlineUserDataJobs:create", body)) == ["INVALID_USER_LIST_ID"]
    with pytest.raises(AssertionError):
        api.job({"adUserData": "GRANTED", "adPersonalization": "DENIED"})


def test_jobs_move_from_pending_to_running_to_success_across_polls(api: Api, fake: FakeGoogleAds) -> None:
    job = api.job()
    api.add(job, creates({"hashedEmail": HASH}))
    api.post(f"{job}:run", {})
    query = (
        "SELECT offline_user_data_job.status FROM offline_user_data_job WHERE offline_user_data_job.resource_name = "
    )
    ask = {"query": query + f"'{job.removeprefix('/v22/')}'"}
    statuses = [api.post(f"{ROOT}/googleAds:search", ask).json()["results"][0] for _ in range(2)]
    assert [row["offlineUserDataJob"]["status"] for row in statuses] == ["RUNNING", "SUCCESS"]


def test_credentials_are_checked(api: Api, fake: FakeGoogleAds) -> None:
    body = {"query": "SELECT user_list.id FROM user_list"}
    assert api.post(f"{ROOT}/googleAds:search", body).status_code == 200
    assert api.post(f"{ROOT}/googleAds:search", body, **{"developer-token": "nope"}).status_code == 401
    assert api.post(f"{ROOT}/googleAds:search", body, Authorization="Bearer nope").status_code == 401
    assert api.post("/v22/customers/9999999999/googleAds:search", body).status_code == 403
    form = {"grant_type": "refresh_token", "client_id": "x", "client_secret": "y", "refresh_token": "z"}
    refused = requests.post(fake.url("/token"), data=form, timeout=5)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


def test_gaql_is_checked(api: Api) -> None:
    bad_field = api.post(f"{ROOT}/googleAds:search", {"query": "SELECT user_list.colour FROM user_list"})
    assert codes(bad_field) == ["UNRECOGNIZED_FIELD"]
    assert codes(api.post(f"{ROOT}/googleAds:search", {"query": "SELECT * FROM user_list"})) == ["UNRECOGNIZED_FIELD"]


def test_contract_fake_surface(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN", "DEVELOPER_TOKEN"):
        monkeypatch.delenv(f"AUDIENCE_PIPELINES_GOOGLE_ADS_{name}", raising=False)
    monkeypatch.delenv(FakeGoogleAds.url_env, raising=False)
    fake = FakeGoogleAds.for_sandbox()
    try:
        assert isinstance(fake, ContractFake)
        assert os.environ[FakeGoogleAds.url_env] == fake.base_url
        assert set(fake.environment()) == {
            f"AUDIENCE_PIPELINES_GOOGLE_ADS_{n}"
            for n in ("CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN", "DEVELOPER_TOKEN")
        }
        assert all(os.environ[name] == value for name, value in fake.environment().items())
        config = GoogleAdsConfig.model_validate({"name": "g", "type": "google_ads", **fake.destination("google_ads")})
        assert config.resolved_token_url() == fake.url("/token")
    finally:
        fake.stop()
