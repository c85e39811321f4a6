"""Per-member consent from a sync's consent column, and the user list sizes and job match rate Google reports."""

from __future__ import annotations

from dataclasses import replace

from audience_pipelines.destinations.google_ads import FakeGoogleAds, GoogleAdsClient
from audience_pipelines.destinations.google_ads.payloads import MATCH_RATE_RANGES
from audience_pipelines.destinations.kit import ListRef, ListTarget, MatchReporting
from audience_pipelines_tests.destinations.google_ads.conftest import ClientFactory, batch, member

GRANTED = {"adUserData": "GRANTED", "adPersonalization": "GRANTED"}


def vip(client: GoogleAdsClient) -> ListRef:
    return client.ensure_list(ListTarget(name="VIP customers"))


def add(client: GoogleAdsClient, target: ListRef, users: range, *, consent_granted: bool = False) -> None:
    members = [member(f"u{n}", email=f"user{n}@example.com") for n in users]
    client.add_members(target, replace(batch(*members), consent_granted=consent_granted))
    job = client._jobs[(target.id, "add")]
    assert client.finish_upload(target, job).status == "done"


def test_members_sent_under_a_consent_column_carry_their_own_granted_consent(
    make_client: ClientFactory, fake: FakeGoogleAds
) -> None:
    client = make_client(consent={"ad_user_data": "UNSPECIFIED", "ad_personalization": "UNSPECIFIED"})
    target = vip(client)
    add(client, target, range(1, 4), consent_granted=True)
    assert fake.member_consents(target.id) == [GRANTED] * 3
    planned = client.plan_members(
        "add", target, replace(batch(member("x", email="x@example.com")), consent_granted=True)
    )
    assert planned[0].body["operations"][0]["create"]["consent"] == GRANTED, "preview shows the same block"
    removal = client.plan_members(
        "remove", target, replace(batch(member("x", email="x@example.com")), consent_granted=True)
    )
    assert "consent" not in removal[0].body["operations"][0]["remove"], "removals carry no consent"


def test_without_a_consent_column_members_take_the_jobs_consent_from_settings(
    make_client: ClientFactory, fake: FakeGoogleAds
) -> None:
    client = make_client(consent={"ad_user_data": "GRANTED", "ad_personalization": "UNSPECIFIED"})
    target = vip(client)
    add(client, target, range(1, 3))
    assert fake.member_consents(target.id) == [{"adUserData": "GRANTED"}] * 2


def test_match_report_gives_the_lists_sizes_and_the_finished_jobs_match_rate(
    client: GoogleAdsClient, fake: FakeGoogleAds
) -> None:
    assert isinstance(client, MatchReporting)
    target = vip(client)
    empty = client.match_report(target)
    assert empty is not None and (empty.matched_low, empty.rate_low) == (0, None), "no job seen: no rate"
    add(client, target, range(1, 41))
    report = client.match_report(target)
    matched = fake.matched_members(target.id)
    assert 0 < matched < 40, "the fake matches some members, not all"
    assert report.matched_low == report.matched_high == matched
    assert report.figures == {"size_for_search": float(matched * 9 // 10)}
    assert (report.rate_low, report.rate_high) in MATCH_RATE_RANGES.values()
    assert report.rate_low <= matched / 40 <= report.rate_high + 0.01, "the range holds the job's own share"
