"""Building one Measurement Protocol request body per member, and the checks GA4 would otherwise fail silently.

A request identifies one user (``client_id``, plus ``user_id`` when known) and carries that member's events.
Values arrive normalized and hashed by the identity layer; this module only places them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from audience_pipelines.destinations.ga4 import limits
from audience_pipelines.destinations.kit import OutboundEvent

ADDRESS_FIELDS = ("sha256_first_name", "sha256_last_name", "city", "region", "postal_code", "country")
LIST_FIELDS = ("sha256_email_address", "sha256_phone_number")
#: destination fields a sync may map identifiers to
FIELDS = ("client_id", "user_id", *LIST_FIELDS, *ADDRESS_FIELDS)


@dataclass(frozen=True)
class MemberRequest:
    """One request body for one member's events, or why that member is not sent."""

    member_key: str
    events: int
    body: dict[str, Any] | None = None
    reason: str | None = None
    message: str = ""


def encode(body: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (compact JSON)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def user_data(fields: Mapping[str, str]) -> dict[str, Any]:
    """``user_data`` with only the keys present: hashed email/phone lists and one address."""
    data: dict[str, Any] = {name: [fields[name]] for name in LIST_FIELDS if fields.get(name)}
    address = {name: fields[name] for name in ADDRESS_FIELDS if fields.get(name)}
    if address:
        data["address"] = [address]
    return data


def event_params(event: OutboundEvent, audience: str, sync: str) -> dict[str, Any]:
    """The event's parameters: audience, sync, event_id, its properties and ``engagement_time_msec``."""
    params: dict[str, Any] = {"audience": audience, "sync": sync}
    for name, value in event.properties.items():
        params[name] = value if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
    params["event_id"] = event.event_id
    params["engagement_time_msec"] = 1
    return {name: value for name, value in params.items() if value != ""}


def member_request(
    member_key: str, events: Sequence[OutboundEvent], *, audience: str, sync: str, now: float
) -> MemberRequest:
    """The request for one member's events (same member and timestamp), checked against GA4's limits."""
    fields = events[0].fields

    def refuse(reason: str, message: str) -> MemberRequest:
        return MemberRequest(member_key, len(events), reason=reason, message=message)

    client_id = fields.get("client_id")
    if not client_id:
        return refuse("missing_client_id", "GA4 needs a client_id for every event; map ga_client_id to client_id")
    user_id = fields.get("user_id")
    if user_id and len(user_id) > limits.MAX_USER_ID_LENGTH:
        return refuse("user_id_too_long", f"user_id is longer than {limits.MAX_USER_ID_LENGTH} characters")
    if len(events) > limits.MAX_EVENTS_PER_REQUEST:
        return refuse("too_many_events", f"more than {limits.MAX_EVENTS_PER_REQUEST} events for one member")
    event_time = events[0].event_time
    if event_time < now - limits.MAX_BACKDATE_SECONDS:
        return refuse("event_too_old", "GA4 drops events backdated more than 72 hours")
    built = []
    for event in events:
        params = event_params(event, audience, sync)
        problem = _event_problem(event.event_name, params)
        if problem is not None:
            return refuse(*problem)
        built.append({"name": event.event_name, "params": params})
    body: dict[str, Any] = {"client_id": client_id}
    if user_id:
        body["user_id"] = user_id
    body["timestamp_micros"] = event_time * 1_000_000
    body["events"] = built
    data = user_data(fields)
    if data:
        body["user_data"] = data
    if len(encode(body)) > limits.MAX_BODY_BYTES:
        return refuse("body_too_large", f"the request body is larger than {limits.MAX_BODY_BYTES} bytes")
    return MemberRequest(member_key, len(events), body=body)


def _event_problem(name: str, params: Mapping[str, Any]) -> tuple[str, str] | None:
    problem = limits.name_problem(name)
    if problem is not None:
        return "invalid_event_name", f"event name {name!r} {problem}"
    if name in limits.RESERVED_EVENT_NAMES:
        return "invalid_event_name", f"event name {name!r} is reserved by GA4"
    if len(params) > limits.MAX_PARAMS_PER_EVENT:
        return "too_many_params", f"more than {limits.MAX_PARAMS_PER_EVENT} event parameters"
    for param, value in params.items():
        problem = limits.name_problem(param)
        if problem is None and param in limits.RESERVED_PARAM_NAMES:
            problem = "is reserved by GA4"
        if problem is not None:
            return "invalid_param_name", f"event parameter name {param!r} {problem}"
        if isinstance(value, str) and len(value) > limits.MAX_PARAM_VALUE_LENGTH:
            return (
                "param_value_too_long",
                f"event parameter {param!r} is longer than {limits.MAX_PARAM_VALUE_LENGTH} characters",
            )
    return None
