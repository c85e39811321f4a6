"""Text handling every normalizer shares: values read as text, trimmed and NFC-normalized; missing, empty and
placeholder values; dropping values with a reason; computing once per distinct value; letters and marks by
Unicode category."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from audience_pipelines.identity.junk import junk_reasons
from audience_pipelines.identity.types import EMPTY, MISSING, PhoneFormat

Normalized = tuple[pd.Series, pd.Series]


@dataclass(frozen=True)
class Context:
    """What some normalizers need besides the values.

    ``countries`` holds each row's ISO alpha-2 country in upper case (None where unknown), with the values'
    index: a phone number without a country code takes it from there, else from ``default_region``.
    """

    phone_format: PhoneFormat = "e164"
    default_region: str = "US"
    countries: pd.Series | None = None


def nones(index: pd.Index) -> pd.Series:
    return pd.Series(np.full(len(index), None, dtype=object), index=index)


def objects(values: pd.Series) -> pd.Series:
    """Object dtype, with None (never NaN) where a value is missing."""
    out = values.astype(object)
    return out.where(out.notna(), None)


def _to_text(value: object) -> object:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))  # 6505551212.0 from a numeric column
    return str(value)


def as_text(values: pd.Series) -> pd.Series:
    """Each present value as ``str`` (object dtype, None where missing).

    Text passes through untouched. Columns holding other things (numbers, dates, bytes) are converted value by
    value: integral floats lose their ``.0``, bytes are decoded as UTF-8, dates print as ISO ``YYYY-MM-DD``.
    """
    if isinstance(values.dtype, pd.StringDtype) or (
        values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")
    ):
        return objects(values)
    return objects(values.map(_to_text, na_action="ignore"))


_INVISIBLE = r"[\u200b-\u200d\u2060\ufeff]"


def text(values: pd.Series) -> Normalized:
    """Trimmed text in Unicode NFC (a decomposed and a composed "ë" hash alike), zero-width characters
    removed; None/NaN -> ``missing``, blank -> ``empty``, placeholder text (``null``, ``N/A``, ...) and junk
    digests (the SHA-256 of "", all zeros) -> their own codes (``junk.py``)."""
    out = as_text(values)
    missing = out.isna().to_numpy()
    out = out.str.strip()
    special = out.str.isascii().eq(False).to_numpy()
    if special.any():
        fixed = out[special].str.normalize("NFC").str.replace(_INVISIBLE, "", regex=True).str.strip()
        out[special] = fixed.to_numpy()
    empty = out.eq("").to_numpy()
    reasons = junk_reasons(out)
    reasons[missing] = MISSING
    reasons[empty] = EMPTY
    dropped = pd.notna(reasons)
    return out.where(~dropped, None), pd.Series(reasons, index=values.index, dtype=object)


def on_distinct(function: Callable[[pd.Series], Normalized], values: pd.Series) -> Normalized:
    """``function(values)``, computed once per distinct value and mapped back when values repeat a lot
    (countries, states, genders, birth years); the result is the same either way."""
    raw = as_text(values)
    codes, uniques = pd.factorize(raw)
    if len(uniques) > len(raw) // 2:
        return function(raw)
    out, reasons = function(pd.Series(uniques, dtype=object))
    positions = np.where(codes < 0, len(uniques), codes)  # missing values point past the distinct ones
    out_values = np.append(out.to_numpy(dtype=object), np.array([None], dtype=object))
    reason_values = np.append(reasons.to_numpy(dtype=object), np.array([MISSING], dtype=object))
    return (
        pd.Series(out_values[positions], index=values.index, dtype=object),
        pd.Series(reason_values[positions], index=values.index, dtype=object),
    )


def reject(out: pd.Series, reasons: pd.Series, valid: pd.Series, reason: str) -> Normalized:
    """Drop the values not dropped yet (no reason so far) for which ``valid`` is not True, with ``reason``."""
    bad = (reasons.isna() & ~valid.eq(True)).to_numpy()
    if bad.any():
        reasons = reasons.copy()
        reasons[bad] = reason
        out = out.where(~bad, None)
    return out, reasons


# Code points past these are unassigned or private use (categories Cn, Co) except the variation selectors.
_SCANNED = (range(0x32400), range(0xE0000, 0xE0200))


@cache
def category_class(prefixes: str) -> str:
    """A regex character class body matching every code point whose Unicode category starts with one of
    ``prefixes`` (``"LM"``: letters and marks), built from ``unicodedata`` once per process."""
    ranges: list[tuple[int, int]] = []
    for block in _SCANNED:
        for code in block:
            if unicodedata.category(chr(code))[0] in prefixes:
                if ranges and ranges[-1][1] == code - 1:
                    ranges[-1] = (ranges[-1][0], code)
                else:
                    ranges.append((code, code))
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


@cache
def _pattern(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def not_in(prefixes: str, extra: str = "") -> re.Pattern[str]:
    """Runs of characters outside the categories ``prefixes`` (and outside ``extra``, a class body)."""
    return _pattern(f"[^{category_class(prefixes)}{extra}]+")


def nfc(values: pd.Series) -> pd.Series:
    """NFC again where non-ASCII values remain (removing a character can put a mark next to a new base)."""
    special = values.str.isascii().eq(False).to_numpy()
    if not special.any():
        return values
    out = values.copy()
    out[special] = values[special].str.normalize("NFC").to_numpy()
    return out


def letters_only(values: pd.Series) -> pd.Series:
    """Lowercase letters and marks (Unicode L* and M*: combining, spacing and enclosing marks) in any script;
    digits, punctuation, symbols and spaces go. NFC, as the input was."""
    return nfc(values.str.lower().str.replace(not_in("LM"), "", regex=True))


def words(values: pd.Series) -> pd.Series:
    """Lowercase words separated by one space (the key used to look names up in tables)."""
    return values.str.lower().str.replace(not_in("LM"), " ", regex=True).str.strip()
