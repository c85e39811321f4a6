"""What happens to one value for one platform (behind ``audience-pipelines identifiers normalize``)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from audience_pipelines.identity.prepare import identifier_type, prepare_column
from audience_pipelines.identity.rules import get_platform
from audience_pipelines.identity.text import Context


@dataclass(frozen=True)
class Explanation:
    """One value through one platform's rules: the normalized value and its SHA-256 (None when the platform
    sends it unhashed), or the reason it is dropped; and whether the platform hashes this identifier."""

    normalized: str | None
    hashed: str | None
    reason: str | None
    hashed_by_platform: bool


def explain(platform: str, identifier: str, value: str, default_region: str = "US") -> Explanation:
    """Normalize ``value`` as ``identifier`` for ``platform`` exactly as a sync would, and hash it if the
    platform hashes it. Unknown platforms and identifier types raise ValueError listing the known ones."""
    rules = get_platform(platform, default_region=default_region)
    kind = identifier_type(identifier)
    hashes = rules.hashes(kind)
    context = Context(rules.phone_format, rules.default_region)
    normalized, sent, reasons = prepare_column(pd.Series([value], dtype=object), kind, rules, context)
    if reasons.iloc[0] is not None:
        return Explanation(None, None, reasons.iloc[0], hashes)
    return Explanation(normalized.iloc[0], sent.iloc[0] if hashes else None, None, hashes)
