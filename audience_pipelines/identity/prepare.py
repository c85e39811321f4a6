"""The identity layer's entry point: normalize (and hash where the platform hashes) a batch of identifiers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from audience_pipelines.identity import normalize
from audience_pipelines.identity.hashing import is_sha256_hex, sha256_hex
from audience_pipelines.identity.rules import PlatformRules, get_platform
from audience_pipelines.identity.types import IdentifierType

#: Drop reasons that are not counted as problems (the member simply has no such value).
NOT_COUNTED = frozenset({"missing"})


@dataclass(frozen=True)
class FieldSpec:
    """One destination field: which audience column feeds it and what kind of identifier it holds."""

    column: str
    identifier: IdentifierType


@dataclass(frozen=True)
class PreparedIdentifiers:
    """A batch's identifiers ready to send. All frames share the input's index."""

    values: pd.DataFrame  # destination field -> value (None where dropped)
    drop_reasons: pd.DataFrame  # destination field -> reason code (None where kept)
    usable: pd.Series  # at least one identifier survived

    def drop_counts(self) -> dict[str, int]:
        """``"field:reason" -> count`` for values dropped as empty or invalid."""
        counts: dict[str, int] = {}
        for field in self.drop_reasons.columns:
            for reason, count in self.drop_reasons[field].value_counts().items():
                if reason not in NOT_COUNTED:
                    counts[f"{field}:{reason}"] = int(count)
        return counts


def normalize_values(
    values: pd.Series,
    identifier: IdentifierType,
    rules: PlatformRules,
    *,
    default_region: str = "US",
    regions: pd.Series | None = None,
) -> normalize.Normalized:
    """Normalize one column by the platform's rule for ``identifier`` (no hashing)."""
    kind = rules.normalizer(identifier)
    if kind == "phone":
        return normalize.phone(values, phone_format=rules.phone_format, default_region=default_region, regions=regions)
    if kind == "date":
        (year, reasons), (month, _), (day, _) = normalize.date_parts(values)
        return year + month + day, reasons
    return getattr(normalize, kind)(values)


def prepare_identifiers(
    frame: pd.DataFrame,
    fields: Mapping[str, FieldSpec],
    platform: PlatformRules | str,
    *,
    default_region: str = "US",
    country_column: str | None = None,
) -> PreparedIdentifiers:
    """Normalize each field's column, hash the ones the platform hashes, and drop empty or invalid values.

    Values that already are SHA-256 hex pass through for hashed fields. Raw values never appear in an
    exception raised here: errors name fields and counts only.
    """
    rules = get_platform(platform) if isinstance(platform, str) else platform
    regions = frame[country_column] if country_column and country_column in frame.columns else None
    values, reasons = {}, {}
    for field, spec in fields.items():
        if spec.column not in frame.columns:
            raise KeyError(f"field {field!r}: the batch has no column {spec.column!r}")
        raw = frame[spec.column]
        hashed = rules.hashes(spec.identifier)
        prehashed = is_sha256_hex(raw) & raw.notna() if hashed else pd.Series(False, index=frame.index)
        normalized, why = normalize_values(
            raw.where(~prehashed, None),
            spec.identifier,
            rules,
            default_region=default_region,
            regions=regions,
        )
        normalized = normalized.astype(object).where(normalized.notna(), None)
        if hashed:
            normalized = sha256_hex(normalized)
            normalized[prehashed] = raw[prehashed].astype(str).str.lower()
            why = why.where(~prehashed, None)
        values[field], reasons[field] = normalized, why.astype(object).where(why.notna(), None)
    value_frame = pd.DataFrame(values, index=frame.index, dtype=object)
    return PreparedIdentifiers(
        values=value_frame,
        drop_reasons=pd.DataFrame(reasons, index=frame.index, dtype=object),
        usable=value_frame.notna().any(axis=1),
    )
