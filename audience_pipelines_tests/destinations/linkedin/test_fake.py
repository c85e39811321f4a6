"""The fake LinkedIn API is strict about headers, versions, bodies and element shapes, over real HTTP."""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests

from audience_pipelines.destinations.kit import ContractFake
from audience_pipelines.destinations.linkedin import FakeLinkedIn, LinkedInConfig
from audience_pipelines.destinations.linkedin.fake import TOKEN_PATH
from audience_pipelines_tests.destinations.linkedin.conftest import AID, Clock, sha256

HASH = sha256("a@x.com")
HEADERS = {"LinkedIn-Version": "202604", "X-Restli-Protocol-Version": "2.0.0"}


class Api:
    """Raw calls to the fake with a valid access token and the required headers."""

    def __init__(self, fake: FakeLinkedIn) -> None:
        self.fake = fake
        form = {"grant_type": "refresh_token", **fake.credentials}
        token = requests.post(fake.url(TOKEN_PATH), data=form, timeout=5).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}", **HEADERS}

    def call(self, method: str, path: str, body: Any = None, **headers: str | None) -> requests.Response:
        sent = {k: v for k, v in {**self.headers, **headers}.items() if v is not None}
        return requests.request(method, self.fake.url(path), json=body, headers=sent, timeout=5)

    def users(self, segment: str, elements: list[Any], **headers: str | None) -> requests.Response:
        headers = {"X-RestLi-Method": "BATCH_CREATE", **headers}
        return self.call("POST", f"/rest/dmpSegments/{segment}/users", {"elements": elements}, **headers)


def add(*ids: tuple[str, str], action: str = "ADD") -> dict[str, Any]:
    return {"action": action, "userIds": [{"idType": t, "idValue": v} for t, v in ids]}


@pytest.fixture
def api(fake: FakeLinkedIn) -> Api:
    return Api(fake)


def test_is_a_contract_fake_and_its_destination_validates(fake: FakeLinkedIn) -> None:
    assert isinstance(fake, ContractFake)
    config = LinkedInConfig.model_validate({"name": "li", "type": "linkedin", **fake.destination("linkedin")})
    assert config.resolved_token_url() == fake.url(TOKEN_PATH)
    assert config.settings.ad_account_id == fake.ad_account
    assert set(fake.environment()) == {
        f"CONTRACT_LINKEDIN_{n}" for n in ("CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN")
    }


def test_for_sandbox_reads_or_sets_credentials_and_exports_its_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIENCE_PIPELINES_LINKEDIN_CLIENT_ID", "given-client-id")
    monkeypatch.delenv("AUDIENCE_PIPELINES_LINKEDIN_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("AUDIENCE_PIPELINES_LINKEDIN_REFRESH_TOKEN", raising=False)
    monkeypatch.delenv(FakeLinkedIn.url_env, raising=False)
    fake = FakeLinkedIn.for_sandbox()
    try:
        assert os.environ[FakeLinkedIn.url_env] == fake.base_url
        assert fake.credentials["client_id"] == "given-client-id"
        assert fake.credentials["client_secret"] == os.environ["AUDIENCE_PIPELINES_LINKEDIN_CLIENT_SECRET"]
        assert set(fake.destination("linkedin")["credentials"].values()) == set(fake.environment())
    finally:
        fake.stop()


def test_the_token_endpoint_checks_the_grant(fake: FakeLinkedIn) -> None:
    good = {"grant_type": "refresh_token", **fake.credentials}
    url = fake.url(TOKEN_PATH)
    answer = requests.post(url, data=good, timeout=5)
    assert answer.status_code == 200 and answer.json()["expires_in"] == 3600
    assert requests.post(url, json=good, timeout=5).json()["error"] == "invalid_request"
    bad_client = requests.post(url, data={**good, "client_secret": "nope"}, timeout=5)
    assert (bad_client.status_code, bad_client.json()["error"]) == (401, "invalid_client")
    bad_grant = requests.post(url, data={**good, "refresh_token": "nope"}, timeout=5)
    assert (bad_grant.status_code, bad_grant.json()["error"]) == (400, "invalid_grant")
    fake.revoke_credentials()
    assert requests.post(url, data=good, timeout=5).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Authorization": None}, 401, "INVALID_ACCESS_TOKEN"),
        ({"Authorization": "Bearer made-up"}, 401, "INVALID_ACCESS_TOKEN"),
        ({"LinkedIn-Version": None}, 400, "VERSION_MISSING"),
        ({"LinkedIn-Version": "2026-04"}, 400, "INVALID_VERSION"),
        ({"LinkedIn-Version": "202401"}, 426, "NONEXISTENT_VERSION"),
        ({"X-Restli-Protocol-Version": None}, 400, "PROTOCOL_VERSION"),
        ({"X-Restli-Protocol-Version": "1.0.0"}, 400, "PROTOCOL_VERSION"),
    ],
)
def test_headers_and_version_are_required(api: Api, headers: dict[str, str | None], status: int, code: str) -> None:
    answer = api.call("GET", "/rest/dmpSegments", **headers)
    assert (answer.status_code, answer.json()["code"]) == (status, code)


