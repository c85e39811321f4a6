"""LinkedIn answers: error classification for :class:`HttpClient`, JSON bodies and per-element statuses.

Errors arrive as ``{"status": 4xx, "code": "...", "message": "...", "serviceErrorCode": n}``; batch answers as
``{"elements": [{"status": 201}, {"status": 400, "error": {...}}, ...]}``, one per element sent, in order.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

import requests

from audience_pipelines.destinations.http import Classifier, default_classifier, retry_after_seconds
from audience_pipelines.destinations.kit import DestinationError, FailureKind, Rejection
from audience_pipelines.destinations.linkedin.settings import LinkedInCredentials
from audience_pipelines.privacy import scrub_pii

#: Segment's LinkedIn destination retries these (ref §4); 429 is throttling, the rest transient
RETRYABLE = frozenset({408, 409, 423, 500, 502, 503, 504})
DUPLICATE = "duplicate_segment"
_HASH = re.compile(r"\b[0-9a-fA-F]{32,}\b")
_USERS_PATH = re.compile(r"/dmpSegments/(\d+)/users$")
_SEGMENTS_PATH = re.compile(r"/dmpSegments$")
_CODE = re.compile(r"^[A-Za-z0-9_.]{1,64}$")


def clean(text: object) -> str:
    """A platform message with e-mail, phone and hash lookalikes masked, cut to 300 characters."""
    return _HASH.sub("<hash>", scrub_pii(str(text)))[:300]


def _body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def describe(response: requests.Response) -> str:
    """LinkedIn's status, code and message (nothing from the request)."""
    body = _body(response)
    code = body.get("code") or body.get("serviceErrorCode") or "no code"
    message = body.get("message") or response.text[:200]
    return f"LinkedIn HTTP {response.status_code} ({code}): {clean(message)}"


def _path(response: requests.Response) -> str:
    request = response.request
    return (request.path_url or "").split("?", 1)[0] if request is not None else ""


def classify(
    response: requests.Response, *, names: LinkedInCredentials, version: str, fresh: Callable[[str], bool]
) -> DestinationError | None:
    """Classify a LinkedIn REST answer; messages name environment variables, never their values."""
    status = response.status_code
    if status < 400:
        return None
    detail = describe(response)
    path, method = _path(response), response.request.method if response.request is not None else ""
    if status == 429:  # LinkedIn documents no wait; a Retry-After is honoured if one ever comes
        return DestinationError(FailureKind.THROTTLED, detail, retry_after=retry_after_seconds(response), status=status)
    if status == 409 and method == "POST" and _SEGMENTS_PATH.search(path):
        return DestinationError(FailureKind.PERMANENT, detail, status=status, code=DUPLICATE)
    users = _USERS_PATH.search(path)
    if status == 404 and users and fresh(users.group(1)):
        message = f"segment {users.group(1)} was just created and is not ready yet; {detail}"
        return DestinationError(FailureKind.RETRYABLE, message, status=status)
    if status in RETRYABLE:
        return DestinationError(FailureKind.RETRYABLE, detail, retry_after=retry_after_seconds(response), status=status)
    if status == 401:
        hint = (
            f"LinkedIn refused the access token: renew ${names.refresh_token}, "
            f"or check ${names.client_id} and ${names.client_secret}"
        )
        return DestinationError(FailureKind.AUTHENTICATION, f"{hint}; {detail}", status=status)
    if status == 403:
        hint = (
            f"LinkedIn denied access: the member behind ${names.refresh_token} needs the rw_dmp_segments "
            "permission and a role on settings.ad_account_id"
        )
        return DestinationError(FailureKind.AUTHENTICATION, f"{hint}; {detail}", status=status)
    if status == 426:
        hint = f"LinkedIn-Version {version} is not served (sunset or unknown): set settings.api_version to a live one"
        return DestinationError(FailureKind.PERMANENT, f"{hint}; {detail}", status=status)
    if status >= 500:
        return default_classifier(response)
    return DestinationError(FailureKind.PERMANENT, detail, status=status)


def classifier(names: LinkedInCredentials, version: str, fresh: Callable[[str], bool]) -> Classifier:
    """:func:`classify` bound to the destination's variable names, version and freshly created segments."""
    return functools.partial(classify, names=names, version=version, fresh=fresh)


def element_rejections(answer: dict[str, Any], keys: Sequence[str], platform: str) -> list[Rejection]:
    """One :class:`Rejection` per element whose status is not 2xx; the answer must cover every element sent."""
    elements = answer.get("elements")
    if not isinstance(elements, list) or len(elements) != len(keys):
        count = len(elements) if isinstance(elements, list) else "no"
        raise DestinationError(
            FailureKind.PERMANENT,
            f"{platform}: LinkedIn answered {count} element statuses for {len(keys)} elements sent; "
            "nothing was assumed applied",
        )
    rejected: list[Rejection] = []
    for key, element in zip(keys, elements, strict=True):
        status = element.get("status") if isinstance(element, dict) else None
        if not isinstance(status, int) or isinstance(status, bool):
            raise DestinationError(FailureKind.PERMANENT, f"{platform}: an element status is missing or malformed")
        if 200 <= status < 300:
            continue
        error = element.get("error")
        error = error if isinstance(error, dict) else {"message": error or ""}
        code = error.get("code") if isinstance(error.get("code"), str) and _CODE.match(error["code"]) else None
        rejected.append(Rejection(key, code or f"status_{status}", clean(error.get("message") or f"HTTP {status}")))
    return rejected
