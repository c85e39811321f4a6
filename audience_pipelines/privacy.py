"""Keeping secrets and raw identifiers out of logs, metadata, exceptions and error tables."""

from __future__ import annotations

import re
from collections.abc import Iterable

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


def mask_value(value: str) -> str:
    """A masked sample of an identifier for display: ``jo***@ex***`` or ``65***12``."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:2]}***@{domain[:2]}***"
    if len(value) <= 4:
        return "***"
    return f"{value[:2]}***{value[-2:]}"
