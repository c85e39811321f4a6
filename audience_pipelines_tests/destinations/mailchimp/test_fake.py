"""The fake Mailchimp is as strict as the platform: auth, data center, body shapes and limits."""

from __future__ import annotations

import os

import pytest
import requests

from audience_pipelines.destinations.mailchimp import FakeMailchimp
from audience_pipelines.destinations.mailchimp.fake import SANDBOX_KEY_ENV, TEST_KEY

LIST = "/3.0/lists/a1b2c3d4e5"


def post(
    http: requests.Session, fake: FakeMailchimp, path: str, body: object, key: str = TEST_KEY
) -> requests.Response:
    return http.post(fake.url(path), json=body, auth=("anyone", key), timeout=5)


def test_basic_auth_with_the_key_of_this_data_center(http: requests.Session, fake: FakeMailchimp) -> None:
    assert http.get(fake.url(f"{LIST}/segments"), timeout=5).status_code == 401
    wrong_center = TEST_KEY.rsplit("-", 1)[0] + "-us6"
    answer = http.get(fake.url(f"{LIST}/segments"), auth=("x", wrong_center), timeout=5)
    assert answer.status_code == 401 and answer.json()["title"] == "API Key Invalid"
    assert http.get(fake.url(f"{LIST}/segments"), auth=("x", TEST_KEY), timeout=5).status_code == 200


def test_bodies_and_limits_are_checked(http: requests.Session, fake: FakeMailchimp) -> None:
    many = [{"email_address": f"p{n}@example.com", "status": "subscribed"} for n in range(501)]
    assert post(http, fake, LIST, {"members": many, "update_existing": True}).status_code == 400
    assert post(http, fake, LIST, {"members": many[:1], "surprise": 1}).status_code == 400
    assert post(http, fake, LIST, {"members": [{"email_address": "a@b.co"}]}).status_code == 400, "status required"
    tag = fake.add_segment("t")
    answer = post(http, fake, f"{LIST}/segments/{tag}", {"members_to_add": [f"p{n}@example.com" for n in range(501)]})
    assert answer.status_code == 400 and "at most 500 items" in answer.json()["detail"]
    answer = post(http, fake, f"{LIST}/segments/{tag}", {"members_to_add": ["stranger@example.com"]})
    assert answer.json()["errors"][0]["email_addresses"] == ["stranger@example.com"], "only list members are tagged"


def test_a_bare_403_and_a_429_carry_no_retry_after(http: requests.Session, fake: FakeMailchimp) -> None:
    assert fake.throttle_next() is None
    fake.throttle_next_with_bare_403()
    body = {"members": [{"email_address": "a@example.com", "status": "subscribed"}], "update_existing": True}
    first, second = post(http, fake, LIST, body), post(http, fake, LIST, body)
    assert (first.status_code, second.status_code, second.text) == (429, 403, "")
    assert "Retry-After" not in first.headers and "Retry-After" not in second.headers
    assert post(http, fake, LIST, body).json()["total_created"] == 1


def test_sandbox_credentials_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SANDBOX_KEY_ENV, raising=False)
    monkeypatch.delenv(FakeMailchimp.url_env, raising=False)
    fake = FakeMailchimp.for_sandbox()
    try:
        key = os.environ[SANDBOX_KEY_ENV]
        assert key.endswith("-us21") and fake.environment() == {SANDBOX_KEY_ENV: key}
        assert os.environ[FakeMailchimp.url_env] == fake.destination("mailchimp")["base_url"]
        assert key in fake.secrets()
    finally:
        fake.stop()
