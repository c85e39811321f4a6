"""Salesforce answers: error classification for :class:`HttpClient` and per-record SaveResults.

Errors arrive as a JSON array ``[{"message", "errorCode"}]``; sObject Collections answer 200 with one
``{"id", "success", "errors": [{"statusCode", "message", "fields"}]}`` per record, in request order.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import requests

from audience_pipelines.destinations.http import Classifier, default_classifier, retry_after_seconds
from audience_pipelines.destinations.kit import DestinationError, FailureKind
from audience_pipelines.destinations.salesforce.settings import SalesforceCredentials
from audience_pipelines.privacy import scrub_pii

REQUEST_LIMIT = "REQUEST_LIMIT_EXCEEDED"
_CODE = re.compile(r"^[A-Z_]{1,64}$")
_ID = re.compile(r"\b[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?\b")
_QUOTED = re.compile(r"'[^']{0,200}'")


def clean(text: object) -> str:
    """A platform message with e-mails, phones and quoted values masked, cut to 300 characters."""
    return _QUOTED.sub("'…'", scrub_pii(str(text)))[:300]


def first_error(response: requests.Response) -> tuple[str, str]:
    """The ``errorCode`` and message of an error answer (an array, rarely an object)."""
    try:
        body: Any = response.json()
    except ValueError:
        return "no code", clean(response.text[:200])
    item = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else body
    if not isinstance(item, dict):
        return "no code", ""
    code = item.get("errorCode") or item.get("error")
    code = code if isinstance(code, str) and _CODE.match(code.upper()) else "no code"
    return code, clean(item.get("message") or item.get("error_description") or "")


def classify(response: requests.Response, *, names: SalesforceCredentials) -> DestinationError | None:
    """Classify a REST answer; messages name environment variables, never their values."""
    status = response.status_code
    if status < 400:
        return None
    code, message = first_error(response)
    detail = f"Salesforce HTTP {status} ({code}): {message}"
    if code == REQUEST_LIMIT:
        # the org's rolling 24-hour API allocation: no wait is given and retrying only spends more of it
        return DestinationError(FailureKind.PERMANENT, detail, status=status, code=code)
    if status == 401:
        hint = (
            f"Salesforce refused the session: renew ${names.refresh_token}, or check ${names.client_id} "
            f"and ${names.client_secret}"
        )
        return DestinationError(FailureKind.AUTHENTICATION, f"{hint}; {detail}", status=status, code=code)
    if status == 403:
        hint = f"Salesforce denied access: the user behind ${names.refresh_token} needs API and campaign permissions"
        return DestinationError(FailureKind.AUTHENTICATION, f"{hint}; {detail}", status=status, code=code)
    if status == 429 or status >= 500:
        error = default_classifier(response)
        assert error is not None
        error.message = detail
        error.retry_after = retry_after_seconds(response)
        error.code = code
        return error
    return DestinationError(FailureKind.PERMANENT, detail, status=status, code=code)


def classifier(names: SalesforceCredentials) -> Classifier:
    return functools.partial(classify, names=names)


def save_results(answer: Any, count: int, platform: str) -> list[tuple[str | None, str | None, str]]:
    """``(id, error code, message)`` per record sent (code None on success); a mismatch is a failure."""
    if not isinstance(answer, list) or len(answer) != count:
        found = len(answer) if isinstance(answer, list) else "no"
        raise DestinationError(
            FailureKind.PERMANENT,
            f"{platform}: Salesforce answered {found} results for {count} records sent; nothing was assumed applied",
        )
    results: list[tuple[str | None, str | None, str]] = []
    for item in answer:
        if not isinstance(item, dict) or not isinstance(item.get("success"), bool):
            raise DestinationError(FailureKind.PERMANENT, f"{platform}: a SaveResult is missing or malformed")
        record_id = item.get("id") if isinstance(item.get("id"), str) else None
        if item["success"]:
            if record_id is None:
                raise DestinationError(FailureKind.PERMANENT, f"{platform}: a successful SaveResult has no id")
            results.append((record_id, None, ""))
            continue
        errors = item.get("errors")
        error = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        code = error.get("statusCode")
        code = code if isinstance(code, str) and _CODE.match(code) else "UNKNOWN_ERROR"
        results.append((record_id, code, clean(error.get("message") or code)))
    return results


def query_records(answer: Any, platform: str) -> tuple[list[dict[str, Any]], str | None]:
    """A query answer's records and its ``nextRecordsUrl`` (None when done)."""
    if not isinstance(answer, dict):
        raise DestinationError(FailureKind.PERMANENT, f"{platform}: a query answer is not a JSON object")
    records = answer.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) and isinstance(r.get("Id"), str) for r in records):
        raise DestinationError(FailureKind.PERMANENT, f"{platform}: a query answer has no well-formed records")
    following = answer.get("nextRecordsUrl") if answer.get("done") is False else None
    if answer.get("done") is False and not (isinstance(following, str) and following.startswith("/services/data/")):
        raise DestinationError(FailureKind.PERMANENT, f"{platform}: an unfinished query answer has no nextRecordsUrl")
    return records, following


def valid_id(value: object, prefix: str | None = None) -> bool:
    """A 15- or 18-character record id (with the object's key prefix, if given)."""
    return isinstance(value, str) and bool(_ID.fullmatch(value)) and (prefix is None or value.startswith(prefix))


def require_ids(ids: Sequence[str], platform: str) -> None:
    if not all(valid_id(i) for i in ids):
        raise DestinationError(FailureKind.PERMANENT, f"{platform}: Salesforce returned a malformed record id")
