"""Mailchimp answers: error classification for :class:`HttpClient` and per-member errors of batch answers.

Errors arrive as ``application/problem+json`` ``{"type", "title", "status", "detail", "instance"}``; rate
limiting is a 429 (or, at high volume, a bare 403 without that body) with no ``Retry-After``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

import requests

from audience_pipelines.destinations.http import Classifier, default_classifier, retry_after_seconds
from audience_pipelines.destinations.kit import DestinationError, FailureKind
from audience_pipelines.privacy import scrub_pii

_HEX = re.compile(r"\b[0-9a-fA-F]{32,}\b")
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
Failures = dict[str, tuple[str, str]]  # lower-cased email -> (reason code, scrubbed message)


def clean(text: object, *addresses: str) -> str:
    """Platform text with the given addresses, emails, phone-like runs and hashes masked, at most 300 characters."""
    text = str(text)
    for address in addresses:
        if address:
            text = re.sub(re.escape(address), "<email>", text, flags=re.IGNORECASE)
    return _HEX.sub("<hash>", scrub_pii(text))[:300]


def _problem(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def classify(response: requests.Response, *, variable: str) -> DestinationError | None:
    """Classify an answer; messages name the API key's variable, never its value."""
    status = response.status_code
    if status < 400:
        return None
    problem = _problem(response)
    detail = (
        f"Mailchimp HTTP {status} ({clean(problem.get('title') or 'no title')}): {clean(problem.get('detail', ''))}"
    )
    if status == 429 or (status == 403 and not problem.get("title")):
        # no Retry-After is documented: exponential backoff (one would be honoured if it came)
        return DestinationError(
            FailureKind.THROTTLED,
            f"{detail} (throttled: at most 10 simultaneous connections)",
            retry_after=retry_after_seconds(response),
            status=status,
        )
    if status == 401:
        hint = f"Mailchimp refused the API key in ${variable} (invalid, revoked, or of another data center)"
        return DestinationError(FailureKind.AUTHENTICATION, f"{hint}; {detail}", status=status)
    if status == 403:
        hint = f"Mailchimp denied the API key in ${variable} access to this resource"
        return DestinationError(FailureKind.AUTHENTICATION, f"{hint}; {detail}", status=status)
    if status == 404:
        hint = "check settings.list_id (an existing audience) and the sync's target tag id"
        return DestinationError(FailureKind.PERMANENT, f"{detail}; {hint}", status=status)
    if status >= 500 or status == 408:
        return default_classifier(response)
    return DestinationError(FailureKind.PERMANENT, detail, status=status)


def classifier(variable: str) -> Classifier:
    return functools.partial(classify, variable=variable)


def _not_documented(platform: str, what: str) -> DestinationError:
    return DestinationError(
        FailureKind.PERMANENT, f"{platform}: {what}; nothing of this batch is recorded as delivered"
    )


def _lists(answer: Mapping[str, Any], names: tuple[str, ...], counts: tuple[str, ...]) -> bool:
    return all(isinstance(answer.get(n), list) for n in names) and all(type(answer.get(c)) is int for c in counts)


def subscribe_failures(answer: Mapping[str, Any], sent: set[str], platform: str) -> Failures:
    """Per-member errors of a batch subscribe answer, by email; anything undocumented is a failure."""
    if not _lists(answer, ("new_members", "updated_members", "errors"), ("error_count",)):
        raise _not_documented(platform, "the batch subscribe answer lacks new_members / updated_members / errors")
    failures: Failures = {}
    for error in answer["errors"]:
        email = error.get("email_address") if isinstance(error, dict) else None
        if not isinstance(email, str) or email.strip().lower() not in sent:
            raise _not_documented(platform, "the batch subscribe answer names an error for an address not sent")
        code = error.get("error_code")
        reason = code.lower() if isinstance(code, str) and _CODE.match(code) else "rejected_by_mailchimp"
        field = f" ({error['field']}: {error.get('field_message', '')})" if error.get("field") else ""
        failures[email.strip().lower()] = (reason, clean(f"{error.get('error', '')}{field}", email))
    if answer["error_count"] != len(answer["errors"]):
        raise _not_documented(platform, "the batch subscribe answer's error_count does not match its errors")
    return failures


def segment_failures(answer: Mapping[str, Any], sent: set[str], platform: str) -> Failures:
    """Per-member errors of a static segment batch answer (``{"email_addresses": [...], "error"}``)."""
    names = ("members_added", "members_removed", "errors")
    if not _lists(answer, names, ("total_added", "total_removed", "error_count")):
        raise _not_documented(platform, "the segment batch answer lacks members_added / members_removed / errors")
    failures: Failures = {}
    for error in answer["errors"]:
        emails = error.get("email_addresses") if isinstance(error, dict) else None
        if not isinstance(emails, list) or not all(isinstance(e, str) and e.strip().lower() in sent for e in emails):
            raise _not_documented(platform, "the segment batch answer names an error for an address not sent")
        for email in emails:
            failures[email.strip().lower()] = ("segment_error", clean(error.get("error", ""), *emails))
    return failures
