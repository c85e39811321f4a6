"""KlaviyoClient against the strict fake over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from audience_pipelines.destinations.kit import (
    Batch,
    DestinationError,
    FailureKind,
    ListClient,
    ListRef,
    ListTarget,
    OutboundMember,
    UploadJobs,
)
from audience_pipelines.destinations.klaviyo import FakeKlaviyo, KlaviyoClient, KlaviyoConfig, check_fields, check_sync
from audience_pipelines_tests.destinations.support import serving

KEY_ENV = "CONTRACT_KLAVIYO_API_KEY"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKlaviyo]:
    with serving(FakeKlaviyo.for_tests(), monkeypatch) as server:
        yield server


def make(fake: FakeKlaviyo, sleeps: list[float], **settings: object) -> KlaviyoClient:
    body = fake.destination("klaviyo")
    config = KlaviyoConfig.model_validate(
        {
            "name": "crm",
            "type": "klaviyo",
            **body,
            "settings": {**body["settings"], **settings},
            "retry": {"max_attempts": 6, "base_delay_seconds": 0.01},
        }
    )
    return KlaviyoClient(config, sleep=sleeps.append)


@pytest.fixture
def client(fake: FakeKlaviyo, sleeps: list[float]) -> KlaviyoClient:
    return make(fake, sleeps)


def member(n: int, **extra: str) -> OutboundMember:
    return OutboundMember(f"m{n}", {"email": f"person.{n}@example.com", **extra})


def batch(*members: OutboundMember) -> Batch:
    return Batch(batch_id="b1", members=members, sync="vip", audience="vip")


def emails(*ns: int) -> set[str]:
    return {f"person.{n}@example.com" for n in ns}


def vip(client: KlaviyoClient) -> ListRef:
    return client.ensure_list(ListTarget(name="VIP"))


def test_implements_list_client_and_upload_jobs(client: KlaviyoClient) -> None:
    assert isinstance(client, ListClient) and isinstance(client, UploadJobs)
    assert client.max_batch_size == 10_000


def test_creates_once_then_finds_by_name_and_by_id(client: KlaviyoClient, fake: FakeKlaviyo) -> None:
    created = vip(client)
    assert vip(client) == created and fake.lists_created == 1
    assert client.ensure_list(ListTarget(list_id=created.id)) == created
    existing = fake.add_list("Existing")
    assert client.ensure_list(ListTarget(name="Existing")).id == existing
    with pytest.raises(DestinationError) as caught:
        client.ensure_list(ListTarget(list_id="nope"))
    assert caught.value.kind is FailureKind.PERMANENT


def test_add_then_remove_keeps_the_profile_and_its_properties(client: KlaviyoClient, fake: FakeKlaviyo) -> None:
    target = vip(client)
    outcome = client.add_members(target, batch(*(member(n, lifetime_value=str(10 * n)) for n in range(1, 5))))
    assert (outcome.accepted, list(outcome.rejected)) == (4, [])
    assert fake.held(client.config, target.id, "vip") == emails(1, 2, 3, 4)
    assert fake.profile("person.2@example.com")["properties"] == {"lifetime_value": "20"}
    removed = client.remove_members(target, batch(member(1), member(3), member(99)))
    assert removed.accepted == 3 and not removed.rejected
    assert fake.held(client.config, target.id, "vip") == emails(2, 4)
    assert fake.profile("person.1@example.com")["properties"] == {"lifetime_value": "10"}


def test_a_trait_change_rewrites_the_property(client: KlaviyoClient, fake: FakeKlaviyo) -> None:
    target = vip(client)
    client.add_members(target, batch(member(1, lifetime_value="10")))
    client.add_members(target, batch(member(1, lifetime_value="75")))
    assert fake.profile("person.1@example.com")["properties"] == {"lifetime_value": "75"}


def test_per_profile_errors_map_to_member_keys(client: KlaviyoClient, fake: FakeKlaviyo, sleeps: list[float]) -> None:
    target = vip(client)
    fake.job_polls = 2  # the job is "processing" for two status reads
    fake.reject_profiles(lambda attrs: "Blocked address person.2@example.com" if "2@" in attrs["email"] else None)
    bad_phone = OutboundMember("m9", {"email": "person.9@example.com", "phone_number": "650555"})
    outcome = client.add_members(target, batch(member(1), member(2), bad_phone))
    assert outcome.accepted == 1 and {r.member_key for r in outcome.rejected} == {"m2", "m9"}
    assert all("person.2@example.com" not in r.message for r in outcome.rejected)
    assert fake.held(client.config, target.id, "vip") == emails(1)
    assert sleeps == [0.05, 0.05], "polled the job twice after the first read"


def test_a_throttle_storm_completes_without_loss(client: KlaviyoClient, fake: FakeKlaviyo, sleeps: list[float]) -> None:
    target = vip(client)
    for _ in range(4):
        fake.throttle_next("3")
    outcome = client.add_members(target, batch(*(member(n) for n in range(1, 6))))
    assert outcome.accepted == 5 and sleeps.count(3.0) == 4
    assert fake.held(client.config, target.id, "vip") == emails(1, 2, 3, 4, 5)
    fake.throttle_next(None)
    client.remove_members(target, batch(member(1)))
    assert fake.held(client.config, target.id, "vip") == emails(2, 3, 4, 5)


def test_authentication_failure_names_the_variable_not_the_key(client: KlaviyoClient, fake: FakeKlaviyo) -> None:
    key = fake.api_key
    fake.revoke_credentials()
    with pytest.raises(DestinationError) as caught:
        vip(client)
    assert caught.value.kind is FailureKind.AUTHENTICATION
    assert f"${KEY_ENV}" in str(caught.value) and key not in str(caught.value)


def test_a_missing_key_names_the_variable(fake: FakeKlaviyo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(Exception, match=rf"\${KEY_ENV}"):
        make(fake, [])


def test_an_undocumented_2xx_is_a_failure(client: KlaviyoClient, fake: FakeKlaviyo) -> None:
    target = vip(client)
    client.add_members(target, batch(member(1)))
    fake.fail_next(200, {"data": {"type": "profile-bulk-import-job", "id": "x"}}, method="POST")
    with pytest.raises(DestinationError, match="not the documented 202"):
        client.add_members(target, batch(member(1)))
    fake.fail_next(200, {"ok": True}, method="DELETE")
    with pytest.raises(DestinationError) as caught:
        client.remove_members(target, batch(member(1)))
    assert caught.value.kind is FailureKind.PERMANENT
    assert fake.held(client.config, target.id, "vip") == emails(1)


def test_batch_limits_split_removals_and_bound_adds(fake: FakeKlaviyo, sleeps: list[float]) -> None:
    client = make(fake, sleeps, batch_size=250)
    target = vip(client)
    client.add_members(target, batch(*(member(n) for n in range(250))))
    assert fake.largest_request() == 250
    plan = client.plan_members("remove", target, batch(*(member(n) for n in range(250))))
    assert [r.method for r in plan] == ["GET"] * 3 and all("filter=any%28email" in r.path for r in plan)
    client.remove_members(target, batch(*(member(n) for n in range(250))))
    assert fake.held(client.config, target.id, "vip") == set()
    with pytest.raises(ValueError):
        make(fake, sleeps, batch_size=10_001)


def test_plan_is_what_add_sends_without_secrets(client: KlaviyoClient, fake: FakeKlaviyo) -> None:
    target = vip(client)
    [planned] = client.plan_members("add", target, batch(member(1, lifetime_value="10")))
    data = planned.body["data"]
    assert (planned.method, planned.path, data["type"]) == (
        "POST",
        "/api/profile-bulk-import-jobs",
        "profile-bulk-import-job",
    )
    assert data["attributes"]["profiles"]["data"][0]["attributes"] == {
        "email": "person.1@example.com",
        "properties": {"lifetime_value": "10"},
    }
    assert data["relationships"]["lists"]["data"] == [{"type": "list", "id": target.id}]
    assert fake.api_key not in repr(planned) and fake.rows_received() == 0


def test_a_reserved_property_is_refused_before_sending(client: KlaviyoClient, fake: FakeKlaviyo) -> None:
    target = vip(client)
    with pytest.raises(DestinationError, match=r"\$consent"):
        client.add_members(target, batch(member(1, **{"$consent": "x"})))
    assert fake.rows_received() == 0


def test_validation_messages_name_the_field() -> None:
    assert check_sync({"email": "email", "phone": "phone_number"}, None, {}) == []  # type: ignore[arg-type]
    assert "identifiers.phone" in check_sync({"phone": "phone"}, None, {})[0]  # type: ignore[arg-type]
    assert any("identifiers.fbp" in p for p in check_sync({"email": "email", "fbp": "fbp"}, None, {}))  # type: ignore[arg-type]
    assert "at least one" in check_sync({"first_name": "first_name"}, None, {})[0]  # type: ignore[arg-type]
    assert "fields.ltv" in check_sync({"email": "email"}, None, {"ltv": "$value"})[0]  # type: ignore[arg-type]
    assert check_fields({"lifetime_value": "ltv", "nick": "first_name"}) == []
    assert "fields.ltv" in check_fields({"ltv": "$value"})[0]
    assert "fields.mail" in check_fields({"mail": "email"})[0]
    assert "fields.x" in check_fields({"x": ""})[0]
