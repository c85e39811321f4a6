"""The identity layer's entry point: normalize a batch of identifiers for one platform, hash the ones the
platform hashes, drop empty or invalid values and say why.

Raw values never appear in an exception or a repr from here: errors name fields, columns and counts only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from hashlib import sha256
from typing import TypeVar

import numpy as np
import pandas as pd

from audience_pipelines.identity.fast_lane import rest_context
from audience_pipelines.identity.hashing import EmptyIdentifierError, looks_prehashed, sha256_hex
from audience_pipelines.identity.junk import digest_reason
from audience_pipelines.identity.normalize import FAST_LANES, FULL_NORMALIZERS, NORMALIZERS, row_countries
from audience_pipelines.identity.rules import PlatformRules, get_platform
from audience_pipelines.identity.text import Context, Normalized, as_text
from audience_pipelines.identity.types import MISSING, IdentifierType

T = TypeVar("T")

#: Drop reasons left out of ``drop_counts()`` by default: the member simply has no such value.
NOT_COUNTED = frozenset({MISSING})


def identifier_type(name: str | IdentifierType) -> IdentifierType:
    """``IdentifierType(name)``, with an error that lists the known types."""
    try:
        return IdentifierType(name)
    except ValueError:
        known = ", ".join(i.value for i in IdentifierType)
        raise ValueError(f"unknown identifier type {name!r}; known: {known}") from None


@dataclass(frozen=True)
class FieldSpec:
    """One destination field: the audience column that feeds it and the kind of identifier that column holds.

    ``fields={"EMAIL": FieldSpec("email", IdentifierType.EMAIL)}`` sends the ``email`` column as ``EMAIL``. The
    identifier may be given by name (``FieldSpec("mail", "email")``).
    """

    column: str
    identifier: IdentifierType

    def __post_init__(self) -> None:
        object.__setattr__(self, "identifier", identifier_type(self.identifier))


class IdentifierError(ValueError):
    """Preparing a field failed. The message names the field, its column and the error type, never a value."""


@dataclass(frozen=True, repr=False)
class PreparedIdentifiers:
    """A batch's identifiers, ready to send. Every frame and series has the input's index.

    ``values``: one column per destination field, the normalized value (SHA-256 hex where the platform hashes
    it), None where dropped. ``drop_reasons``: same shape, the reason code where dropped, else None.
    ``usable``: whether enough survived to match the person (one of the platform's ``match_keys``).
    ``normalized``: the normalized values before hashing, only when asked for (``keep_normalized=True``).
    """

    values: pd.DataFrame
    drop_reasons: pd.DataFrame
    usable: pd.Series
    normalized: pd.DataFrame | None = None

    def drop_counts(self, *, include_missing: bool = False) -> dict[str, int]:
        """``"field:reason" -> count`` of dropped values, for run metadata (``missing`` only when asked)."""
        counts: dict[str, int] = {}
        for field in self.drop_reasons.columns:
            for reason, count in self.drop_reasons[field].value_counts().items():
                if include_missing or reason not in NOT_COUNTED:
                    counts[f"{field}:{reason}"] = int(count)
        return counts

    def __repr__(self) -> str:  # no values: they are personal data, hashed or not
        fields = ", ".join(map(str, self.values.columns))
        return (
            f"PreparedIdentifiers(rows={len(self.values)}, fields=[{fields}], usable={int(self.usable.sum())}, "
            f"dropped={self.drop_counts()})"
        )


def prepare_column(
    raw: pd.Series, identifier: IdentifierType, rules: PlatformRules, context: Context
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(normalized, sent, reasons)`` for one column: ``sent`` is the SHA-256 of ``normalized`` where the platform
    hashes ``identifier``, else ``normalized`` itself. Values already SHA-256 hex pass through (lowercased) in
    hashed fields. Email and phone values go through a fast lane first (``fast_lane.py``); the values it does
    not take (and every other identifier) take the full path."""
    normalized, sent, reasons, _ = _column_arrays(raw, identifier, rules, context)
    index = raw.index
    return (
        pd.Series(normalized, index=index, dtype=object),
        pd.Series(sent, index=index, dtype=object),
        pd.Series(reasons, index=index, dtype=object),
    )


def _column_arrays(
    raw: pd.Series, identifier: IdentifierType, rules: PlatformRules, context: Context
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``prepare_column`` as arrays, with a fourth: whether each value was kept (sent)."""
    lane = FAST_LANES.get(rules.normalizer(identifier))
    if lane is None:
        plain, out, why = _prepare_fully(raw, identifier, rules, context)
        sent = out.to_numpy(dtype=object)
        return plain.to_numpy(dtype=object), sent, why.to_numpy(dtype=object), pd.notna(sent)
    normalized, reasons, taken, kept = lane(raw.to_numpy(dtype=object), context)
    sent = normalized.copy()
    if rules.hashes(identifier):
        # Lane values are never blank and never 64 characters long: nothing for _digest's checks to catch.
        sent[kept] = [sha256(value.encode()).hexdigest() for value in normalized[kept]]
    rest = ~taken
    if rest.any():
        plain, part, why = _prepare_fully(raw[rest], identifier, rules, rest_context(context, rest))
        part_sent = part.to_numpy(dtype=object)
        normalized[rest], sent[rest], reasons[rest] = plain.to_numpy(dtype=object), part_sent, why.to_numpy(object)
        kept[rest] = pd.notna(part_sent)
    return normalized, sent, reasons, kept


def _prepare_fully(
    raw: pd.Series, identifier: IdentifierType, rules: PlatformRules, context: Context
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``prepare_column`` through the vectorized normalizer alone."""
    normalize = FULL_NORMALIZERS[rules.normalizer(identifier)]
    if not rules.hashes(identifier):
        normalized, reasons = normalize(raw, context)
        return normalized, normalized, reasons
    text = as_text(raw)
    prehashed = looks_prehashed(text.to_numpy())
    if not prehashed.any():
        normalized, reasons = normalize(raw, context)
    else:
        normalized, reasons = normalize(raw.where(~prehashed, None), context)
        normalized, reasons = normalized.copy(), reasons.copy()
        digests = text[prehashed].str.strip().str.lower()
        junk = np.array([digest_reason(value) for value in digests.to_numpy()], dtype=object)
        normalized[prehashed] = digests.where(pd.isna(junk), None).to_numpy()
        reasons[prehashed] = junk
    return normalized, sha256_hex(normalized), reasons


def normalize_values(
    values: pd.Series,
    identifier: IdentifierType | str,
    rules: PlatformRules | str,
    *,
    default_region: str | None = None,
    countries: pd.Series | None = None,
) -> Normalized:
    """Normalize one column by the platform's rule for ``identifier``, without hashing: ``(values, reasons)``.

    ``countries`` (same index, names or codes) gives each row's country for phone numbers and US ZIP codes.
    """
    rules = _rules(rules, default_region)
    context = Context(rules.phone_format, rules.default_region, None if countries is None else row_countries(countries))
    return NORMALIZERS[rules.normalizer(identifier_type(identifier))](values, context)


def prepare_identifiers(
    frame: pd.DataFrame,
    fields: Mapping[str, FieldSpec],
    platform: PlatformRules | str,
    *,
    default_region: str | None = None,
    country_column: str | None = None,
    keep_normalized: bool = False,
) -> PreparedIdentifiers:
    """Normalize each field's column for ``platform``, hash what the platform hashes, drop empty or invalid values.

    ``frame`` columns are audience column names; ``fields`` maps each destination field name to a
    :class:`FieldSpec` (source column and identifier type). ``country_column`` names a column holding each
    row's country: phone numbers without a country code take it (else ``default_region``, by default the
    platform's, US unless overridden), and US rows must carry 5-digit ZIPs. ``keep_normalized`` also returns
    the values before hashing. Errors name fields and columns, never values.
    """
    rules = _rules(platform, default_region)
    needed = {spec.column for spec in fields.values()} | ({country_column} if country_column else set())
    absent = sorted(needed - set(frame.columns))
    if absent:
        raise KeyError(f"the batch has no column(s) {absent} (fields: {sorted(fields)})")
    body = frame.reset_index(drop=True)
    countries = None
    if country_column:
        countries = _guarded(f"country column {country_column!r}", lambda: row_countries(body[country_column]))
    context = Context(rules.phone_format, rules.default_region, countries)
    values: dict[str, np.ndarray] = {}
    reasons: dict[str, np.ndarray] = {}
    normalized: dict[str, np.ndarray] = {}
    kept: dict[str, np.ndarray] = {}
    for field, spec in fields.items():
        normalized[field], values[field], reasons[field], kept[field] = _guarded(
            f"field {field!r} (column {spec.column!r})",
            lambda spec=spec: _column_arrays(body[spec.column], spec.identifier, rules, context),
        )
    columns = list(fields)
    return PreparedIdentifiers(
        values=pd.DataFrame(values, index=frame.index, columns=columns, dtype=object),
        drop_reasons=pd.DataFrame(reasons, index=frame.index, columns=columns, dtype=object),
        usable=pd.Series(_usable(kept, len(frame), fields, rules), index=frame.index, name="usable"),
        normalized=pd.DataFrame(normalized, index=frame.index, columns=columns, dtype=object)
        if keep_normalized
        else None,
    )


def _rules(platform: PlatformRules | str, default_region: str | None) -> PlatformRules:
    rules = get_platform(platform) if isinstance(platform, str) else platform
    return rules.with_settings(default_region=default_region)


def _guarded(what: str, work: Callable[[], T]) -> T:
    """Run ``work``; an unexpected error becomes an IdentifierError naming ``what`` and the error type only
    (the original message and traceback may quote a value, so they are not chained)."""
    try:
        return work()
    except EmptyIdentifierError:
        raise
    except Exception as error:
        raise IdentifierError(f"{what}: preparing identifiers failed ({type(error).__name__})") from None


def _usable(
    kept: Mapping[str, np.ndarray], rows: int, fields: Mapping[str, FieldSpec], rules: PlatformRules
) -> np.ndarray:
    """Rows where every identifier of at least one of the platform's match-key sets survived (``kept``: per
    field, whether each row's value survived)."""
    survived: dict[IdentifierType, np.ndarray] = {}
    for field, spec in fields.items():
        survived[spec.identifier] = survived.get(spec.identifier, np.zeros(rows, dtype=bool)) | kept[field]
    usable = np.zeros(rows, dtype=bool)
    for keys in rules.match_keys:
        if keys.issubset(survived):
            usable |= np.logical_and.reduce([survived[key] for key in keys])
    return usable
