"""SHA-256 of normalized identifiers, with already-hashed values passed through."""

from __future__ import annotations

import re
from hashlib import sha256

import numpy as np
import pandas as pd

from audience_pipelines.identity.junk import digest_reason
from audience_pipelines.identity.text import as_text

_SHA256_HEX = r"[0-9a-fA-F]{64}"
_IS_SHA256_HEX = re.compile(_SHA256_HEX)


class EmptyIdentifierError(ValueError):
    """An empty or blank string, or a junk digest (the SHA-256 of "", all zeros), reached the hasher: the
    normalizers should have dropped it (a bug upstream).

    Raised instead of hashing or passing through, so ``sha256("")`` (a value that matches nobody, and the same
    for everybody) can never be sent.
    """


def is_sha256_hex(values: pd.Series) -> pd.Series:
    """Whether each value already is a SHA-256 hex digest: exactly 64 hex characters, any case."""
    present = values.notna().to_numpy()
    out = pd.Series(False, index=values.index)
    if present.any():
        out[present] = values[present].astype(str).str.fullmatch(_SHA256_HEX).to_numpy()
    return out


def sha256_hex(values: pd.Series) -> pd.Series:
    """Lowercase hex SHA-256 of each value's UTF-8 bytes; 64-hex values pass through lowercased.

    Missing values stay missing (None). A blank string or a junk digest raises :class:`EmptyIdentifierError`.
    """
    text = as_text(values).to_numpy()
    present = pd.notna(text)
    out = np.full(len(text), None, dtype=object)
    if present.any():
        # The plain case inline (no call per value); anything 64 long, empty or blank goes through _digest.
        out[present] = [
            sha256(value.encode()).hexdigest() if len(value) != 64 and value and not value.isspace() else _digest(value)
            for value in text[present]
        ]
    return pd.Series(out, index=values.index, dtype=object)


_PREHASHED = re.compile(r"\s*[0-9a-fA-F]{64}\s*")


def looks_prehashed(values: np.ndarray) -> np.ndarray:
    """Per value (text or None): 64 hex characters, maybe with surrounding whitespace."""
    return np.fromiter(
        (value is not None and len(value) >= 64 and _PREHASHED.fullmatch(value) is not None for value in values),
        dtype=bool,
        count=len(values),
    )


def _digest(value: str) -> str:
    if len(value) == 64 and _IS_SHA256_HEX.fullmatch(value):
        if digest_reason(value) is not None:
            raise EmptyIdentifierError("refusing to send a digest that identifies nobody (drop it before hashing)")
        return value.lower()
    if not value or value.isspace():
        raise EmptyIdentifierError("refusing to hash an empty identifier (drop empty values before hashing)")
    return sha256(value.encode("utf-8")).hexdigest()
