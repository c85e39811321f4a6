"""The OAuth2 refresh-token grant for Salesforce: the shared flow, keeping the answer's ``instance_url``."""

from __future__ import annotations

from audience_pipelines.destinations.http import json_object
from audience_pipelines.destinations.kit import DestinationError, FailureKind
from audience_pipelines.destinations.oauth import DEFAULT_LIFETIME_SECONDS, AccessTokens
from audience_pipelines.destinations.settings import url_problem


class SalesforceTokens(AccessTokens):
    """Salesforce answers ``{"access_token", "instance_url", ...}`` (no ``expires_in``: the org's session
    timeout applies, so the token is kept an hour and a 401 refreshes it early)."""

    instance_url: str | None = None

    def refresh(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }
        response = self.http.request("POST", self.token_url, data=form, headers={"Accept": "application/json"})
        answer = json_object(response, self.http.platform)
        token, instance = answer.get("access_token"), answer.get("instance_url")
        if not isinstance(token, str) or not token:
            raise DestinationError(FailureKind.PERMANENT, f"{self.http.platform}: answer without an access_token")
        if not isinstance(instance, str) or url_problem(instance) or "?" in instance or "#" in instance:
            raise DestinationError(
                FailureKind.PERMANENT, f"{self.http.platform}: answer without a usable https instance_url"
            )
        lifetime = answer.get("expires_in", DEFAULT_LIFETIME_SECONDS)
        lifetime = float(lifetime) if isinstance(lifetime, int | float) else DEFAULT_LIFETIME_SECONDS
        self.remember(token)
        self.http.secrets.append(token)
        self.instance_url = instance.rstrip("/")
        self._token = token
        self._expires_at = self.clock() + lifetime
