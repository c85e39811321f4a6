"""What Meta's Graph API errors mean, and the client every Meta destination shares."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any, ClassVar

import requests

from audience_pipelines.config import read_env
from audience_pipelines.destinations.base import DestinationError, FailureKind
from audience_pipelines.destinations.http import HttpClient, RetryPolicy
from audience_pipelines.privacy import scrub_pii

THROTTLING_CODES = frozenset({4, 17, 613, 80003, 80004})
TRANSIENT_CODES = frozenset({1, 2})
PERMISSION_CODES = frozenset({10, 200})
INVALID_TOKEN = 190
UPLOAD_BLOCKED_SUBCODE = 1713230


def regain_seconds(response: requests.Response) -> float | None:
    """``estimated_time_to_regain_access`` (minutes) from ``X-Business-Use-Case-Usage``, in seconds."""
    raw = response.headers.get("X-Business-Use-Case-Usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
        minutes = [
            float(entry.get("estimated_time_to_regain_access") or 0) for entries in usage.values() for entry in entries
        ]
    except (ValueError, AttributeError, TypeError):
        return None
    longest = max(minutes, default=0.0)
    return longest * 60 if longest > 0 else None


def classifier(token_variable: str) -> Callable[[requests.Response], DestinationError | None]:
    """Classify Graph API responses; messages name the token's variable, never the token."""

    def classify(response: requests.Response) -> DestinationError | None:
        if response.status_code < 400:
            return None
        try:
            error = response.json().get("error") or {}
        except ValueError:
            error = {}
        code, subcode = error.get("code"), error.get("error_subcode")
        detail = (
            f"Meta error {code}{f'/{subcode}' if subcode else ''} (HTTP {response.status_code}, "
            f"fbtrace_id {error.get('fbtrace_id', '-')}): {scrub_pii(str(error.get('message', response.text[:200])))}"
        )
        if code in THROTTLING_CODES:
            return DestinationError(
                FailureKind.THROTTLED, detail, retry_after=regain_seconds(response), status=response.status_code,
                code=str(code),
            )  # fmt: skip
        if response.status_code >= 500 or code in TRANSIENT_CODES:
            return DestinationError(FailureKind.RETRYABLE, detail, status=response.status_code, code=str(code))
        if code == INVALID_TOKEN:
            return DestinationError(
                FailureKind.AUTHENTICATION,
                f"Meta access token is invalid or expired: renew it in ${token_variable}. {detail}",
                status=response.status_code,
                code=str(code),
            )
        if code in PERMISSION_CODES:
            return DestinationError(
                FailureKind.AUTHENTICATION,
                f"the token in ${token_variable} lacks a permission this call needs. {detail}",
                status=response.status_code,
                code=str(code),
            )
        if subcode == UPLOAD_BLOCKED_SUBCODE:
            return DestinationError(
                FailureKind.PERMANENT,
                f"Meta blocked uploads to this audience (flagged audience): create a new one. {detail}",
                status=response.status_code,
                code="upload_blocked",
            )
        return DestinationError(FailureKind.PERMANENT, detail, status=response.status_code, code=str(code))

    return classify


class MetaGraphDestination:
    """Shared by the Meta destinations: built from a config, one Graph API client per run."""

    identity_platform: ClassVar[str] = "meta"

    def __init__(
        self, config: Any, *, log: Callable[[str], None] = lambda m: None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.config = config
        self.http = graph_client(config, log=log, sleep=sleep)

    def close(self) -> None:
        self.http.close()


def graph_client(config, *, log: Callable[[str], None], sleep: Callable[[float], None]) -> HttpClient:
    """An HTTP client for ``{base_url}/{api_version}`` with the bearer token (and appsecret_proof if configured)."""
    credentials = config.credentials
    token = read_env(config.name, "access_token", credentials.access_token)
    app_secret = read_env(config.name, "app_secret", credentials.app_secret) if credentials.app_secret else None
    client = HttpClient(
        f"{config.resolved_base_url()}/{config.settings.api_version}",
        platform=f"Meta ({config.name})",
        classify=classifier(credentials.access_token),
        headers={"Authorization": f"Bearer {token}"},
        secrets=[token, app_secret],
        retry=RetryPolicy.from_settings(config.retry),
        timeout=(config.retry.connect_timeout_seconds, config.retry.read_timeout_seconds),
        log=log,
        sleep=sleep,
    )
    if app_secret:
        proof = hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        client.session.params = {"appsecret_proof": proof}
    return client
