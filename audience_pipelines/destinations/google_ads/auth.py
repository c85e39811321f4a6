"""OAuth2 for Google Ads: the refresh-token grant, with the access token cached until shortly before expiry."""

from __future__ import annotations

import re
from collections.abc import Callable

import requests

from audience_pipelines.destinations.google_ads.errors import json_object
from audience_pipelines.destinations.google_ads.settings import GoogleAdsConfig
from audience_pipelines.destinations.http import HttpClient, RetryPolicy, default_classifier
from audience_pipelines.destinations.kit import DestinationError, FailureKind
from audience_pipelines.destinations.settings import read_env

#: refresh this long before the token endpoint said the access token expires
EXPIRY_MARGIN_SECONDS = 60.0
DEFAULT_LIFETIME_SECONDS = 3600.0
_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")


class AccessTokens:
    """Access tokens for one destination; ``remember`` is told every new token so it can be masked."""

    def __init__(
        self,
        config: GoogleAdsConfig,
        *,
        log: Callable[[str], None],
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        remember: Callable[[str], None],
    ) -> None:
        names = config.credentials
        self.names = names
        self.client_id = read_env(config.name, "client_id", names.client_id)
        self.client_secret = read_env(config.name, "client_secret", names.client_secret)
        self.refresh_token = read_env(config.name, "refresh_token", names.refresh_token)
        self.token_url = config.resolved_token_url()
        self.clock = clock
        self.remember = remember
        self._token: str | None = None
        self._expires_at = 0.0
        self.http = HttpClient(
            self.token_url,
            platform=f"google_ads '{config.name}' OAuth",
            classify=self._classify,
            secrets=self.secrets(),
            retry=RetryPolicy.from_settings(config.retry),
            timeout=(config.retry.connect_timeout_seconds, config.retry.read_timeout_seconds),
            log=log,
            sleep=sleep,
        )

    def secrets(self) -> list[str]:
        return [self.client_secret, self.refresh_token, self.client_id]

    def current(self) -> str:
        """A valid access token, refreshed when it is about to expire."""
        if self._token is None or self.clock() >= self._expires_at - EXPIRY_MARGIN_SECONDS:
            self.refresh()
        assert self._token is not None
        return self._token

    def invalidate(self) -> None:
        """Forget the cached token (the API refused it)."""
        self._token = None

    def refresh(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }
        response = self.http.request("POST", self.token_url, data=form, headers={"Accept": "application/json"})
        answer = json_object(response, self.http.platform)
        token, lifetime = answer.get("access_token"), answer.get("expires_in", DEFAULT_LIFETIME_SECONDS)
        if not isinstance(token, str) or not token or not isinstance(lifetime, int | float):
            raise DestinationError(FailureKind.PERMANENT, f"{self.http.platform}: answer without an access_token")
        self.remember(token)
        self.http.secrets.append(token)
        self._token = token
        self._expires_at = self.clock() + float(lifetime)

    def _classify(self, response: requests.Response) -> DestinationError | None:
        if response.status_code not in (400, 401, 403):
            return default_classifier(response)
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = body.get("error") if isinstance(body, dict) else None
        code = code if isinstance(code, str) and _ERROR_CODE.match(code) else "refused"
        names = self.names
        return DestinationError(
            FailureKind.AUTHENTICATION,
            f"Google OAuth refused the refresh token ({code}, HTTP {response.status_code}): renew "
            f"${names.refresh_token}, or check ${names.client_id} and ${names.client_secret}",
            status=response.status_code,
            code=code,
        )

    def close(self) -> None:
        self.http.close()
