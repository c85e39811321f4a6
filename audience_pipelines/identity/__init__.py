"""Identity: normalize and SHA-256 hash identifiers per platform, vectorized over a batch."""

from audience_pipelines.identity.explain import Explanation, explain
from audience_pipelines.identity.hashing import is_sha256_hex, sha256_hex
from audience_pipelines.identity.prepare import (
    FieldSpec,
    PreparedIdentifiers,
    normalize_values,
    prepare_identifiers,
)
from audience_pipelines.identity.rules import PLATFORMS, PlatformRules, get_platform
from audience_pipelines.identity.types import IdentifierType

__all__ = [
    "PLATFORMS",
    "Explanation",
    "FieldSpec",
    "IdentifierType",
    "PlatformRules",
    "PreparedIdentifiers",
    "explain",
    "get_platform",
    "is_sha256_hex",
    "normalize_values",
    "prepare_identifiers",
    "sha256_hex",
]
