"""Keeping secrets and raw identifiers out of logs, metadata, exceptions and error tables."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_EMAIL = re.compile(r"[^\s\"'<>@,;:()\[\]{}]+@[^\s\"'<>@,;:()\[\]{}]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\w.])\+?\d[\d\s().\-]{6,}\d(?![\w.])")
_QUERY_SECRET = re.compile(r"(?i)((?:access_token|api_key|apikey|token|secret|password|key)=)[^&\s\"']+")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


def mask_secrets(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every known secret value, bearer token and credential-looking query parameter."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = _QUERY_SECRET.sub(r"\1***", text)
    return _BEARER.sub(r"\1***", text)


def scrub_pii(text: str) -> str:
    """Mask email addresses and phone-number-like digit runs in free text from a platform."""
    text = _EMAIL.sub("<email>", text)
    return _PHONE.sub("<phone>", text)


_HEX = re.compile(r"\b[0-9a-fA-F]{16,}\b")
_DATE = re.compile(r"\b\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b")
_QUOTED = re.compile(r"(['\"])(?:(?!\1).){1,200}\1")


def scrub_values(text: str, fields: Mapping[str, object]) -> str:
    """``scrub_pii`` plus every value sent for the member (and each word of it), hashes, dates and quoted text.

    For platform messages about one member: they may quote the member's name, date of birth, phone with an
    extension or its hash, which a pattern alone does not catch.
    """
    values = {str(v) for v in fields.values() if v is not None and len(str(v)) >= 2}
    words = {w for v in values for w in re.split(r"[\s,;]+", v) if len(w) >= 2}
    for value in sorted(values | words, key=len, reverse=True):
        text = re.sub(re.escape(value), "<value>", text, flags=re.IGNORECASE)
    text = _QUOTED.sub("<value>", text)
    text = _HEX.sub("<hash>", text)
    text = _DATE.sub("<date>", text)
    return scrub_pii(text)


def mask_value(value: str) -> str:
    """A masked sample of an identifier for display: ``jo***@ex***`` or ``65***12``."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:2]}***@{domain[:2]}***"
    if len(value) <= 4:
        return "***"
    return f"{value[:2]}***{value[-2:]}"


def describe_error(error: BaseException) -> str:
    """An exception as a message fit for logs and run history: a database error by its PostgreSQL code and
    class only (drivers quote the values and the statement), anything else with PII and secrets scrubbed."""
    original = getattr(error, "orig", None)
    code = getattr(original, "pgcode", None)
    if original is not None and (code is not None or type(original).__module__.startswith("psycopg")):
        return f"warehouse error: PostgreSQL {code or 'connection'} error ({type(original).__name__})"
    text = mask_secrets(scrub_pii(str(error)), ())
    return f"{type(error).__name__}: {text[:500]}" if text else type(error).__name__
