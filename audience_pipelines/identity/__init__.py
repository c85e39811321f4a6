"""Identity: normalize and SHA-256 hash customer identifiers per ad platform, vectorized over a batch.

``prepare_identifiers`` is what the sync engine calls once per batch; ``explain`` shows what happens to a
single value; ``PLATFORMS`` / ``get_platform`` hold each platform's rules as data.
"""

from audience_pipelines.identity.dates import date_parts
from audience_pipelines.identity.explain import Explanation, explain
from audience_pipelines.identity.hashing import EmptyIdentifierError, is_sha256_hex, sha256_hex
from audience_pipelines.identity.normalize import NORMALIZERS
from audience_pipelines.identity.prepare import (
    FieldSpec,
    IdentifierError,
    PreparedIdentifiers,
    identifier_type,
    normalize_values,
    prepare_identifiers,
)
from audience_pipelines.identity.rules import PLATFORMS, PlatformRules, get_platform
from audience_pipelines.identity.types import DROP_REASONS, IdentifierType, PhoneFormat

__all__ = [
    "DROP_REASONS",
    "NORMALIZERS",
    "PLATFORMS",
    "EmptyIdentifierError",
    "Explanation",
    "FieldSpec",
    "IdentifierError",
    "IdentifierType",
    "PhoneFormat",
    "PlatformRules",
    "PreparedIdentifiers",
    "date_parts",
    "explain",
    "get_platform",
    "identifier_type",
    "is_sha256_hex",
    "normalize_values",
    "prepare_identifiers",
    "sha256_hex",
]
