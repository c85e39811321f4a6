"""The fake HubSpot is strict: auth, body shapes, batch limits; and it starts for the sandbox."""

from __future__ import annotations

import os

import pytest
import requests

from audience_pipelines.destinations.hubspot import FakeHubSpot
from audience_pipelines.destinations.hubspot.fake import UPSERT


def send(http: requests.Session, fake: FakeHubSpot, method: str, path: str, body: object, token: str | None = None):
    headers = {"Authorization": f"Bearer {token or fake.issued}"}
    return http.request(method, fake.url(path), json=body, headers=headers)


def upsert(*emails: str) -> dict[str, object]:
    return {"inputs": [{"idProperty": "email", "id": e, "properties": {"email": e}} for e in emails]}


def test_auth_body_shapes_and_limits_are_enforced(fake: FakeHubSpot, http: requests.Session) -> None:
    assert send(http, fake, "POST", UPSERT, upsert("a@example.com"), token="wrong").status_code == 401
    assert send(http, fake, "POST", UPSERT, {"inputs": []}).status_code == 400
    too_many = upsert(*(f"p{i}@example.com" for i in range(101)))
    assert send(http, fake, "POST", UPSERT, too_many).status_code == 400
    assert send(http, fake, "POST", UPSERT, upsert("a@example.com", "A@example.com")).status_code == 400
    unknown = {"inputs": [{"idProperty": "email", "id": "a@example.com", "properties": {"nope": "1"}}]}
    answer = send(http, fake, "POST", UPSERT, unknown)
    assert answer.status_code == 207 and answer.json()["errors"][0]["category"] == "VALIDATION_ERROR"
    listed = fake.add_list("l")
    assert send(http, fake, "PUT", f"/crm/v3/lists/{listed}/memberships/add", {"ids": ["1"]}).status_code == 400
    dynamic = {"name": "d", "objectTypeId": "0-1", "processingType": "DYNAMIC"}
    assert send(http, fake, "POST", "/crm/v3/lists", dynamic).status_code == 400
    assert fake.rows_received() == 1 and fake.internal_errors == []


def test_for_sandbox_uses_the_environment_and_exports_its_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIENCE_PIPELINES_HUBSPOT_ACCESS_TOKEN", "pat-sandbox-token")
    monkeypatch.delenv(FakeHubSpot.url_env, raising=False)
    fake = FakeHubSpot.for_sandbox()
    try:
        assert os.environ[FakeHubSpot.url_env] == fake.base_url
        assert fake.environment() == {"AUDIENCE_PIPELINES_HUBSPOT_ACCESS_TOKEN": "pat-sandbox-token"}
        assert fake.destination("hubspot")["credentials"] == {"access_token": "AUDIENCE_PIPELINES_HUBSPOT_ACCESS_TOKEN"}
    finally:
        fake.stop()
