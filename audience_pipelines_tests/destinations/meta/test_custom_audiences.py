"""Meta Custom Audiences destination against the strict fake Graph API, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from audience_pipelines.destinations.kit import (
    Batch,
    DestinationError,
    EventClient,
    FailureKind,
    ListClient,
    ListRef,
    ListTarget,
    OutboundMember,
    Rejection,
)
from audience_pipelines.destinations.meta.custom_audiences import MetaCustomAudiencesClient, upload_outcome
from audience_pipelines.destinations.meta.fake import FakeMeta
from audience_pipelines.destinations.meta.graph import appsecret_proof
from audience_pipelines.destinations.meta.settings import MetaCustomAudiencesConfig
from audience_pipelines.destinations.registry import build_client
from audience_pipelines_tests.destinations.meta.conftest import ACCOUNT, TOKEN, TOKEN_ENV, sha256

Config = Callable[..., MetaCustomAudiencesConfig]
USERS = "/v25.0/{}/users"


@pytest.fixture
def make(audiences_config: Config, sleeps: list[float]) -> Callable[..., MetaCustomAudiencesClient]:
    """``make(retry={...}, batch_size=...)``: a client whose waits are recorded instead of slept."""

    def build(retry: dict[str, float] | None = None, **settings: object) -> MetaCustomAudiencesClient:
        return MetaCustomAudiencesClient(audiences_config(retry, **settings), sleep=sleeps.append)

    return build


@pytest.fixture
def client(make: Callable[..., MetaCustomAudiencesClient]) -> MetaCustomAudiencesClient:
    return make()


@pytest.fixture
def audience(fake: FakeMeta, client: MetaCustomAudiencesClient) -> ListRef:
    return client.ensure_list(ListTarget(list_id=fake.create_audience("Seeded")))


def member(key: str, **fields: str) -> OutboundMember:
    return OutboundMember(key, fields)


def email_member(n: int) -> OutboundMember:
    return member(f"m{n}", EMAIL=sha256(f"person.{n}@example.com"))


def users_calls(fake: FakeMeta, audience_id: str) -> list[tuple[str, int]]:
    return [(r.method, r.status) for r in fake.requests_to(USERS.format(audience_id))]


# ---------------------------------------------------------------------- protocol and lists


def test_is_a_list_client_built_by_the_registry(audiences_config: Config) -> None:
    built = build_client(audiences_config())
    assert isinstance(built, MetaCustomAudiencesClient) and isinstance(built, ListClient)
    assert not isinstance(built, EventClient), "a list-only client carries no event methods"
    assert built.max_batch_size == 10_000
    built.close()
    assert MetaCustomAudiencesClient(audiences_config(batch_size=500), log=print).max_batch_size == 500


def test_create_by_name_then_find_it_by_name_across_pages(fake: FakeMeta, client: MetaCustomAudiencesClient) -> None:
    for n in range(30):  # more than one page (the fake pages by 25)
        fake.create_audience(f"Other {n}")
    created = client.ensure_list(ListTarget(name="VIP buyers", description="Top spenders"))
    found = client.ensure_list(ListTarget(name="VIP buyers"))
    assert found == created
    assert list(fake.audiences().values()).count("VIP buyers") == 1, "the second call found it, no duplicate"
    assert created.url == f"https://business.facebook.com/adsmanager/audiences?act=1234567890&ids={created.id}"
    state = fake.state()["audiences"][created.id]
    assert state["customer_file_source"] == "USER_PROVIDED_ONLY"
    pages = [r for r in fake.requests_to(f"/v25.0/{ACCOUNT}/customaudiences") if r.method == "GET"]
    assert len(pages) == 4, "two full scans of two pages each"


def test_customer_file_source_comes_from_settings(
    fake: FakeMeta, make: Callable[..., MetaCustomAudiencesClient]
) -> None:
    ref = make(customer_file_source="BOTH_USER_AND_PARTNER_PROVIDED").ensure_list(ListTarget(name="Partners"))
    assert fake.state()["audiences"][ref.id]["customer_file_source"] == "BOTH_USER_AND_PARTNER_PROVIDED"


def test_an_existing_id_is_read_back(fake: FakeMeta, client: MetaCustomAudiencesClient) -> None:
    audience_id = fake.create_audience("Seeded")
    ref = client.ensure_list(ListTarget(list_id=audience_id, name="ignored when an id is given"))
    assert (ref.id, ref.name) == (audience_id, "Seeded")
    assert ref.url is not None and ref.url.endswith(f"&ids={audience_id}")
    assert len(fake.audiences()) == 1


@pytest.mark.parametrize("list_id", ["23850000000999999", "../act_1234567890"], ids=["unknown", "not-numeric"])
def test_an_unknown_or_malformed_id_is_permanent(
    fake: FakeMeta, client: MetaCustomAudiencesClient, list_id: str
) -> None:
    with pytest.raises(DestinationError) as caught:
        client.ensure_list(ListTarget(list_id=list_id))
    assert caught.value.kind is FailureKind.PERMANENT
    assert fake.audiences() == {}


def test_a_target_needs_an_id_or_a_name(client: MetaCustomAudiencesClient) -> None:
    with pytest.raises(DestinationError, match="list_id or a name"):
        client.ensure_list(ListTarget())


# ---------------------------------------------------------------------- members


def test_add_then_remove_with_a_multi_key_schema(
    fake: FakeMeta, client: MetaCustomAudiencesClient, audience: ListRef
) -> None:
    us = sha256("us")
    members = [
        member("k1", EMAIL=sha256("a@example.com"), COUNTRY=us, EXTERN_ID="crm-1"),
        member("k2", PHONE=sha256("15551230002"), COUNTRY=us),
        member("k3", EMAIL=sha256("c@example.com"), PHONE=sha256("15551230003")),
    ]
    added = client.add_members(audience, Batch("add-1", members=members))
    assert (added.accepted, list(added.rejected)) == (3, [])
    assert fake.audience_member_ids(audience.id) == {"crm-1", sha256("15551230002"), sha256("c@example.com")}
    rows = fake.audience_rows(audience.id)
    assert list(rows["crm-1"]) == ["EXTERN_ID", "EMAIL", "PHONE", "COUNTRY"], "canonical order, not first seen"
    assert rows["crm-1"]["PHONE"] == "" and rows[sha256("c@example.com")]["COUNTRY"] == ""
    assert rows["crm-1"]["EXTERN_ID"] == "crm-1", "EXTERN_ID is sent raw, nothing is hashed again"

    removed = client.remove_members(audience, Batch("remove-1", members=members[:2]))
    assert (removed.accepted, list(removed.rejected)) == (2, [])
    assert fake.audience_member_ids(audience.id) == {sha256("c@example.com")}
    assert users_calls(fake, audience.id) == [("POST", 200), ("DELETE", 200)]


def test_an_empty_batch_sends_nothing(fake: FakeMeta, client: MetaCustomAudiencesClient, audience: ListRef) -> None:
    assert client.add_members(audience, Batch("empty")).accepted == 0
    assert users_calls(fake, audience.id) == []


def test_a_batch_over_the_limit_is_refused_before_sending(
    fake: FakeMeta, client: MetaCustomAudiencesClient, audience: ListRef
) -> None:
    members = [email_member(n) for n in range(10_001)]
    with pytest.raises(ValueError, match="10001 members exceeds Meta's limit of 10000"):
        client.add_members(audience, Batch("too-big", members=members))
    assert users_calls(fake, audience.id) == []
    assert client.add_members(audience, Batch("max", members=members[:10_000])).accepted == 10_000


def test_an_unknown_field_is_refused_before_sending(
    fake: FakeMeta, client: MetaCustomAudiencesClient, audience: ListRef
) -> None:
    with pytest.raises(ValueError, match="no field"):
        client.add_members(audience, Batch("b", members=[member("k1", em=sha256("a@example.com"))]))
    assert users_calls(fake, audience.id) == []


def test_invalid_entries_become_rejections_of_the_right_members(
    fake: FakeMeta, client: MetaCustomAudiencesClient, audience: ListRef
) -> None:
    members = [email_member(1), member("bad", EMAIL="not-a-sha256-value"), email_member(3), member("empty", EMAIL="")]
    outcome = client.add_members(audience, Batch("b", members=members))
    assert outcome.accepted == 2
    assert outcome.accepted + len(outcome.rejected) == len(members)
    assert outcome.rejected_keys == {"bad", "empty"}
    assert {r.reason for r in outcome.rejected} == {"invalid_entry"}
    assert all("not-a-sha256-value" not in r.message for r in outcome.rejected)
    assert "EMAIL" in next(r.message for r in outcome.rejected if r.member_key == "bad")
    assert fake.audience_member_ids(audience.id) == {sha256("person.1@example.com"), sha256("person.3@example.com")}


def test_invalid_entries_without_samples_are_counted_one_rejection_each() -> None:
    members = [email_member(n) for n in range(5)]
    rows = [[m.fields["EMAIL"]] for m in members]
    answer = {"num_received": 5, "num_invalid_entries": 3, "invalid_entry_samples": {rows[4][0]: f"bad {rows[4][0]}"}}
    outcome = upload_outcome(answer, members, rows)
    assert outcome.accepted == 2
    assert outcome.rejected[0] == Rejection("m4", "invalid_entry", "Meta: bad <value>")
    assert [r.member_key for r in outcome.rejected[1:]] == [None, None]
    assert "3 invalid, 1 sampled" in outcome.rejected[1].message


def test_fewer_rows_received_than_sent_are_rejections_too() -> None:
    members = [email_member(n) for n in range(4)]
    outcome = upload_outcome({"num_received": 3, "num_invalid_entries": 0}, members, [["x"]] * 4)
    assert outcome.accepted == 3
    assert [(r.member_key, r.reason) for r in outcome.rejected] == [(None, "not_received")]


# ---------------------------------------------------------------------- throttling, retries and failures


@pytest.mark.parametrize("code", [80004, 80003, 613, 17, 4])
def test_throttling_without_a_wait_is_retried_with_backoff(
    fake: FakeMeta, client: MetaCustomAudiencesClient, audience: ListRef, sleeps: list[float], code: int
) -> None:
    fake.throttle_graph(times=2, code=code, regain_minutes=0, path=USERS.format(audience.id))
    assert client.add_members(audience, Batch("b", members=[email_member(1)])).accepted == 1
    assert users_calls(fake, audience.id) == [("POST", 400), ("POST", 400), ("POST", 200)]
    assert sleeps == [1.0, 2.0], "exponential backoff from base_delay_seconds"
    assert client.http.retries == 2


def test_metas_regain_time_is_the_wait(
    fake: FakeMeta, client: MetaCustomAudiencesClient, audience: ListRef, sleeps: list[float]
) -> None:
    fake.throttle_graph(code=80004, regain_minutes=5, path=USERS.format(audience.id))
    assert client.add_members(audience, Batch("b", members=[email_member(1)])).accepted == 1
    assert sleeps == [300.0]


def test_a_regain_time_over_max_wait_stops_with_throttled(
    fake: FakeMeta, make: Callable[..., MetaCustomAudiencesClient], sleeps: list[float]
) -> None:
    client = make(retry={"max_wait_seconds": 120})
    audience = client.ensure_list(ListTarget(list_id=fake.create_audience("Seeded")))
    fake.throttle_graph(code=80004, regain_minutes=5)
    with pytest.raises(DestinationError) as caught:
        client.add_members(audience, Batch("b", members=[email_member(1)]))
    error = caught.value
    assert (error.kind, error.retry_after, error.code) == (FailureKind.THROTTLED, 300.0, "80004")
    assert "asks to wait 300s" in error.message and "max_wait (120s)" in error.message
    assert "(#80004)" in error.message and "fbtrace_id A" in error.message
    assert sleeps == []


def test_an_expired_token_fails_at_once_naming_the_variable(
    fake: FakeMeta, client: MetaCustomAudiencesClient, audience: ListRef, sleeps: list[float]
) -> None:
    fake.expire_token()
    before = fake.request_count
    with pytest.raises(DestinationError) as caught:
        client.add_members(audience, Batch("b", members=[email_member(1)]))
    error = caught.value
    assert error.kind is FailureKind.AUTHENTICATION
    assert fake.request_count - before == 1, "no retry"
    assert sleeps == []
    assert f"renew it in ${TOKEN_ENV}" in error.message
    assert "code 190, subcode 463" in error.message and "fbtrace_id" in error.message
    assert TOKEN not in str(error) and TOKEN not in repr(error.args)


def test_a_wrong_token_is_authentication(fake: FakeMeta, client: MetaCustomAudiencesClient) -> None:
    fake.set_token("a-different-token")
    with pytest.raises(DestinationError) as caught:
        client.ensure_list(ListTarget(name="Anything"))
    assert caught.value.kind is FailureKind.AUTHENTICATION
    assert fake.request_count == 1


@pytest.mark.parametrize("code", [10, 200, 294])
def test_permission_errors_are_authentication(
    fake: FakeMeta, client: MetaCustomAudiencesClient, audience: ListRef, code: int
) -> None:
    body = {"error": {"message": f"(#{code}) Permission denied", "type": "OAuthException", "code": code}}
    fake.fail_next(400, body)
    with pytest.raises(DestinationError) as caught:
        client.add_members(audience, Batch("b", members=[email_member(1)]))
    assert caught.value.kind is FailureKind.AUTHENTICATION
    assert f"${TOKEN_ENV}" in caught.value.message


def test_a_blocked_audience_is_permanent(fake: FakeMeta, client: MetaCustomAudiencesClient, audience: ListRef) -> None:
    fake.block_uploads(audience.id)
    with pytest.raises(DestinationError) as caught:
        client.add_members(audience, Batch("b", members=[email_member(1)]))
    error = caught.value
    assert (error.kind, error.code) == (FailureKind.PERMANENT, "100/1713230")
    assert "audience upload blocked by Meta (flagged audience)" in error.message
    assert users_calls(fake, audience.id) == [("POST", 400)]


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, None), (400, {"error": {"message": "An unknown error occurred", "type": "OAuthException", "code": 1}}),
     (502, "<html>Bad Gateway</html>")],
    ids=["500-code-2", "400-code-1", "502-not-json"],
)  # fmt: skip
def test_transient_failures_are_retried_then_succeed(
    fake: FakeMeta, client: MetaCustomAudiencesClient, audience: ListRef, sleeps: list[float], status: int, body: object
) -> None:
    fake.fail_next(status, body, path=USERS.format(audience.id))
    assert client.add_members(audience, Batch("b", members=[email_member(1)])).accepted == 1
    assert users_calls(fake, audience.id) == [("POST", status), ("POST", 200)]
    assert sleeps == [1.0]
    assert fake.audience_member_ids(audience.id) == {sha256("person.1@example.com")}


def test_retries_give_up_after_max_attempts(
    fake: FakeMeta, make: Callable[..., MetaCustomAudiencesClient], sleeps: list[float]
) -> None:
    client = make(retry={"max_attempts": 3})
    audience = client.ensure_list(ListTarget(list_id=fake.create_audience("Seeded")))
    fake.fail_next(500, times=3)
    with pytest.raises(DestinationError, match="gave up after 3 attempts") as caught:
        client.add_members(audience, Batch("b", members=[email_member(1)]))
    assert caught.value.kind is FailureKind.RETRYABLE
    assert sleeps == [1.0, 2.0]


@pytest.mark.parametrize("wording", ["Audience Size too low", "The audience would become too small"])
def test_a_removal_refused_for_audience_size_is_reported_as_such(
    fake: FakeMeta, client: MetaCustomAudiencesClient, audience: ListRef, wording: str
) -> None:
    client.add_members(audience, Batch("b", members=[email_member(1)]))
    refusal = {"message": "Invalid parameter", "type": "OAuthException", "code": 100, "error_user_title": wording}
    fake.fail_next(400, {"error": refusal}, method="DELETE")
    with pytest.raises(DestinationError) as caught:
        client.remove_members(audience, Batch("r", members=[email_member(1)]))
    error = caught.value
    assert (error.kind, error.code) == (FailureKind.PERMANENT, "audience_too_small")
    assert error.message.startswith("Meta refused the removal: the audience would become too small")
    assert fake.audience_member_ids(audience.id) == {sha256("person.1@example.com")}


def test_other_removal_failures_pass_through(
    fake: FakeMeta, client: MetaCustomAudiencesClient, audience: ListRef
) -> None:
    fake.block_uploads(audience.id)
    with pytest.raises(DestinationError) as caught:
        client.remove_members(audience, Batch("r", members=[email_member(1)]))
    assert caught.value.code == "100/1713230"


# ---------------------------------------------------------------------- secrets


def test_appsecret_proof_is_sent_when_an_app_secret_is_configured(
    monkeypatch: pytest.MonkeyPatch, audiences_config: Config
) -> None:
    secret = "app-secret-value-5b1e"
    monkeypatch.setenv("META_DESTINATION_TEST_APP_SECRET", secret)
    with FakeMeta(TOKEN, ad_account_id=ACCOUNT, app_secret=secret) as strict:
        config = audiences_config(app_secret="META_DESTINATION_TEST_APP_SECRET")
        client = MetaCustomAudiencesClient(
            config.model_copy(update={"base_url": strict.base_url}), sleep=lambda s: None
        )
        ref = client.ensure_list(ListTarget(name="Proven"))
        assert client.add_members(ref, Batch("b", members=[email_member(1)])).accepted == 1

        monkeypatch.setenv("META_DESTINATION_TEST_APP_SECRET", "not-the-app-secret")
        wrong = MetaCustomAudiencesClient(config.model_copy(update={"base_url": strict.base_url}), sleep=lambda s: None)
        with pytest.raises(DestinationError, match="Invalid appsecret_proof") as caught:
            wrong.ensure_list(ListTarget(name="Proven"))
        for value in ("not-the-app-secret", appsecret_proof("not-the-app-secret", TOKEN), TOKEN):
            assert value not in str(caught.value)


def test_no_exception_message_carries_the_token(
    fake: FakeMeta, make: Callable[..., MetaCustomAudiencesClient], sleeps: list[float]
) -> None:
    client = make(retry={"max_attempts": 2, "max_wait_seconds": 10})
    audience = client.ensure_list(ListTarget(list_id=fake.create_audience("Seeded")))
    batch = Batch("b", members=[email_member(1)])
    faults: list[Callable[[], None]] = [
        lambda: fake.throttle_graph(times=1, regain_minutes=5),
        lambda: fake.fail_next(500, times=2),
        lambda: fake.fail_next(400, {"error": {"message": f"echo {TOKEN}", "type": "OAuthException", "code": 100}}),
        lambda: fake.block_uploads(audience.id),
        fake.expire_token,
    ]
    messages = []
    for fault in faults:
        fault()
        with pytest.raises(DestinationError) as caught:
            client.add_members(audience, batch)
        messages.append(str(caught.value))
    assert len(messages) == len(faults)
    assert all(TOKEN not in message for message in messages), messages
