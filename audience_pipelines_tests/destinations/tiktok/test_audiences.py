"""TikTok custom audiences (list sync) against the strict fake, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from audience_pipelines.destinations.kit import (
    Batch,
    DestinationError,
    EventClient,
    FailureKind,
    ListClient,
    ListDeletion,
    ListRef,
    ListTarget,
    OutboundMember,
)
from audience_pipelines.destinations.tiktok.audiences import TikTokAudiencesClient
from audience_pipelines.destinations.tiktok.fake import ADVERTISER_ID, FakeTikTok
from audience_pipelines.destinations.tiktok.settings import TikTokAudiencesConfig
from audience_pipelines_tests.destinations.tiktok.conftest import sha256

Make = Callable[..., TikTokAudiencesClient]
MAPPING = "/open_api/v1.3/segment/mapping/"
CREATE = "/open_api/v1.3/segment/audience/"


def email(n: int) -> str:
    return sha256(f"person.{n}@example.com")


def phone(n: int) -> str:
    return sha256(f"+1650555{n:04d}")


def member(n: int, **fields: str) -> OutboundMember:
    return OutboundMember(f"m{n}", fields or {"EMAIL_SHA256": email(n), "PHONE_SHA256": phone(n)})


def test_is_a_list_client_with_deletion(make_audiences: Make) -> None:
    client = make_audiences()
    assert isinstance(client, ListClient) and isinstance(client, ListDeletion)
    assert not isinstance(client, EventClient)
    assert client.max_batch_size == 1000
    assert make_audiences(batch_size=10_000).max_batch_size == 10_000


def test_batch_size_has_a_hard_maximum(audiences_config: Callable[..., TikTokAudiencesConfig]) -> None:
    with pytest.raises(ValidationError, match="batch_size"):
        audiences_config(batch_size=10_001)


def test_creates_then_finds_by_name_and_reads_by_id(fake: FakeTikTok, make_audiences: Make) -> None:
    created = make_audiences().ensure_list(ListTarget(name="vip"))
    assert fake.audiences() == {created.id: "vip"}
    assert make_audiences().ensure_list(ListTarget(name="vip")) == created
    assert make_audiences().ensure_list(ListTarget(list_id=created.id)) == ListRef(created.id, "vip")


def test_crash_between_create_and_first_batch_creates_once(fake: FakeTikTok, make_audiences: Make) -> None:
    first = make_audiences().ensure_list(ListTarget(name="contract-list"))
    # the process dies here, before any batch; the next run builds a fresh client and asks again
    second = make_audiences().ensure_list(ListTarget(name="contract-list"))
    assert first == second
    assert list(fake.audiences().values()) == ["contract-list"]
    assert len(fake.requests_to(CREATE, "POST")) == 1


def test_finds_by_name_on_a_later_page(fake: FakeTikTok, make_audiences: Make) -> None:
    for n in range(150):
        fake.create_audience(f"other-{n}")
    wanted = fake.create_audience("vip")
    assert make_audiences().ensure_list(ListTarget(name="vip")).id == wanted
    assert len(fake.audiences()) == 151, "found, not created"


def test_duplicate_names_pick_the_oldest_and_say_so(fake: FakeTikTok, make_audiences: Make, logs: list[str]) -> None:
    oldest = fake.create_audience("vip")
    fake.create_audience("vip")
    assert make_audiences().ensure_list(ListTarget(name="vip")).id == oldest
    assert any("2 custom audiences are named 'vip'" in line for line in logs)


def test_unknown_or_malformed_id_is_permanent(make_audiences: Make) -> None:
    client = make_audiences()
    for list_id in ("999", "not-a-number"):
        with pytest.raises(DestinationError) as caught:
            client.ensure_list(ListTarget(list_id=list_id))
        assert caught.value.kind is FailureKind.PERMANENT


def test_positional_id_schema_with_empty_cells(make_audiences: Make) -> None:
    client = make_audiences()
    target = ListRef("1800000001", "vip")
    members = [member(1), member(2, EMAIL_SHA256=email(2)), member(3, PHONE_SHA256=phone(3))]
    (planned,) = client.plan_members("add", target, Batch("b", members=members))
    assert (planned.method, planned.path) == ("POST", MAPPING)
    cell = lambda value: {"id": value, "audience_ids": [target.id]}  # noqa: E731
    assert planned.body == {
        "advertiser_ids": [ADVERTISER_ID],
        "action": "add",
        "id_schema": ["EMAIL_SHA256", "PHONE_SHA256"],
        "batch_data": [[cell(email(1)), cell(phone(1))], [cell(email(2)), {}], [{}, cell(phone(3))]],
    }
    (removal,) = client.plan_members("remove", target, Batch("b", members=members))
    assert removal.body["action"] == "delete"


def test_an_advertising_id_joins_the_schema_under_multiple(make_audiences: Make) -> None:
    maid = sha256("6d92078a-8246-4ba4-ae5b-76104861e7dc")
    members = [member(1), member(2, EMAIL_SHA256=email(2), IDFA_SHA256=maid)]
    (planned,) = make_audiences().plan_members("add", ListRef("1", "vip"), Batch("b", members=members))
    assert planned.body["id_schema"] == ["EMAIL_SHA256", "PHONE_SHA256", "IDFA_SHA256"]
    assert planned.body["batch_data"][0][2] == {} and planned.body["batch_data"][1][1] == {}


def test_single_sends_the_one_identifier_and_refuses_two(fake: FakeTikTok, make_audiences: Make) -> None:
    client = make_audiences(calculate_type="single")
    target = client.ensure_list(ListTarget(name="vip"))
    only_email = Batch("b", members=[member(1, EMAIL_SHA256=email(1)), member(2, EMAIL_SHA256=email(2))])
    (planned,) = client.plan_members("add", target, only_email)
    assert planned.body["id_schema"] == ["EMAIL_SHA256"]
    assert client.add_members(target, only_email).accepted == 2
    with pytest.raises(DestinationError, match="calculate_type 'single'") as caught:
        client.add_members(target, Batch("b2", members=[member(3)]))
    assert caught.value.kind is FailureKind.PERMANENT


def test_add_then_delete_leaves_exactly_the_intended_members(fake: FakeTikTok, make_audiences: Make) -> None:
    client = make_audiences()
    target = client.ensure_list(ListTarget(name="vip"))
    assert client.add_members(target, Batch("a", members=[member(n) for n in range(1, 6)])).accepted == 5
    assert client.add_members(target, Batch("a", members=[member(1), member(2)])).accepted == 2, "re-send"
    assert fake.held(client.config, target.id, "s") == {email(n) for n in range(1, 6)}
    outcome = client.remove_members(target, Batch("r", members=[member(2), member(4)]))
    assert (outcome.accepted, list(outcome.rejected)) == (2, [])
    assert fake.held(client.config, target.id, "s") == {email(n) for n in (1, 3, 5)}
    assert {"EMAIL_SHA256": email(1), "PHONE_SHA256": phone(1)} in fake.members(target.id)
    assert len(fake.members(target.id)) == 3, "a re-sent add does not duplicate a member"
    assert fake.rows_received() == 9 and fake.largest_request() == 5


def test_a_member_without_any_schema_identifier_is_rejected_locally(fake: FakeTikTok, make_audiences: Make) -> None:
    client = make_audiences()
    target = client.ensure_list(ListTarget(name="vip"))
    outcome = client.add_members(target, Batch("a", members=[member(1), OutboundMember("m9", {})]))
    assert outcome.accepted == 1 and outcome.rejected_keys == {"m9"}
    nobody = client.add_members(target, Batch("b", members=[OutboundMember("m8", {})]))
    assert nobody.accepted == 0 and len(fake.requests_to(MAPPING)) == 1, "an all-empty batch is not sent"


def test_a_batch_over_the_limit_is_refused_before_sending(fake: FakeTikTok, make_audiences: Make) -> None:
    client = make_audiences(batch_size=3)
    with pytest.raises(ValueError, match="exceeds"):
        client.plan_members("add", ListRef("1", "vip"), Batch("b", members=[member(n) for n in range(4)]))
    assert fake.requests_to(MAPPING) == []


def test_mapping_into_a_missing_audience_is_permanent(fake: FakeTikTok, make_audiences: Make) -> None:
    with pytest.raises(DestinationError) as caught:
        make_audiences().add_members(ListRef("1899999999", "gone"), Batch("a", members=[member(1)]))
    assert (caught.value.kind, caught.value.code) == (FailureKind.PERMANENT, "40002")


def test_delete_list(fake: FakeTikTok, make_audiences: Make, logs: list[str]) -> None:
    client = make_audiences()
    target = client.ensure_list(ListTarget(name="vip"))
    client.add_members(target, Batch("a", members=[member(1)]))
    client.delete_list(target)
    assert fake.audiences() == {}
    assert any("deleted custom audience 'vip'" in line for line in logs)
    with pytest.raises(DestinationError) as caught:
        client.delete_list(target)
    assert caught.value.code == "40002"
