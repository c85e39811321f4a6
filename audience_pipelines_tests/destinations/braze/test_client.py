"""BrazeClient against the strict fake over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest
import requests

from audience_pipelines.destinations.braze import BrazeClient, FakeBraze
from audience_pipelines.destinations.braze.fake import TRACK_PATH
from audience_pipelines.destinations.kit import DestinationError, FailureKind, ListClient, ListRef, ListTarget
from audience_pipelines.destinations.settings import MissingSecretError
from audience_pipelines_tests.destinations.braze.conftest import ClientFactory, batch, member

VIP = ListRef(id="vip", name="vip")


def test_is_a_list_client_with_the_documented_batch_cap(client: BrazeClient) -> None:
    assert isinstance(client, ListClient)
    assert client.max_batch_size == 75


def test_the_list_is_the_target_name_or_id_without_a_request(client: BrazeClient, fake: FakeBraze) -> None:
    assert client.ensure_list(ListTarget(name="vip")) == VIP
    assert client.ensure_list(ListTarget(list_id="by-id", name="other")) == ListRef("by-id", "by-id")
    for bad in (ListTarget(), ListTarget(name="$vip"), ListTarget(name="x" * 256)):
        with pytest.raises(DestinationError) as caught:
            client.ensure_list(bad)
        assert caught.value.kind is FailureKind.PERMANENT
    assert fake.request_count == 0


def test_add_then_remove_leaves_exact_membership_and_keeps_profiles(client: BrazeClient, fake: FakeBraze) -> None:
    config = client.config
    added = client.add_members(
        VIP, batch(*(member(f"k{n}", f"p{n}@x.com", lifetime_value=str(n)) for n in range(1, 5)))
    )
    assert added.accepted == 4 and not added.rejected
    assert fake.held(config, "vip", "s") == {f"p{n}@x.com" for n in range(1, 5)}
    removed = client.remove_members(VIP, batch(member("k1", "p1@x.com", lifetime_value="1"), batch_id="b2"))
    assert removed.accepted == 1
    assert fake.held(config, "vip", "s") == {f"p{n}@x.com" for n in range(2, 5)}
    kept = fake.profile("email", "p1@x.com")
    assert kept == {"email": "p1@x.com", "lifetime_value": "1", "audiences": []}, "removal deletes nothing"
    assert fake.profile_count() == 4


def test_trait_values_are_written_and_rewritten(client: BrazeClient, fake: FakeBraze) -> None:
    client.add_members(VIP, batch(member("k1", "a@x.com", lifetime_value="10", first_name="Ada")))
    client.add_members(VIP, batch(member("k1", "a@x.com", lifetime_value="999", first_name="Ada"), batch_id="b2"))
    profile = fake.profile("email", "a@x.com")
    assert profile is not None and profile["lifetime_value"] == "999" and profile["first_name"] == "Ada"
    assert profile["audiences"] == ["vip"], "re-adding does not duplicate the membership"


def test_external_id_is_primary_and_boolean_membership(make_client: ClientFactory, fake: FakeBraze) -> None:
    client = make_client(membership="boolean")
    client.add_members(VIP, batch(member("k1", "a@x.com", external_id="crm-1", phone="+16505550001")))
    assert fake.profile("external_id", "crm-1") == {
        "external_id": "crm-1",
        "email": "a@x.com",
        "phone": "+16505550001",
        "vip": True,
    }
    client.remove_members(VIP, batch(member("k1", "a@x.com", external_id="crm-1"), batch_id="b2"))
    assert fake.held(client.config, "vip", "s") == set()
    assert fake.profile("phone", "+16505550001") is not None


def test_removal_never_creates_a_profile(client: BrazeClient, fake: FakeBraze) -> None:
    outcome = client.remove_members(VIP, batch(member("k1", "ghost@x.com")))
    assert outcome.accepted == 1 and fake.profile_count() == 0


def test_plan_is_what_is_sent_and_holds_no_secret(client: BrazeClient, fake: FakeBraze) -> None:
    [planned] = client.plan_members("add", VIP, batch(member("k1", "a@x.com", lifetime_value="7")))
    assert (planned.method, planned.path) == ("POST", "/users/track")
    assert planned.body == {
        "attributes": [
            {"email": "a@x.com", "_update_existing_only": False, "lifetime_value": "7", "audiences": {"add": ["vip"]}}
        ]
    }
    [removal] = client.plan_members("remove", VIP, batch(member("k1", "a@x.com", lifetime_value="7")))
    assert removal.body == {
        "attributes": [{"email": "a@x.com", "_update_existing_only": True, "audiences": {"remove": ["vip"]}}]
    }
    assert fake.api_key not in repr(planned) + repr(removal)
    assert fake.request_count == 0


def test_per_object_errors_map_back_to_member_keys(client: BrazeClient, fake: FakeBraze) -> None:
    fake.reject_objects(lambda item: "Invalid attribute for b@x.com" if item.get("email") == "b@x.com" else None)
    members = [member("ka", "a@x.com"), member("kb", "b@x.com"), member("kc", "c@x.com"), member("kn")]
    outcome = client.add_members(VIP, batch(*members))
    assert outcome.accepted == 2
    assert {r.member_key for r in outcome.rejected} == {"kb", "kn"}
    assert outcome.accepted + len(outcome.rejected) == 4
    assert all("b@x.com" not in r.message and "b@x.com" not in r.reason for r in outcome.rejected)
    assert fake.held(client.config, "vip", "s") == {"a@x.com", "c@x.com"}


def test_a_429_storm_waits_for_each_reset_and_loses_nothing(
    client: BrazeClient, fake: FakeBraze, sleeps: list[float]
) -> None:
    waits = [fake.throttle_next() for _ in range(4)]
    outcome = client.add_members(VIP, batch(member("k1", "a@x.com"), member("k2", "b@x.com")))
    assert outcome.accepted == 2
    assert len(sleeps) == 4 and all(
        wait is not None and abs(s - wait) < 1.0 for s, wait in zip(sleeps, waits, strict=True)
    )
    assert fake.held(client.config, "vip", "s") == {"a@x.com", "b@x.com"}
    assert fake.rows_received() == 2


def test_an_auth_failure_names_the_variable_never_the_key(
    client: BrazeClient, fake: FakeBraze, sleeps: list[float]
) -> None:
    secret = fake.api_key
    fake.revoke_credentials()
    with pytest.raises(DestinationError) as caught:
        client.add_members(VIP, batch(member("k1", "a@x.com")))
    assert caught.value.kind is FailureKind.AUTHENTICATION
    assert "$CONTRACT_BRAZE_API_KEY" in str(caught.value) and secret not in repr(caught.value)
    assert sleeps == []


def test_a_missing_key_variable_is_named(make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTRACT_BRAZE_API_KEY")
    with pytest.raises(MissingSecretError, match=r"\$CONTRACT_BRAZE_API_KEY"):
        make_client()


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, {"message": "success"}), (201, "<html>ok</html>"), (202, None), (201, {"message": "queued"})],
)
def test_an_undocumented_2xx_is_a_failure(client: BrazeClient, fake: FakeBraze, status: int, body: object) -> None:
    fake.fail_next(status, body if body is not None else {}, path=TRACK_PATH)
    with pytest.raises(DestinationError) as caught:
        client.add_members(VIP, batch(member("k1", "a@x.com")))
    assert caught.value.kind is FailureKind.PERMANENT


def test_an_error_index_outside_the_batch_is_a_failure(client: BrazeClient, fake: FakeBraze) -> None:
    answer = {"message": "success", "errors": [{"type": "x", "input_array": "attributes", "index": 5}]}
    fake.fail_next(201, answer, path=TRACK_PATH)
    with pytest.raises(DestinationError, match="does not point"):
        client.add_members(VIP, batch(member("k1", "a@x.com")))


def test_batch_limit(make_client: ClientFactory, fake: FakeBraze) -> None:
    client = make_client()
    full = batch(*(member(f"k{n}", f"p{n}@x.com") for n in range(75)))
    assert client.add_members(VIP, full).accepted == 75 and fake.largest_request() == 75
    with pytest.raises(ValueError, match="exceeds"):
        client.plan_members("add", VIP, batch(*(member(f"k{n}", f"p{n}@x.com") for n in range(76))))


def test_the_fake_refuses_more_than_75_objects(fake: FakeBraze, http: requests.Session) -> None:
    body = {"attributes": [{"email": f"p{n}@x.com"} for n in range(76)]}
    answer = http.post(fake.url(TRACK_PATH), json=body, headers={"Authorization": f"Bearer {fake.api_key}"})
    assert answer.status_code == 400 and fake.profile_count() == 0


def test_a_reserved_sync_field_fails_before_sending(client: BrazeClient, fake: FakeBraze) -> None:
    with pytest.raises(DestinationError, match="audiences"):
        client.add_members(VIP, batch(member("k1", "a@x.com", audiences="x")))
    assert fake.request_count == 0
