"""OAuth2 refresh-token grant shared by destinations that use one (Google Ads, LinkedIn).

The access token is cached until shortly before it expires; every token is handed to ``remember`` so the
API client masks it too. A refusal from the token endpoint is an authentication failure naming the three
variables (never their values).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import requests

from audience_pipelines.destinations.http import HttpClient, default_classifier, json_object
from audience_pipelines.destinations.kit import DestinationError, FailureKind
from audience_pipelines.destinations.settings import DestinationConfig, read_env

#: refresh this long before the token endpoint said the access token expires
EXPIRY_MARGIN_SECONDS = 60.0
DEFAULT_LIFETIME_SECONDS = 3600.0
_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")


class AccessTokens:
    """Access tokens for one destination whose credentials name client_id, client_secret and refresh_token."""

    def __init__(
        self,
        config: DestinationConfig,
        token_url: str,
        *,
        provider: str,
        log: Callable[[str], None],
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        remember: Callable[[str], None],
    ) -> None:
        names: Any = config.credentials  # type: ignore[attr-defined]
        self.names = names
        self.provider = provider
        self.client_id = read_env(config.name, "client_id", names.client_id)
        self.client_secret = read_env(config.name, "client_secret", names.client_secret)
        self.refresh_token = read_env(config.name, "refresh_token", names.refresh_token)
        self.token_url = token_url
        self.clock = clock
        self.remember = remember
        self._token: str | None = None
        self._expires_at = 0.0
        self.http = HttpClient.for_destination(
            config,
            token_url,
            platform=f"{config.type} '{config.name}' OAuth",  # type: ignore[attr-defined]
            classify=self._classify,
            secrets=self.secrets(),
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

    def request(
        self, api: HttpClient, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        """One call to ``api`` with a current access token; a 401 refreshes the token and tries once more."""
        for attempt in (1, 2):
            sent = {**(headers or {}), "Authorization": f"Bearer {self.current()}"}
            try:
                return api.request(method, path, headers=sent, **kwargs)
            except DestinationError as error:
                if error.status != 401 or attempt == 2:
                    raise
                api.log(f"{api.platform}: access token refused (HTTP 401); refreshing it once")
                self.invalidate()
        raise AssertionError("unreachable")

    def refresh(self) -> None:
        """POST the refresh-token grant as a form; the answer is ``{"access_token", "expires_in", ...}``."""
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
        reason = "the refresh token has expired or was revoked; " if code == "invalid_grant" else ""
        names = self.names
        return DestinationError(
            FailureKind.AUTHENTICATION,
            f"{self.provider} OAuth refused the refresh token ({code}, HTTP {response.status_code}): {reason}renew "
            f"${names.refresh_token}, or check ${names.client_id} and ${names.client_secret}",
            status=response.status_code,
            code=code,
        )

    def close(self) -> None:
        self.http.close()
