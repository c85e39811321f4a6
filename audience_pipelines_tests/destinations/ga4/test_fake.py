"""FakeGA4 over real HTTP: Google's 2xx-for-everything answers, the strict validator, contract-fake hooks."""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests

from audience_pipelines.destinations.ga4 import FakeGA4
from audience_pipelines.destinations.ga4.fake import (
    SANDBOX_API_SECRET_ENV,
    SANDBOX_MEASUREMENT_ID_ENV,
    SANDBOX_URL_ENV,
)
from audience_pipelines.destinations.kit import ContractFake
from audience_pipelines_tests.destinations.ga4.conftest import sha256

VALID: dict[str, Any] = {
    "client_id": "1.1",
    "events": [{"name": "added_to_segment", "params": {"sync": "s", "event_id": "e1"}}],
}


def post(fake: FakeGA4, path: str, body: Any, **query: str) -> requests.Response:
    params = {"measurement_id": fake.measurement_id, "api_secret": fake.api_secret, **query}
    return requests.post(fake.url(path), params=params, json=body, timeout=5)


def codes(fake: FakeGA4, body: Any) -> set[tuple[str, str]]:
    answer = post(fake, "/debug/mp/collect", body)
    assert answer.status_code == 200
    return {(m["fieldPath"], m["validationCode"]) for m in answer.json()["validationMessages"]}


def test_is_a_contract_fake(fake: FakeGA4) -> None:
    assert isinstance(fake, ContractFake)
    assert fake.secrets() == [fake.api_secret]
    assert fake.destination("ga4")["credentials"] == {
        "measurement_id": "CONTRACT_GA4_MEASUREMENT_ID",
        "api_secret": "CONTRACT_GA4_API_SECRET",
    }


def test_collect_answers_204_and_stores_valid_events(fake: FakeGA4) -> None:
    answer = post(fake, "/mp/collect", VALID)
    assert (answer.status_code, answer.content) == (204, b"")
    assert fake.rows_received() == 1
    assert fake.events()[0]["client_id"] == "1.1"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({**VALID, "surprise": 1}, ("surprise", "VALUE_INVALID")),
        ({"events": VALID["events"]}, ("client_id", "VALUE_REQUIRED")),
        ({**VALID, "events": VALID["events"] * 26}, ("events", "EXCEEDED_MAX_ENTITIES")),
        ({**VALID, "events": [{"name": "firebase_x"}]}, ("events[0].name", "NAME_RESERVED")),
        ({**VALID, "events": [{"name": "first_visit"}]}, ("events[0].name", "NAME_RESERVED")),
        ({**VALID, "events": [{"name": "1bad"}]}, ("events[0].name", "NAME_INVALID")),
        ({**VALID, "events": [{"name": "n" * 41}]}, ("events[0].name", "NAME_INVALID")),
        ({**VALID, "events": [{"name": "ok", "params": {"ga_x": "v"}}]}, ("events[0].params.ga_x", "NAME_RESERVED")),
        (
            {**VALID, "events": [{"name": "ok", "params": {f"p{i}": i for i in range(26)}}]},
            ("events[0].params", "EXCEEDED_MAX_ENTITIES"),
        ),
        (
            {**VALID, "user_data": {"sha256_email_address": ["a@b.co"]}},
            ("user_data.sha256_email_address[0]", "VALUE_INVALID"),
        ),
        (
            {**VALID, "user_data": {"address": [{"city": sha256("paris")}]}},
            ("user_data.address[0].city", "VALUE_INVALID"),
        ),
        ({**VALID, "timestamp_micros": 1_000_000}, ("timestamp_micros", "VALUE_OUT_OF_BOUNDS")),
    ],
)
def test_validator_refuses_what_google_drops(fake: FakeGA4, body: Any, expected: tuple[str, str]) -> None:
    assert expected in codes(fake, body)
    dropped = post(fake, "/mp/collect", body)
    assert (dropped.status_code, dropped.content) == (204, b"")
    assert fake.dropped_requests == 1
    assert fake.events() == []


