"""SalesforceClient against the strict fake over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest

from audience_pipelines.destinations.kit import (
    DestinationError,
    FailureKind,
    ListClient,
    ListRef,
    ListTarget,
    OutboundMember,
)
from audience_pipelines.destinations.salesforce import FakeSalesforce, SalesforceClient
from audience_pipelines_tests.destinations.salesforce.conftest import ClientFactory, batch, member, people, vip

COLLECTIONS = "/services/data/v62.0/composite/sobjects"


def emails(fake: FakeSalesforce, target: ListRef, person: str = "Contact") -> set[str]:
    held = fake.campaign_members(target.id)
    contacts = fake.people(person)
    return {contacts[m[f"{person}Id"]]["Email"] for m in held}


def test_implements_list_client(client: SalesforceClient) -> None:
    assert isinstance(client, ListClient)
    assert client.max_batch_size == 200


# ---------------------------------------------------------------------- campaigns


def test_creates_a_campaign_once_then_finds_it_by_name_and_by_id(
    client: SalesforceClient, fake: FakeSalesforce
) -> None:
    created = vip(client)
    assert created.id.startswith("701") and created.name == "VIP customers"
    assert vip(client).id == created.id
    assert len(fake.requests_to("/services/data/v62.0/sobjects/Campaign", "POST")) == 1
    assert client.ensure_list(ListTarget(list_id=created.id)).id == created.id
    assert fake.campaigns() == {created.id: "VIP customers"}


def test_finds_an_existing_campaign_with_quotes_in_its_name(client: SalesforceClient, fake: FakeSalesforce) -> None:
    existing = fake.add_campaign("O'Brien's \\ fans")
    assert client.ensure_list(ListTarget(name="O'Brien's \\ fans")).id == existing
    assert fake.requests_to("/services/data/v62.0/sobjects/Campaign", "POST") == []


def test_an_unknown_or_malformed_campaign_id_is_refused(client: SalesforceClient) -> None:
    with pytest.raises(DestinationError) as caught:
        client.ensure_list(ListTarget(list_id="701Fk0000009999999"))
    assert caught.value.kind is FailureKind.PERMANENT and caught.value.status == 404
    with pytest.raises(DestinationError, match="starts with 701"):
        client.ensure_list(ListTarget(list_id="003Fk0000000000001"))


# ---------------------------------------------------------------------- members and profiles


def test_add_then_remove_leaves_exact_membership_and_keeps_profiles(
    client: SalesforceClient, fake: FakeSalesforce
) -> None:
    target = vip(client)
    outcome = client.add_members(target, batch(*people(5, Lifetime_Value__c="10")))
    assert (outcome.accepted, list(outcome.rejected)) == (5, [])
    assert emails(fake, target) == {f"person.{i}@example.com" for i in range(1, 6)}
    removed = client.remove_members(target, batch(*people(2, start=2)))
    assert (removed.accepted, list(removed.rejected)) == (2, [])
    assert emails(fake, target) == {f"person.{i}@example.com" for i in (1, 4, 5)}
    kept = fake.person_by_email("person.2@example.com")
    assert kept is not None and kept["Lifetime_Value__c"] == "10", "removal never touches the person"
    assert len(fake.people()) == 5 and fake.person_deletes == 0


def test_an_existing_contact_is_matched_by_email_and_its_trait_updated(
    client: SalesforceClient, fake: FakeSalesforce
) -> None:
    existing = fake.add_person({"Email": "Ada@Example.com", "LastName": "Lovelace", "Lifetime_Value__c": "5"})
    target = vip(client)
    outcome = client.add_members(target, batch(member("p1", "ada@example.com", Lifetime_Value__c="70")))
    assert outcome.accepted == 1
    assert fake.people() == {
        existing: {"Id": existing, "Email": "Ada@Example.com", "LastName": "Lovelace", "Lifetime_Value__c": "70"}
    }
    assert [m["ContactId"] for m in fake.campaign_members(target.id)] == [existing]


def test_a_new_contact_gets_the_placeholder_last_name_and_the_trait(
    client: SalesforceClient, fake: FakeSalesforce
) -> None:
    client.add_members(vip(client), batch(member("p1", "o'neil@example.com", Lifetime_Value__c="30")))
    person = fake.person_by_email("o'neil@example.com")
    assert person is not None and person["LastName"] == "[not provided]" and person["Lifetime_Value__c"] == "30"


def test_re_adding_members_is_idempotent(client: SalesforceClient, fake: FakeSalesforce) -> None:
    target = vip(client)
    client.add_members(target, batch(*people(3)))
    again = client.add_members(target, batch(*people(3)))
    assert (again.accepted, list(again.rejected)) == (3, [])
    assert len(fake.campaign_members(target.id)) == 3 and len(fake.people()) == 3


def test_removing_absent_members_counts_them_removed(client: SalesforceClient, fake: FakeSalesforce) -> None:
    outcome = client.remove_members(vip(client), batch(*people(2)))
    assert (outcome.accepted, list(outcome.rejected)) == (2, [])
    assert fake.requests_to(COLLECTIONS, "DELETE") == []


def test_leads_get_the_placeholder_company(make_client: ClientFactory, fake: FakeSalesforce) -> None:
    client = make_client(person_object="Lead")
    target = vip(client)
    client.add_members(target, batch(*people(2)))
    assert all(lead["Company"] == "[not provided]" for lead in fake.people("Lead").values())
    assert emails(fake, target, "Lead") == {"person.1@example.com", "person.2@example.com"}
    client.remove_members(target, batch(*people(1)))
    assert emails(fake, target, "Lead") == {"person.2@example.com"} and len(fake.people("Lead")) == 2


def test_set_status_removal_keeps_the_member_and_a_re_add_restores_it(
    make_client: ClientFactory, fake: FakeSalesforce
) -> None:
    client = make_client(removal="set_status", member_status="Sent", removed_status="Removed")
    target = vip(client)
    fake.add_member_status(target.id, "Removed")
    client.add_members(target, batch(*people(2)))
    assert client.remove_members(target, batch(*people(1))).accepted == 1
    assert sorted(m["Status"] for m in fake.campaign_members(target.id)) == ["Removed", "Sent"]
    assert fake.requests_to(COLLECTIONS, "DELETE") == []
    assert client.add_members(target, batch(*people(1))).accepted == 1
    assert [m["Status"] for m in fake.campaign_members(target.id)] == ["Sent", "Sent"]


def test_per_record_errors_map_to_member_keys_without_pii(client: SalesforceClient, fake: FakeSalesforce) -> None:
    target = vip(client)
    sent = [*people(2), member("bad", "not-an-email"), member("worse", "x@example.com", Lifetime_Value__c="lots")]
    outcome = client.add_members(target, batch(*sent))
    assert outcome.accepted == 2 and outcome.accepted + len(outcome.rejected) == 4
    reasons = {r.member_key: r.reason for r in outcome.rejected}
    assert reasons == {"bad": "INVALID_EMAIL_ADDRESS", "worse": "INVALID_TYPE_ON_FIELD_IN_RECORD"}
    assert all("not-an-email" not in r.message and "@" not in r.message for r in outcome.rejected)
    assert emails(fake, target) == {"person.1@example.com", "person.2@example.com"}


def test_a_member_without_email_is_rejected_locally(client: SalesforceClient) -> None:
    outcome = client.add_members(vip(client), batch(OutboundMember("p1", {"Lifetime_Value__c": "1"})))
    assert outcome.accepted == 0 and [r.reason for r in outcome.rejected] == ["no_email"]


def test_two_member_keys_sharing_an_email_share_one_contact(client: SalesforceClient, fake: FakeSalesforce) -> None:
    outcome = client.add_members(vip(client), batch(member("a", "same@example.com"), member("b", "same@example.com")))
    assert outcome.accepted == 2 and len(fake.people()) == 1


def test_unwritable_field_names_fail_before_any_request(client: SalesforceClient, fake: FakeSalesforce) -> None:
    target = vip(client)
    before = fake.request_count
    with pytest.raises(DestinationError, match="'OwnerId' is not a writable Contact field"):
        client.add_members(target, batch(member("p1", "a@example.com", OwnerId="005x")))
    assert fake.request_count == before


# ---------------------------------------------------------------------- planning, limits, answers


def test_plan_members_shows_the_requests_and_no_secret(client: SalesforceClient, fake: FakeSalesforce) -> None:
    target = ListRef(id="701Fk0000000000001", name="VIP")
    planned = client.plan_members("add", target, batch(*people(2, Lifetime_Value__c="10")))
    assert [(p.method, p.path.rsplit("/", 1)[-1]) for p in planned] == [
        ("GET", "query"),
        ("POST", "sobjects"),
        ("POST", "sobjects"),
    ]
    assert "Email IN ('person.1@example.com','person.2@example.com')" in planned[0].body["q"]
    assert planned[1].body["records"][0] == {
        "attributes": {"type": "Contact"},
        "Email": "person.1@example.com",
        "Lifetime_Value__c": "10",
        "LastName": "[not provided]",
    }
    removal = client.plan_members("remove", target, batch(*people(2)))
    assert [p.method for p in removal] == ["GET", "DELETE"] and removal[1].body["allOrNone"] == "false"
    text = repr(planned + removal)
    assert all(secret not in text for secret in fake.secrets())
    assert fake.request_count == 0, "planning sends nothing"


def test_batch_limits(client: SalesforceClient, fake: FakeSalesforce, make_client: ClientFactory) -> None:
    with pytest.raises(ValueError, match="exceeds"):
        client.plan_members("add", ListRef("701Fk0000000000001", "x"), batch(*people(201)))
    target = vip(client)
    outcome = client.add_members(target, batch(*people(200)))
    assert outcome.accepted == 200 and fake.largest_request() == 200
    big = make_client(batch_size=3)
    assert big.max_batch_size == 3


def test_the_fake_refuses_more_than_200_records(fake: FakeSalesforce, client: SalesforceClient) -> None:
    vip(client)  # fetches a token
    token = fake.tokens.issued[-1]
    import requests

    records = [{"attributes": {"type": "Contact"}, "LastName": "x"}] * 201
    answer = requests.post(
        fake.url(COLLECTIONS),
        json={"allOrNone": False, "records": records},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_a_2xx_that_is_not_the_documented_answer_is_a_failure(client: SalesforceClient, fake: FakeSalesforce) -> None:
    target = vip(client)
    fake.fail_next(200, "<html>maintenance</html>", {"Content-Type": "text/html"}, path=COLLECTIONS)
    with pytest.raises(DestinationError) as caught:
        client.add_members(target, batch(*people(2)))
    assert caught.value.kind is FailureKind.PERMANENT
    fake.fail_next(200, [{"id": "003Fk0000000000009", "success": True, "errors": []}], path=COLLECTIONS)
    with pytest.raises(DestinationError, match="1 results for 2 records"):
        client.add_members(target, batch(*people(2, start=5)))


# ---------------------------------------------------------------------- throttling, errors, auth


def test_a_storm_of_server_busy_answers_completes_without_loss(
    client: SalesforceClient, fake: FakeSalesforce, sleeps: list[float]
) -> None:
    target = vip(client)
    for _ in range(3):
        assert fake.throttle_next() is None
    outcome = client.add_members(target, batch(*people(4)))
    assert outcome.accepted == 4 and len(sleeps) >= 3
    assert len(emails(fake, target)) == 4


def test_a_429_with_retry_after_is_honoured(
    client: SalesforceClient, fake: FakeSalesforce, sleeps: list[float]
) -> None:
    target = vip(client)
    fake.fail_next(429, [{"errorCode": "REQUEST_LIMIT_EXCEEDED_X", "message": "slow"}], {"Retry-After": "7"}, times=2)
    assert client.add_members(target, batch(*people(2))).accepted == 2
    assert sleeps.count(7.0) == 2


def test_the_org_request_limit_ends_the_run_without_retrying(
    client: SalesforceClient, fake: FakeSalesforce, sleeps: list[float]
) -> None:
    target = vip(client)
    fake.exceed_request_limit()
    with pytest.raises(DestinationError) as caught:
        client.add_members(target, batch(*people(2)))
    assert caught.value.kind is FailureKind.THROTTLED and "next run resumes" in caught.value.message
    assert sleeps == []


def test_an_expired_session_is_refreshed_once(client: SalesforceClient, fake: FakeSalesforce) -> None:
    target = vip(client)
    fake.expire_sessions()
    assert client.add_members(target, batch(*people(1))).accepted == 1
    assert fake.tokens.requests == 2


def test_revoked_credentials_fail_fast_naming_the_variable_not_the_secret(
    make_client: ClientFactory, fake: FakeSalesforce, sleeps: list[float]
) -> None:
    logs: list[str] = []
    client = make_client(logs)
    target = vip(client)
    fake.revoke_credentials()
    with pytest.raises(DestinationError) as caught:
        client.add_members(target, batch(*people(1)))
    error = caught.value
    assert error.kind is FailureKind.AUTHENTICATION and "$CONTRACT_SALESFORCE_REFRESH_TOKEN" in error.message
    text = "\n".join([str(error), repr(error), *logs])
    assert all(secret not in text for secret in fake.secrets())
    assert sleeps == []


def test_a_403_other_than_the_limit_fails_authentication(client: SalesforceClient, fake: FakeSalesforce) -> None:
    target = vip(client)
    fake.fail_next(403, [{"errorCode": "INSUFFICIENT_ACCESS", "message": "no"}], path=COLLECTIONS)
    with pytest.raises(DestinationError) as caught:
        client.add_members(target, batch(*people(1)))
    assert caught.value.kind is FailureKind.AUTHENTICATION and "$CONTRACT_SALESFORCE_REFRESH_TOKEN" in str(caught.value)
