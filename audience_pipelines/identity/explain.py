"""What happens to one value for one platform (behind ``audience-pipelines identifiers normalize``)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from audience_pipelines.identity.hashing import sha256_hex
from audience_pipelines.identity.prepare import normalize_values
from audience_pipelines.identity.rules import get_platform
from audience_pipelines.identity.types import IdentifierType


@dataclass(frozen=True)
class Explanation:
    normalized: str | None
    hashed: str | None
    reason: str | None
    hashed_by_platform: bool


def explain(platform: str, identifier: str, value: str, default_region: str = "US") -> Explanation:
    """Normalize ``value`` as ``identifier`` for ``platform`` and hash it if the platform hashes it."""
    rules = get_platform(platform)
    try:
        kind = IdentifierType(identifier)
    except ValueError:
        known = ", ".join(i.value for i in IdentifierType)
        raise ValueError(f"unknown identifier type {identifier!r}; known: {known}") from None
    normalized, reasons = normalize_values(pd.Series([value], dtype=object), kind, rules, default_region=default_region)
    result = normalized.iloc[0]
    if result is None or pd.isna(result):
        return Explanation(None, None, reasons.iloc[0], rules.hashes(kind))
    hashed = sha256_hex(pd.Series([result], dtype=object)).iloc[0] if rules.hashes(kind) else None
    return Explanation(str(result), hashed, None, rules.hashes(kind))