def test_oversized_body_is_refused(fake: FakeGA4) -> None:
    items = [{"item_id": "i" * 100}] * 1_500  # within every other limit: only the body size is too large
    body = {**VALID, "events": [{"name": "ok", "params": {"items": items}}]}
    assert ("", "VALUE_OUT_OF_BOUNDS") in codes(fake, body)


def test_wrong_credentials_are_refused_by_default(fake: FakeGA4) -> None:
    assert post(fake, "/mp/collect", VALID, api_secret="wrong").status_code == 403
    assert post(fake, "/debug/mp/collect", VALID, measurement_id="G-OTHER").status_code == 403
    fake.revoke_credentials()
    assert (
        requests.post(fake.url("/mp/collect"), params={"measurement_id": fake.measurement_id}, json=VALID).status_code
        == 403
    )


def test_drop_mode_models_google_for_wrong_credentials() -> None:
    with FakeGA4("G-ABC", "secret-1", credentials="drop") as fake:
        answer = post(fake, "/mp/collect", VALID, api_secret="wrong")
        assert (answer.status_code, answer.content) == (204, b"")
        assert fake.dropped_requests == 1
        assert post(fake, "/debug/mp/collect", VALID, api_secret="wrong").json() == {"validationMessages": []}


def test_held_follows_the_latest_event_per_client_id(fake: FakeGA4) -> None:
    def send(client_id: str, name: str, event_id: str, sync: str = "s") -> None:
        body = {"client_id": client_id, "events": [{"name": name, "params": {"sync": sync, "event_id": event_id}}]}
        assert post(fake, "/mp/collect", body).status_code == 204

    send("1.1", "added_to_segment", "e1")
    send("2.2", "added_to_segment", "e2")
    send("2.2", "removed_from_segment", "e3")
    send("3.3", "added_to_segment", "e4", sync="other")
    send("1.1", "added_to_segment", "e1")  # duplicate event id
    config = type("Config", (), {"credentials": type("Credentials", (), {"measurement_id": "UNSET_VARIABLE"})})()
    assert fake.held(config, None, "s") == {"1.1"}  # type: ignore[arg-type]
    assert (fake.rows_received(), fake.duplicate_events, fake.largest_request()) == (5, 1, 1)


def test_throttle_and_slow_down_touch_only_collect(fake: FakeGA4) -> None:
    assert fake.throttle_next() is None
    assert post(fake, "/debug/mp/collect", VALID).status_code == 200
    throttled = post(fake, "/mp/collect", VALID)
    assert throttled.status_code == 429 and "Retry-After" not in throttled.headers
    fake.fail_next(500, times=1)
    assert post(fake, "/mp/collect", VALID).status_code == 500
    assert post(fake, "/mp/collect", VALID).status_code == 204


def test_for_sandbox_exports_credentials_and_url(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (SANDBOX_MEASUREMENT_ID_ENV, SANDBOX_API_SECRET_ENV, SANDBOX_URL_ENV):
        monkeypatch.delenv(name, raising=False)
    fake = FakeGA4.for_sandbox()
    try:
        assert os.environ[SANDBOX_URL_ENV] == fake.base_url
        assert os.environ[SANDBOX_MEASUREMENT_ID_ENV].startswith("G-")
        assert fake.environment() == {
            SANDBOX_MEASUREMENT_ID_ENV: os.environ[SANDBOX_MEASUREMENT_ID_ENV],
            SANDBOX_API_SECRET_ENV: os.environ[SANDBOX_API_SECRET_ENV],
        }
        assert post(fake, "/mp/collect", VALID).status_code == 204
    finally:
        fake.stop()
    monkeypatch.setenv(SANDBOX_API_SECRET_ENV, "given-secret")
    with_secret = FakeGA4.for_sandbox()
    with_secret.stop()
    assert with_secret.api_secret == "given-secret"
