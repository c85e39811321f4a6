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
    text = as_text(values)
    present = text.notna().to_numpy()
    out = pd.Series(np.full(len(text), None, dtype=object), index=values.index)
    if present.any():
        out[present] = [_digest(value) for value in text.to_numpy()[present]]
    return out


def _digest(value: str) -> str:
    if len(value) == 64 and _IS_SHA256_HEX.fullmatch(value):
        if digest_reason(value) is not None:
            raise EmptyIdentifierError("refusing to send a digest that identifies nobody (drop it before hashing)")
        return value.lower()
    if not value or value.isspace():
        raise EmptyIdentifierError("refusing to hash an empty identifier (drop empty values before hashing)")
    return sha256(value.encode("utf-8")).hexdigest()
