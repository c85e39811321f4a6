"""Per-platform identifier rules, as data: which normalizer each identifier goes through, which
identifiers are SHA-256 hashed, and how phone numbers are formatted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from audience_pipelines.identity.types import IdentifierType as I

PhoneFormat = Literal["e164", "digits"]

#: The normalizer every platform uses unless its rules say otherwise (keys name functions in normalize.py).
BASE_NORMALIZERS: Mapping[I, str] = {
    I.EMAIL: "email",
    I.PHONE: "phone",
    I.FIRST_NAME: "letters",
    I.LAST_NAME: "letters",
    I.FIRST_INITIAL: "first_initial",
    I.GENDER: "gender",
    I.DATE_OF_BIRTH: "date",
    I.DOB_YEAR: "dob_year",
    I.DOB_MONTH: "dob_month",
    I.DOB_DAY: "dob_day",
    I.CITY: "letters",
    I.STATE: "state",
    I.ZIP: "zip_code",
    I.COUNTRY: "country",
    I.MADID: "lower_id",
    I.EXTERNAL_ID: "raw_id",
    I.FBP: "fbp",
    I.FBC: "fbc",
    I.GCLID: "raw_id",
    I.GA_CLIENT_ID: "ga_client_id",
    I.TTCLID: "raw_id",
}


@dataclass(frozen=True)
class PlatformRules:
    """How one platform wants identifiers."""

    name: str
    hashed: frozenset[I]
    phone_format: PhoneFormat
    overrides: Mapping[I, str] = field(default_factory=dict)

    def normalizer(self, identifier: I) -> str:
        return self.overrides.get(identifier, BASE_NORMALIZERS[identifier])

    def hashes(self, identifier: I) -> bool:
        return identifier in self.hashed


_PERSONAL = frozenset(
    {I.EMAIL, I.PHONE, I.FIRST_NAME, I.LAST_NAME, I.FIRST_INITIAL, I.GENDER, I.DATE_OF_BIRTH, I.DOB_YEAR,
     I.DOB_MONTH, I.DOB_DAY, I.CITY, I.STATE, I.ZIP, I.COUNTRY}
)  # fmt: skip

PLATFORMS: Mapping[str, PlatformRules] = {
    # Meta customer file and Conversions API: phone as digits with country code, no '+'; raw ids unhashed.
    "meta": PlatformRules("meta", hashed=_PERSONAL, phone_format="digits"),
    # Google Customer Match: email, phone (E.164 with '+'), names hashed; country and postal code raw.
    "google": PlatformRules(
        "google",
        hashed=frozenset({I.EMAIL, I.PHONE, I.FIRST_NAME, I.LAST_NAME}),
        phone_format="e164",
        overrides={I.FIRST_NAME: "trimmed_lower", I.LAST_NAME: "trimmed_lower"},
    ),
    # GA4 user-provided data: like Google, and dots removed before @gmail.com / @googlemail.com.
    "ga4": PlatformRules(
        "ga4",
        hashed=frozenset({I.EMAIL, I.PHONE, I.FIRST_NAME, I.LAST_NAME}),
        phone_format="e164",
        overrides={I.EMAIL: "email_without_gmail_dots"},
    ),
    # TikTok: Segment's Events API formatter hashes E.164 with '+', while TikTok audience uploads are
    # described as digits without '+' (reference section 3): the default is E.164, set phone_format to change it.
    "tiktok": PlatformRules("tiktok", hashed=frozenset({I.EMAIL, I.PHONE, I.EXTERNAL_ID, I.ZIP}), phone_format="e164"),
    # Your own webhook: normalized values, nothing hashed.
    "webhook": PlatformRules("webhook", hashed=frozenset(), phone_format="e164"),
}


def get_platform(name: str, *, phone_format: PhoneFormat | None = None) -> PlatformRules:
    """The rules for ``name``, optionally with another phone format (TikTok's conflicting sources)."""
    try:
        rules = PLATFORMS[name]
    except KeyError:
        raise ValueError(f"unknown platform {name!r}; known: {', '.join(sorted(PLATFORMS))}") from None
    return replace(rules, phone_format=phone_format) if phone_format else rules