def test_an_expired_token_is_refused(api: Api, fake: FakeLinkedIn, clock: Clock) -> None:
    clock.now += 3600
    answer = api.call("GET", f"/rest/dmpSegments?q=account&account=urn:li:sponsoredAccount:{fake.ad_account}")
    assert (answer.status_code, answer.json()["code"]) == (401, "EXPIRED_ACCESS_TOKEN")


def test_create_find_get_delete(api: Api, fake: FakeLinkedIn) -> None:
    body = {
        "name": "n",
        "sourcePlatform": "AUDIENCE_PIPELINES",
        "sourceSegmentId": "n",
        "account": fake.account_urn,
        "type": "USER",
        "destinations": [{"destination": "LINKEDIN"}],
    }
    created = api.call("POST", "/rest/dmpSegments", body)
    assert created.status_code == 201 and created.headers["x-linkedin-id"] == created.headers["x-restli-id"]
    number = created.headers["x-linkedin-id"]
    assert api.call("POST", "/rest/dmpSegments", body).status_code == 409
    assert api.call("POST", "/rest/dmpSegments", {**body, "extra": 1}).status_code == 400
    assert api.call("POST", "/rest/dmpSegments", {**body, "account": "urn:li:sponsoredAccount:1"}).status_code == 403
    params = {
        "q": "account",
        "account": fake.account_urn,
        "sourceSegmentId": "n",
        "sourcePlatform": "AUDIENCE_PIPELINES",
    }
    found = requests.get(fake.url("/rest/dmpSegments"), params=params, headers=api.headers, timeout=5).json()
    assert [e["id"] for e in found["elements"]] == [int(number)]
    assert api.call("GET", f"/rest/dmpSegments/{number}").json()["type"] == "USER"
    assert api.call("DELETE", f"/rest/dmpSegments/{number}").status_code == 204
    assert api.call("GET", f"/rest/dmpSegments/{number}").status_code == 404


def test_users_needs_batch_create_and_a_known_segment(api: Api, fake: FakeLinkedIn) -> None:
    segment = fake.add_segment("s")
    element = add(("SHA256_EMAIL", HASH))
    assert api.users(segment, [element], **{"X-RestLi-Method": None}).json()["code"] == "INVALID_METHOD"
    assert api.users("999", [element]).status_code == 404
    assert api.users(segment, []).status_code == 400
    assert api.users(fake.add_segment("c", segment_type="COMPANY"), [element]).status_code == 400
    fake.max_elements = 1
    assert api.users(segment, [element, element]).json()["code"] == "TOO_MANY_ELEMENTS"
    assert fake.rows_received() == 0


def test_malformed_elements_get_a_400_in_their_slot(api: Api, fake: FakeLinkedIn) -> None:
    segment = fake.add_segment("s")
    elements = [
        add(("SHA256_EMAIL", HASH), ("GOOGLE_AID", AID)),
        add(("SHA256_EMAIL", HASH.upper())),
        add(("SHA512_EMAIL", "ab" * 64)),
        add(("PHONE", "123")),
        {"action": "UPSERT", "userIds": [{"idType": "GOOGLE_AID", "idValue": AID}]},
        {"action": "ADD", "userIds": []},
        add(("GOOGLE_AID", "x"), ("GOOGLE_AID", "y")),
        {"action": "ADD", "userIds": [{"idType": "GOOGLE_AID", "idValue": "x", "extra": 1}]},
    ]
    answer = api.users(segment, elements)
    assert answer.status_code == 200
    assert [e["status"] for e in answer.json()["elements"]] == [201, 400, 201, 400, 400, 400, 400, 400]
    assert fake.held(None, segment, "s") == {HASH, "SHA512_EMAIL=" + "ab" * 64}  # type: ignore[arg-type]
    assert fake.rows_received() == 8 and fake.largest_request() == 8


def test_remove_takes_out_members_sharing_an_id(api: Api, fake: FakeLinkedIn) -> None:
    segment = fake.add_segment("s")
    api.users(segment, [add(("SHA256_EMAIL", HASH), ("GOOGLE_AID", AID)), add(("GOOGLE_AID", "other"))])
    answer = api.users(
        segment, [add(("GOOGLE_AID", AID), action="REMOVE"), add(("GOOGLE_AID", "nobody"), action="REMOVE")]
    )
    assert [e["status"] for e in answer.json()["elements"]] == [201, 201]
    assert fake.members(segment) == [{("GOOGLE_AID", "other")}]


def test_throttle_next_answers_429_without_a_wait(api: Api, fake: FakeLinkedIn) -> None:
    segment = fake.add_segment("s")
    assert fake.throttle_next() is None
    throttled = api.users(segment, [add(("SHA256_EMAIL", HASH))])
    assert throttled.status_code == 429 and "Retry-After" not in throttled.headers
    assert api.users(segment, [add(("SHA256_EMAIL", HASH))]).status_code == 200
    assert fake.rows_received() == 1


def test_the_request_log_carries_no_body_or_query(api: Api, fake: FakeLinkedIn) -> None:
    segment = fake.add_segment("s")
    api.users(segment, [add(("SHA256_EMAIL", HASH))])
    api.call("GET", f"/rest/dmpSegments?q=account&account={fake.account_urn}")
    text = repr(fake.request_log)
    assert HASH not in text and "account=" not in text and "Bearer" not in text
    assert fake.state()["segments"][segment]["members"] == 1
