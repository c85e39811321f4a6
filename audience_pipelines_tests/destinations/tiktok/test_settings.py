"""TikTok settings, the calculate-type check of a sync's mapping, and the package's constants."""

from __future__ import annotations

import pytest

from audience_pipelines.destinations import tiktok
from audience_pipelines.destinations.tiktok import check_sync


def test_constants_and_descriptors() -> None:
    assert (tiktok.DEFAULT_MIN_SIZE, tiktok.DEFAULT_MANUAL_COOLDOWN_MINUTES) == (1000, 30)
    assert tiktok.TIKTOK_AUDIENCES.capabilities == frozenset({"list"})
    assert tiktok.TIKTOK_EVENTS.capabilities == frozenset({"event"})
    assert tiktok.TIKTOK_AUDIENCES.fake is tiktok.TIKTOK_EVENTS.fake is tiktok.FakeTikTok
    assert "UNCONFIRMED" in (tiktok.__doc__ or "") and "E.164" in (tiktok.__doc__ or "")


@pytest.mark.parametrize(
    ("identifiers", "calculate_type"),
    [
        ({"email": "EMAIL_SHA256"}, "single"),
        ({"phone": "PHONE_SHA256"}, "single"),
        ({"email": "EMAIL_SHA256", "phone": "PHONE_SHA256"}, "multiple"),
        ({"email": "EMAIL_SHA256", "phone": "PHONE_SHA256", "madid": "IDFA_SHA256"}, "multiple"),
    ],
)
def test_valid_mappings(identifiers: dict[str, str], calculate_type: str) -> None:
    assert check_sync(identifiers, calculate_type) == []


def test_multiple_is_the_default_and_needs_both() -> None:
    (problem,) = check_sync({"email": "EMAIL_SHA256"})
    assert problem.startswith("field 'identifiers':")
    assert "missing: PHONE_SHA256" in problem and "allowed: EMAIL_SHA256 and PHONE_SHA256" in problem
    assert "calculate_type 'single'" in problem


def test_single_takes_exactly_one_of_email_or_phone() -> None:
    (both,) = check_sync({"email": "EMAIL_SHA256", "phone": "PHONE_SHA256"}, "single")
    assert "exactly one of EMAIL_SHA256 or PHONE_SHA256" in both and "mapped: EMAIL_SHA256, PHONE_SHA256" in both
    problems = check_sync({"madid": "IDFA_SHA256"}, "single")
    assert problems[0].startswith("field 'identifiers.madid': IDFA_SHA256 is not allowed with calculate_type 'single'")
    assert "mapped: neither" in problems[1]


def test_unknown_repeated_and_extra_advertising_ids_are_named() -> None:
    mapping = {"email": "EMAIL_SHA256", "phone": "PHONE_SHA256", "external_id": "EXTERN_ID"}
    problems = check_sync({**mapping, "madid": "IDFA_SHA256", "ttclid": "AAID_SHA256"})
    assert problems[0].startswith("field 'identifiers.external_id': TikTok audiences have no identifier 'EXTERN_ID'")
    assert "allowed: EMAIL_SHA256, PHONE_SHA256, IDFA_SHA256, AAID_SHA256" in problems[0]
    assert "at most one advertising id" in problems[1]
    (twice,) = check_sync({"email": "EMAIL_SHA256", "phone": "EMAIL_SHA256"}, "single")
    assert twice.startswith("field 'identifiers': email, phone all map to EMAIL_SHA256")


def test_an_unknown_calculate_type_names_the_setting() -> None:
    (problem,) = check_sync({"email": "EMAIL_SHA256"}, "MULTIPLE_TYPES")
    assert problem.startswith("field 'settings.calculate_type'")
