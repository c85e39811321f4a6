"""What the fake Mailchimp API checks: its error shape and the shape of batch bodies."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from audience_pipelines.destinations.mailchimp.payloads import merge_tag_problem

MAX_MEMBERS = 500
STATUSES = frozenset({"subscribed", "unsubscribed", "cleaned", "pending", "transactional"})
MEMBER_KEYS = frozenset({"email_address", "email_type", "status", "merge_fields", "tags", "language", "vip"})
SUBSCRIBE_KEYS = frozenset({"members", "update_existing", "sync_tags"})
SEGMENT_KEYS = frozenset({"members_to_add", "members_to_remove"})
ERRORS_URL = "https://mailchimp.com/developer/marketing/docs/errors/"


class ApiError(Exception):
    """An answer the fake gives instead of handling a request."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.body = problem(status, title, detail)


def problem(status: int, title: str | None = None, detail: str = "") -> dict[str, Any]:
    """Mailchimp's ``application/problem+json`` error body."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {"type": ERRORS_URL, "title": title or phrase, "status": status, "detail": detail, "instance": ""}


def invalid(detail: str) -> ApiError:
    return ApiError(400, "Invalid Resource", detail)


def check_subscribe(body: Any) -> list[dict[str, Any]]:
    """The members of a valid batch subscribe body (a whole-request problem raises :class:`ApiError`)."""
    if not isinstance(body, dict) or "members" not in body or set(body) - SUBSCRIBE_KEYS:
        raise invalid("The body is {members, update_existing, sync_tags}.")
    members = body["members"]
    if not isinstance(members, list) or not members:
        raise invalid("members must be a non-empty array.")
    if len(members) > MAX_MEMBERS:
        raise invalid(f"Up to {MAX_MEMBERS} members may be added or updated with each API call.")
    if not isinstance(body.get("update_existing", False), bool):
        raise invalid("update_existing must be a boolean.")
    for member in members:
        if not isinstance(member, dict) or set(member) - MEMBER_KEYS or member.get("status") not in STATUSES:
            raise invalid("Each member is an object with email_address and a valid status.")
        if not isinstance(member.get("email_address"), str):
            raise invalid("email_address must be a string.")
        merge = member.get("merge_fields", {})
        if not isinstance(merge, dict) or not all(isinstance(v, str | int | float) for v in merge.values()):
            raise invalid("merge_fields must be an object of merge tag -> value.")
    return members


def merge_problem(merge: dict[str, Any]) -> str | None:
    """Why a member's merge fields are refused (the member gets a per-member error)."""
    for tag in merge:
        if (found := merge_tag_problem(tag)) is not None:
            return found
    return None


def check_segment(body: Any) -> tuple[list[str], list[str]]:
    """``members_to_add`` and ``members_to_remove`` of a valid static segment batch body."""
    if not isinstance(body, dict) or not body or set(body) - SEGMENT_KEYS:
        raise invalid("The body is {members_to_add, members_to_remove}.")
    arrays = []
    for name in ("members_to_add", "members_to_remove"):
        emails = body.get(name, [])
        if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
            raise invalid(f"{name} must be an array of email addresses.")
        if len(emails) > MAX_MEMBERS:
            raise invalid(
                "Maximum allowed member items exceeded, please provide at most 500 items in members_to_add field "
                "or members_to_remove field"
            )
        arrays.append(emails)
    return arrays[0], arrays[1]
