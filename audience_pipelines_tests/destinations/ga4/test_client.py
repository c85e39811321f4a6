"""GA4Client against the strict fake over real HTTP: payloads, per-member checks, validation, failures."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests
from pydantic import ValidationError

from audience_pipelines.destinations.ga4 import FIELDS, GA4, FakeGA4, GA4Client, GA4Config
from audience_pipelines.destinations.ga4.fake import TEST_API_SECRET, TEST_API_SECRET_ENV, TEST_MEASUREMENT_ID_ENV
from audience_pipelines.destinations.kit import DestinationError, EventClient, FailureKind
from audience_pipelines_tests.destinations.ga4.conftest import AUDIENCE, SYNC, batch, event, sha256

ClientFactory = Callable[..., GA4Client]
FULL = {
    "client_id": "1234567890.1700000000",
    "user_id": "crm-42",
    "sha256_email_address": sha256("janedoe@gmail.com"),
    "sha256_phone_number": sha256("+14155550101"),
    "sha256_first_name": sha256("jane"),
    "sha256_last_name": sha256("doe"),
    "city": "san francisco",
    "region": "ca",
    "postal_code": "94110",
    "country": "US",
}


def test_descriptor_and_protocol(make_client: ClientFactory) -> None:
    client = make_client()
    assert isinstance(client, EventClient)
    assert client.max_batch_size == 25
    assert GA4.fields == FIELDS
    assert set(FULL) == set(FIELDS)


def test_settings_bound_batch_size_and_read_validate_key(make_config: Callable[..., GA4Config]) -> None:
    assert make_config().settings.validation == "first_batch"
    assert make_config(validate="never").settings.validation == "never"
    with pytest.raises(ValidationError):
        make_config(batch_size=26)
    with pytest.raises(ValidationError):
        make_config(validate="sometimes")


def test_plan_builds_one_request_per_member_with_the_secret_masked(make_client: ClientFactory) -> None:
    client = make_client()
    first = event("m1", **FULL)
    second = event("m2", client_id="555.666")
    planned = client.plan_events(batch(first, second))

    assert len(planned) == 2
    assert {p.path for p in planned} == {"/mp/collect?measurement_id=G-CONTRACT42&api_secret=***"}
    assert planned[0].method == "POST"
    assert planned[0].body == {
        "client_id": FULL["client_id"],
        "user_id": "crm-42",
        "timestamp_micros": first.event_time * 1_000_000,
        "events": [
            {
                "name": "added_to_segment",
                "params": {"audience": AUDIENCE, "sync": SYNC, "event_id": first.event_id, "engagement_time_msec": 1},
            }
        ],
        "user_data": {
            "sha256_email_address": [FULL["sha256_email_address"]],
            "sha256_phone_number": [FULL["sha256_phone_number"]],
            "address": [
                {
                    k: FULL[k]
                    for k in ("sha256_first_name", "sha256_last_name", "city", "region", "postal_code", "country")
                }
            ],
        },
    }
    assert planned[1].body["client_id"] == "555.666"
    assert set(planned[1].body) == {"client_id", "timestamp_micros", "events"}
    assert TEST_API_SECRET not in repr(planned)


def test_send_posts_one_request_per_member(fake: FakeGA4, make_client: ClientFactory) -> None:
    client = make_client()
    events = [event(f"m{i}", client_id=f"{i}.1700000000", sha256_email_address=sha256(f"u{i}@x.com")) for i in range(5)]
    outcome = client.send_events(batch(*events))

    assert outcome.accepted == 5
    assert outcome.rejected == []
    assert len(fake.requests_to("/mp/collect", "POST")) == 5
    assert fake.largest_request() == 1
    assert fake.rows_received() == 5
    assert fake.dropped_requests == 0
    assert fake.held(client.config, None, SYNC) == {f"{i}.1700000000" for i in range(5)}
    stored = fake.events()[0]
    assert stored["name"] == "added_to_segment"
    assert stored["params"]["event_id"] == events[0].event_id


def test_events_of_one_member_share_a_request(fake: FakeGA4, make_client: ClientFactory) -> None:
    now = int(time.time())
    added = event("m1", event_time=now, client_id="1.2")
    removed = event("m1", name="removed_from_segment", event_time=now, client_id="1.2")
    client = make_client()

    assert len(client.plan_events(batch(added, removed))) == 1
    assert client.send_events(batch(added, removed)).accepted == 2
    assert fake.largest_request() == 2
    assert fake.held(client.config, None, SYNC) == set()


def test_every_payload_the_client_builds_validates_clean(fake: FakeGA4, make_client: ClientFactory) -> None:
    client = make_client(validate="every_batch")
    members = [
        event("full", **FULL),
        event("email_only", client_id="1.1", sha256_email_address=FULL["sha256_email_address"]),
        event("address_only", client_id="2.2", country="GB", postal_code="SW1A 1AA"),
        event("bare", client_id="3.3"),
        event("removed", name="removed_from_segment", client_id="4.4", user_id="u-4"),
    ]
    assert client.validate_events(batch(*members)) == []
    assert client.send_events(batch(*members)).accepted == 5
    assert fake.validation_requests == 10  # validate_events, then send_events
    assert fake.dropped_requests == 0


def test_member_without_client_id_is_rejected_and_not_sent(fake: FakeGA4, make_client: ClientFactory) -> None:
    client = make_client()
    outcome = client.send_events(
        batch(event("m1", client_id="1.1"), event("m2", sha256_email_address=sha256("a@b.co")))
    )

    assert outcome.accepted == 1
    assert [(r.member_key, r.reason) for r in outcome.rejected] == [("m2", "missing_client_id")]
    assert len(fake.requests_to("/mp/collect")) == 1


def test_over_long_param_is_rejected_per_member_and_the_validator_agrees(
    fake: FakeGA4, make_client: ClientFactory
) -> None:
    client = make_client()
    long_audience = {"audience": "a" * 101, "sync": SYNC}
    refused = event("long", client_id="1.1", properties=long_audience)
    outcome = client.send_events(batch(event("ok", client_id="2.2"), refused))

    assert outcome.accepted + len(outcome.rejected) == 2
    assert [(r.member_key, r.reason) for r in outcome.rejected] == [("long", "param_value_too_long")]
    assert fake.held(client.config, None, SYNC) == {"2.2"}
    # The same payload, sent anyway, is what the validation server refuses and /mp/collect silently drops.
    body = {"client_id": "1.1", "events": [{"name": "added_to_segment", "params": long_audience}]}
    query = {"measurement_id": fake.measurement_id, "api_secret": fake.api_secret}
    answer = requests.post(fake.url("/debug/mp/collect"), params=query, json=body, timeout=5).json()
    assert answer["validationMessages"][0]["fieldPath"] == "events[0].params.audience"
    assert answer["validationMessages"][0]["validationCode"] == "VALUE_OUT_OF_BOUNDS"
    dropped = requests.post(fake.url("/mp/collect"), params=query, json=body, timeout=5)
    assert (dropped.status_code, dropped.content) == (204, b"")
    assert fake.dropped_requests == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("firebase_added", "invalid_event_name"),
        ("session_start", "invalid_event_name"),
        ("x" * 41, "invalid_event_name"),
    ],
)
def test_invalid_event_names_are_rejected_per_member(make_client: ClientFactory, name: str, reason: str) -> None:
    outcome = make_client().send_events(batch(event("m1", name=name, client_id="1.1")))
    assert outcome.accepted == 0
    assert [r.reason for r in outcome.rejected] == [reason]


def test_events_older_than_72_hours_are_rejected(make_client: ClientFactory) -> None:
    stale = event("m1", client_id="1.1", event_time=int(time.time()) - 73 * 3600)
    outcome = make_client().send_events(batch(stale))
    assert [r.reason for r in outcome.rejected] == ["event_too_old"]


def test_first_batch_validation_fails_the_run_naming_the_field(fake: FakeGA4, make_client: ClientFactory) -> None:
    client = make_client()
    raw_email = "jane.doe@example.com"  # mapped to a hashed field without hashing: a configuration mistake
    with pytest.raises(DestinationError) as caught:
        client.send_events(batch(event("m1", client_id="1.1", sha256_email_address=raw_email)))

    error = caught.value
    assert error.kind is FailureKind.PERMANENT
    assert "user_data.sha256_email_address[0] (VALUE_INVALID)" in str(error)
    assert raw_email not in str(error) and raw_email not in repr(error)
    assert fake.requests_to("/mp/collect") == []
    problems = client.validate_events(batch(event("m1", client_id="1.1", sha256_email_address=raw_email)))
    assert len(problems) == 1 and "user_data.sha256_email_address[0]" in problems[0]


def test_first_batch_mode_validates_only_until_a_batch_passes(fake: FakeGA4, make_client: ClientFactory) -> None:
    client = make_client()
    client.send_events(batch(event("m1", client_id="1.1")))
    client.send_events(batch(event("m2", client_id="2.2"), batch_id="b2"))
    assert fake.validation_requests == 1
    assert len(fake.requests_to("/mp/collect")) == 2


def test_never_validating_sends_what_google_would_drop(fake: FakeGA4, make_client: ClientFactory) -> None:
    outcome = make_client(validate="never").send_events(batch(event("m1", client_id="1.1", country="usa")))
    assert outcome.accepted == 1  # GA4 answers 2xx either way
    assert fake.validation_requests == 0
    assert fake.dropped_requests == 1


def test_html_from_the_validation_server_is_a_failure(fake: FakeGA4, make_client: ClientFactory) -> None:
    fake.fail_next(200, "<html>Sign in</html>", {"Content-Type": "text/html"}, path="/debug/mp/collect")
    with pytest.raises(DestinationError) as caught:
        make_client().send_events(batch(event("m1", client_id="1.1")))
    assert caught.value.kind is FailureKind.PERMANENT
    assert "without validationMessages" in str(caught.value)
    assert fake.requests_to("/mp/collect") == []


def test_server_errors_are_retried(fake: FakeGA4, make_client: ClientFactory, sleeps: list[float]) -> None:
    fake.fail_next(503, times=2, path="/mp/collect")
    client = make_client(validate="never")
    assert client.send_events(batch(event("m1", client_id="1.1"))).accepted == 1
    assert len(sleeps) == 2
    assert client.http.retries == 2
    assert fake.held(client.config, None, SYNC) == {"1.1"}


def test_throttling_backs_off_without_a_hint(fake: FakeGA4, make_client: ClientFactory, sleeps: list[float]) -> None:
    assert fake.throttle_next() is None
    client = make_client(validate="never", retry={"base_delay_seconds": 2})
    assert client.send_events(batch(event("m1", client_id="1.1"))).accepted == 1
    assert sleeps == [2.0]


def test_refused_credentials_fail_fast_naming_the_variables(
    fake: FakeGA4, make_client: ClientFactory, sleeps: list[float]
) -> None:
    client = make_client()
    fake.revoke_credentials()
    with pytest.raises(DestinationError) as caught:
        client.send_events(batch(event("m1", client_id="1.1")))

    error = caught.value
    assert error.kind is FailureKind.AUTHENTICATION
    assert error.status == 403
    assert f"${TEST_API_SECRET_ENV}" in str(error) and f"${TEST_MEASUREMENT_ID_ENV}" in str(error)
    assert sleeps == []
    for text in (str(error), repr(error), repr(error.args), repr(client)):
        assert TEST_API_SECRET not in text


def test_api_secret_is_masked_in_connection_errors(make_config: Callable[..., GA4Config], sleeps: list[float]) -> None:
    with FakeGA4.for_tests() as closed:
        url = closed.base_url  # nothing listens here once the fake has stopped
    config = make_config(retry={"max_attempts": 2}).model_copy(update={"base_url": url})
    client = GA4Client(config, log=lambda message: None, sleep=sleeps.append)
    with pytest.raises(DestinationError) as caught:
        client.send_events(batch(event("m1", client_id="1.1")))
    client.close()

    assert caught.value.kind is FailureKind.RETRYABLE
    assert "api_secret=***" in str(caught.value)
    for text in (str(caught.value), repr(caught.value), repr(client)):
        assert TEST_API_SECRET not in text


def test_resent_events_are_deduplicated_by_event_id(fake: FakeGA4, make_client: ClientFactory) -> None:
    client = make_client()
    events = batch(event("m1", client_id="1.1"), event("m2", client_id="2.2"))
    client.send_events(events)
    client.send_events(events)  # a re-send after a crash reuses the event ids

    assert fake.rows_received() == 4
    assert fake.duplicate_events == 2
    assert len(fake.events()) == 2


def test_oversized_batches_are_refused(make_client: ClientFactory) -> None:
    client = make_client(batch_size=2)
    with pytest.raises(ValueError, match="batch size"):
        client.plan_events(batch(*(event(f"m{i}", client_id=f"{i}.0") for i in range(3))))
