"""Shared Graph API plumbing for the Meta destinations: error classification, auth and appsecret_proof.

Meta answers errors (HTTP 400, sometimes 401/403/500) with
``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id", ...}}``. Throttling is a 400 with
code 4, 17, 613, 80003 or 80004 and no ``Retry-After``; the wait Meta asks for is
``estimated_time_to_regain_access`` (minutes) in the ``X-Business-Use-Case-Usage`` header.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import requests

from audience_pipelines.destinations.http import Classifier, HttpClient, default_classifier
from audience_pipelines.destinations.kit import DestinationError, FailureKind
from audience_pipelines.destinations.meta.settings import MetaConfig
from audience_pipelines.destinations.settings import read_env
from audience_pipelines.privacy import scrub_pii

THROTTLING_CODES = frozenset({4, 17, 613, 80003, 80004})
TRANSIENT_CODES = frozenset({1, 2})
TOKEN_CODES = frozenset({102, 190})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
UPLOAD_BLOCKED_SUBCODE = 1713230
USAGE_HEADER = "X-Business-Use-Case-Usage"


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """``HMAC-SHA256(key=app_secret, msg=access_token)`` as lowercase hex."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def regain_seconds(response: requests.Response) -> float | None:
    """The longest ``estimated_time_to_regain_access`` (minutes) in the usage header, in seconds.

    None when absent or 0, so the client backs off exponentially instead.
    """
    try:
        usage = json.loads(response.headers.get(USAGE_HEADER) or "{}")
    except ValueError:
        return None
    groups = usage.values() if isinstance(usage, dict) else ()
    entries = [entry for group in groups if isinstance(group, list) for entry in group if isinstance(entry, dict)]
    minutes = [entry.get("estimated_time_to_regain_access") for entry in entries]
    longest = max((m for m in minutes if isinstance(m, int | float) and not isinstance(m, bool)), default=0)
    return float(longest) * 60 if longest > 0 else None


def graph_error(response: requests.Response) -> dict[str, Any] | None:
    """The ``error`` object of a Graph error body, or None when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) and isinstance(error.get("code"), int) else None


def describe(error: dict[str, Any], status: int) -> str:
    """Meta's code, subcode, type, scrubbed message and fbtrace_id (never anything from the request)."""
    code = f"code {error['code']}"
    if error.get("error_subcode") is not None:
        code += f", subcode {error['error_subcode']}"
    text = str(error.get("message", ""))
    if error.get("error_user_title") or error.get("error_user_msg"):
        text += f" [{error.get('error_user_title', '')}: {error.get('error_user_msg', '')}]"
    trace = error.get("fbtrace_id", "-")
    return f"Meta {error.get('type', 'error')} ({code}, HTTP {status}): {scrub_pii(text)} (fbtrace_id {trace})"


def classify(response: requests.Response, *, token_variable: str | None = None) -> DestinationError | None:
    """Classify a Graph API response. ``token_variable`` names where the token comes from (never its value)."""
    status = response.status_code
    if status < 400:
        return None
    error = graph_error(response)
    if error is None:
        return default_classifier(response)
    code, subcode = error["code"], error.get("error_subcode")
    label = f"{code}/{subcode}" if subcode is not None else str(code)
    detail = describe(error, status)
    where = f"${token_variable}" if token_variable else "the destination's access_token variable"
    if code in THROTTLING_CODES:
        return DestinationError(
            FailureKind.THROTTLED, detail, retry_after=regain_seconds(response), status=status, code=label
        )
    if code in TOKEN_CODES:
        expired = f"code {code}" + (f", subcode {subcode}" if subcode is not None else "")
        message = f"Meta access token is invalid or expired ({expired}): renew it in {where}"
        return DestinationError(FailureKind.AUTHENTICATION, f"{message}; {detail}", status=status, code=label)
    if code in PERMISSION_CODES:
        message = f"Meta denied permission (code {code}): check what the token in {where} may access"
        return DestinationError(FailureKind.AUTHENTICATION, f"{message}; {detail}", status=status, code=label)
    if status >= 500 or code in TRANSIENT_CODES or error.get("is_transient") is True:
        return DestinationError(FailureKind.RETRYABLE, detail, status=status, code=label)
    if code == 100 and subcode == UPLOAD_BLOCKED_SUBCODE:
        message = "audience upload blocked by Meta (flagged audience): Meta blocked uploads to this audience"
        detail = f"{message}; create a new audience. {detail}"
        return DestinationError(FailureKind.PERMANENT, detail, status=status, code=label)
    return DestinationError(FailureKind.PERMANENT, detail, status=status, code=label)


def classifier(token_variable: str) -> Classifier:
    """:func:`classify` bound to the name of the token's environment variable."""
    return functools.partial(classify, token_variable=token_variable)


def graph_client(
    config: MetaConfig,
    *,
    log: Callable[[str], None] = lambda message: None,
    sleep: Callable[[float], None] = time.sleep,
) -> HttpClient:
    """A client rooted at ``{base_url}/{api_version}``: Bearer token, and appsecret_proof when configured."""
    credentials = config.credentials
    token = read_env(config.name, "access_token", credentials.access_token)
    secret = read_env(config.name, "app_secret", credentials.app_secret) if credentials.app_secret else None
    proof = appsecret_proof(secret, token) if secret else None
    client = HttpClient.for_destination(
        config,
        f"{config.resolved_base_url()}/{config.settings.api_version}",
        platform=f"{config.type} '{config.name}'",
        classify=classifier(credentials.access_token),
        headers={"Authorization": f"Bearer {token}"},
        secrets=[token, secret, proof],
        log=log,
        sleep=sleep,
    )
    if proof:
        client.session.params = {"appsecret_proof": proof}
    return client


def json_body(response: requests.Response, platform: str) -> dict[str, Any]:
    """A successful response's JSON object; a permanent error when Meta answered anything else."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DestinationError(FailureKind.PERMANENT, f"{platform}: expected a JSON object from Meta")
    return body


class MetaGraphClient:
    """Shared by the Meta clients: built from a config, one Graph API session per run."""

    def __init__(
        self,
        config: Any,
        *,
        log: Callable[[str], None] = lambda message: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.log = log
        self.http = graph_client(config, log=log, sleep=sleep)

    @property
    def platform(self) -> str:
        """How messages name this destination, e.g. ``meta_custom_audiences 'ads'``."""
        return self.http.platform

    def close(self) -> None:
        self.http.close()
