"""Google Ads answers: error classification for :class:`HttpClient`, retry delays and partial failures.

Errors arrive as ``{"error": {"code", "message", "status", "details": [{"@type": "...GoogleAdsFailure",
"errors": [{"errorCode": {"<category>": "<VALUE>"}, "message", "location", "details"}], "requestId"}]}}``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import requests

from audience_pipelines.destinations.google_ads.settings import GoogleAdsCredentials
from audience_pipelines.destinations.http import Classifier, default_classifier, retry_after_seconds
from audience_pipelines.destinations.kit import DestinationError, FailureKind, Rejection
from audience_pipelines.privacy import scrub_pii

THROTTLE_CODES = frozenset({"RESOURCE_EXHAUSTED", "RESOURCE_TEMPORARILY_EXHAUSTED"})
TRANSIENT_CODES = frozenset({"CONCURRENT_MODIFICATION", "INTERNAL_ERROR", "TRANSIENT_ERROR", "DEADLINE_EXCEEDED"})
DATA_TERMS = "CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS"
NAME_TAKEN = "NAME_ALREADY_USED"
_SHA256 = re.compile(r"\b[0-9a-fA-F]{64}\b")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def clean(text: object) -> str:
    """A platform message with e-mail, phone and SHA-256 lookalikes masked, cut to 300 characters."""
    return _SHA256.sub("<sha256>", scrub_pii(str(text)))[:300]


def duration_seconds(value: object) -> float | None:
    """A protobuf Duration in JSON (``"30s"``, ``"1.5s"``) in seconds."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    return float(match.group(1)) if match else None


def failures(status_body: dict[str, Any]) -> list[dict[str, Any]]:
    """The GoogleAdsFailure ``errors`` inside a google.rpc.Status body (``error`` or ``partialFailureError``)."""
    found: list[dict[str, Any]] = []
    for detail in status_body.get("details") or []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("GoogleAdsFailure"):
            found.extend(error for error in detail.get("errors") or [] if isinstance(error, dict))
    return found


def error_code(error: dict[str, Any]) -> tuple[str, str]:
    """``("databaseError", "CONCURRENT_MODIFICATION")`` from one error's ``errorCode``."""
    codes = error.get("errorCode")
    if isinstance(codes, dict) and codes:
        category, value = next(iter(codes.items()))
        return str(category), str(value)
    return "unknown", "UNKNOWN"


def _envelope(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def describe(envelope: dict[str, Any], status: int) -> str:
    """Google's status, error codes, first message and request id (nothing from the request)."""
    errors = failures(envelope)
    codes = ", ".join(dict.fromkeys(f"{c}.{v}" for c, v in map(error_code, errors))) or "no error code"
    message = errors[0].get("message") if errors else envelope.get("message")
    request_ids = [d.get("requestId") for d in envelope.get("details") or [] if isinstance(d, dict)]
    request_id = next((r for r in request_ids if r), "-")
    name = envelope.get("status", "error")
    return f"Google Ads {name} (HTTP {status}; {codes}): {clean(message or '')} (request {request_id})"


def _retry_delay(errors: list[dict[str, Any]]) -> float | None:
    for error in errors:
        details = error.get("details")
        quota = details.get("quotaErrorDetails") if isinstance(details, dict) else None
        if isinstance(quota, dict) and (delay := duration_seconds(quota.get("retryDelay"))) is not None:
            return delay
    return None


def classify(response: requests.Response, *, names: GoogleAdsCredentials) -> DestinationError | None:
    """Classify a Google Ads API answer; messages name environment variables, never their values."""
    status = response.status_code
    if status < 400:
        return None
    envelope = _envelope(response)
    if envelope is None:
        return default_classifier(response)
    errors = failures(envelope)
    codes = {value for _, value in map(error_code, errors)}
    categories = {category for category, _ in map(error_code, errors)}
    detail = describe(envelope, status)
    first = next(iter(sorted(codes)), None)
    if status == 429 or codes & THROTTLE_CODES or envelope.get("status") == "RESOURCE_EXHAUSTED":
        delay = _retry_delay(errors)
        delay = delay if delay is not None else retry_after_seconds(response)
        return DestinationError(FailureKind.THROTTLED, detail, retry_after=delay, status=status, code=first)
    if DATA_TERMS in codes:
        message = (
            "Google refused the Customer Match upload: the customer has not accepted the customer data terms, "
            "or settings.consent (ad_user_data / ad_personalization) is DENIED. Accept the terms in Google Ads "
            "and set settings.consent to GRANTED where you have consent"
        )
        return DestinationError(FailureKind.PERMANENT, f"{message}; {detail}", status=status, code=DATA_TERMS)
    if codes & TRANSIENT_CODES or status >= 500:
        return DestinationError(FailureKind.RETRYABLE, detail, status=status, code=first)
    if status in (401, 403) or categories & {"authenticationError", "authorizationError"}:
        return DestinationError(FailureKind.AUTHENTICATION, f"{_auth_hint(codes, names)}; {detail}", status=status)
    return DestinationError(FailureKind.PERMANENT, detail, status=status, code=first)


def _auth_hint(codes: set[str], names: GoogleAdsCredentials) -> str:
    if any("DEVELOPER_TOKEN" in code for code in codes):
        return f"Google Ads refused the developer token: check ${names.developer_token}"
    if codes & {"USER_PERMISSION_DENIED", "INVALID_LOGIN_CUSTOMER_ID_SERVING_CUSTOMER_ID_COMBINATION"}:
        manager = f"${names.login_customer_id}" if names.login_customer_id else "credentials.login_customer_id"
        return (
            "Google Ads denied access to settings.customer_id: the OAuth user needs access to it, "
            f"directly or through the manager account in {manager}"
        )
    return (
        "Google Ads refused the OAuth credentials: check "
        f"${names.client_id}, ${names.client_secret} and ${names.refresh_token}"
    )


def classifier(names: GoogleAdsCredentials) -> Classifier:
    """:func:`classify` bound to the destination's credential variable names."""
    return functools.partial(classify, names=names)


def _operation_index(error: dict[str, Any]) -> int | None:
    location = error.get("location")
    elements = location.get("fieldPathElements") if isinstance(location, dict) else None
    for element in elements or []:
        if isinstance(element, dict) and element.get("fieldName") == "operations":
            index = element.get("index")
            return index if isinstance(index, int) and not isinstance(index, bool) else None
    return None


def partial_rejections(answer: dict[str, Any], keys: Sequence[str], platform: str) -> list[Rejection]:
    """One :class:`Rejection` per failed operation in ``partialFailureError``, keyed by member key."""
    status = answer.get("partialFailureError")
    if status is None or status == {}:
        return []
    if not isinstance(status, dict):
        raise DestinationError(FailureKind.PERMANENT, f"{platform}: malformed partialFailureError")
    errors = failures(status)
    if not errors and status.get("code") not in (None, 0):
        raise DestinationError(FailureKind.PERMANENT, f"{platform}: partial failure without error details")
    rejected: dict[int, Rejection] = {}
    for error in errors:
        index = _operation_index(error)
        if index is None or not 0 <= index < len(keys):
            raise DestinationError(
                FailureKind.PERMANENT,
                f"{platform}: a partial failure names operation {index!r}, outside this batch of {len(keys)}",
            )
        if index not in rejected:
            rejected[index] = Rejection(keys[index], error_code(error)[1], clean(error.get("message", "")))
    return [rejected[index] for index in sorted(rejected)]
