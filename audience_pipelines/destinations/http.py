"""HTTP for destinations: one ``requests.Session`` per run, timeouts, TLS verification, and retries
driven by each platform's own rate-limit signals."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from audience_pipelines.destinations.kit import DestinationError, FailureKind
from audience_pipelines.destinations.settings import DestinationConfig, RetrySettings
from audience_pipelines.privacy import mask_secrets, scrub_pii

Classifier = Callable[[requests.Response], DestinationError | None]


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying: exponential backoff, or exactly the wait the platform asks for.

    A platform that asks for a longer wait than ``max_wait`` ends the run with a throttled failure
    instead of holding a worker; the next run resumes from the ledger.
    """

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_wait: float = 300.0

    @classmethod
    def from_settings(cls, settings: RetrySettings) -> RetryPolicy:
        """The policy a destination's ``retry:`` block describes."""
        return cls(
            settings.max_attempts, settings.base_delay_seconds, settings.max_delay_seconds, settings.max_wait_seconds
        )

    def backoff(self, attempt: int) -> float:
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)


def retry_after_seconds(response: requests.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), if present."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # unreadable: back off as if the platform had said nothing
    return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def redirect_error(response: requests.Response) -> DestinationError | None:
    """A 3xx is never followed (credentials must not travel to another address) and never success."""
    if not 300 <= response.status_code < 400:
        return None
    target = requests.utils.urlparse(response.headers.get("Location", "")).netloc or "an unnamed address"
    return DestinationError(
        FailureKind.PERMANENT,
        f"HTTP {response.status_code}: the destination redirects to {target}; redirects are not followed, "
        "so set the destination's base_url to the final address",
        status=response.status_code,
    )


def default_classifier(response: requests.Response) -> DestinationError | None:
    """Generic HTTP semantics; platforms override where their contract differs."""
    status = response.status_code
    if status < 400:
        return None
    detail = scrub_pii(response.text[:300])
    if status == 429:
        return DestinationError(
            FailureKind.THROTTLED,
            f"HTTP 429: {detail}",
            retry_after=retry_after_seconds(response),
            status=status,
        )
    if status in (408, 425) or status >= 500:
        return DestinationError(
            FailureKind.RETRYABLE,
            f"HTTP {status}: {detail}",
            retry_after=retry_after_seconds(response),
            status=status,
        )
    if status in (401, 403):
        return DestinationError(FailureKind.AUTHENTICATION, f"HTTP {status}: {detail}", status=status)
    return DestinationError(FailureKind.PERMANENT, f"HTTP {status}: {detail}", status=status)


class RateLimiter:
    """Client-side pacing to a platform's documented limit: at most ``rate`` requests per ``per`` seconds,
    with bursts up to ``burst``, so a big sync does not live on 429s. Waits go through the injected sleep."""

    def __init__(
        self,
        rate: float,
        per: float = 1.0,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = per / rate
        self.capacity = float(burst or max(1, int(rate)))
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock()

    def wait_time(self) -> float:
        """Seconds to wait before the next request may go (taking its slot)."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) / self.interval)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        wait = (1 - self.tokens) * self.interval
        self.tokens = 0.0
        self.updated = now + wait
        return wait


class HttpClient:
    """Sends requests to one platform with retries; every message it produces has secrets masked."""

    def __init__(
        self,
        base_url: str,
        *,
        platform: str,
        classify: Classifier = default_classifier,
        headers: dict[str, str] | None = None,
        secrets: Sequence[str | None] = (),
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (5.0, 60.0),
        log: Callable[[str], None] = lambda message: None,
        sleep: Callable[[float], None] = time.sleep,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.rate_limiter = rate_limiter
        self.platform = platform
        self.classify = classify
        self.secrets = [s for s in secrets if s]
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.log = log
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        self.requests_sent = 0
        self.retries = 0

    @classmethod
    def for_destination(cls, config: DestinationConfig, base_url: str, **kwargs: Any) -> HttpClient:
        """A client with the destination's retry budget and timeouts (its ``retry:`` block)."""
        retry = config.retry
        timeout = (retry.connect_timeout_seconds, retry.read_timeout_seconds)
        return cls(base_url, retry=RetryPolicy.from_settings(retry), timeout=timeout, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers_per_attempt: Callable[[], dict[str, str]] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send, retrying retryable and throttled failures; raise :class:`DestinationError` otherwise.

        ``headers_per_attempt`` builds headers afresh for every attempt (a signature over a new timestamp).
        """
        url = path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"
        for attempt in range(1, self.retry.max_attempts + 1):
            if headers_per_attempt is not None:
                kwargs["headers"] = headers_per_attempt()
            error = self._attempt(method, url, kwargs)
            if isinstance(error, requests.Response):
                return error
            if error.kind in (FailureKind.AUTHENTICATION, FailureKind.PERMANENT):
                raise error
            wait = error.retry_after if error.retry_after is not None else self.retry.backoff(attempt)
            if attempt == self.retry.max_attempts:
                raise DestinationError(
                    error.kind,
                    f"{self.platform}: gave up after {attempt} attempts; last error: {error.message}",
                    status=error.status,
                    code=error.code,
                )
            if wait > self.retry.max_wait:
                raise DestinationError(
                    FailureKind.THROTTLED,
                    f"{self.platform} asks to wait {wait:.0f}s, longer than max_wait "
                    f"({self.retry.max_wait:.0f}s); the next run resumes from the ledger ({error.message})",
                    retry_after=wait,
                    status=error.status,
                    code=error.code,
                )
            self.retries += 1
            self.log(
                f"{self.platform}: {error.kind.value} ({error.message}); "
                f"retry {attempt}/{self.retry.max_attempts - 1} in {wait:.1f}s"
            )
            self.sleep(wait)
        raise AssertionError("unreachable")

    def _attempt(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response | DestinationError:
        if self.rate_limiter is not None and (pause := self.rate_limiter.wait_time()) > 0:
            self.sleep(pause)
        self.requests_sent += 1
        try:
            response = self.session.request(method, url, timeout=self.timeout, allow_redirects=False, **kwargs)
        except requests.exceptions.SSLError:
            host = requests.utils.urlparse(url).netloc
            raise DestinationError(
                FailureKind.PERMANENT,
                f"{self.platform}: the TLS certificate of {host} could not be verified; verification is never "
                "switched off, so fix the certificate (or the CA bundle) and rerun",
            ) from None
        except (requests.Timeout, requests.ConnectionError) as exc:
            return DestinationError(FailureKind.RETRYABLE, self._mask(f"{type(exc).__name__}: {exc}"))
        except requests.RequestException as exc:
            raise DestinationError(FailureKind.PERMANENT, self._mask(f"{type(exc).__name__}: {exc}")) from None
        error = redirect_error(response) or self.classify(response)
        if error is None:
            return response
        error.message = self._mask(error.message)
        error.args = (error.message,)  # repr() and tracebacks show args: keep them masked too
        return error

    def _mask(self, text: str) -> str:
        return mask_secrets(text, self.secrets)

    def close(self) -> None:
        self.session.close()


def json_object(response: requests.Response, platform: str) -> dict[str, Any]:
    """A 2xx answer's JSON object; anything else (empty, HTML, text, a list) is a permanent failure."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        raise DestinationError(
            FailureKind.PERMANENT,
            f"{platform}: expected a JSON object, got HTTP {response.status_code} {kind}; nothing was assumed sent",
            status=response.status_code,
        )
    return body
