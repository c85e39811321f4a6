"""Helpers for the identity tests: run one normalizer over literal values and read plain lists back."""

from __future__ import annotations

from hashlib import sha256

import pandas as pd

from audience_pipelines.identity import get_platform, normalize_values


def h(normalized: str) -> str:
    """The expected SHA-256 hex of a literal normalized value (computed here, not by the code under test)."""
    return sha256(normalized.encode("utf-8")).hexdigest()


def plain(series: pd.Series) -> list:
    """Values as a list, with every kind of missing value shown as None."""
    return [None if value is None or (not isinstance(value, str) and pd.isna(value)) else value for value in series]


def norm(platform: str, kind: str, *values, region: str | None = None, countries=None, **settings) -> list:
    """Normalized values (no hashing) of ``values`` as ``kind`` for ``platform``."""
    out, _ = normalize_values(
        pd.Series(list(values), dtype=object),
        kind,
        get_platform(platform, **settings),
        default_region=region,
        countries=None if countries is None else pd.Series(countries, dtype=object),
    )
    return plain(out)


def why(platform: str, kind: str, *values, region: str | None = None, countries=None, **settings) -> list:
    """Drop reasons (None where kept) of ``values`` as ``kind`` for ``platform``."""
    _, reasons = normalize_values(
        pd.Series(list(values), dtype=object),
        kind,
        get_platform(platform, **settings),
        default_region=region,
        countries=None if countries is None else pd.Series(countries, dtype=object),
    )
    return plain(reasons)
