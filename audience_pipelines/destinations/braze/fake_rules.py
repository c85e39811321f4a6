"""What the fake Braze API checks in a /users/track body, and how it applies one attributes object."""

from __future__ import annotations

from typing import Any

MAX_OBJECTS = 75
ARRAYS = ("attributes", "events", "purchases")
IDENTIFIERS = ("external_id", "user_alias", "braze_id", "email", "phone")
CONTROL = frozenset({"_update_existing_only", "push_token_import"})
FATAL = "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."


class ApiError(Exception):
    """A whole-request answer the fake gives instead of applying anything."""

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, **({"errors": errors} if errors else {})}


def body_objects(body: Any) -> list[Any]:
    """The attributes array of a well-formed body (events / purchases are not served by this fake)."""
    if not isinstance(body, dict) or not body or set(body) - set(ARRAYS):
        raise ApiError(400, FATAL)
    arrays = [body.get(name) for name in ARRAYS if name in body]
    if not all(isinstance(array, list) for array in arrays):
        raise ApiError(400, FATAL)
    if sum(len(array) for array in arrays) > MAX_OBJECTS:
        raise ApiError(400, f"Too many objects: at most {MAX_OBJECTS} combined per request.")
    if body.get("events") or body.get("purchases") or not body.get("attributes"):
        raise ApiError(400, FATAL)
    return body["attributes"]


def object_problem(item: Any) -> str | None:
    """Why one attributes object is refused (None when it is applied)."""
    if not isinstance(item, dict):
        return "Attributes object must be an object"
    if not any(isinstance(item.get(name), str | dict) and item.get(name) for name in IDENTIFIERS):
        return "'external_id' or 'braze_id' or 'user_alias' or 'email' or 'phone' is required"
    if "user_alias" in item or "braze_id" in item:
        return "This fake serves external_id, email and phone identifiers only"
    if "_update_existing_only" in item and not isinstance(item["_update_existing_only"], bool):
        return "'_update_existing_only' must be a boolean"
    email = item.get("email")
    if email is not None and (not isinstance(email, str) or email.count("@") != 1 or email != email.strip()):
        return "Invalid email address"
    phone = item.get("phone")
    if phone is not None and (not isinstance(phone, str) or not phone.startswith("+") or not phone[1:].isdigit()):
        return "Invalid phone number"
    for name, value in item.items():
        if name.startswith("$") or not name or len(name) > 255:
            return "Invalid custom attribute key"
        if isinstance(value, dict) and name not in IDENTIFIERS and not _array_operation(value):
            return f"Invalid operation on custom attribute '{name}'"
    return None


def _array_operation(value: dict[str, Any]) -> bool:
    return (
        bool(value)
        and set(value) <= {"add", "remove"}
        and all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in value.values())
    )


def apply(profile: dict[str, Any], item: dict[str, Any]) -> None:
    """Write an object's attributes to a profile: plain values set, ``{add, remove}`` edit arrays."""
    for name, value in item.items():
        if name in CONTROL:
            continue
        if isinstance(value, dict):
            current = [v for v in profile.get(name) or [] if v not in value.get("remove", [])]
            current += [v for v in value.get("add", []) if v not in current]
            profile[name] = current
        else:
            profile[name] = value
