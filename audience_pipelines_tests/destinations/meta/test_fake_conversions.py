"""Tests of the fake Meta Conversions API (POST /{pixel_id}/events)."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from audience_pipelines.destinations.meta.fake import FakeMeta
from audience_pipelines_tests.destinations.support import BEARER, META_TOKEN, PIXEL_ID, sha256

RAW_EMAIL = "jane@example.com"


def event(event_id: str = "evt-1", name: str = "AddedToSegment", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_name": name,
        "event_time": int(time.time()) - 60,
        "action_source": "system_generated",
        "event_id": event_id,
        "user_data": {"em": [sha256(RAW_EMAIL)], "external_id": ["crm-1"]},
        "custom_data": {"segment": "vip"},
    }
    base.update(overrides)
    return base


def send(meta: FakeMeta, http: requests.Session, events: list[dict[str, Any]], **extra: Any) -> requests.Response:
    return http.post(f"{meta.graph_url}/{PIXEL_ID}/events", json={"data": events, **extra}, headers=BEARER, timeout=2)


def test_valid_batch_is_received_and_stored(meta: FakeMeta, http: requests.Session) -> None:
    response = send(meta, http, [event("e1"), event("e2")])
    assert response.status_code == 200
    body = response.json()
    assert body["events_received"] == 2 and body["messages"] == [] and body["fbtrace_id"]
    stored = meta.events(PIXEL_ID)
    assert [item["event_id"] for item in stored] == ["e1", "e2"]
    assert stored[0]["user_data"]["em"] == [sha256(RAW_EMAIL)]
    assert "test_event_code" not in stored[0]


def test_form_encoded_data_and_test_event_code(meta: FakeMeta, http: requests.Session) -> None:
    form = {"access_token": META_TOKEN, "data": json.dumps([event()]), "test_event_code": "TEST123"}
    response = http.post(f"{meta.graph_url}/{PIXEL_ID}/events", data=form, timeout=2)
    assert response.json()["events_received"] == 1
    assert meta.events(PIXEL_ID)[0]["test_event_code"] == "TEST123"


def test_website_events_need_user_agent_and_url(meta: FakeMeta, http: requests.Session) -> None:
    website = event(action_source="website")
    assert send(meta, http, [website]).status_code == 400
    website["event_source_url"] = "https://shop.example.com/vip"
    assert "client_user_agent" in send(meta, http, [website]).json()["error"]["message"]
    website["user_data"]["client_user_agent"] = "Mozilla/5.0"
    assert send(meta, http, [website]).status_code == 200


def test_unknown_pixel_and_bad_batches(meta: FakeMeta, http: requests.Session) -> None:
    unknown = http.post(f"{meta.graph_url}/999000/events", json={"data": [event()]}, headers=BEARER, timeout=2)
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 100
    too_many = send(meta, http, [event(f"e{i}") for i in range(1001)])
    assert too_many.json()["error"]["code"] == 100 and "max 1000" in too_many.json()["error"]["message"]
    assert send(meta, http, []).json()["error"]["code"] == 100
    assert send(meta, http, [event(f"e{i}") for i in range(1000)]).json()["events_received"] == 1000


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(item: dict[str, Any]) -> None:
        target = item
        *parents, leaf = path.split(".")
        for parent in parents:
            target = target[parent]
        target[leaf] = value

    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(item: dict[str, Any]) -> None:
        target = item
        *parents, leaf = path.split(".")
        for parent in parents:
            target = target[parent]
        del target[leaf]

    return mutate


def _only_user_data(user_data: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return _set("user_data", user_data)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (_drop("event_name"), "event_name"),
        (_set("event_time", "1700000000"), "event_time"),
        (_set("event_time", int(time.time()) - 8 * 24 * 3600), "event_time"),
        (_set("event_time", int(time.time()) + 600), "event_time"),
        (_set("action_source", "crm"), "action_source"),
        (_drop("action_source"), "action_source"),
        (_drop("user_data"), "user_data"),
        (_only_user_data({"client_user_agent": "Mozilla/5.0"}), "user_data"),
        (_set("user_data.em", [RAW_EMAIL]), "user_data.em"),
        (_set("user_data.em", sha256(RAW_EMAIL).upper()), "user_data.em"),
        (_set("user_data.ph", [sha256("15551234567"), "15551234567"]), "user_data.ph"),
        (_set("user_data.country", "us"), "user_data.country"),
        (_set("user_data.fbp", "fb.1.abc"), "user_data.fbp"),
        (_set("user_data.fbc", "fbclid-only"), "user_data.fbc"),
        (_set("event_id", 17), "event_id"),
    ],
)
def test_one_bad_event_rejects_the_whole_batch(
    meta: FakeMeta, http: requests.Session, mutate: Callable[[dict[str, Any]], None], field: str
) -> None:
    bad = copy.deepcopy(event("e2"))
    mutate(bad)
    response = send(meta, http, [event("e1"), bad])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    assert "data[1]" in error["message"] and f"'{field}'" in error["message"]
    assert RAW_EMAIL not in response.text and "15551234567" not in response.text
    assert meta.events(PIXEL_ID) == []


def test_accepted_identifier_shapes(meta: FakeMeta, http: requests.Session) -> None:
    variants = [
        {"em": sha256(RAW_EMAIL)},
        {"ph": [sha256("15551234567")], "fn": sha256("jane"), "ct": [sha256("paris")]},
        {"external_id": "crm-1"},
        {"fbp": "fb.1.1558571054389.1098115397"},
        {"fbc": "fb.1.1554763741205.AbCdEfGh"},
        {"madid": "AEBE52E7-03EE-455A-B3C4-E57283966239"},
        {"client_ip_address": "203.0.113.9"},
    ]
    events = [event(f"e{i}", user_data=user_data) for i, user_data in enumerate(variants)]
    assert send(meta, http, events).json()["events_received"] == len(variants)


def test_deduplication_on_event_name_and_event_id(meta: FakeMeta, http: requests.Session) -> None:
    send(meta, http, [event("e1"), event("e2")])
    response = send(meta, http, [event("e1"), event("e1", name="RemovedFromSegment"), event("e2")])
    assert response.json()["events_received"] == 3
    assert [(item["event_name"], item["event_id"]) for item in meta.events(PIXEL_ID)] == [
        ("AddedToSegment", "e1"),
        ("AddedToSegment", "e2"),
        ("RemovedFromSegment", "e1"),
    ]
    assert meta.duplicate_events(PIXEL_ID) == 2
    without_id = event()
    del without_id["event_id"]
    send(meta, http, [without_id, without_id])
    assert len(meta.events(PIXEL_ID)) == 5


def test_capi_requires_a_valid_token_and_honours_faults(meta: FakeMeta, http: requests.Session) -> None:
    url = f"{meta.graph_url}/{PIXEL_ID}/events"
    assert http.post(url, json={"data": [event()]}, timeout=2).json()["error"]["code"] == 190
    meta.fail_next(503, path=f"/v25.0/{PIXEL_ID}/events")
    assert send(meta, http, [event()]).status_code == 503
    meta.delay_next(0.3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.post(url, json={"data": [event("slow")]}, headers=BEARER, timeout=0.1)
    state = http.get(meta.url("/_sandbox/state"), timeout=2).json()
    assert set(state["pixels"]) == {PIXEL_ID}
