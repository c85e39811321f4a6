"""The TikTok envelope and its codes, over real HTTP against the fake (faults scripted on the fake)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from audience_pipelines.destinations.kit import Batch, DestinationError, FailureKind, ListTarget, OutboundMember
from audience_pipelines.destinations.tiktok.audiences import TikTokAudiencesClient
from audience_pipelines.destinations.tiktok.fake import FakeTikTok
from audience_pipelines_tests.destinations.tiktok.conftest import TOKEN, TOKEN_ENV, sha256

Make = Callable[..., TikTokAudiencesClient]
LIST = "/open_api/v1.3/dmp/custom_audience/list/"
MAPPING = "/open_api/v1.3/segment/mapping/"


def batch(*numbers: int) -> Batch:
    members = [
        OutboundMember(
            f"m{n}", {"EMAIL_SHA256": sha256(f"p{n}@example.com"), "PHONE_SHA256": sha256(f"+1650555{n:04d}")}
        )
        for n in numbers
    ]
    return Batch("b", members=members)


def failure(client: TikTokAudiencesClient) -> DestinationError:
    with pytest.raises(DestinationError) as caught:
        client.ensure_list(ListTarget(name="vip"))
    return caught.value


def test_throttle_code_backs_off_then_succeeds(fake: FakeTikTok, make_audiences: Make, sleeps: list[float]) -> None:
    client = make_audiences()
    target = client.ensure_list(ListTarget(name="vip"))
    assert fake.throttle_next(times=2) is None, "TikTok documents no wait"
    outcome = client.add_members(target, batch(1, 2))
    assert outcome.accepted == 2
    assert sleeps == [0.5, 1.0], "exponential backoff from base_delay_seconds"
    assert len(fake.members(target.id)) == 2


def test_throttle_that_never_ends_is_a_throttled_failure(fake: FakeTikTok, make_audiences: Make) -> None:
    client = make_audiences()
    target = client.ensure_list(ListTarget(name="vip"))
    fake.throttle_next(times=3)
    with pytest.raises(DestinationError) as caught:
        client.add_members(target, batch(1))
    assert caught.value.kind is FailureKind.THROTTLED and caught.value.code == "40100"
    assert fake.members(target.id) == []


@pytest.mark.parametrize("code", [40104, 40105])
def test_token_codes_fail_fast_naming_the_variable(
    fake: FakeTikTok, make_audiences: Make, sleeps: list[float], code: int
) -> None:
    fake.fail_next(200, {"code": code, "message": f"Access token {TOKEN} is invalid", "request_id": "r1"})
    error = failure(make_audiences())
    assert error.kind is FailureKind.AUTHENTICATION and error.code == str(code)
    assert f"${TOKEN_ENV}" in error.message
    assert TOKEN not in str(error) and TOKEN not in repr(error)
    assert sleeps == []


def test_a_wrong_token_is_refused_by_the_fake_with_40105(fake: FakeTikTok, make_audiences: Make) -> None:
    client = make_audiences()
    fake.revoke_credentials()
    error = failure(client)
    assert (error.kind, error.code) == (FailureKind.AUTHENTICATION, "40105")
    assert f"${TOKEN_ENV}" in error.message


@pytest.mark.parametrize("status", [401, 403])
def test_http_401_is_authentication_naming_the_variable(fake: FakeTikTok, make_audiences: Make, status: int) -> None:
    fake.fail_next(status, {"message": "unauthorized"})
    error = failure(make_audiences())
    assert error.kind is FailureKind.AUTHENTICATION and f"${TOKEN_ENV}" in error.message


def test_other_codes_are_permanent_with_code_and_scrubbed_message(
    fake: FakeTikTok, make_audiences: Make, sleeps: list[float]
) -> None:
    message = f"Parameter error: ada@example.com is invalid (+1 650 555 0101) token {TOKEN}"
    fake.fail_next(200, {"code": 40002, "message": message, "request_id": "req-7"})
    error = failure(make_audiences())
    assert (error.kind, error.code) == (FailureKind.PERMANENT, "40002")
    assert "TikTok code 40002" in error.message and "req-7" in error.message
    assert "ada@example.com" not in error.message and "555 0101" not in error.message
    assert TOKEN not in error.message and sleeps == []


@pytest.mark.parametrize(
    "body",
    ["<html>gateway says hello</html>", {"message": "OK", "data": {}}, [{"code": 0}], {"code": "0"}, {"code": True}],
    ids=["html", "no-code", "list", "string-code", "bool-code"],
)
def test_a_200_that_is_not_the_envelope_is_a_failure(fake: FakeTikTok, make_audiences: Make, body: object) -> None:
    fake.fail_next(200, body)
    error = failure(make_audiences())
    assert error.kind is FailureKind.PERMANENT and "envelope" in error.message
    assert fake.audiences() == {}


def test_server_errors_are_retried(fake: FakeTikTok, make_audiences: Make, sleeps: list[float]) -> None:
    fake.fail_next(503, times=2)
    ref = make_audiences().ensure_list(ListTarget(name="vip"))
    assert len(sleeps) == 2 and fake.audiences() == {ref.id: "vip"}


def test_the_token_travels_only_in_the_access_token_header(fake: FakeTikTok, make_audiences: Make) -> None:
    client = make_audiences()
    assert client.http.session.headers["Access-Token"] == TOKEN
    assert TOKEN not in repr(client) and TOKEN not in repr(client.config)
    client.ensure_list(ListTarget(name="vip"))
    assert all(record.path.startswith("/open_api/v1.3/") for record in fake.request_log)
    assert fake.requests_to(LIST, "GET") and not fake.requests_to(MAPPING)
    client.close()
