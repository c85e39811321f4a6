"""The fake's strict Measurement Protocol validator: the ``validationMessages`` of ``/debug/mp/collect``.

``/mp/collect`` runs the same checks and silently drops a payload that has any message, like Google.
Field paths are dotted with indexes (``events[0].params.audience``); descriptions never quote values.
"""

from __future__ import annotations

import json
import re
from typing import Any

from audience_pipelines.destinations.ga4 import limits

Message = dict[str, str]

TOP_LEVEL_KEYS = frozenset(
    {
        "client_id",
        "app_instance_id",
        "user_id",
        "timestamp_micros",
        "user_properties",
        "consent",
        "non_personalized_ads",
        "user_location",
        "ip_override",
        "device",
        "user_data",
        "events",
        "validation_behavior",
    }
)
EVENT_KEYS = frozenset({"name", "params", "timestamp_micros"})
HASHED_LIST_KEYS = ("sha256_email_address", "sha256_phone_number")
ADDRESS_HASHED = frozenset({"sha256_first_name", "sha256_last_name", "sha256_street"})
ADDRESS_PLAIN = frozenset({"city", "region", "postal_code", "country"})
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_COUNTRY = re.compile(r"[A-Z]{2}")


def _message(path: str, code: str, description: str) -> Message:
    return {"fieldPath": path, "description": description, "validationCode": code}


def validate_body(raw: bytes, *, now: float) -> list[Message]:
    """Messages for a raw request body (empty: GA4 would collect it)."""
    if len(raw) > limits.MAX_BODY_BYTES:
        return [_message("", "VALUE_OUT_OF_BOUNDS", f"payload is larger than {limits.MAX_BODY_BYTES} bytes")]
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return [_message("", "VALUE_INVALID", "unable to parse the Measurement Protocol JSON payload")]
    if not isinstance(body, dict):
        return [_message("", "VALUE_INVALID", "payload must be a JSON object")]
    return validate_payload(body, now=now)


def validate_payload(body: dict[str, Any], *, now: float) -> list[Message]:
    """Messages for a decoded request body."""
    messages = [
        _message(key, "VALUE_INVALID", f"unknown field {key!r} in the payload")
        for key in body
        if key not in TOP_LEVEL_KEYS
    ]
    client_id = body.get("client_id")
    if not isinstance(client_id, str) or not client_id.strip():
        messages.append(_message("client_id", "VALUE_REQUIRED", "client_id is required for web streams"))
    user_id = body.get("user_id")
    if user_id is not None and (not isinstance(user_id, str) or not user_id):
        messages.append(_message("user_id", "VALUE_INVALID", "user_id must be a non-empty string"))
    elif isinstance(user_id, str) and len(user_id) > limits.MAX_USER_ID_LENGTH:
        messages.append(_message("user_id", "VALUE_OUT_OF_BOUNDS", "user_id is too long"))
    messages += _timestamp(body.get("timestamp_micros"), "timestamp_micros", now)
    messages += _events(body.get("events"))
    if "user_data" in body:
        messages += _user_data(body["user_data"])
    return messages


def _timestamp(value: Any, path: str, now: float) -> list[Message]:
    if value is None:
        return []
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return [_message(path, "VALUE_INVALID", "timestamp_micros must be integer microseconds")]
    if value < (now - limits.MAX_BACKDATE_SECONDS) * 1_000_000:
        return [_message(path, "VALUE_OUT_OF_BOUNDS", "timestamp_micros is more than 72 hours in the past")]
    return []


def _events(events: Any) -> list[Message]:
    if not isinstance(events, list) or not events:
        return [_message("events", "VALUE_REQUIRED", "events must be a non-empty array")]
    messages: list[Message] = []
    if len(events) > limits.MAX_EVENTS_PER_REQUEST:
        messages.append(
            _message("events", "EXCEEDED_MAX_ENTITIES", f"more than {limits.MAX_EVENTS_PER_REQUEST} events")
        )
    for index, event in enumerate(events):
        messages += _event(event, f"events[{index}]")
    return messages


def _name(name: Any, path: str, what: str, reserved: frozenset[str]) -> list[Message]:
    if not isinstance(name, str) or not name:
        return [_message(path, "VALUE_REQUIRED", f"{what} name is required")]
    if len(name) > limits.MAX_NAME_LENGTH:
        return [_message(path, "NAME_INVALID", f"{what} name is longer than {limits.MAX_NAME_LENGTH} characters")]
    if name in reserved or name.startswith(limits.RESERVED_PREFIXES):
        return [_message(path, "NAME_RESERVED", f"{what} name is reserved")]
    if not _NAME.fullmatch(name):
        return [_message(path, "NAME_INVALID", f"{what} name must start with a letter; letters, digits, _ only")]
    return []


