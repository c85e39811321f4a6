"""HubSpot answers: error classification for :class:`HttpClient` and the batch answers' per-input errors.

Errors arrive as ``{"status": "error", "message", "category", "subCategory"?, "correlationId", "context"?}``;
batch answers as ``{"status": "COMPLETE", "results": [...]}`` (200) or with ``"errors": [...]`` too (207).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests

from audience_pipelines.destinations.http import Classifier, retry_after_seconds
from audience_pipelines.destinations.kit import DestinationError, FailureKind
from audience_pipelines.privacy import scrub_pii

DUPLICATE_LIST = "ILS.DUPLICATE_LIST_NAMES"
#: a 429 of the daily quota: waiting seconds does not help, so the run stops and the next one resumes
DAILY_WAIT_SECONDS = 3600.0
SCOPES = "crm.lists.read, crm.lists.write, crm.objects.contacts.read, crm.objects.contacts.write"
_CODE = re.compile(r"^[A-Za-z0-9_.]{1,64}$")


def body_of(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def code(value: object, default: str) -> str:
    """A platform code safe to record (``VALIDATION_ERROR``), else ``default``."""
    return value if isinstance(value, str) and _CODE.match(value) else default


def describe(response: requests.Response) -> str:
    """HubSpot's status, category and message (PII masked, nothing from the request)."""
    body = body_of(response)
    category = code(body.get("subCategory") or body.get("category"), "no category")
    message = body.get("message") or response.text[:200]
    return f"HubSpot HTTP {response.status_code} ({category}): {scrub_pii(str(message))[:300]}"


def classify(response: requests.Response, *, variable: str) -> DestinationError | None:
    """Classify an answer; messages name the token's variable, never its value."""
    status = response.status_code
    if status < 400:
        return None
    detail = describe(response)
    body = body_of(response)
    if status == 429:
        if str(body.get("policyName", "")).upper() == "DAILY":
            return DestinationError(
                FailureKind.THROTTLED, f"daily API quota reached; {detail}", retry_after=DAILY_WAIT_SECONDS, status=429
            )
        return DestinationError(FailureKind.THROTTLED, detail, retry_after=retry_after_seconds(response), status=429)
    if status in (408, 425) or status >= 500:
        return DestinationError(FailureKind.RETRYABLE, detail, retry_after=retry_after_seconds(response), status=status)
    if status == 401:
        hint = f"HubSpot refused the access token in ${variable} (expired, revoked or not a token of this account)"
        return DestinationError(FailureKind.AUTHENTICATION, f"{hint}; {detail}", status=status)
    if status == 403:
        hint = f"the token in ${variable} lacks a scope this destination needs ({SCOPES})"
        return DestinationError(FailureKind.AUTHENTICATION, f"{hint}; {detail}", status=status)
    return DestinationError(FailureKind.PERMANENT, detail, status=status, code=code(body.get("subCategory"), ""))


def classifier(variable: str) -> Classifier:
    return functools.partial(classify, variable=variable)


def error_ids(error: Mapping[str, Any]) -> list[str]:
    """The input ids (emails, lowercased) a per-input error names in ``context.ids``."""
    context = error.get("context")
    ids = context.get("ids") if isinstance(context, dict) else None
    return [i.lower() for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def batch_parts(
    answer: Mapping[str, Any], status: int, sent: Sequence[str], platform: str
) -> tuple[dict[str, str], Callable[[str], Mapping[str, Any]]]:
    """Email -> record id from ``results``, and the error about an email without a result, for a batch answer.

    An error naming the email in ``context.ids`` is its error; else the only error, if there is one.

    A 200 must cover every input; a 207 covers the rest with ``errors``. Results for emails not sent, ids that
    are not record ids, or a shape other than the documented one fail the batch (nothing assumed applied).
    """
    results, errors = answer.get("results"), answer.get("errors", [])

    def broken(why: str) -> DestinationError:
        return DestinationError(
            FailureKind.PERMANENT, f"{platform}: {why} in HTTP {status}; nothing was assumed applied", status=status
        )

    if not isinstance(results, list) or not isinstance(errors, list) or (status == 207) != bool(errors):
        raise broken("not the documented batch answer {results, errors (207 only)}")
    wanted, found = set(sent), {}
    for result in results:
        props = result.get("properties") if isinstance(result, dict) else None
        email = props.get("email") if isinstance(props, dict) else None
        record = result.get("id") if isinstance(result, dict) else None
        if not isinstance(email, str) or email.lower() not in wanted or not str(record).isdigit():
            raise broken("a result without a record id or with an email that was not sent")
        found[email.lower()] = str(record)
    if status == 200 and len(found) != len(wanted):
        raise broken(f"{len(found)} results for {len(wanted)} inputs")
    errors = [error for error in errors if isinstance(error, dict)]
    named = {email: error for error in errors for email in error_ids(error)}
    only = errors[0] if len(errors) == 1 else {}
    return found, lambda email: named.get(email, only)
