"""The fake TikTok Business API is strict: direct HTTP requests it must refuse, in TikTok's envelope."""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests

from audience_pipelines.destinations.kit import ContractFake
from audience_pipelines.destinations.tiktok.fake import (
    ADVERTISER_ID,
    PIXEL_CODE,
    SANDBOX_TOKEN_ENV,
    URL_ENV,
    FakeTikTok,
)
from audience_pipelines_tests.destinations.tiktok.conftest import TOKEN, sha256

MAPPING = "/open_api/v1.3/segment/mapping/"
HEADERS = {"Access-Token": TOKEN}


def mapping(audience_id: str, rows: list[list[Any]], schema: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"advertiser_ids": [ADVERTISER_ID], "action": "add", "id_schema": schema or ["EMAIL_SHA256", "PHONE_SHA256"],
            "batch_data": rows, **extra}  # fmt: skip


def code(http: requests.Session, fake: FakeTikTok, body: Any, headers: dict[str, str] = HEADERS) -> int:
    response = http.post(fake.url(MAPPING), json=body, headers=headers)
    assert response.status_code == 200, "TikTok reports application errors with HTTP 200"
    return response.json()["code"]


def test_is_a_contract_fake() -> None:
    assert isinstance(FakeTikTok.for_tests(), ContractFake)


def test_mapping_is_checked_strictly(fake: FakeTikTok, http: requests.Session) -> None:
    audience = fake.create_audience("vip")
    cell = {"id": sha256("a@example.com"), "audience_ids": [audience]}
    assert code(http, fake, mapping(audience, [[cell, {}]]), headers={}) == 40104
    assert code(http, fake, mapping(audience, [[cell, {}]]), headers={"Access-Token": "nope"}) == 40105
    assert code(http, fake, mapping(audience, [[cell, {}]], advertiser_ids=["1"])) == 40001
    assert code(http, fake, mapping(audience, [[cell]])) == 40002, "row shorter than id_schema"
    assert code(http, fake, mapping(audience, [[{}, {}]])) == 40002, "a row without any identifier"
    assert code(http, fake, mapping(audience, [[{"id": "a@example.com", "audience_ids": [audience]}, {}]])) == 40002
    assert code(http, fake, mapping(audience, [[{"id": cell["id"], "audience_ids": ["404"]}, {}]])) == 40002
    assert code(http, fake, mapping(audience, [[cell, {}]], schema=["EMAIL", "PHONE_SHA256"])) == 40002
    assert code(http, fake, mapping(audience, [[cell, {}]] * 10_001)) == 40002, "over the batch limit"
    assert fake.members(audience) == [] and fake.rows_received() == 0
    assert code(http, fake, mapping(audience, [[cell, {}]])) == 0
    assert fake.members(audience) == [{"EMAIL_SHA256": cell["id"]}] and fake.rows_received() == 1


def test_duplicate_names_are_allowed(fake: FakeTikTok, http: requests.Session) -> None:
    body = {"custom_audience_name": "vip", "advertiser_id": ADVERTISER_ID, "action": "create"}
    ids = [http.post(fake.url("/open_api/v1.3/segment/audience/"), json=body, headers=HEADERS).json() for _ in "ab"]
    assert [answer["code"] for answer in ids] == [0, 0]
    assert sorted(fake.audiences().values()) == ["vip", "vip"]


def test_paths_need_the_trailing_slash(fake: FakeTikTok, http: requests.Session) -> None:
    response = http.get(fake.url("/open_api/v1.3/dmp/custom_audience/list"), headers=HEADERS)
    assert response.status_code == 404


def test_throttle_hits_member_requests_only_and_has_no_wait(fake: FakeTikTok, http: requests.Session) -> None:
    audience = fake.create_audience("vip")
    assert fake.throttle_next() is None
    listed = http.get(fake.url("/open_api/v1.3/dmp/custom_audience/list/"), params={"advertiser_id": ADVERTISER_ID},
                      headers=HEADERS)  # fmt: skip
    assert listed.json()["code"] == 0
    cell = {"id": sha256("a@example.com"), "audience_ids": [audience]}
    assert code(http, fake, mapping(audience, [[cell, {}]])) == 40100
    assert code(http, fake, mapping(audience, [[cell, {}]])) == 0


def test_sandbox_sets_a_random_token_and_exports_its_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SANDBOX_TOKEN_ENV, raising=False)
    monkeypatch.delenv(URL_ENV, raising=False)
    fake = FakeTikTok.for_sandbox()
    try:
        token = os.environ[SANDBOX_TOKEN_ENV]
        assert len(token) >= 32 and os.environ[URL_ENV] == fake.base_url
        assert fake.environment() == {SANDBOX_TOKEN_ENV: token} and fake.secrets() == [token]
        assert fake.destination("tiktok_events")["settings"] == {"event_source_id": PIXEL_CODE}
        assert fake.destination("tiktok_audiences")["credentials"] == {"access_token": SANDBOX_TOKEN_ENV}
    finally:
        fake.stop()


def test_state_and_log_carry_no_token(fake: FakeTikTok, http: requests.Session) -> None:
    fake.create_audience("vip")
    state = http.get(fake.url("/_sandbox/state")).json()
    assert [a["name"] for a in state["audiences"].values()] == ["vip"]
    assert TOKEN not in repr(state) and TOKEN not in repr(fake.request_log)
