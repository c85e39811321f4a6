"""MailchimpClient against the strict fake over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest

from audience_pipelines.destinations.kit import (
    DestinationError,
    FailureKind,
    ListClient,
    ListRef,
    ListTarget,
    ProfileFake,
)
from audience_pipelines.destinations.mailchimp import FakeMailchimp, MailchimpClient
from audience_pipelines.destinations.mailchimp.payloads import subscriber_hash
from audience_pipelines.destinations.settings import InvalidSecretError
from audience_pipelines_tests.destinations.mailchimp.conftest import ClientFactory, batch, member

LIST = "/3.0/lists/a1b2c3d4e5"


def vip(client: MailchimpClient) -> ListRef:
    return client.ensure_list(ListTarget(name="VIP customers"))


def test_implements_list_client(client: MailchimpClient) -> None:
    assert isinstance(client, ListClient)
    assert client.max_batch_size == 500


def test_subscriber_hash_is_md5_of_the_lowercased_email() -> None:
    assert subscriber_hash("Urist.McVankab@freddiesjokes.com") == "62eeb292278cc15f5817cb78f7790b08"


# ---------------------------------------------------------------------- tags


def test_creates_a_tag_once_then_finds_it_by_name_and_by_id(client: MailchimpClient, fake: FakeMailchimp) -> None:
    created = vip(client)
    assert created.name == "VIP customers" and created.id.isdigit()
    assert vip(client) == created
    assert len(fake.requests_to(f"{LIST}/segments", "POST")) == 1
    assert client.ensure_list(ListTarget(list_id=created.id)) == created
    assert fake.segment_ids() == [created.id]


def test_finds_a_tag_beyond_the_first_page(client: MailchimpClient, fake: FakeMailchimp) -> None:
    for number in range(1_000):
        fake.add_segment(f"other {number}")
    wanted = fake.add_segment("VIP customers")
    assert vip(client).id == wanted
    assert len(fake.requests_to(f"{LIST}/segments", "GET")) == 2 and not fake.requests_to(f"{LIST}/segments", "POST")


def test_a_saved_segment_or_an_unknown_id_is_refused(client: MailchimpClient, fake: FakeMailchimp) -> None:
    saved = fake.add_segment("saved", segment_type="saved")
    with pytest.raises(DestinationError) as caught:
        client.ensure_list(ListTarget(list_id=saved))
    assert caught.value.kind is FailureKind.PERMANENT and "static" in caught.value.message
    with pytest.raises(DestinationError) as caught:
        client.ensure_list(ListTarget(list_id="424242"))
    assert (caught.value.kind, caught.value.status) == (FailureKind.PERMANENT, 404)
    assert "settings.list_id" in caught.value.message


def test_an_unknown_audience_names_the_setting(make_client: ClientFactory) -> None:
    with pytest.raises(DestinationError) as caught:
        vip(make_client(list_id="nosuchlist"))
    assert caught.value.status == 404 and "settings.list_id" in caught.value.message


# ---------------------------------------------------------------------- members


def test_add_then_remove_keeps_exact_membership_and_the_profile(client: MailchimpClient, fake: FakeMailchimp) -> None:
    target = vip(client)
    config = client.config
    people = [member(f"k{n}", f"person.{n}@example.com", LTV=str(10 * n)) for n in range(1, 5)]
    outcome = client.add_members(target, batch(*people))
    assert (outcome.accepted, outcome.rejected) == (4, [])
    assert fake.held(config, target.id, "vip") == {f"person.{n}@example.com" for n in range(1, 5)}
    assert fake.profile("person.3@example.com") == {
        "status": "subscribed",
        "merge_fields": {"LTV": "30"},
        "tags": ["VIP customers"],
    }
    outcome = client.remove_members(target, batch(*people[:2], batch_id="b2"))
    assert (outcome.accepted, outcome.rejected) == (2, [])
    assert fake.held(config, target.id, "vip") == {"person.3@example.com", "person.4@example.com"}
    kept = fake.profile("person.1@example.com")
    assert kept == {"status": "subscribed", "merge_fields": {"LTV": "10"}, "tags": []}, "untagged, never deleted"
    assert fake.requests_to(LIST, "DELETE") == []


def test_a_trait_change_overwrites_the_merge_field(client: MailchimpClient, fake: FakeMailchimp) -> None:
    target = vip(client)
    client.add_members(target, batch(member("k1", "a@example.com", LTV="10", FNAME="Ada")))
    client.add_members(target, batch(member("k1", "a@example.com", LTV="999"), batch_id="b2"))
    assert fake.profile("a@example.com")["merge_fields"] == {"LTV": "999", "FNAME": "Ada"}
    assert isinstance(fake, ProfileFake) and fake.profile_value("a@example.com", "LTV") == "999"


def test_unsubscribe_removal_untags_and_unsubscribes_but_keeps_the_profile(
    make_client: ClientFactory, fake: FakeMailchimp
) -> None:
    client = make_client(removal="unsubscribe")
    target = vip(client)
    client.add_members(target, batch(member("k1", "a@example.com", LTV="5")))
    assert client.remove_members(target, batch(member("k1", "a@example.com"))).accepted == 1
    assert fake.profile("a@example.com") == {"status": "unsubscribed", "merge_fields": {"LTV": "5"}, "tags": []}


def test_per_member_errors_map_back_to_member_keys(client: MailchimpClient, fake: FakeMailchimp) -> None:
    target = vip(client)
    fake.add_member("gone@example.com", status="unsubscribed")
    sent = batch(
        member("ok", "ok@example.com"),
        member("twin-1", "twin@example.com"),
        member("twin-2", "twin@example.com"),
        member("fake", "not-an-address@nowhere"),
        member("left", "gone@example.com"),
        member("empty", None),
    )
    outcome = client.add_members(target, sent)
    reasons = {r.member_key: r.reason for r in outcome.rejected}
    assert reasons == {"fake": "error_generic", "left": "error_generic", "empty": "no_email"}
    assert outcome.accepted + len(outcome.rejected) == sent.size
    assert all("@" not in r.message for r in outcome.rejected), "addresses are scrubbed from messages"
    assert fake.held(client.config, target.id, "vip") == {"ok@example.com", "twin@example.com"}
    segment_bodies = client.plan_members("add", target, sent)[1].body["members_to_add"]
    assert segment_bodies.count("twin@example.com") == 1, "an email shared by two keys is sent once"


def test_a_throttle_storm_completes_without_loss(client: MailchimpClient, fake: FakeMailchimp, sleeps: list) -> None:
    target = vip(client)
    for _ in range(3):
        fake.throttle_next()
    fake.throttle_next_with_bare_403()
    people = [member(f"k{n}", f"p{n}@example.com") for n in range(1, 7)]
    outcome = client.add_members(target, batch(*people))
    assert (outcome.accepted, outcome.rejected) == (6, [])
    assert sleeps[-4:] == [1.0, 2.0, 4.0, 8.0], "exponential backoff: Mailchimp sends no Retry-After"
    assert fake.held(client.config, target.id, "vip") == {f"p{n}@example.com" for n in range(1, 7)}


def test_client_side_pacing_waits_between_requests(make_client: ClientFactory, sleeps: list) -> None:
    client = make_client(requests_per_second=1)
    for _ in range(3):
        vip(client)
    assert sleeps and all(wait > 0 for wait in sleeps), "the rate limiter paced the requests"


def test_an_authentication_failure_names_the_variable_never_the_key(
    client: MailchimpClient, fake: FakeMailchimp, sleeps: list
) -> None:
    key = fake.api_key
    fake.revoke_credentials()
    with pytest.raises(DestinationError) as caught:
        vip(client)
    assert caught.value.kind is FailureKind.AUTHENTICATION and "$CONTRACT_MAILCHIMP_API_KEY" in str(caught.value)
    assert key not in str(caught.value) and key not in repr(caught.value) and sleeps == []


def test_a_key_without_data_center_is_refused_by_name(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTRACT_MAILCHIMP_API_KEY", "0123456789abcdef0123456789abcdef")
    with pytest.raises(InvalidSecretError) as caught:
        make_client()
    assert "$CONTRACT_MAILCHIMP_API_KEY" in str(caught.value) and "0123456789abcdef" not in str(caught.value)


@pytest.mark.parametrize("body", [{"ok": True}, "<html>maintenance</html>", {"new_members": [], "errors": "x"}])
def test_an_undocumented_2xx_is_a_failure(client: MailchimpClient, fake: FakeMailchimp, body: object) -> None:
    target = vip(client)
    fake.fail_next(200, body=body, path=LIST, method="POST")
    with pytest.raises(DestinationError) as caught:
        client.add_members(target, batch(member("k1", "a@example.com")))
    assert caught.value.kind is FailureKind.PERMANENT


def test_batches_are_bounded(make_client: ClientFactory, fake: FakeMailchimp) -> None:
    client = make_client(batch_size=2)
    target = vip(client)
    with pytest.raises(ValueError, match="exceeds"):
        client.add_members(target, batch(*(member(f"k{n}", f"p{n}@example.com") for n in range(3))))
    assert fake.rows_received() == 0
    big = make_client()
    outcome = big.add_members(target, batch(*(member(f"k{n}", f"p{n}@example.com") for n in range(500))))
    assert outcome.accepted == 500 and fake.largest_request() == 500


def test_plan_is_what_add_and_remove_send_without_secrets(make_client: ClientFactory, fake: FakeMailchimp) -> None:
    client = make_client(removal="unsubscribe", status_if_new="pending")
    target = ListRef("31337", "VIP customers")
    sent = batch(member("k1", "a@example.com", LTV="10"))
    add = client.plan_members("add", target, sent)
    assert [(p.method, p.path, p.body) for p in add] == [
        (
            "POST",
            "/lists/a1b2c3d4e5",
            {
                "members": [{"email_address": "a@example.com", "status": "pending", "merge_fields": {"LTV": "10"}}],
                "update_existing": True,
            },
        ),
        ("POST", "/lists/a1b2c3d4e5/segments/31337", {"members_to_add": ["a@example.com"]}),
    ]
    remove = client.plan_members("remove", target, sent)
    assert [p.body for p in remove] == [
        {"members_to_remove": ["a@example.com"]},
        {"members": [{"email_address": "a@example.com", "status": "unsubscribed"}], "update_existing": True},
    ]
    text = repr(add + remove)
    assert not any(secret in text for secret in fake.secrets())


def test_an_invalid_merge_tag_in_fields_is_refused_naming_it(client: MailchimpClient) -> None:
    with pytest.raises(DestinationError) as caught:
        client.plan_members("add", ListRef("1", "t"), batch(member("k1", "a@example.com", EMAIL="x")))
    assert "'EMAIL'" in caught.value.message
    with pytest.raises(DestinationError) as caught:
        client.plan_members("add", ListRef("1", "t"), batch(member("k1", "a@example.com", lifetime_value="1")))
    assert "'lifetime_value'" in caught.value.message
