"""Every body the client sends parses into the official Google Ads API protos (google-ads, v23 messages).

The client defaults to API v22; the google-ads package ships v23 to v26, so the nearest (v23) is the oracle.
``ignore_unknown_fields=False`` makes any field name or enum value the API would not know an error.
"""

from __future__ import annotations

import json
import re

import pytest
import requests

from audience_pipelines.destinations.google_ads import GoogleAdsClient
from audience_pipelines.destinations.kit import ListTarget
from audience_pipelines_tests.destinations.google_ads.conftest import ClientFactory, batch, member

json_format = pytest.importorskip("google.protobuf.json_format")
jobs = pytest.importorskip("google.ads.googleads.v23.services.types.offline_user_data_job_service")
lists = pytest.importorskip("google.ads.googleads.v23.services.types.user_list_service")
search = pytest.importorskip("google.ads.googleads.v23.services.types.google_ads_service")

MESSAGES = {
    r"offlineUserDataJobs/\d+:addOperations$": jobs.AddOfflineUserDataJobOperationsRequest,
    r"offlineUserDataJobs:create$": jobs.CreateOfflineUserDataJobRequest,
    r"offlineUserDataJobs/\d+:run$": jobs.RunOfflineUserDataJobRequest,
    r"userLists:mutate$": lists.MutateUserListsRequest,
    r"googleAds:search$": search.SearchGoogleAdsRequest,
}


def record(client: GoogleAdsClient) -> list[requests.PreparedRequest]:
    sent: list[requests.PreparedRequest] = []
    client.http.session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(response.request))
    return sent


def parse(url: str, body: str) -> str:
    for pattern, message in MESSAGES.items():
        if re.search(pattern, url):
            json_format.Parse(body, message.pb()(), ignore_unknown_fields=False)
            return pattern
    raise AssertionError(f"no oracle message for {url}")


@pytest.mark.parametrize(
    ("key_type", "fields", "extra"),
    [
        ("CONTACT_INFO", {"email": "a@x.com", "phone": "+15550100", "first_name": "ann", "last_name": "lee",
                          "country_code": "US", "postal_code": "94045"}, {}),
        ("CRM_ID", {"crm_id": "C-1"}, {}),
        ("MOBILE_ADVERTISING_ID", {"mobile_id": "6D92078A-8246-4BA4-AE5B-76104861E7DC"}, {"app_id": "com.example"}),
    ],
)  # fmt: skip
def test_every_body_of_a_whole_sync_parses_as_the_official_proto(
    make_client: ClientFactory, key_type: str, fields: dict[str, str], extra: dict[str, str]
) -> None:
    consent = {"ad_user_data": "GRANTED", "ad_personalization": "UNSPECIFIED"}
    client = make_client(upload_key_type=key_type, consent=consent, **extra)
    sent = record(client)
    target = client.ensure_list(ListTarget(name="oracle", description="checked against protos"))
    job = client.begin_upload(target, "add")
    client.add_members(target, batch(member("m1", **fields), member("m2", **fields)))
    assert client.finish_upload(target, job).status == "done"
    client.remove_members(target, batch(member("m1", **fields)))
    client.finish_upload(target, client._jobs[(target.id, "remove")])
    seen = {parse(request.url or "", request.body.decode() if isinstance(request.body, bytes) else request.body or "")
            for request in sent}  # fmt: skip
    assert seen == set(MESSAGES)


def test_planned_bodies_parse_and_carry_what_was_planned(make_client: ClientFactory) -> None:
    client = make_client()
    target = client.ensure_list(ListTarget(name="oracle"))
    [planned] = client.plan_members("remove", target, batch(member("m", email="a@x.com", phone="+15550100")))
    message = json_format.Parse(json.dumps(planned.body), jobs.AddOfflineUserDataJobOperationsRequest.pb()())
    assert message.enable_partial_failure is True
    [operation] = message.operations
    assert operation.WhichOneof("operation") == "remove"
    kinds = [identifier.WhichOneof("identifier") for identifier in operation.remove.user_identifiers]
    assert kinds == ["hashed_email", "hashed_phone_number"]


def test_the_delete_list_body_parses_as_the_official_proto(make_client: ClientFactory) -> None:
    client = make_client()
    sent = record(client)
    target = client.ensure_list(ListTarget(name="to delete"))
    client.delete_list(target)
    request = sent[-1]
    message = json_format.Parse(request.body, lists.MutateUserListsRequest.pb()(), ignore_unknown_fields=False)
    assert message.operations[0].remove.endswith(f"/userLists/{target.id}")
