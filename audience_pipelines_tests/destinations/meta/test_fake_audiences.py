"""Tests of the fake Meta Graph API: auth, custom audiences, users add/remove, throttling and blocks."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
import requests

from audience_pipelines.destinations.meta.fake import FakeMeta
from audience_pipelines_tests.destinations.support import AD_ACCOUNT, BEARER, META_TOKEN, sha256

CREATE_BODY = {"name": "VIP buyers", "subtype": "CUSTOM", "customer_file_source": "USER_PROVIDED_ONLY"}
SCHEMA = ["EXTERN_ID", "EMAIL", "PHONE", "FN", "COUNTRY", "MADID"]


def row(extern_id: str = "", email: str = "", phone: str = "", fn: str = "", madid: str = "") -> list[str]:
    return [
        extern_id,
        sha256(email) if email else "",
        sha256(phone) if phone else "",
        fn,
        sha256("us"),
        madid,
    ]


def users_body(rows: list[list[str]], schema: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"payload": {"schema": schema or SCHEMA, "data": rows}, **extra}


def graph_error(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["fbtrace_id"]
    return error


@pytest.fixture
def audience_id(meta: FakeMeta) -> str:
    return meta.create_audience("Seeded")


# ---------------------------------------------------------------------- auth


def test_token_is_accepted_as_bearer_query_json_or_form(meta: FakeMeta, http: requests.Session) -> None:
    url = f"{meta.graph_url}/{AD_ACCOUNT}/customaudiences"
    assert http.post(url, json=CREATE_BODY, headers=BEARER, timeout=2).status_code == 200
    assert http.post(url, params={"access_token": META_TOKEN}, json=CREATE_BODY, timeout=2).status_code == 200
    assert http.post(url, json={**CREATE_BODY, "access_token": META_TOKEN}, timeout=2).status_code == 200
    assert http.post(url, data={**CREATE_BODY, "access_token": META_TOKEN}, timeout=2).status_code == 200
    assert len(meta.audiences()) == 4


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}],
    ids=["missing", "wrong", "malformed"],
)
def test_missing_or_wrong_token_is_190(meta: FakeMeta, http: requests.Session, headers: dict[str, str]) -> None:
    response = http.get(f"{meta.graph_url}/{AD_ACCOUNT}/customaudiences", headers=headers, timeout=2)
    error = graph_error(response)
    assert (error["code"], error["type"]) == (190, "OAuthException")
    assert "WWW-Authenticate" in response.headers


def test_token_expiry_and_renewal(meta: FakeMeta, http: requests.Session, audience_id: str) -> None:
    url = f"{meta.graph_url}/{audience_id}"
    meta.expire_token()
    error = graph_error(http.get(url, headers=BEARER, timeout=2))
    assert (error["code"], error["error_subcode"]) == (190, 463)
    assert error["message"].startswith("Error validating access token: Session has expired")

    meta.set_token("renewed")
    assert graph_error(http.get(url, headers=BEARER, timeout=2))["code"] == 190
    assert http.get(url, headers={"Authorization": "Bearer renewed"}, timeout=2).status_code == 200


def test_appsecret_proof_is_enforced_when_configured(http: requests.Session) -> None:
    with FakeMeta(META_TOKEN, app_secret="app-secret") as fake:
        url = f"{fake.graph_url}/{AD_ACCOUNT}/customaudiences"
        assert graph_error(http.get(url, headers=BEARER, timeout=2))["code"] == 100
        bad = http.get(url, headers=BEARER, params={"appsecret_proof": "00"}, timeout=2)
        assert "Invalid appsecret_proof" in graph_error(bad)["message"]
        proof = hmac.new(b"app-secret", META_TOKEN.encode(), hashlib.sha256).hexdigest()
        assert http.get(url, headers=BEARER, params={"appsecret_proof": proof}, timeout=2).status_code == 200


def test_token_never_reaches_the_request_log(meta: FakeMeta, http: requests.Session) -> None:
    http.get(f"{meta.graph_url}/{AD_ACCOUNT}/customaudiences", params={"access_token": META_TOKEN}, timeout=2)
    assert meta.request_log[0].path == f"/v25.0/{AD_ACCOUNT}/customaudiences"
    assert META_TOKEN not in repr(meta.request_log)


# ---------------------------------------------------------------------- custom audiences


def test_create_then_find_audience(meta: FakeMeta, http: requests.Session) -> None:
    url = f"{meta.graph_url}/{AD_ACCOUNT}/customaudiences"
    created = http.post(url, json={**CREATE_BODY, "description": "d"}, headers=BEARER, timeout=2)
    assert created.status_code == 200
    audience_id = created.json()["id"]
    assert audience_id.isdigit() and created.json() == {"id": audience_id}
    assert json.loads(created.headers["X-Business-Use-Case-Usage"])["1234567890"][0]["call_count"] >= 1

    listed = http.get(url, params={"fields": "id,name"}, headers=BEARER, timeout=2).json()
    assert listed["data"] == [{"id": audience_id, "name": "VIP buyers"}]
    assert "next" not in listed["paging"]
    node = http.get(f"{meta.graph_url}/{audience_id}", params={"fields": "id,name"}, headers=BEARER, timeout=2)
    assert node.json() == {"id": audience_id, "name": "VIP buyers"}
    assert meta.audiences() == {audience_id: "VIP buyers"}


def test_list_is_paginated_with_cursors(meta: FakeMeta, http: requests.Session) -> None:
    ids = [meta.create_audience(f"a{i}") for i in range(5)]
    url = f"{meta.graph_url}/{AD_ACCOUNT}/customaudiences"
    page = http.get(url, params={"fields": "id,name", "limit": 2}, headers=BEARER, timeout=2).json()
    seen = [item["id"] for item in page["data"]]
    while "next" in page["paging"]:
        page = http.get(page["paging"]["next"], headers=BEARER, timeout=2).json()
        seen += [item["id"] for item in page["data"]]
    assert seen == ids
    assert http.get(url, headers=BEARER, timeout=2).json()["data"][0] == {"id": ids[0]}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({**CREATE_BODY, "name": ""}, "name"),
        ({**CREATE_BODY, "subtype": "LOOKALIKE"}, "subtype"),
        ({k: v for k, v in CREATE_BODY.items() if k != "subtype"}, "subtype"),
        ({**CREATE_BODY, "customer_file_source": "SOMETIMES"}, "customer_file_source"),
    ],
)
def test_create_validation(meta: FakeMeta, http: requests.Session, body: dict[str, Any], fragment: str) -> None:
    response = http.post(f"{meta.graph_url}/{AD_ACCOUNT}/customaudiences", json=body, headers=BEARER, timeout=2)
    error = graph_error(response)
    assert error["code"] == 100 and fragment in error["message"]
    assert meta.audiences() == {}


def test_wrong_ad_account_unknown_audience_field_and_version(
    meta: FakeMeta, http: requests.Session, audience_id: str
) -> None:
    wrong = http.post(f"{meta.graph_url}/act_999/customaudiences", json=CREATE_BODY, headers=BEARER, timeout=2)
    assert graph_error(wrong)["code"] == 100
    unknown = graph_error(http.get(f"{meta.graph_url}/424242", params={"fields": "id,name"}, headers=BEARER))
    assert unknown["code"] == 100 and unknown["message"].startswith("Unsupported get request")
    field = graph_error(http.get(f"{meta.graph_url}/{audience_id}", params={"fields": "id,bogus"}, headers=BEARER))
    assert "nonexisting field (bogus)" in field["message"]
    old = graph_error(http.get(f"{meta.base_url}/v19.0/{audience_id}", headers=BEARER, timeout=2))
    assert old["code"] == 2500


def test_delete_audience(meta: FakeMeta, http: requests.Session, audience_id: str) -> None:
    response = http.delete(f"{meta.graph_url}/{audience_id}", headers=BEARER, timeout=2)
    assert response.json() == {"success": True}
    assert meta.audiences() == {}


# ---------------------------------------------------------------------- users add / remove


def test_add_and_remove_with_multi_key_schema(meta: FakeMeta, http: requests.Session, audience_id: str) -> None:
    url = f"{meta.graph_url}/{audience_id}/users"
    rows = [row("u1", email="a@x.com"), row(email="b@x.com", phone="15551234567"), row(madid="AEBE52E7-03EE")]
    added = http.post(url, json=users_body(rows), headers=BEARER, timeout=2)
    assert added.status_code == 200
    body = added.json()
    assert body["audience_id"] == audience_id and body["session_id"].isdigit()
    assert (body["num_received"], body["num_invalid_entries"], body["invalid_entry_samples"]) == (3, 0, {})
    assert meta.audience_member_ids(audience_id) == {"u1", sha256("b@x.com"), "AEBE52E7-03EE"}
    assert meta.audience_rows(audience_id)["u1"]["EMAIL"] == sha256("a@x.com")

    http.post(url, json=users_body([row("u1", email="new@x.com")]), headers=BEARER, timeout=2)
    assert meta.audience_rows(audience_id)["u1"]["EMAIL"] == sha256("new@x.com")

    removed = http.delete(url, json=users_body([row("u1"), row(email="b@x.com")]), headers=BEARER, timeout=2)
    assert removed.json()["num_received"] == 2
    assert meta.audience_member_ids(audience_id) == {"AEBE52E7-03EE"}
    assert (meta.add_requests, meta.remove_requests, meta.rows_received()) == (2, 1, 6)


def test_form_encoded_payload_and_session(meta: FakeMeta, http: requests.Session, audience_id: str) -> None:
    session = {"session_id": 9778993, "batch_seq": 1, "last_batch_flag": True, "estimated_num_total": 1}
    form = {
        "access_token": META_TOKEN,
        "payload": json.dumps({"schema": ["EMAIL"], "data": [[sha256("a@x.com")]]}),
        "session": json.dumps(session),
    }
    response = http.post(f"{meta.graph_url}/{audience_id}/users", data=form, timeout=2)
    assert response.json()["session_id"] == "9778993"
    delete = http.delete(f"{meta.graph_url}/{audience_id}/users", data=form, timeout=2)
    assert delete.status_code == 200
    assert meta.audience_member_ids(audience_id) == set()


def test_identity_falls_back_to_the_whole_row(meta: FakeMeta, http: requests.Session, audience_id: str) -> None:
    url = f"{meta.graph_url}/{audience_id}/users"
    schema = ["FN", "LN", "ZIP"]
    data = [[sha256("jane"), sha256("doe"), sha256("94107")]]
    http.post(url, json=users_body(data, schema), headers=BEARER, timeout=2)
    assert len(meta.audience_member_ids(audience_id)) == 1
    http.delete(url, json=users_body(data, schema), headers=BEARER, timeout=2)
    assert meta.audience_member_ids(audience_id) == set()


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"schema": SCHEMA, "data": [row("u1")[:-1]]}, "has 5 values but the schema has 6 keys"),
        ({"schema": SCHEMA, "data": []}, "empty"),
        ({"schema": ["EMAIL", "SSN"], "data": [["", ""]]}, "Invalid schema key"),
        ({"schema": ["EMAIL", "EMAIL"], "data": [["", ""]]}, "repeat"),
        ({"schema": "EMAIL_SHA256", "data": ["x"]}, "schema"),
        ({"schema": ["EMAIL"], "data": [[5]]}, "only strings"),
    ],
)
def test_users_payload_validation(
    meta: FakeMeta, http: requests.Session, audience_id: str, payload: dict[str, Any], fragment: str
) -> None:
    response = http.post(f"{meta.graph_url}/{audience_id}/users", json={"payload": payload}, headers=BEARER)
    error = graph_error(response)
    assert error["code"] == 100 and fragment in error["message"]
    assert meta.add_requests == 0


def test_more_than_10000_rows_is_rejected(meta: FakeMeta, http: requests.Session, audience_id: str) -> None:
    url = f"{meta.graph_url}/{audience_id}/users"
    data = [[f"id-{i}"] for i in range(10_001)]
    error = graph_error(http.post(url, json=users_body(data, ["EXTERN_ID"]), headers=BEARER, timeout=5))
    assert (error["code"], error["message"]) == (100, "(#100) Too many users in one request, max 10000")
    ok = http.post(url, json=users_body(data[:10_000], ["EXTERN_ID"]), headers=BEARER, timeout=5)
    assert ok.json()["num_received"] == 10_000
    assert len(meta.audience_member_ids(audience_id)) == 10_000


def test_non_hex_values_are_invalid_entries(meta: FakeMeta, http: requests.Session, audience_id: str) -> None:
    rows = [
        row("u1", email="ok@x.com"),
        ["u2", "jane@example.com", "", "", "", ""],
        ["u3", sha256("c@x.com").upper(), "", "", "", ""],
        ["", "", "", "", "", ""],
        ["raw-extern-id", "", "", "", "", "raw-madid"],
    ]
    response = http.post(f"{meta.graph_url}/{audience_id}/users", json=users_body(rows), headers=BEARER, timeout=2)
    body = response.json()
    assert response.status_code == 200
    assert (body["num_received"], body["num_invalid_entries"]) == (5, 3)
    samples = body["invalid_entry_samples"]
    assert set(samples) == {"jane@example.com", sha256("c@x.com").upper(), json.dumps([""] * 6)}
    assert "EMAIL" in samples["jane@example.com"]
    assert meta.audience_member_ids(audience_id) == {"u1", "raw-extern-id"}
    assert meta.invalid_entries == 3


def test_unknown_audience_users_call(meta: FakeMeta, http: requests.Session) -> None:
    response = http.post(f"{meta.graph_url}/555/users", json=users_body([row("u1")]), headers=BEARER, timeout=2)
    assert graph_error(response)["message"].startswith("Unsupported post request")


# ---------------------------------------------------------------------- faults


@pytest.mark.parametrize("code", [80004, 80003, 613, 17, 4])
def test_throttle_is_400_with_business_use_case_header(
    meta: FakeMeta, http: requests.Session, audience_id: str, code: int
) -> None:
    meta.throttle_graph(code=code, regain_minutes=3)
    url = f"{meta.graph_url}/{audience_id}/users"
    throttled = http.post(url, json=users_body([row("u1")]), headers=BEARER, timeout=2)
    error = graph_error(throttled)
    assert error["code"] == code and error["is_transient"] is True
    assert "Retry-After" not in throttled.headers
    usage = json.loads(throttled.headers["X-Business-Use-Case-Usage"])
    assert usage["1234567890"][0]["estimated_time_to_regain_access"] == 3
    assert usage["1234567890"][0]["call_count"] == 100
    if code == 613:
        assert error["error_subcode"] == 1487742
    assert meta.audience_member_ids(audience_id) == set()
    assert http.post(url, json=users_body([row("u1")]), headers=BEARER, timeout=2).status_code == 200


def test_throttle_message_and_times(meta: FakeMeta, http: requests.Session, audience_id: str) -> None:
    meta.throttle_graph(times=2, path=f"/v25.0/{audience_id}/users")
    url = f"{meta.graph_url}/{audience_id}/users"
    assert http.get(f"{meta.graph_url}/{audience_id}", headers=BEARER, timeout=2).status_code == 200
    first = graph_error(http.post(url, json=users_body([row("u1")]), headers=BEARER, timeout=2))
    assert "too many calls to this ad-account" in first["message"]
    assert graph_error(http.post(url, json=users_body([row("u1")]), headers=BEARER, timeout=2))["code"] == 80004
    assert http.post(url, json=users_body([row("u1")]), headers=BEARER, timeout=2).status_code == 200
    with pytest.raises(ValueError):
        meta.throttle_graph(code=999)


def test_upload_blocked(meta: FakeMeta, http: requests.Session, audience_id: str) -> None:
    meta.block_uploads(audience_id)
    url = f"{meta.graph_url}/{audience_id}/users"
    for method in (http.post, http.delete):
        error = graph_error(method(url, json=users_body([row("u1")]), headers=BEARER, timeout=2))
        assert (error["code"], error["error_subcode"]) == (100, 1713230)
        assert error["error_user_title"] == "Audience Upload Blocked"
    status = http.get(f"{meta.graph_url}/{audience_id}", params={"fields": "operation_status"}, headers=BEARER)
    assert status.json()["operation_status"]["code"] == 471
    meta.unblock_uploads(audience_id)
    assert http.post(url, json=users_body([row("u1")]), headers=BEARER, timeout=2).status_code == 200


def test_generic_faults_use_the_graph_envelope(meta: FakeMeta, http: requests.Session, audience_id: str) -> None:
    meta.fail_next(500)
    meta.fail_next(429)
    url = f"{meta.graph_url}/{audience_id}"
    server_error = http.get(url, headers=BEARER, timeout=2)
    assert server_error.status_code == 500
    assert server_error.json()["error"]["code"] == 2
    assert http.get(url, headers=BEARER, timeout=2).json()["error"]["code"] == 17
    assert http.get(url, headers=BEARER, timeout=2).status_code == 200


def test_state_endpoint_shows_members(meta: FakeMeta, http: requests.Session, audience_id: str) -> None:
    http.post(f"{meta.graph_url}/{audience_id}/users", json=users_body([row("u1")]), headers=BEARER, timeout=2)
    state = http.get(meta.url("/_sandbox/state"), timeout=2).json()
    assert state["audiences"][audience_id]["member_count"] == 1
    assert state["audiences"][audience_id]["members"]["u1"]["EXTERN_ID"] == "u1"
    assert state["counters"]["add_requests"] == 1
