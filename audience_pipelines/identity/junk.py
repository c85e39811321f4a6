"""Values that stand for "no value": placeholder text, and SHA-256 digests that identify nobody.

Both are dropped for every identifier, with their own reason codes, before any normalizer or hasher sees them.
"""

from __future__ import annotations

from hashlib import sha256

import numpy as np
import pandas as pd

from audience_pipelines.identity.types import DEGENERATE_HASH, HASHED_EMPTY, HASHED_PLACEHOLDER, PLACEHOLDER

#: Placeholder text, compared case-insensitively after trimming: what exports write for a missing value.
PLACEHOLDERS = frozenset(
    {"nan", "none", "null", "undefined", "n/a", "#n/a", "<na>", "-", "--", "---", "\u2013", "\u2014"}
)


def _case_variants(word: str) -> set[str]:
    """Every upper/lower-case spelling of ``word`` ("null", "Null", "nUlL", ...)."""
    variants = {""}
    for char in word:
        variants = {prefix + case for prefix in variants for case in {char.lower(), char.upper()}}
    return variants


def _digest(text: str) -> str:
    return sha256(text.encode()).hexdigest()


#: SHA-256 hex of the empty string and of blanks: upstream systems that hash before checking send these.
EMPTY_DIGESTS = frozenset(_digest(blank) for blank in ("", " ", "\t", "\n"))
#: SHA-256 hex of the placeholders, in the spellings that upstream code produces (``str(None)`` is "None").
PLACEHOLDER_DIGESTS = frozenset(
    _digest(spelling) for word in PLACEHOLDERS for spelling in {word, word.lower(), word.upper(), word.title()}
)
_DEGENERATE = frozenset(char * 64 for char in "0123456789abcdef")

#: Every exact string that is junk, with its reason: one hash lookup per value (``Series.isin``) finds them.
JUNK: dict[str, str] = {
    **{digest: DEGENERATE_HASH for digest in _DEGENERATE},
    **{digest: HASHED_PLACEHOLDER for digest in PLACEHOLDER_DIGESTS},
    **{digest: HASHED_EMPTY for digest in EMPTY_DIGESTS},
}
JUNK.update({digest.upper(): reason for digest, reason in JUNK.items()})
JUNK.update({spelling: PLACEHOLDER for word in PLACEHOLDERS for spelling in _case_variants(word)})


def junk_reasons(values: pd.Series) -> np.ndarray:
    """Per value (trimmed text or None): the junk reason code, or None for a real value. Placeholders match
    in any case; digests in lower or upper case (``digest_reason`` takes any case)."""
    reasons = np.full(len(values), None, dtype=object)
    hit = values.isin(JUNK.keys()).to_numpy()
    if hit.any():
        reasons[hit] = [JUNK[value] for value in values.to_numpy()[hit]]
    return reasons


def digest_reason(value: str) -> str | None:
    """The junk reason of a would-be SHA-256 hex digest (any case), or None if it may identify someone."""
    lowered = value.lower()
    if lowered in EMPTY_DIGESTS:
        return HASHED_EMPTY
    if lowered in PLACEHOLDER_DIGESTS:
        return HASHED_PLACEHOLDER
    if lowered in _DEGENERATE:
        return DEGENERATE_HASH
    return None
