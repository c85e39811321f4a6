"""SHA-256 of normalized identifiers, with already-hashed values passed through."""

from __future__ import annotations

import hashlib

import pandas as pd

_SHA256_HEX = r"[0-9a-fA-F]{64}"


def is_sha256_hex(values: pd.Series) -> pd.Series:
    """Whether each value already is a SHA-256 hex digest (64 hex characters, any case)."""
    return values.astype(object).where(values.notna(), "").astype(str).str.fullmatch(_SHA256_HEX)


def sha256_hex(values: pd.Series) -> pd.Series:
    """Lowercase hex SHA-256 of each value's UTF-8 bytes; 64-hex values pass through lowercased.

    Missing values stay missing. An empty string is a bug upstream (empty identifiers are dropped before
    hashing) and raises, so ``sha256("")`` can never leave the process.
    """
    present = values.notna()
    if (values[present].astype(str) == "").any():
        raise ValueError("refusing to hash an empty identifier (drop empty values before hashing)")
    already = is_sha256_hex(values) & present
    out = pd.Series(None, index=values.index, dtype=object)
    out[already] = values[already].astype(str).str.lower()
    todo = present & ~already
    out[todo] = [hashlib.sha256(v.encode("utf-8")).hexdigest() for v in values[todo].astype(str)]
    return out
