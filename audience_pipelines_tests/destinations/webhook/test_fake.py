"""Tests of the signed webhook receiver over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
import requests

from audience_pipelines.destinations.webhook.fake import (
    MAX_ITEMS_PER_REQUEST,
    WebhookReceiver,
    secret_key,
    sign,
    signed_headers,
    verify,
)
from audience_pipelines_tests.destinations.support import post_signed

HOOK = "/hooks/audiences"


def members_batch(
    kind: str = "audience.members_added",
    list_id: str = "list-1",
    keys: tuple[str, ...] = ("m1",),
    **extra: Any,
) -> dict[str, Any]:
    members = [{"member_key": key, "email_sha256": f"hash-{key}", **extra} for key in keys]
    return {"type": kind, "list_id": list_id, "sync": "vip", "batch_id": f"b-{kind}", "members": members}


def events_batch(*event_ids: str, event_name: str = "added_to_segment") -> dict[str, Any]:
    events = [
        {"event_id": eid, "event_name": event_name, "timestamp": 1_700_000_000, "member_key": f"m-{eid}"}
        for eid in event_ids
    ]
    return {"type": "audience.events", "sync": "vip", "batch_id": "e1", "events": events}


# ---------------------------------------------------------------------- signing helpers


def test_sign_matches_the_standard_webhooks_reference_vector() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected
    unprefixed = secret.removeprefix("whsec_")
    assert sign(unprefixed, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body) == expected


def test_sign_is_hmac_sha256_over_id_timestamp_body() -> None:
    key = b"0123456789abcdef"
    secret = "whsec_" + base64.b64encode(key).decode()
    digest = hmac.new(key, b"id-1.42.{}", hashlib.sha256).digest()
    assert sign(secret, "id-1", 42, b"{}") == "v1," + base64.b64encode(digest).decode()
    assert secret_key(secret) == key


def test_verify_accepts_any_v1_signature_in_a_rotation_list() -> None:
    old, new = "whsec_" + base64.b64encode(b"old-key").decode(), "whsec_" + base64.b64encode(b"new").decode()
    header = f"{sign(old, 'i', 1, b'x')} {sign(new, 'i', 1, b'x')}"
    assert verify(new, "i", "1", b"x", header)
    assert not verify(new, "i", "1", b"y", header)
    assert not verify(new, "i", "1", b"x", "v2," + sign(new, "i", 1, b"x").removeprefix("v1,"))


def test_invalid_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        WebhookReceiver("whsec_not base64!")


# ---------------------------------------------------------------------- authentication


def test_valid_delivery_applies_members(receiver: WebhookReceiver, secret: str, http: requests.Session) -> None:
    response = post_signed(http, receiver.url(HOOK), secret, members_batch(keys=("m1", "m2")), "msg-1")
    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "rejected": []}
    assert receiver.member_keys("list-1") == {"m1", "m2"}
    assert receiver.members("list-1")["m1"] == {"email_sha256": "hash-m1"}
    assert receiver.deliveries == 1
    assert receiver.verified_signatures == 1


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda h: h.pop("webhook-signature"), id="missing"),
        pytest.param(lambda h: h.update({"webhook-signature": "v1,AAAA"}), id="garbage"),
        pytest.param(lambda h: h.update({"webhook-id": "other-id"}), id="id-not-signed"),
        pytest.param(lambda h: h.update({"webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}), id="ts"),
    ],
)
def test_bad_signature_is_401(receiver: WebhookReceiver, secret: str, http: requests.Session, mutate: Any) -> None:
    body = json.dumps(members_batch()).encode()
    headers = signed_headers(secret, body, "msg-1")
    mutate(headers)
    response = http.post(receiver.url(HOOK), data=body, headers=headers, timeout=2)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_signature"}
    assert receiver.member_keys("list-1") == set()
    assert receiver.verified_signatures == 0


def test_wrong_secret_and_tampered_body_are_401(receiver: WebhookReceiver, secret: str, http: requests.Session) -> None:
    other = "whsec_" + base64.b64encode(b"someone-else").decode()
    assert post_signed(http, receiver.url(HOOK), other, members_batch(), "m").status_code == 401
    body = json.dumps(members_batch()).encode()
    headers = signed_headers(secret, body, "msg-2")
    tampered = body.replace(b"m1", b"m9")
    assert http.post(receiver.url(HOOK), data=tampered, headers=headers, timeout=2).status_code == 401


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamp_outside_tolerance_is_stale(secret: str, http: requests.Session, offset: int) -> None:
    now = 1_790_000_000.0  # the receiver's clock stands still: a second passing mid-request moves no boundary
    with WebhookReceiver(secret, clock=lambda: now) as receiver:
        stamp = int(now) + offset
        response = post_signed(http, receiver.url(HOOK), secret, members_batch(), "msg-old", timestamp=stamp)
        assert response.status_code == 400
        assert response.json() == {"error": "stale_timestamp"}
        assert receiver.deliveries == 0
        inside = int(now) + (300 if offset > 0 else -300)
        assert post_signed(http, receiver.url(HOOK), secret, members_batch(), "msg-new", timestamp=inside).ok


def test_timestamp_tolerance_uses_the_injected_clock(secret: str, http: requests.Session) -> None:
    with WebhookReceiver(secret, tolerance_seconds=10, clock=lambda: 1_000_000.0) as fake:
        url = fake.url(HOOK)
        assert post_signed(http, url, secret, members_batch(), "a", timestamp=999_991).status_code == 200
        assert post_signed(http, url, secret, members_batch(), "b", timestamp=999_989).status_code == 400


def test_missing_id_non_json_wrong_type_and_method(
    receiver: WebhookReceiver, secret: str, http: requests.Session
) -> None:
    body = json.dumps(members_batch()).encode()
    headers = signed_headers(secret, body, "msg-1")
    del headers["webhook-id"]
    assert http.post(receiver.url(HOOK), data=body, headers=headers, timeout=2).json() == {"error": "missing_headers"}
    raw = b"not json"
    not_json = http.post(receiver.url(HOOK), data=raw, headers=signed_headers(secret, raw, "x"), timeout=2)
    assert (not_json.status_code, not_json.json()) == (400, {"error": "invalid_json"})
    plain = signed_headers(secret, body, "y") | {"Content-Type": "text/plain"}
    assert http.post(receiver.url(HOOK), data=body, headers=plain, timeout=2).status_code == 415
    assert http.get(receiver.url(HOOK), timeout=2).status_code == 405


# ---------------------------------------------------------------------- payloads and state


def test_add_and_remove_members_per_list(receiver: WebhookReceiver, secret: str, http: requests.Session) -> None:
    url = receiver.url(HOOK)
    post_signed(http, url, secret, members_batch(keys=("a", "b", "c")), "1")
    post_signed(http, url, secret, members_batch(list_id="list-2", keys=("a",)), "2")
    removed = post_signed(http, url, secret, members_batch("audience.members_removed", keys=("b", "zz")), "3").json()
    assert removed == {"accepted": 2, "rejected": []}
    assert receiver.member_keys("list-1") == {"a", "c"}
    assert receiver.member_keys("list-2") == {"a"}
    assert receiver.list_ids() == {"list-1", "list-2"}
    post_signed(http, url, secret, members_batch(keys=("a",), email_sha256="updated"), "4")
    assert receiver.members("list-1")["a"] == {"email_sha256": "updated"}
    assert [batch["webhook_id"] for batch in receiver.batches()] == ["1", "2", "3", "4"]


def test_redelivery_is_idempotent(receiver: WebhookReceiver, secret: str, http: requests.Session) -> None:
    url = receiver.url(HOOK)
    first = post_signed(http, url, secret, members_batch(keys=("a",)), "batch-1")
    post_signed(http, url, secret, members_batch("audience.members_removed", keys=("a",)), "batch-2")
    again = post_signed(http, url, secret, members_batch(keys=("a",)), "batch-1", timestamp=int(time.time()) + 5)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert receiver.member_keys("list-1") == set()
    assert receiver.duplicate_deliveries == 1
    assert receiver.deliveries == 2
    assert receiver.verified_signatures == 3


def test_batch_size_limit(receiver: WebhookReceiver, secret: str, http: requests.Session) -> None:
    keys = tuple(f"m{i}" for i in range(MAX_ITEMS_PER_REQUEST + 1))
    too_big = post_signed(http, receiver.url(HOOK), secret, members_batch(keys=keys), "big")
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "batch_too_large"
    ok = post_signed(http, receiver.url(HOOK), secret, members_batch(keys=keys[:-1]), "max")
    assert ok.json()["accepted"] == MAX_ITEMS_PER_REQUEST
    big_events = events_batch(*(f"e{i}" for i in range(MAX_ITEMS_PER_REQUEST + 1)))
    assert post_signed(http, receiver.url(HOOK), secret, big_events, "ev").status_code == 413


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"type": "audience.unknown"}, "unknown_type"),
        ({**members_batch(), "list_id": ""}, "invalid_payload"),
        ({**members_batch(), "members": []}, "invalid_payload"),
        ({**members_batch(), "members": [{"email": "x"}]}, "invalid_payload"),
        (
            {**events_batch("e1"), "events": [{"event_id": "e1", "event_name": "x", "member_key": "m"}]},
            "invalid_payload",
        ),
        ({**events_batch("e1"), "batch_id": None}, "invalid_payload"),
    ],
)
def test_invalid_payloads_are_400(
    receiver: WebhookReceiver, secret: str, http: requests.Session, payload: dict[str, Any], error: str
) -> None:
    response = post_signed(http, receiver.url(HOOK), secret, payload, "bad")
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert receiver.deliveries == 0
    fixed = post_signed(http, receiver.url(HOOK), secret, members_batch(), "bad")
    assert fixed.status_code == 200, "a rejected delivery id is not remembered as processed"


def test_events_are_deduplicated_by_event_id(receiver: WebhookReceiver, secret: str, http: requests.Session) -> None:
    url = receiver.url(HOOK)
    assert post_signed(http, url, secret, events_batch("e1", "e2"), "d1").json() == {
        "accepted": 2,
        "rejected": [],
    }
    assert post_signed(http, url, secret, events_batch("e2", "e3"), "d2").json()["accepted"] == 2
    assert [event["event_id"] for event in receiver.events()] == ["e1", "e2", "e3"]
    assert receiver.duplicate_events == 1
    assert receiver.events()[0] == {
        "event_id": "e1",
        "event_name": "added_to_segment",
        "timestamp": 1_700_000_000,
        "member_key": "m-e1",
    }


def test_reject_members_and_required_fields(receiver: WebhookReceiver, secret: str, http: requests.Session) -> None:
    receiver.reject_members(lambda member: "blocked_domain" if member["member_key"] == "bad" else None)
    response = post_signed(http, receiver.url(HOOK), secret, members_batch(keys=("ok", "bad")), "1")
    assert response.json() == {"accepted": 1, "rejected": [{"member_key": "bad", "reason": "blocked_domain"}]}
    assert receiver.member_keys("list-1") == {"ok"}

    receiver.reject_members(None)
    receiver.require_member_fields("phone_sha256")
    response = post_signed(http, receiver.url(HOOK), secret, members_batch(keys=("p",)), "2")
    assert response.json()["rejected"] == [{"member_key": "p", "reason": "missing required field 'phone_sha256'"}]
    assert receiver.rejected_items == 2


# ---------------------------------------------------------------------- faults and state endpoint


def test_fault_script_429_503_then_success(receiver: WebhookReceiver, secret: str, http: requests.Session) -> None:
    receiver.fail_next(429, headers={"Retry-After": "2"})
    receiver.fail_next(503)
    url = receiver.url(HOOK)
    throttled = post_signed(http, url, secret, members_batch(), "same-id")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "2")
    assert post_signed(http, url, secret, members_batch(), "same-id").status_code == 503
    assert receiver.member_keys("list-1") == set()
    assert post_signed(http, url, secret, members_batch(), "same-id").status_code == 200
    assert receiver.member_keys("list-1") == {"m1"}
    assert [record.status for record in receiver.request_log] == [429, 503, 200]


def test_delay_times_out_client_and_retry_is_deduplicated(
    receiver: WebhookReceiver, secret: str, http: requests.Session
) -> None:
    receiver.delay_next(0.3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        post_signed(http, receiver.url(HOOK), secret, members_batch(), "slow", timeout=0.1)
    retry = post_signed(http, receiver.url(HOOK), secret, members_batch(), "slow", timeout=2)
    assert retry.status_code == 200
    deadline = time.monotonic() + 2
    while receiver.request_count < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert receiver.deliveries == 1, "the timed-out original was applied once, whichever finished first"
    assert receiver.duplicate_deliveries == 1


def test_state_endpoint(receiver: WebhookReceiver, secret: str, http: requests.Session) -> None:
    post_signed(http, receiver.url(HOOK), secret, members_batch(keys=("a",)), "1")
    post_signed(http, receiver.url(HOOK), secret, events_batch("e1"), "2")
    state = http.get(receiver.url("/_sandbox/state"), timeout=2).json()
    assert state["lists"] == {"list-1": {"a": {"email_sha256": "hash-a"}}}
    assert [event["event_id"] for event in state["events"]] == ["e1"]
    assert state["counters"]["deliveries"] == 2
    assert receiver.request_count == 2
