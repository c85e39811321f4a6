"""Request bodies for DMP segments and their users, and segment ids in their several spellings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from audience_pipelines.destinations.kit import MatchReport, Operation

#: destination fields a sync may map identifiers to: the email (SHA-256 hex) and the Google advertising id
FIELDS = ("email", "google_aid")
#: destination field -> LinkedIn idType, in the order userIds are sent
ID_TYPES: Mapping[str, str] = {"email": "SHA256_EMAIL", "google_aid": "GOOGLE_AID"}
ACTIONS: Mapping[Operation, str] = {"add": "ADD", "remove": "REMOVE"}
PROTOCOL_VERSION = "2.0.0"
SEGMENT_URN = "urn:li:dmpSegment:"
_SEGMENT = re.compile(r"^(?:urn:li:dmpSegment:)?(\d{1,20})$")


def segment_number(value: object) -> str | None:
    """``123`` / ``"123"`` / ``"urn:li:dmpSegment:123"`` -> ``"123"`` (None when it is none of these)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    match = _SEGMENT.match(str(value).strip())
    return match.group(1) if match else None


def user_ids(fields: Mapping[str, str]) -> list[dict[str, str]]:
    """One ``{"idType", "idValue"}`` per mapped identifier the member has."""
    return [{"idType": id_type, "idValue": fields[name]} for name, id_type in ID_TYPES.items() if fields.get(name)]


def users_body(operation: Operation, members: list[list[dict[str, str]]]) -> dict[str, Any]:
    """A BATCH_CREATE body: one element per member, every element with the same action."""
    action = ACTIONS[operation]
    return {"elements": [{"action": action, "userIds": ids} for ids in members]}


def create_segment_body(name: str, source_platform: str, account_urn: str) -> dict[str, Any]:
    """A USER segment keyed by ``sourceSegmentId`` = the list name, for LinkedIn ads only."""
    return {
        "name": name,
        "sourcePlatform": source_platform,
        "sourceSegmentId": name,
        "account": account_urn,
        "type": "USER",
        "destinations": [{"destination": "LINKEDIN"}],
    }


def find_params(name: str, source_platform: str, account_urn: str) -> dict[str, str]:
    """Query parameters finding a segment by the ``sourceSegmentId`` a list name maps to."""
    return {"q": "account", "account": account_urn, "sourceSegmentId": name, "sourcePlatform": source_platform}


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def match_report(segment: Mapping[str, Any]) -> MatchReport | None:
    """A DMP segment's LINKEDIN destination figures: ``matchedCount`` (None until LinkedIn has one), the rate
    ``matchedCount / inputCount`` and ``audienceSize``."""
    destinations = segment.get("destinations")
    found = next((d for d in destinations or [] if isinstance(d, dict) and d.get("destination") == "LINKEDIN"), None)
    matched = _count(found.get("matchedCount")) if found else None
    if matched is None:
        return None
    uploaded = _count(segment.get("inputCount"))
    rate = min(1.0, matched / uploaded) if uploaded else None
    audience_size = _count(found.get("audienceSize")) if found else None
    figures = {"audience_size": float(audience_size)} if audience_size is not None else {}
    return MatchReport(matched_low=matched, matched_high=matched, rate_low=rate, rate_high=rate, figures=figures)
