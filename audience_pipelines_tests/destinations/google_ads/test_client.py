"""GoogleAdsClient against the strict fake over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest

from audience_pipelines.destinations.google_ads import FakeGoogleAds, GoogleAdsClient
from audience_pipelines.destinations.kit import (
    DestinationError,
    FailureKind,
    ListClient,
    ListRef,
    ListTarget,
    OutboundMember,
    UploadJobs,
)
from audience_pipelines_tests.destinations.google_ads.conftest import ClientFactory, batch, member, sha256

JOBS = "/v22/customers/1234567890/offlineUserDataJobs/"


def vip(client: GoogleAdsClient) -> ListRef:
    return client.ensure_list(ListTarget(name="VIP customers", description="synced"))


def test_implements_list_client_and_upload_jobs(client: GoogleAdsClient) -> None:
    assert isinstance(client, ListClient)
    assert isinstance(client, UploadJobs)
    assert client.max_batch_size == 10_000


# ---------------------------------------------------------------------- lists


def test_creates_a_list_once_then_finds_it_by_name_and_by_id(client: GoogleAdsClient, fake: FakeGoogleAds) -> None:
    created = vip(client)
    assert vip(client) == created
    assert len(fake.requests_to("/v22/customers/1234567890/userLists:mutate")) == 1
    assert client.ensure_list(ListTarget(list_id=created.id)) == created
    assert client.ensure_list(ListTarget(list_id=f"customers/1234567890/userLists/{created.id}")) == created
    assert created.name == "VIP customers"
    assert created.url is not None and created.url.startswith("https://ads.google.com/")


def test_finding_by_name_follows_next_page_tokens(client: GoogleAdsClient, fake: FakeGoogleAds) -> None:
    fake.page_size = 2
    ids = [fake.add_user_list(f"list {n}") for n in range(5)]
    found = client.ensure_list(ListTarget(name="list 4"))
    assert found.id == ids[4]
    assert len(fake.requests_to("/v22/customers/1234567890/googleAds:search")) == 3
    assert fake.requests_to("/v22/customers/1234567890/userLists:mutate") == []


def test_a_list_of_another_upload_key_type_is_refused(client: GoogleAdsClient, fake: FakeGoogleAds) -> None:
    fake.add_user_list("crm list", "CRM_ID")
    with pytest.raises(DestinationError) as caught:
        client.ensure_list(ListTarget(name="crm list"))
    assert caught.value.kind is FailureKind.PERMANENT
    assert "settings.upload_key_type" in caught.value.message


def test_an_unknown_list_id_is_a_permanent_error(client: GoogleAdsClient) -> None:
    with pytest.raises(DestinationError) as caught:
        client.ensure_list(ListTarget(list_id="424242"))
    assert caught.value.kind is FailureKind.PERMANENT


# ---------------------------------------------------------------------- jobs and membership


def test_an_add_job_then_a_remove_job_leave_exact_membership(
    client: GoogleAdsClient, fake: FakeGoogleAds, sleeps: list[float]
) -> None:
    target = vip(client)
    job = client.begin_upload(target, "add")
    assert client.upload_status(target, job) == "open"
    first = client.add_members(target, batch(member("a", email="a@x.com"), member("b", email="b@x.com")))
    second = client.add_members(target, batch(member("c", email="c@x.com", phone="+15550100"), batch_id="b2"))
    assert (first.accepted, second.accepted) == (2, 1)
    assert fake.held(client.config, target.id, "vip") == set()  # nothing applies before the job runs
    assert client.finish_upload(target, job).status == "done"
    assert sleeps == [5.0, 5.0]  # RUNNING on the first poll, SUCCESS on the second
    assert fake.held(client.config, target.id, "vip") == {sha256(f"{k}@x.com") for k in "abc"}

    removed = client.remove_members(target, batch(member("b", email="b@x.com"), batch_id="b3"))  # begins its own job
    assert removed.accepted == 1
    remove_job = client._jobs[(target.id, "remove")]
    assert remove_job != job
    assert client.finish_upload(target, remove_job).status == "done"
    assert fake.held(client.config, target.id, "vip") == {sha256("a@x.com"), sha256("c@x.com")}
    assert client.upload_status(target, remove_job) == "done"
    assert fake.rows_received() == 4 and fake.largest_request() == 2


def test_resume_upload_routes_later_batches_into_the_recorded_job(
    make_client: ClientFactory, fake: FakeGoogleAds
) -> None:
    first = make_client()
    target = vip(first)
    job = first.begin_upload(target, "add")
    first.add_members(target, batch(member("a", email="a@x.com")))
    after_crash = make_client()
    after_crash.resume_upload(target, "add", job)
    after_crash.add_members(target, batch(member("b", email="b@x.com"), batch_id="b2"))
    assert len(fake.requests_to("/v22/customers/1234567890/offlineUserDataJobs:create")) == 1
    assert after_crash.finish_upload(target, job).status == "done"
    assert fake.held(after_crash.config, target.id, "vip") == {sha256("a@x.com"), sha256("b@x.com")}


def test_partial_failures_map_to_member_keys(client: GoogleAdsClient, fake: FakeGoogleAds) -> None:
    target = vip(client)
    members = (
        member("good", email="good@x.com"),
        OutboundMember("bad-hash", {"email": "NOT-A-SHA256"}),
        member("bad-country", phone="+15550102", first_name="jo", last_name="li", country_code="usa", postal_code="1"),
        OutboundMember("two-bad", {"email": "A" * 64, "phone": "B" * 64}),
        member("nothing", country_code="US"),
    )
    outcome = client.add_members(target, batch(*members))
    assert outcome.accepted == 1
    assert outcome.rejected_keys == {"bad-hash", "bad-country", "two-bad", "nothing"}
    assert outcome.accepted + len(outcome.rejected) == 5  # one rejection per member, however many errors
    reasons = {r.member_key: r.reason for r in outcome.rejected}
    assert reasons["bad-hash"] == "INVALID_SHA256_FORMAT"
    assert reasons["bad-country"] == "INVALID_COUNTRY_CODE"
    assert all("NOT-A-SHA256" not in r.message for r in outcome.rejected)
    job = client._jobs[(target.id, "add")]
    assert client.finish_upload(target, job).status == "done"
    assert fake.held(client.config, target.id, "vip") == {sha256("good@x.com")}


def test_a_failed_job_gives_a_failed_result_and_applies_nothing(client: GoogleAdsClient, fake: FakeGoogleAds) -> None:
    target = vip(client)
    client.add_members(target, batch(member("a", email="a@x.com")))
    fake.fail_next_job("UNKNOWN")
    result = client.finish_upload(target, client._jobs[(target.id, "add")])
    assert result.status == "failed" and "UNKNOWN" in result.message
    assert fake.held(client.config, target.id, "vip") == set()


def test_a_job_still_running_at_the_timeout_is_reported_running(
    make_client: ClientFactory, fake: FakeGoogleAds, sleeps: list[float]
) -> None:
    client = make_client(job_timeout_seconds=12)
    fake.polls_to_finish = 100
    target = vip(client)
    job = client.begin_upload(target, "add")
    client.add_members(target, batch(member("a", email="a@x.com")))
    assert client.finish_upload(target, job).status == "running"
    assert sleeps == [5.0, 5.0, 2.0]
    assert client.upload_status(target, job) == "running"


def test_an_unknown_job_reads_as_failed(client: GoogleAdsClient) -> None:
    target = vip(client)
    assert client.upload_status(target, "customers/1234567890/offlineUserDataJobs/99") == "failed"


# ---------------------------------------------------------------------- planning and limits


def test_plan_members_is_the_request_add_members_sends(client: GoogleAdsClient) -> None:
    target = vip(client)
    full = member("m", email="m@x.com", phone="+15550103", first_name="ann", last_name="lee", country_code="US",
                  postal_code="94045")  # fmt: skip
    partial_address = member("p", email="p@x.com", first_name="ann", country_code="US")
    [before] = client.plan_members("add", target, batch(full, partial_address))
    assert before.path == f"{JOBS}PENDING:addOperations"
    job = client.begin_upload(target, "add")
    [planned] = client.plan_members("add", target, batch(full, partial_address))
    assert planned.path == f"/v22/{job}:addOperations"
    assert planned.body["enablePartialFailure"] is True
    first, second = (op["create"]["userIdentifiers"] for op in planned.body["operations"])
    assert first[2] == {
        "addressInfo": {
            "hashedFirstName": sha256("ann"),
            "hashedLastName": sha256("lee"),
            "countryCode": "US",
            "postalCode": "94045",
        }
    }
    assert [list(identifier) for identifier in first] == [["hashedEmail"], ["hashedPhoneNumber"], ["addressInfo"]]
    assert second == [{"hashedEmail": sha256("p@x.com")}]
    [removal] = client.plan_members("remove", target, batch(full))
    assert list(removal.body["operations"][0]) == ["remove"]


def test_crm_id_lists_send_third_party_user_ids_only(make_client: ClientFactory) -> None:
    client = make_client(upload_key_type="CRM_ID")
    target = client.ensure_list(ListTarget(name="crm"))
    [planned] = client.plan_members("add", target, batch(member("m", email="m@x.com", crm_id="C-1")))
    assert planned.body["operations"] == [{"create": {"userIdentifiers": [{"thirdPartyUserId": "C-1"}]}}]
    assert client.add_members(target, batch(member("m", crm_id="C-1"))).accepted == 1


def test_a_batch_over_the_batch_size_is_refused_before_sending(make_client: ClientFactory, fake: FakeGoogleAds) -> None:
    client = make_client(batch_size=2)
    target = vip(client)
    three = batch(*(member(str(n), email=f"{n}@x.com") for n in range(3)))
    with pytest.raises(ValueError, match="batch size"):
        client.add_members(target, three)
    assert fake.requests_to(JOBS) == []


# ---------------------------------------------------------------------- auth


def test_the_access_token_is_refreshed_before_it_expires(make_client: ClientFactory, fake: FakeGoogleAds) -> None:
    now = [1_000.0]
    client = make_client(clock=lambda: now[0])
    vip(client)
    assert fake.token_requests == 1
    vip(client)
    assert fake.token_requests == 1  # cached
    now[0] += 3_599
    vip(client)
    assert fake.token_requests == 2
    assert all(record.status != 401 for record in fake.request_log)


def test_a_401_refreshes_the_token_once_and_retries(client: GoogleAdsClient, fake: FakeGoogleAds) -> None:
    target = vip(client)
    fake.expire_tokens()
    assert client.ensure_list(ListTarget(list_id=target.id)) == target
    assert fake.token_requests == 2
    assert [r.status for r in fake.request_log].count(401) == 1


def test_a_401_after_a_fresh_token_fails_authentication(client: GoogleAdsClient, fake: FakeGoogleAds) -> None:
    vip(client)
    fake.fail_next(401, times=2, path="/v22/")
    with pytest.raises(DestinationError) as caught:
        vip(client)
    assert caught.value.kind is FailureKind.AUTHENTICATION
    assert "CONTRACT_GOOGLE_ADS_REFRESH_TOKEN" in caught.value.message


def test_invalid_grant_names_the_variables_and_no_secret(client: GoogleAdsClient, fake: FakeGoogleAds) -> None:
    fake.revoke_credentials()
    with pytest.raises(DestinationError) as caught:
        vip(client)
    error = caught.value
    assert error.kind is FailureKind.AUTHENTICATION and error.code == "invalid_grant"
    for variable in ("REFRESH_TOKEN", "CLIENT_ID", "CLIENT_SECRET"):
        assert f"$CONTRACT_GOOGLE_ADS_{variable}" in error.message
    for secret in fake.secrets():
        assert secret not in str(error) and secret not in repr(error)


def test_a_wrong_developer_token_names_its_variable(
    client: GoogleAdsClient, fake: FakeGoogleAds, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTRACT_GOOGLE_ADS_DEVELOPER_TOKEN", "not-the-token")
    with pytest.raises(DestinationError) as caught:
        vip(make_client())
    assert caught.value.kind is FailureKind.AUTHENTICATION
    assert "$CONTRACT_GOOGLE_ADS_DEVELOPER_TOKEN" in caught.value.message
    assert "not-the-token" not in str(caught.value)


# ---------------------------------------------------------------------- errors and retries


def test_concurrent_modification_is_retried_with_backoff(
    client: GoogleAdsClient, fake: FakeGoogleAds, sleeps: list[float]
) -> None:
    target = vip(client)
    client.begin_upload(target, "add")
    fake.conflict_next(times=2)
    assert client.add_members(target, batch(member("a", email="a@x.com"))).accepted == 1
    assert sleeps == [1.0, 2.0]


def test_resource_exhausted_waits_the_retry_delay(
    client: GoogleAdsClient, fake: FakeGoogleAds, sleeps: list[float]
) -> None:
    target = vip(client)
    client.begin_upload(target, "add")
    assert fake.throttle_next(30) == 30
    assert client.add_members(target, batch(member("a", email="a@x.com"))).accepted == 1
    assert sleeps == [30.0]


def test_server_errors_are_retried(client: GoogleAdsClient, fake: FakeGoogleAds, sleeps: list[float]) -> None:
    target = vip(client)
    client.begin_upload(target, "add")
    fake.fail_next(503, times=2, path=JOBS)
    assert client.add_members(target, batch(member("a", email="a@x.com"))).accepted == 1
    assert sleeps == [1.0, 2.0]


def test_denied_consent_gives_the_data_terms_error_naming_the_setting(make_client: ClientFactory) -> None:
    client = make_client(consent={"ad_user_data": "DENIED", "ad_personalization": "GRANTED"})
    target = vip(client)
    with pytest.raises(DestinationError) as caught:
        client.add_members(target, batch(member("a", email="a@x.com")))
    assert caught.value.kind is FailureKind.PERMANENT
    assert caught.value.code == "CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS"
    assert "settings.consent" in caught.value.message
    assert client.begin_upload(target, "remove")  # consent is not sent with remove jobs


@pytest.mark.parametrize("body", ["<html><body>Sign in</body></html>", "[1, 2]"])
def test_a_2xx_that_is_not_a_json_object_is_a_failure(client: GoogleAdsClient, fake: FakeGoogleAds, body: str) -> None:
    target = vip(client)
    client.begin_upload(target, "add")
    fake.fail_next(200, body=body, headers={"Content-Type": "text/html"}, path=JOBS)
    with pytest.raises(DestinationError) as caught:
        client.add_members(target, batch(member("a", email="a@x.com")))
    assert caught.value.kind is FailureKind.PERMANENT
