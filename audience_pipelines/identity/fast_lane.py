"""Fast lanes: the common email or phone number normalized in one plain-Python pass per value.

A lane takes only values whose full normalization it repeats exactly: missing values and blank text (dropped
as ``missing`` / ``empty``), an email in ASCII (valid once trimmed and lowercased, or ``invalid_email``), and a
phone number written in ASCII (the North American shapes directly, plain digits and punctuation through
``phone_reading``). It leaves every other value (placeholders, pre-hashed digests, non-ASCII text, wrapped
emails, numbers in numeric columns, ...) to the vectorized normalizer it sits in front of. The result is the
same either way, and a test runs both over the generated corpora: the lanes exist because most of an
audience is well formed, and a pass of pandas string methods per rule costs more than the whole lane.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import phonenumbers

from audience_pipelines.identity.junk import JUNK
from audience_pipelines.identity.phone_reading import OutOfScope, digits_e164, plain_digits
from audience_pipelines.identity.phones import NANP_IN_REGION, NANP_PLUS_ONE, NANP_REGIONS, e164_reference
from audience_pipelines.identity.text import Context, Normalized
from audience_pipelines.identity.types import EMPTY, INVALID_EMAIL, INVALID_PHONE, MISSING

Normalizer = Callable[[pd.Series, Context], Normalized]


@dataclasses.dataclass(frozen=True)
class Lane:
    """``normalized, reasons, taken, kept = lane(values, context)``: per value, whether the lane took it, and
    then its normalized value (``kept``) or its drop reason; values not taken are left to the full normalizer.
    """

    run: Callable[[np.ndarray, Context], list[object]]

    def __call__(self, values: np.ndarray, context: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        out = self.run(values, context)
        normalized = np.empty(len(out), dtype=object)
        normalized[:] = out
        kept = normalized.astype(bool)  # kept text is never empty, and drop marks are false
        reasons = np.full(len(out), None, dtype=object)
        taken = np.ones(len(out), dtype=bool)
        dropped = np.flatnonzero(~kept)
        if len(dropped):
            marks = normalized[dropped]
            reasons[dropped] = [mark.reason for mark in marks]
            taken[dropped] = [mark is not _SKIP for mark in marks]
            normalized[dropped] = None
        return normalized, reasons, taken, kept


@dataclasses.dataclass(frozen=True)
class _Drop:
    """A value a lane does not keep: dropped with ``reason``, or (``_SKIP``) left to the full normalizer."""

    reason: str | None

    def __bool__(self) -> bool:
        return False


_SKIP = _Drop(None)  # not taken: the full normalizer decides
_UNREAD = _Drop(None)  # a phone number not read yet in this batch
_MISSING, _EMPTY = _Drop(MISSING), _Drop(EMPTY)
_INVALID_EMAIL, _INVALID_PHONE = _Drop(INVALID_EMAIL), _Drop(INVALID_PHONE)
_SHA256_HEX_LENGTH = 64


def _absent(value: object) -> _Drop:
    """``_MISSING`` for None and NaN, else ``_SKIP`` (other values that are not text go to the full path)."""
    return _MISSING if value is None or (type(value) is float and value != value) else _SKIP


# ------------------------------------------------------------------------------------------------ email

#: What an email address must look like once trimmed, lowercased and unwrapped (``normalize.email`` too).
EMAIL = re.compile(r"[^@\s]+@(?:[^@\s.]+\.)+[^@\s.]+")
#: The addresses ``_email`` keeps as they are: ``EMAIL``, and neither wrapped (``mailto:...``, ``...>``) nor
#: with a ``>`` in the top-level domain (those go through ``_email`` itself, which decides as always).
_KEPT_EMAIL = re.compile(r"(?!mailto:)[^@\s]+@(?:[^@\s.]+\.)+[^@\s.>]+")


def _emails(values: np.ndarray, context: Context) -> list[object]:
    """Each value as ``_email`` reads it, the common case (an ASCII address, kept) inline."""
    kept = _KEPT_EMAIL.fullmatch
    return [
        lowered
        if type(value) is str and (text := value.strip()).isascii() and kept(lowered := text.lower()) is not None
        else _MISSING
        if value is None
        else _email(value)
        for value in values
    ]


def _email(value: object) -> object:
    if type(value) is not str:
        return _absent(value)
    text = value.strip()
    if not text:
        return _EMPTY
    if not text.isascii():
        return _SKIP
    lowered = text.lower()
    if lowered.startswith("mailto:") or lowered.endswith(">"):
        return _SKIP  # wrapped: the full normalizer unwraps
    if EMAIL.fullmatch(lowered) is not None:
        return lowered
    if len(text) == _SHA256_HEX_LENGTH or text in JUNK:
        return _SKIP  # maybe a digest or a placeholder: dropped with their own reasons by the full normalizer
    return _INVALID_EMAIL


email_lane = Lane(_emails)

# ------------------------------------------------------------------------------------------------ phone


def _phones(values: np.ndarray, context: Context) -> list[object]:
    """Each value as ``phone_in_context`` normalizes it: North American shapes inline (the common case, one
    regex), the rest through ``_phone``, reading each distinct (region, text) once."""
    regions = row_regions(len(values), context.default_region, context.countries)
    seen: dict[str, str | None] = {}
    without_plus = context.phone_format == "digits_with_country_code"
    one, nanp_regions = ("1" if without_plus else "+1"), NANP_REGIONS
    in_region, plus_one = NANP_IN_REGION.fullmatch, NANP_PLUS_ONE.fullmatch
    return [
        f"{one}{shape[1]}{shape[2]}{shape[3]}"
        if type(value) is str
        and (text := value.strip()).isascii()
        # ASCII text of these shapes: never a placeholder or a digest
        and (shape := in_region(text) if region in nanp_regions else text[:2] == "+1" and plus_one(text))
        else _phone(text, region, seen, without_plus)
        if type(value) is str
        else _absent(value)
        for value, region in zip(values, regions, strict=True)
    ]


def row_regions(rows: int, default_region: str, countries: pd.Series | None) -> np.ndarray:
    """Each row's phone region: its country where phonenumbers knows it, else ``default_region``."""
    if countries is None:
        return np.full(rows, default_region, dtype=object)
    known = countries.isin(phonenumbers.SUPPORTED_REGIONS).to_numpy()
    return np.where(known, countries.to_numpy(dtype=object), default_region)


