"""Braze answers: error classification for :class:`HttpClient` and the /users/track acknowledgement.

Success is ``201 {"message": "success", "attributes_processed": n}``; per-object errors come in the same 201
as ``"errors": [{"type": "<why>", "input_array": "attributes", "index": i}]``.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests

from audience_pipelines.destinations.http import Classifier, default_classifier, retry_after_seconds
from audience_pipelines.destinations.kit import DestinationError, FailureKind, Rejection
from audience_pipelines.privacy import scrub_pii, scrub_values

_SLUG = re.compile(r"[^a-z0-9]+")


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    text = body.get("message") if isinstance(body, dict) else None
    return scrub_pii(str(text or response.text[:200]))[:300]


def reset_wait(response: requests.Response, clock: Callable[[], float]) -> float | None:
    """Seconds until ``X-RateLimit-Reset`` (UTC epoch seconds); a ``Retry-After`` if that is absent."""
    try:
        reset = float(response.headers.get("X-RateLimit-Reset", ""))
    except ValueError:
        return retry_after_seconds(response)
    return max(0.0, reset - clock())


def classify(response: requests.Response, *, variable: str, clock: Callable[[], float]) -> DestinationError | None:
    """Braze semantics; messages name the key's environment variable, never its value."""
    status = response.status_code
    if status < 400:
        return None
    detail = f"Braze HTTP {status}: {_message(response)}"
    if status == 429:
        return DestinationError(FailureKind.THROTTLED, detail, retry_after=reset_wait(response, clock), status=status)
    if status == 401:
        hint = f"Braze refused the REST API key in ${variable} (wrong, revoked, or another cluster's key)"
        return DestinationError(FailureKind.AUTHENTICATION, f"{hint}; {detail}", status=status)
    if status == 403:
        hint = f"the REST API key in ${variable} lacks the users.track permission (or the IP is not allowed)"
        return DestinationError(FailureKind.AUTHENTICATION, f"{hint}; {detail}", status=status)
    error = default_classifier(response)
    if error is not None:
        error.message = detail
    return error


def classifier(variable: str, clock: Callable[[], float] = time.time) -> Classifier:
    """:func:`classify` bound to the API key's variable name."""
    return functools.partial(classify, variable=variable, clock=clock)


def _failure(platform: str, what: str) -> DestinationError:
    return DestinationError(
        FailureKind.PERMANENT, f"{platform}: {what}; nothing of this batch is recorded as delivered"
    )


def rejections(
    response: requests.Response, keys: Sequence[str], sent: Sequence[Mapping[str, str]], platform: str
) -> list[Rejection]:
    """The members of a 201 answer's per-object errors; any other 2xx answer is a failure."""
    try:
        answer: Any = response.json()
    except ValueError:
        answer = None
    if response.status_code != 201 or not isinstance(answer, dict) or not isinstance(answer.get("message"), str):
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        raise _failure(platform, f"expected 201 with a JSON 'message', got HTTP {response.status_code} {kind}")
    errors = answer.get("errors", [])
    if answer["message"] != "success" and not errors:
        raise _failure(platform, f"Braze answered {scrub_pii(answer['message'])[:100]!r} without errors")
    if not isinstance(errors, list):
        raise _failure(platform, "Braze's 'errors' is not a list")
    found: dict[int, Rejection] = {}
    for error in errors:
        error = error if isinstance(error, dict) else {}
        index = error.get("index")
        if error.get("input_array") != "attributes" or type(index) is not int or not 0 <= index < len(keys):
            raise _failure(platform, "a Braze error does not point at an attributes object that was sent")
        text = scrub_values(str(error.get("type") or "rejected"), sent[index])[:300]
        reason = _SLUG.sub("_", text.lower()).strip("_")[:64] or "rejected"
        found.setdefault(index, Rejection(keys[index], reason, text))
    return list(found.values())
