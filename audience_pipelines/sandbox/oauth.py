"""The token endpoint of a fake OAuth2 provider, shared by fakes of APIs that use the refresh-token grant.

It checks the client id and secret and the refresh token, issues expiring access tokens, and can expire or
revoke them, so tests can drive refresh-on-expiry, refresh-on-401 and ``invalid_grant``.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Literal, Self

from audience_pipelines.sandbox.server import FORM_CONTENT_TYPE, BodyError, Request, Response

REFRESH_CREDENTIALS = ("client_id", "client_secret", "refresh_token")
TokenState = Literal["live", "expired", "invalid"]


def fresh_credentials(names: Iterable[str], label: str = "test") -> dict[str, str]:
    """Random credential values: fakes never carry a fixed secret."""
    return {name: f"{label}-{name.replace('_', '-')}-{secrets.token_urlsafe(12)}" for name in names}


def sandbox_credentials(prefix: str, names: Iterable[str]) -> dict[str, str]:
    """Credentials from ``<prefix><NAME>`` variables, set to fresh random values where absent."""
    values = {}
    for name, fresh in fresh_credentials(names, "sandbox").items():
        values[name] = os.environ.setdefault(prefix + name.upper(), fresh)
    return values


class FakeTokenEndpoint:
    """Refresh-token grants for one client; ``answer`` adds provider-specific fields to a granted token."""

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        lifetime: float,
        token_prefix: str,
        clock: Callable[[], float],
        answer: Mapping[str, Any] | None = None,
    ) -> None:
        self.credentials = credentials
        self.lifetime = lifetime
        self.token_prefix = token_prefix
        self.clock = clock
        self.answer = dict(answer or {})
        self.requests = 0
        self.issued: list[str] = []
        self._expiry: dict[str, float] = {}
        self._revoked = False
        self._lock = threading.Lock()

    def grant(self, request: Request) -> Response:
        """Answer ``POST <token url>`` with a form body carrying the refresh-token grant."""
        if request.method != "POST" or request.content_type != FORM_CONTENT_TYPE:
            return Response(400, {"error": "invalid_request", "error_description": "POST a form."})
        try:
            form = request.form()
        except BodyError:
            return Response(400, {"error": "invalid_request", "error_description": "Bad form body."})
        with self._lock:
            self.requests += 1
            if form.get("grant_type") != "refresh_token":
                return Response(400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant."})
            client_ok = form.get("client_id") == self.credentials["client_id"]
            if not client_ok or form.get("client_secret") != self.credentials["client_secret"]:
                return Response(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
            if self._revoked or form.get("refresh_token") != self.credentials["refresh_token"]:
                description = "The refresh token is invalid, expired or revoked"
                return Response(400, {"error": "invalid_grant", "error_description": description})
            token = self.token_prefix + secrets.token_urlsafe(24)
            self._expiry[token] = self.clock() + self.lifetime
            self.issued.append(token)
        return Response(200, {"access_token": token, "expires_in": int(self.lifetime), **self.answer})

    def state(self, authorization: str | None) -> TokenState:
        """Whether an ``Authorization: Bearer`` header carries a live, an expired or an unknown token."""
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            expiry = self._expiry.get(token) if scheme == "Bearer" else None
        if expiry is None:
            return "invalid"
        return "live" if self.clock() < expiry else "expired"

    def expire(self) -> None:
        """Every access token issued so far stops working (the refresh token still works)."""
        with self._lock:
            self._expiry.clear()

    def revoke(self) -> None:
        """The refresh token stops working too: every later grant is ``invalid_grant``."""
        with self._lock:
            self._revoked = True
            self._expiry.clear()


class OAuthCredentialsFake:
    """Mixin for fakes whose clients authenticate with credentials from environment variables: the
    ``ContractFake`` parts about them (``for_tests``, ``for_sandbox``, ``environment``, ``secrets``).

    A fake sets ``credential_fields``, ``test_prefix`` and ``sandbox_prefix``, and
    takes ``credentials`` and ``env_prefix`` in its constructor; ``tokens`` is its :class:`FakeTokenEndpoint`.
    """

    credential_fields: ClassVar[tuple[str, ...]] = REFRESH_CREDENTIALS
    test_prefix: ClassVar[str]
    sandbox_prefix: ClassVar[str]
    url_env: ClassVar[str]
    credentials: dict[str, str]
    env_prefix: str
    tokens: FakeTokenEndpoint

    @classmethod
    def for_tests(cls) -> Self:
        return cls(fresh_credentials(cls.credential_fields), env_prefix=cls.test_prefix)  # type: ignore[call-arg]

    @classmethod
    def for_sandbox(cls) -> Self:
        fake = cls(  # type: ignore[call-arg]
            sandbox_credentials(cls.sandbox_prefix, cls.credential_fields), env_prefix=cls.sandbox_prefix
        ).start()
        os.environ[cls.url_env] = fake.base_url
        return fake

    def variable(self, name: str) -> str:
        """The environment variable a credential is read from."""
        return self.env_prefix + name.upper()

    def credential_variables(self) -> dict[str, str]:
        """credentials block of a destination pointing at this fake: credential -> variable name."""
        return {name: self.variable(name) for name in self.credential_fields}

    def environment(self) -> dict[str, str]:
        return {self.variable(name): self.credentials[name] for name in self.credential_fields}

    def secrets(self) -> list[str]:
        return [self.credentials[name] for name in self.credential_fields] + list(self.tokens.issued)
