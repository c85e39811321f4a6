"""HubSpotClient against the strict fake over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest

from audience_pipelines.destinations.hubspot import FakeHubSpot, HubSpotClient
from audience_pipelines.destinations.hubspot.fake import READ, UPSERT
from audience_pipelines.destinations.hubspot.payloads import RECORD_IDS_PLACEHOLDER
from audience_pipelines.destinations.kit import (
    DestinationError,
    FailureKind,
    ListClient,
    ListDeletion,
    ListRef,
    ListTarget,
    ProfileFake,
    Rejection,
)
from audience_pipelines_tests.destinations.hubspot.conftest import ClientFactory, batch, member

LISTS = "/crm/v3/lists"


def vip(client: HubSpotClient) -> ListRef:
    return client.ensure_list(ListTarget(name="VIP customers"))


def memberships(fake: FakeHubSpot) -> int:
    return len([r for r in fake.request_log if "/memberships/" in r.path])


def test_implements_list_client_and_deletion(client: HubSpotClient) -> None:
    assert isinstance(client, ListClient) and isinstance(client, ListDeletion)
    assert client.max_batch_size == 100


# ---------------------------------------------------------------------- lists


def test_creates_a_list_once_then_finds_it_by_name_and_by_id(client: HubSpotClient, fake: FakeHubSpot) -> None:
    created = vip(client)
    assert created == ListRef(id=created.id, name="VIP customers")
    assert vip(client) == created
    assert client.ensure_list(ListTarget(list_id=created.id)) == created
    assert len(fake.requests_to(LISTS, "POST")) == 1 and fake.list_ids() == [created.id]


def test_finds_an_existing_list_and_refuses_dynamic_or_unknown_ones(client: HubSpotClient, fake: FakeHubSpot) -> None:
    existing = fake.add_list("VIP customers")
    assert vip(client).id == existing
    dynamic = fake.add_list("Everyone", processing_type="DYNAMIC")
    for target in (ListTarget(list_id=dynamic), ListTarget(name="Everyone")):
        with pytest.raises(DestinationError) as caught:
            client.ensure_list(target)
        assert caught.value.kind is FailureKind.PERMANENT and "DYNAMIC" in caught.value.message
    with pytest.raises(DestinationError) as caught:
        client.ensure_list(ListTarget(list_id="424242"))
    assert (caught.value.kind, caught.value.status) == (FailureKind.PERMANENT, 404)
    with pytest.raises(DestinationError):
        client.ensure_list(ListTarget(list_id="../contacts"))
    assert fake.requests_to(LISTS, "POST") == []


def test_a_create_race_finds_the_list_the_other_run_made(client: HubSpotClient, fake: FakeHubSpot) -> None:
    original, calls = client._find, []

    def find_too_early(name: str) -> ListRef | None:
        calls.append(name)
        if len(calls) == 1:
            fake.add_list(name)  # another run creates it between our lookup and our create
            return None
        return original(name)

    client._find = find_too_early  # type: ignore[method-assign]
    assert vip(client).id == fake.list_ids()[0] and len(calls) == 2


def test_delete_list_keeps_the_contacts(client: HubSpotClient, fake: FakeHubSpot) -> None:
    target = vip(client)
    client.add_members(target, batch(member("k1", "a@example.com")))
    client.delete_list(target)
    assert fake.list_ids() == [] and fake.profile("a@example.com") is not None


# ---------------------------------------------------------------------- members


def test_add_then_remove_leaves_exact_membership_and_keeps_profiles(client: HubSpotClient, fake: FakeHubSpot) -> None:
    target = vip(client)
    added = client.add_members(
        target,
        batch(
            member("k1", "a@example.com", lifetime_value="10", firstname="Ada"),
            member("k2", "b@example.com", lifetime_value="20"),
            member("k3", "c@example.com", lifetime_value="30"),
        ),
    )
    assert (added.accepted, added.rejected) == (3, [])
    assert fake.members(target.id) == {"a@example.com", "b@example.com", "c@example.com"}
    assert fake.profile("b@example.com")["lifetime_value"] == "20"  # type: ignore[index]
    removed = client.remove_members(target, batch(member("k1", "a@example.com"), member("k3", "c@example.com")))
    assert (removed.accepted, removed.rejected) == (2, [])
    assert fake.members(target.id) == {"b@example.com"}
    kept = fake.profile("a@example.com")
    assert kept is not None and kept["lifetime_value"] == "10" and kept["firstname"] == "Ada"
    assert isinstance(fake, ProfileFake) and fake.profile_value("a@example.com", "lifetime_value") == "10"


def test_a_trait_change_updates_the_profile_in_place(client: HubSpotClient, fake: FakeHubSpot) -> None:
    target = vip(client)
    client.add_members(target, batch(member("k1", "a@example.com", lifetime_value="10")))
    record = fake.profile("a@example.com")["hs_object_id"]  # type: ignore[index]
    client.add_members(target, batch(member("k1", "a@example.com", lifetime_value="999"), batch_id="b2"))
    assert fake.profile("a@example.com") == {"email": "a@example.com", "hs_object_id": record, "lifetime_value": "999"}
    assert fake.members(target.id) == {"a@example.com"}


def test_per_record_errors_map_back_to_member_keys(client: HubSpotClient, fake: FakeHubSpot) -> None:
    target = vip(client)
    fake.refuse_email("bad@example.com", "Email bad@example.com is invalid for Ada")
    outcome = client.add_members(
        target,
        batch(
            member("ok", "a@example.com"),
            member("bad", "bad@example.com", firstname="Ada"),
            member("none", None, phone="+16505550001"),
        ),
    )
    assert outcome.accepted == 1 and outcome.accepted + len(outcome.rejected) == 3
    by_key = {r.member_key: r for r in outcome.rejected}
    assert by_key["none"].reason == "no_email"
    assert by_key["bad"].reason == "VALIDATION_ERROR"
    assert "bad@example.com" not in by_key["bad"].message and "Ada" not in by_key["bad"].message
    assert fake.members(target.id) == {"a@example.com"}


def test_members_sharing_an_email_go_as_one_input(client: HubSpotClient, fake: FakeHubSpot) -> None:
    target = vip(client)
    outcome = client.add_members(target, batch(member("k1", "a@example.com"), member("k2", "a@example.com")))
    assert (outcome.accepted, outcome.rejected) == (2, [])
    assert fake.largest_request() == 1


def test_removing_contacts_that_do_not_exist_or_left_holds(client: HubSpotClient, fake: FakeHubSpot) -> None:
    target = vip(client)
    client.add_members(target, batch(member("k1", "a@example.com")))
    fake.delete_contact("a@example.com")
    outcome = client.remove_members(target, batch(member("k1", "a@example.com"), member("k2", "never@example.com")))
    assert (outcome.accepted, outcome.rejected) == (2, [])
    assert memberships(fake) == 1, "nothing to remove: no membership request"


def test_a_record_missing_at_add_time_is_rejected(client: HubSpotClient, fake: FakeHubSpot) -> None:
    target = vip(client)
    answer = {"recordIdsMissing": ["51"], "recordsIdsAdded": []}
    fake.fail_next(200, answer, path=f"{LISTS}/{target.id}/memberships/add")
    outcome = client.add_members(target, batch(member("k1", "a@example.com")))
    assert outcome.accepted == 0 and outcome.rejected == [
        Rejection("k1", "record_missing", "HubSpot reports the contact record missing (deleted or merged)")
    ]


def test_plan_members_is_what_add_and_remove_send_without_secrets(client: HubSpotClient, fake: FakeHubSpot) -> None:
    target = vip(client)
    plan = client.plan_members("add", target, batch(member("k1", "a@example.com", lifetime_value="10")))
    assert [(p.operation, p.method, p.path) for p in plan] == [
        ("add", "POST", UPSERT),
        ("add", "PUT", f"{LISTS}/{target.id}/memberships/add"),
    ]
    assert plan[0].body == {
        "inputs": [
            {
                "idProperty": "email",
                "id": "a@example.com",
                "properties": {"lifetime_value": "10", "email": "a@example.com"},
            }
        ]
    }
    assert plan[1].body == [RECORD_IDS_PLACEHOLDER]
    removal = client.plan_members("remove", target, batch(member("k1", "a@example.com")))
    assert [(p.method, p.path) for p in removal] == [("POST", READ), ("PUT", f"{LISTS}/{target.id}/memberships/remove")]
    assert fake.rows_received() == 0, "planning sends nothing"
    assert fake.issued not in repr(plan + removal)


# ---------------------------------------------------------------------- failures


def test_a_429_storm_completes_without_loss(client: HubSpotClient, fake: FakeHubSpot, sleeps: list[float]) -> None:
    target = vip(client)
    fake.throttle(4)
    outcome = client.add_members(target, batch(*(member(f"k{i}", f"p{i}@example.com") for i in range(5))))
    assert (outcome.accepted, outcome.rejected) == (5, [])
    assert sleeps[:4] == [1.0, 2.0, 4.0, 8.0], "exponential backoff: HubSpot sends no Retry-After"
    assert len(fake.members(target.id)) == 5


def test_a_retry_after_is_honoured(client: HubSpotClient, fake: FakeHubSpot, sleeps: list[float]) -> None:
    target = vip(client)
    fake.fail_next(429, {"status": "error", "policyName": "TEN_SECONDLY_ROLLING"}, {"Retry-After": "7"})
    client.add_members(target, batch(member("k1", "a@example.com")))
    assert 7.0 in sleeps


def test_the_daily_quota_ends_the_run_as_throttled(client: HubSpotClient, fake: FakeHubSpot) -> None:
    target = vip(client)
    fake.fail_next(429, {"status": "error", "message": "daily limit", "policyName": "DAILY"})
    with pytest.raises(DestinationError) as caught:
        client.add_members(target, batch(member("k1", "a@example.com")))
    assert caught.value.kind is FailureKind.THROTTLED and "max_wait" in caught.value.message


def test_authentication_failure_names_the_variable_never_the_secret(
    client: HubSpotClient, fake: FakeHubSpot, sleeps: list[float]
) -> None:
    fake.revoke_credentials()
    with pytest.raises(DestinationError) as caught:
        vip(client)
    assert caught.value.kind is FailureKind.AUTHENTICATION
    assert "$CONTRACT_HUBSPOT_ACCESS_TOKEN" in str(caught.value) and fake.issued not in repr(caught.value)
    assert sleeps == []


def test_a_missing_scope_is_an_authentication_failure(client: HubSpotClient, fake: FakeHubSpot) -> None:
    fake.fail_next(403, {"status": "error", "message": "missing scopes", "category": "MISSING_SCOPES"})
    with pytest.raises(DestinationError) as caught:
        vip(client)
    assert caught.value.kind is FailureKind.AUTHENTICATION and "crm.lists.write" in caught.value.message


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        (UPSERT, {"ok": True}),
        (UPSERT, {"status": "COMPLETE", "results": []}),
        (UPSERT, {"status": "COMPLETE", "results": [{"id": "9", "properties": {"email": "other@example.com"}}]}),
        (f"{LISTS}/1001/memberships/add", {"added": ["51"]}),
        (f"{LISTS}/1001/memberships/add", {"recordsIdsAdded": ["777"], "recordIdsMissing": []}),
        (f"{LISTS}/1001/memberships/add", "<html>ok</html>"),
    ],
)
def test_a_2xx_that_is_not_the_documented_answer_fails(
    client: HubSpotClient, fake: FakeHubSpot, path: str, answer: object
) -> None:
    target = vip(client)
    assert target.id == "1001"
    fake.fail_next(200, answer, path=path)
    with pytest.raises(DestinationError) as caught:
        client.add_members(target, batch(member("k1", "a@example.com")))
    assert caught.value.kind is FailureKind.PERMANENT


def test_server_errors_are_retried(client: HubSpotClient, fake: FakeHubSpot, sleeps: list[float]) -> None:
    target = vip(client)
    fake.fail_next(503, times=2)
    assert client.add_members(target, batch(member("k1", "a@example.com"))).accepted == 1
    assert len(sleeps) == 2


def test_batch_limit(make_client: ClientFactory, fake: FakeHubSpot) -> None:
    small = make_client(batch_size=2)
    target = vip(small)
    with pytest.raises(ValueError, match="exceeds"):
        small.plan_members("add", target, batch(*(member(f"k{i}", f"p{i}@example.com") for i in range(3))))
    client = make_client()
    outcome = client.add_members(target, batch(*(member(f"k{i}", f"p{i}@example.com") for i in range(100))))
    assert outcome.accepted == 100 and fake.largest_request() == 100


def test_a_malformed_or_read_only_property_is_refused_before_sending(client: HubSpotClient, fake: FakeHubSpot) -> None:
    target = vip(client)
    fake.clear_log()
    for name in ("Lifetime Value", "hs_object_id"):
        with pytest.raises(DestinationError) as caught:
            client.add_members(target, batch(member("k1", "a@example.com", **{name: "1"})))
        assert caught.value.kind is FailureKind.PERMANENT and name in caught.value.message
    assert fake.request_log == []


def test_the_client_paces_itself_to_the_documented_limit(make_client: ClientFactory, sleeps: list[float]) -> None:
    client = make_client(requests_per_10_seconds=20)
    for _ in range(4):
        vip(client)
    assert sleeps and all(wait > 0 for wait in sleeps), "past the burst of 2 the client waits its turn"
