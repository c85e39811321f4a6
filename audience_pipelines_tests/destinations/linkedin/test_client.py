"""LinkedInClient against the strict fake over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest

from audience_pipelines.destinations.kit import (
    DestinationError,
    FailureKind,
    ListClient,
    ListDeletion,
    ListRef,
    ListTarget,
    OutboundMember,
)
from audience_pipelines.destinations.linkedin import FakeLinkedIn, LinkedInClient
from audience_pipelines_tests.destinations.linkedin.conftest import AID, ClientFactory, Clock, batch, member, sha256

SEGMENTS = "/rest/dmpSegments"


def vip(client: LinkedInClient) -> ListRef:
    return client.ensure_list(ListTarget(name="VIP customers"))


def users(target: ListRef) -> str:
    return f"{SEGMENTS}/{target.id}/users"


def test_implements_list_client_and_deletion(client: LinkedInClient) -> None:
    assert isinstance(client, ListClient)
    assert isinstance(client, ListDeletion)
    assert client.max_batch_size == 5_000


# ---------------------------------------------------------------------- segments


def test_creates_a_segment_once_then_finds_it_by_name_and_by_id(client: LinkedInClient, fake: FakeLinkedIn) -> None:
    created = vip(client)
    assert created == ListRef(id=created.id, name="VIP customers")
    assert vip(client) == created
    assert len(fake.requests_to(SEGMENTS, "POST")) == 1
    assert client.ensure_list(ListTarget(list_id=created.id)) == created
    assert client.ensure_list(ListTarget(list_id=f"urn:li:dmpSegment:{created.id}")) == created
    assert fake.segment_ids() == [created.id]


def test_finds_an_existing_segment_by_source_segment_id(client: LinkedInClient, fake: FakeLinkedIn) -> None:
    existing = fake.add_segment("VIP customers")
    fake.add_segment("VIP customers", source_platform="SOMEONE_ELSE")
    assert vip(client).id == existing
    assert fake.requests_to(SEGMENTS, "POST") == []


def test_a_company_segment_or_an_unknown_id_is_refused(client: LinkedInClient, fake: FakeLinkedIn) -> None:
    company = fake.add_segment("companies", segment_type="COMPANY")
    with pytest.raises(DestinationError) as caught:
        client.ensure_list(ListTarget(list_id=company))
    assert caught.value.kind is FailureKind.PERMANENT and "COMPANY" in caught.value.message
    with pytest.raises(DestinationError) as caught:
        client.ensure_list(ListTarget(list_id="424242"))
    assert (caught.value.kind, caught.value.status) == (FailureKind.PERMANENT, 404)
    with pytest.raises(DestinationError):
        client.ensure_list(ListTarget(list_id="urn:li:sponsoredAccount:1"))


def test_a_create_race_finds_the_segment_the_other_run_made(client: LinkedInClient, fake: FakeLinkedIn) -> None:
    original = client._find
    calls: list[str] = []

    def find_once_too_early(name: str) -> ListRef | None:
        calls.append(name)
        if len(calls) == 1:
            fake.add_segment(name)  # another run creates it between our find and our create
            return None
        return original(name)

    client._find = find_once_too_early  # type: ignore[method-assign]
    found = vip(client)
    assert found.id == fake.segment_ids()[0] and len(calls) == 2
    assert [r.status for r in fake.requests_to(SEGMENTS, "POST")] == [409]


def test_delete_list_deletes_the_segment(client: LinkedInClient, fake: FakeLinkedIn) -> None:
    target = vip(client)
    client.delete_list(target)
    assert fake.segment_ids() == []
    assert fake.requests_to(f"{SEGMENTS}/{target.id}", "DELETE")[0].status == 204
    with pytest.raises(DestinationError) as caught:
        client.delete_list(target)
    assert (caught.value.kind, caught.value.status) == (FailureKind.PERMANENT, 404)


# ---------------------------------------------------------------------- members


def test_add_then_remove_leaves_exact_membership(client: LinkedInClient, fake: FakeLinkedIn) -> None:
    target = vip(client)
    added = client.add_members(
        target, batch(member("a", "a@x.com"), member("b", "b@x.com", AID), member("c", google_aid="aid-c"))
    )
    assert (added.accepted, added.rejected) == (3, [])
    assert fake.members(target.id) == [
        {("SHA256_EMAIL", sha256("a@x.com"))},
        {("SHA256_EMAIL", sha256("b@x.com")), ("GOOGLE_AID", AID)},
        {("GOOGLE_AID", "aid-c")},
    ]
    removed = client.remove_members(target, batch(member("b", "b@x.com", AID), member("c", google_aid="aid-c")))
    assert removed.accepted == 2
    assert fake.held(client.config, target.id, "vip") == {sha256("a@x.com")}
    assert fake.rows_received() == 5 and fake.largest_request() == 3


def test_plan_members_is_exactly_what_is_sent(client: LinkedInClient, fake: FakeLinkedIn) -> None:
    target = vip(client)
    (planned,) = client.plan_members("remove", target, batch(member("a", "a@x.com", AID), OutboundMember("x", {})))
    assert (planned.operation, planned.method, planned.path) == ("remove", "POST", users(target))
    assert planned.body == {
        "elements": [
            {
                "action": "REMOVE",
                "userIds": [
                    {"idType": "SHA256_EMAIL", "idValue": sha256("a@x.com")},
                    {"idType": "GOOGLE_AID", "idValue": AID},
                ],
            }
        ]
    }
    assert planned.headers == {
        "Content-Type": "application/json",
        "LinkedIn-Version": "202604",
        "X-Restli-Protocol-Version": "2.0.0",
        "X-RestLi-Method": "BATCH_CREATE",
    }
    assert client.plan_members("add", target, batch(OutboundMember("x", {}))) == []
    (pending,) = client.plan_members("add", ListRef("NEW_LIST", "VIP"), batch(member("a", "a@x.com")))
    assert pending.path == "/rest/dmpSegments/NEW_LIST/users", "preview plans for a list not created yet"
    with pytest.raises(DestinationError):
        client.add_members(ListRef("NEW_LIST", "VIP"), batch(member("a", "a@x.com")))
    assert fake.requests_to(users(target)) == [], "planning sends nothing"


def test_element_statuses_become_rejections_with_member_keys(client: LinkedInClient, fake: FakeLinkedIn) -> None:
    target = vip(client)
    members = (
        member("good", "good@x.com"),
        OutboundMember("bad-hash", {"email": "NOT-A-SHA256"}),
        OutboundMember("nothing", {}),
        member("also-good", google_aid=AID),
    )
    outcome = client.add_members(target, batch(*members))
    assert outcome.accepted == 2
    assert outcome.accepted + len(outcome.rejected) == len(members)
    by_key = {r.member_key: r for r in outcome.rejected}
    assert set(by_key) == {"bad-hash", "nothing"}
    assert by_key["bad-hash"].reason == "INVALID_ELEMENT" and "NOT-A-SHA256" not in by_key["bad-hash"].message
    assert by_key["nothing"].reason == "no_usable_identifier"
    assert fake.held(client.config, target.id, "vip") == {sha256("good@x.com"), f"GOOGLE_AID={AID}"}


def test_a_batch_with_nothing_to_send_sends_nothing(client: LinkedInClient, fake: FakeLinkedIn) -> None:
    target = vip(client)
    outcome = client.add_members(target, batch(OutboundMember("x", {})))
    assert outcome.accepted == 0 and [r.member_key for r in outcome.rejected] == ["x"]
    assert fake.requests_to(users(target)) == []


@pytest.mark.parametrize(
    "answer",
    [{"elements": [{"status": 201}]}, {"elements": [{"status": 201}] * 3}, {"value": []}, "<html>ok</html>", None],
    ids=["fewer", "more", "no-elements", "html", "empty"],
)
def test_an_answer_that_does_not_cover_the_batch_is_a_failure(
    client: LinkedInClient, fake: FakeLinkedIn, answer: object
) -> None:
    target = vip(client)
    fake.fail_next(200, body=answer if answer is not None else b"", path=users(target))
    with pytest.raises(DestinationError) as caught:
        client.add_members(target, batch(member("a", "a@x.com"), member("b", "b@x.com")))
    assert caught.value.kind is FailureKind.PERMANENT


def test_batch_limits(make_client: ClientFactory, fake: FakeLinkedIn) -> None:
    client = make_client(batch_size=2)
    target = vip(client)
    assert client.max_batch_size == 2
    with pytest.raises(ValueError, match="exceeds"):
        client.add_members(target, batch(*(member(k, f"{k}@x.com") for k in "abc")))
    fake.max_elements = 1  # the platform's own cap is enforced by the fake
    with pytest.raises(DestinationError) as caught:
        client.add_members(target, batch(member("a", "a@x.com"), member("b", "b@x.com")))
    assert (caught.value.kind, caught.value.status) == (FailureKind.PERMANENT, 400)


# ---------------------------------------------------------------------- retries and failures


def test_a_throttle_is_retried_after_a_backoff(client: LinkedInClient, fake: FakeLinkedIn, sleeps: list[float]) -> None:
    target = vip(client)
    assert fake.throttle_next() is None
    assert client.add_members(target, batch(member("a", "a@x.com"))).accepted == 1
    assert len(sleeps) == 1 and sleeps[0] > 0
    assert [r.status for r in fake.requests_to(users(target))] == [429, 200]


def test_server_errors_are_retried(client: LinkedInClient, fake: FakeLinkedIn, sleeps: list[float]) -> None:
    target = vip(client)
    fake.fail_next(503, times=2, path=users(target))
    assert client.add_members(target, batch(member("a", "a@x.com"))).accepted == 1
    assert len(sleeps) == 2


def test_a_404_right_after_creation_is_retried_but_not_later(
    client: LinkedInClient, fake: FakeLinkedIn, clock: Clock, sleeps: list[float]
) -> None:
    target = vip(client)
    fake.fail_next(404, path=users(target))
    assert client.add_members(target, batch(member("a", "a@x.com"))).accepted == 1
    assert len(sleeps) == 1
    clock.now += 600  # long after creation
    fake.fail_next(404, path=users(target))
    with pytest.raises(DestinationError) as caught:
        client.add_members(target, batch(member("b", "b@x.com")))
    assert (caught.value.kind, caught.value.status) == (FailureKind.PERMANENT, 404)


def test_a_404_on_a_segment_given_by_id_is_permanent(client: LinkedInClient, fake: FakeLinkedIn) -> None:
    with pytest.raises(DestinationError) as caught:
        client.add_members(ListRef("424242", "gone"), batch(member("a", "a@x.com")))
    assert (caught.value.kind, caught.value.status) == (FailureKind.PERMANENT, 404)


def test_a_sunset_version_is_a_permanent_error_naming_the_setting(make_client: ClientFactory) -> None:
    client = make_client(api_version="202401")
    with pytest.raises(DestinationError) as caught:
        vip(client)
    assert (caught.value.kind, caught.value.status) == (FailureKind.PERMANENT, 426)
    assert "settings.api_version" in caught.value.message


# ---------------------------------------------------------------------- OAuth


def test_the_token_is_refreshed_on_expiry(client: LinkedInClient, fake: FakeLinkedIn, clock: Clock) -> None:
    target = vip(client)
    vip(client)
    assert fake.token_requests == 1, "the token is cached"
    clock.now += 3600 - 30  # within the expiry margin
    client.add_members(target, batch(member("a", "a@x.com")))
    assert fake.token_requests == 2
    assert all(r.status != 401 for r in fake.request_log)


def test_a_401_refreshes_the_token_once(make_client: ClientFactory, fake: FakeLinkedIn) -> None:
    logs: list[str] = []
    client = make_client(logs=logs)
    target = vip(client)
    fake.expire_tokens()
    assert client.add_members(target, batch(member("a", "a@x.com"))).accepted == 1
    assert fake.token_requests == 2
    assert [r.status for r in fake.requests_to(users(target))] == [401, 200]
    assert any("refreshing it once" in line for line in logs)


def test_a_second_401_fails_authentication_naming_the_variables(
    client: LinkedInClient, fake: FakeLinkedIn, sleeps: list[float]
) -> None:
    target = vip(client)
    fake.fail_next(401, times=2, path=users(target))
    with pytest.raises(DestinationError) as caught:
        client.add_members(target, batch(member("a", "a@x.com")))
    assert caught.value.kind is FailureKind.AUTHENTICATION
    assert "$CONTRACT_LINKEDIN_REFRESH_TOKEN" in caught.value.message
    assert sleeps == []


def test_invalid_grant_names_the_variables_and_no_secret(
    client: LinkedInClient, fake: FakeLinkedIn, sleeps: list[float]
) -> None:
    fake.revoke_credentials()
    with pytest.raises(DestinationError) as caught:
        vip(client)
    error = caught.value
    assert (error.kind, error.code) == (FailureKind.AUTHENTICATION, "invalid_grant")
    for name in fake.environment():
        assert f"${name}" in error.message
    for secret in fake.secrets():
        assert secret not in error.message and secret not in repr(error)
    assert sleeps == []


def test_a_wrong_client_secret_fails_authentication(
    monkeypatch: pytest.MonkeyPatch, make_client: ClientFactory
) -> None:
    monkeypatch.setenv("CONTRACT_LINKEDIN_CLIENT_SECRET", "wrong-secret-value")
    with pytest.raises(DestinationError) as caught:
        vip(make_client())
    assert caught.value.kind is FailureKind.AUTHENTICATION and caught.value.code == "invalid_client"
    assert "wrong-secret-value" not in caught.value.message