def _phone(text: str, region: str, seen: dict[str, str | None], without_plus: bool) -> object:
    """A value ``_phones`` did not take as a North American shape, trimmed."""
    if not text:
        return _EMPTY
    key = region + text  # region codes are two letters: no separator needed
    formatted = seen.get(key, _UNREAD)
    if formatted is _UNREAD:
        try:
            plus, digits = plain_digits(text)  # ASCII, at least one digit: never a placeholder or a digest
        except OutOfScope:
            return _SKIP
        try:
            formatted = digits_e164(plus, digits, region)
        except OutOfScope:
            formatted = e164_reference(text, region)
        seen[key] = formatted
    if formatted is None:
        return _INVALID_PHONE
    return formatted[1:] if without_plus else formatted


phone_lane = Lane(_phones)

# ------------------------------------------------------------------------------------------------ merge


def with_fast_lane(lane: Lane, full: Normalizer) -> Normalizer:
    """A normalizer that sends what ``lane`` takes through it and only the rest through ``full``."""

    def normalize(values: pd.Series, context: Context) -> Normalized:
        normalized, reasons, taken, _ = lane(values.to_numpy(dtype=object), context)
        rest = ~taken
        if rest.any():
            part, why = full(values[rest], rest_context(context, rest))
            normalized[rest] = part.to_numpy(dtype=object)
            reasons[rest] = why.to_numpy(dtype=object)
        return pd.Series(normalized, index=values.index, dtype=object), pd.Series(
            reasons, index=values.index, dtype=object
        )

    normalize.__doc__ = full.__doc__
    return normalize


def rest_context(context: Context, rest: np.ndarray) -> Context:
    """``context`` for the rows ``rest`` selects."""
    countries = None if context.countries is None else context.countries[rest]
    return dataclasses.replace(context, countries=countries)
