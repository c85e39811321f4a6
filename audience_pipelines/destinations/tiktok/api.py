"""Shared Business API plumbing for the TikTok destinations: the ``Access-Token`` session and the envelope.

TikTok answers HTTP 200 with ``{"code", "message", "request_id", "data"}``; only ``code == 0`` is success.
Code 40100 throttles (TikTok gives no wait, so the client backs off); 40104 / 40105 (and HTTP 401/403) are
token errors that fail fast naming the token's variable; every other code is permanent. A 200 whose body is
not that envelope is a failure, never taken as success.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import requests

from audience_pipelines.destinations.http import Classifier, HttpClient, default_classifier
from audience_pipelines.destinations.kit import DestinationError, FailureKind
from audience_pipelines.destinations.settings import read_env
from audience_pipelines.destinations.tiktok.settings import TikTokConfig
from audience_pipelines.privacy import scrub_pii

THROTTLED_CODE = 40100
TOKEN_CODES = frozenset({40104, 40105})


def envelope(response: requests.Response) -> dict[str, Any] | None:
    """The JSON envelope of a response, or None when the body is not one (no integer ``code``)."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    return body if isinstance(code, int) and not isinstance(code, bool) else None


def describe(body: dict[str, Any]) -> str:
    """TikTok's code, scrubbed message and request id (never anything from the request)."""
    message = scrub_pii(str(body.get("message") or "no message"))[:300]
    return f"TikTok code {body['code']}: {message} (request_id {body.get('request_id') or '-'})"


def classify(response: requests.Response, *, token_variable: str) -> DestinationError | None:
    """Classify a Business API response by HTTP status, then by the envelope's ``code``."""
    status = response.status_code
    where = f"${token_variable}"
    if status in (401, 403):
        message = f"TikTok refused the access token (HTTP {status}): renew the token in {where}"
        return DestinationError(FailureKind.AUTHENTICATION, message, status=status)
    if status >= 400:
        return default_classifier(response)
    body = envelope(response)
    if body is None:
        message = (
            f"TikTok answered HTTP {status} without its JSON envelope (an integer 'code'); "
            "nothing of this request is recorded as done"
        )
        return DestinationError(FailureKind.PERMANENT, message, status=status)
    code = body["code"]
    if code == 0:
        return None
    detail = describe(body)
    if code == THROTTLED_CODE:
        return DestinationError(FailureKind.THROTTLED, f"{detail}; backing off", status=status, code=str(code))
    if code in TOKEN_CODES:
        message = f"TikTok access token is missing, invalid or expired (code {code}): renew it in {where}; {detail}"
        return DestinationError(FailureKind.AUTHENTICATION, message, status=status, code=str(code))
    return DestinationError(FailureKind.PERMANENT, detail, status=status, code=str(code))


def classifier(token_variable: str) -> Classifier:
    """:func:`classify` bound to the name of the token's environment variable."""
    return functools.partial(classify, token_variable=token_variable)


class TikTokApiClient:
    """Shared by the TikTok clients: one ``Access-Token`` session per run, paths under ``/open_api/{version}``."""

    def __init__(
        self,
        config: Any,
        *,
        log: Callable[[str], None] = lambda message: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config: TikTokConfig = config
        self.log = log
        variable = config.credentials.access_token
        token = read_env(config.name, "access_token", variable)
        self.http = HttpClient.for_destination(
            config,
            config.resolved_base_url(),
            platform=f"{config.type} '{config.name}'",
            classify=classifier(variable),
            headers={"Access-Token": token, "Content-Type": "application/json"},
            secrets=[token],
            log=log,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.platform})"

    @property
    def platform(self) -> str:
        """How messages name this destination, e.g. ``tiktok_audiences 'ads'``."""
        return self.http.platform

    def path(self, endpoint: str) -> str:
        """``/open_api/{version}/{endpoint}/`` (TikTok paths end with a slash)."""
        return f"/open_api/{self.config.settings.api_version}/{endpoint.strip('/')}/"

    def call(self, method: str, endpoint: str, **kwargs: Any) -> dict[str, Any]:
        """Send and return the envelope's ``data`` object (``{}`` when absent); failures raise."""
        response = self.http.request(method, self.path(endpoint), **kwargs)
        body = envelope(response) or {}
        data = body.get("data")
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise DestinationError(FailureKind.PERMANENT, f"{self.platform}: TikTok's 'data' is not an object")
        return data

    def close(self) -> None:
        self.http.close()