def _event(event: Any, path: str) -> list[Message]:
    if not isinstance(event, dict):
        return [_message(path, "VALUE_INVALID", "event must be an object")]
    messages = [
        _message(f"{path}.{key}", "VALUE_INVALID", "unknown event field") for key in event if key not in EVENT_KEYS
    ]
    messages += _name(event.get("name"), f"{path}.name", "event", limits.RESERVED_EVENT_NAMES)
    params = event.get("params", {})
    if not isinstance(params, dict):
        return [*messages, _message(f"{path}.params", "VALUE_INVALID", "params must be an object")]
    if len(params) > limits.MAX_PARAMS_PER_EVENT:
        messages.append(
            _message(f"{path}.params", "EXCEEDED_MAX_ENTITIES", f"more than {limits.MAX_PARAMS_PER_EVENT} params")
        )
    for name, value in params.items():
        where = f"{path}.params.{name}"
        messages += _name(name, where, "param", limits.RESERVED_PARAM_NAMES)
        if isinstance(value, str):
            if len(value) > limits.MAX_PARAM_VALUE_LENGTH:
                messages.append(
                    _message(where, "VALUE_OUT_OF_BOUNDS", f"longer than {limits.MAX_PARAM_VALUE_LENGTH} characters")
                )
        elif name == "items" and isinstance(value, list):
            continue
        elif isinstance(value, bool) or not isinstance(value, int | float):
            messages.append(_message(where, "VALUE_INVALID", "param values must be strings or numbers"))
    return messages


def _user_data(data: Any) -> list[Message]:
    if not isinstance(data, dict):
        return [_message("user_data", "VALUE_INVALID", "user_data must be an object")]
    messages: list[Message] = []
    for key, value in data.items():
        path = f"user_data.{key}"
        if key in HASHED_LIST_KEYS:
            messages += _hashed_list(value, path)
        elif key == "address":
            messages += _addresses(value, path)
        else:
            messages.append(_message(path, "VALUE_INVALID", "unknown user_data field"))
    return messages


def _hashed_list(values: Any, path: str) -> list[Message]:
    if not isinstance(values, list) or not values:
        return [_message(path, "VALUE_INVALID", "must be a non-empty array of SHA-256 hex strings")]
    if len(values) > limits.MAX_USER_DATA_VALUES:
        return [_message(path, "EXCEEDED_MAX_ENTITIES", f"more than {limits.MAX_USER_DATA_VALUES} values")]
    return [
        _message(f"{path}[{index}]", "VALUE_INVALID", "must be a SHA-256 hex string")
        for index, value in enumerate(values)
        if not isinstance(value, str) or not limits.SHA256_PATTERN.fullmatch(value)
    ]


def _addresses(addresses: Any, path: str) -> list[Message]:
    if not isinstance(addresses, list) or not addresses:
        return [_message(path, "VALUE_INVALID", "must be a non-empty array of address objects")]
    if len(addresses) > limits.MAX_USER_DATA_VALUES:
        return [_message(path, "EXCEEDED_MAX_ENTITIES", f"more than {limits.MAX_USER_DATA_VALUES} addresses")]
    messages: list[Message] = []
    for index, address in enumerate(addresses):
        where = f"{path}[{index}]"
        if not isinstance(address, dict) or not address:
            messages.append(_message(where, "VALUE_INVALID", "address must be a non-empty object"))
            continue
        for key, value in address.items():
            field = f"{where}.{key}"
            if key in ADDRESS_HASHED:
                if not isinstance(value, str) or not limits.SHA256_PATTERN.fullmatch(value):
                    messages.append(_message(field, "VALUE_INVALID", "must be a SHA-256 hex string"))
            elif key in ADDRESS_PLAIN:
                if not isinstance(value, str) or not value or limits.SHA256_PATTERN.fullmatch(value):
                    messages.append(_message(field, "VALUE_INVALID", "must be a plain, unhashed string"))
                elif key == "country" and not _COUNTRY.fullmatch(value):
                    messages.append(_message(field, "VALUE_INVALID", "country must be an ISO 3166-1 alpha-2 code"))
            else:
                messages.append(_message(field, "VALUE_INVALID", "unknown address field"))
    return messages
