"""Per-platform identifier rules, as data: which normalizer each identifier goes through, which identifiers
are SHA-256 hashed, how phone numbers are written, and which identifiers can match a person on their own.

Sources are the sections of ``/work/shared/reference/destinations.md`` named in the comments ("ref §1" is
section 1, Meta). Normalizer keys name functions in ``normalize.NORMALIZERS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

import phonenumbers

from audience_pipelines.identity.normalize import NORMALIZERS
from audience_pipelines.identity.types import PHONE_FORMATS, PhoneFormat
from audience_pipelines.identity.types import IdentifierType as I

#: The normalizer of each identifier unless a platform says otherwise (Meta's customer-file table, ref §1).
BASE_NORMALIZERS: Mapping[I, str] = MappingProxyType(
    {
        I.EMAIL: "email",
        I.PHONE: "phone",
        I.FIRST_NAME: "letters",
        I.LAST_NAME: "letters",
        I.FIRST_INITIAL: "first_initial",
        I.GENDER: "gender",
        I.DATE_OF_BIRTH: "date_of_birth",
        I.DOB_YEAR: "dob_year",
        I.DOB_MONTH: "dob_month",
        I.DOB_DAY: "dob_day",
        I.CITY: "letters",
        I.STATE: "state",
        I.ZIP: "zip",
        I.COUNTRY: "country",
        I.MADID: "madid",
        I.EXTERNAL_ID: "raw_id",
        I.FBP: "fbp",
        I.FBC: "fbc",
        I.GCLID: "raw_id",
        I.GA_CLIENT_ID: "ga_client_id",
        I.TTCLID: "raw_id",
    }
)


@dataclass(frozen=True)
class PlatformRules:
    """How one platform wants identifiers.

    ``normalizers`` maps every identifier type to a normalizer key; ``hashed`` lists the identifiers sent as
    SHA-256 hex; ``match_keys`` lists the identifier sets that can match a person on their own (a row is usable
    when every identifier of at least one set survived normalization); ``default_region`` is the country
    assumed for phone numbers written without a country code when the row has no country.
    """

    name: str
    normalizers: Mapping[I, str]
    hashed: frozenset[I]
    phone_format: PhoneFormat
    match_keys: tuple[frozenset[I], ...]
    default_region: str = "US"

    def __post_init__(self) -> None:
        normalizers = MappingProxyType({I(k): v for k, v in self.normalizers.items()})
        object.__setattr__(self, "normalizers", normalizers)
        missing = [i.value for i in I if i not in normalizers]
        unknown = sorted({key for key in normalizers.values() if key not in NORMALIZERS})
        if missing or unknown:
            raise ValueError(f"platform {self.name!r}: no normalizer for {missing}, unknown normalizers {unknown}")
        if self.phone_format not in PHONE_FORMATS:
            known = ", ".join(PHONE_FORMATS)
            raise ValueError(f"platform {self.name!r}: unknown phone format {self.phone_format!r}; known: {known}")
        region = self.default_region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                f"platform {self.name!r}: unknown default region {self.default_region!r} "
                "(expected an ISO 3166-1 alpha-2 code such as US or GB)"
            )
        object.__setattr__(self, "default_region", region)

    def normalizer(self, identifier: I) -> str:
        """The normalizer key for ``identifier``."""
        return self.normalizers[identifier]

    def hashes(self, identifier: I) -> bool:
        """Whether the platform receives ``identifier`` as SHA-256 hex."""
        return identifier in self.hashed

    def with_settings(
        self, *, phone_format: PhoneFormat | None = None, default_region: str | None = None
    ) -> PlatformRules:
        """A copy with another phone format and/or default phone region."""
        changes: dict[str, str] = {}
        if phone_format is not None:
            changes["phone_format"] = phone_format
        if default_region is not None:
            changes["default_region"] = default_region
        return replace(self, **changes) if changes else self


def _rules(
    name: str,
    *,
    hashed: set[I],
    phone_format: PhoneFormat,
    match_keys: list[set[I]],
    overrides: Mapping[I, str] | None = None,
) -> PlatformRules:
    return PlatformRules(
        name=name,
        normalizers={**BASE_NORMALIZERS, **(overrides or {})},
        hashed=frozenset(hashed),
        phone_format=phone_format,
        match_keys=tuple(frozenset(keys) for keys in match_keys),
    )


_CONTACT = {I.EMAIL, I.PHONE, I.FIRST_NAME, I.LAST_NAME}
_ADDRESS = {I.FIRST_NAME, I.LAST_NAME, I.COUNTRY, I.ZIP}
_DEMOGRAPHIC = {I.FIRST_INITIAL, I.GENDER, I.DATE_OF_BIRTH, I.DOB_YEAR, I.DOB_MONTH, I.DOB_DAY}
_PLACE = {I.CITY, I.STATE, I.ZIP, I.COUNTRY}

PLATFORMS: Mapping[str, PlatformRules] = MappingProxyType(
    {
        # Meta customer file + Conversions API (ref §1): every personal key is SHA-256 of its normalized value;
        # EXTERN_ID and MADID are sent raw (Meta's SDK does not hash external_id in CAPI either; Segment does),
        # and fbp / fbc are never hashed. Phone: digits with the country code, no '+'.
        "meta": _rules(
            "meta",
            hashed=_CONTACT | _DEMOGRAPHIC | _PLACE,
            phone_format="digits_with_country_code",
            match_keys=[{I.EMAIL}, {I.PHONE}, {I.EXTERNAL_ID}, {I.MADID}, {I.FBP}, {I.FBC}],
        ),
        # Google Customer Match (ref §2): email, phone (E.164 with '+'), first and last name hashed; names are
        # trimmed and lowercased only; countryCode (upper-case ISO) and postalCode go unhashed, and an address
        # only counts with all four parts; CRM ids and mobile ids are raw. No gmail dot removal is required.
        "google": _rules(
            "google",
            hashed=_CONTACT,
            phone_format="e164",
            match_keys=[{I.EMAIL}, {I.PHONE}, {I.EXTERNAL_ID}, {I.MADID}, {I.GCLID}, _ADDRESS],
            overrides={
                I.FIRST_NAME: "name_lower",
                I.LAST_NAME: "name_lower",
                I.COUNTRY: "country_upper",
                I.ZIP: "postal_code",
            },
        ),
        # GA4 Measurement Protocol user_data (ref §2): like Google, plus dots removed before @gmail.com /
        # @googlemail.com, and names with digits and symbols removed; city, region, postal code and country
        # unhashed.
        "ga4": _rules(
            "ga4",
            hashed=_CONTACT,
            phone_format="e164",
            match_keys=[{I.EMAIL}, {I.PHONE}, {I.GA_CLIENT_ID}, {I.EXTERNAL_ID}, _ADDRESS],
            overrides={
                I.EMAIL: "email_gmail",
                I.FIRST_NAME: "name_words",
                I.LAST_NAME: "name_words",
                I.CITY: "name_words",
                I.COUNTRY: "country_upper",
                I.ZIP: "postal_code",
            },
        ),
        # TikTok audiences + Events API (ref §3). The phone format conflicts between sources: the file-upload
        # API doc says E.164 before hashing ("+442071838750") and the Events API formatter hashes '+' numbers,
        # while a help-center version says remove the '+' (its example hash is sha256("37493828222")). Default
        # E.164 as the reference recommends; get_platform("tiktok", phone_format="digits_with_country_code")
        # switches. Names: whitespace removed + lowercase; external_id lowercased; city/state letters and
        # digits, unhashed; zip hashed; MAIDs hashed; ttclid raw.
        "tiktok": _rules(
            "tiktok",
            hashed={*_CONTACT, I.EXTERNAL_ID, I.MADID, I.ZIP},
            phone_format="e164",
            match_keys=[{I.EMAIL}, {I.PHONE}, {I.EXTERNAL_ID}, {I.MADID}, {I.TTCLID}],
            overrides={
                I.FIRST_NAME: "name_compact",
                I.LAST_NAME: "name_compact",
                I.EXTERNAL_ID: "lower_id",
                I.CITY: "alnum",
                I.STATE: "alnum",
                I.ZIP: "zip_keep_dash",
            },
        ),
        # Your own signed webhook (ref §10): normalized values, nothing hashed, phones in E.164; any surviving
        # identifier is worth sending, since the receiver decides what to do with it.
        "webhook": _rules("webhook", hashed=set(), phone_format="e164", match_keys=[{i} for i in I]),
        # CRM and email platforms (ref §5-9) match people by raw, normalized values: nothing is hashed, phones
        # are E.164. Email matches everywhere; phone and external id where the platform keys profiles by them.
        "klaviyo": _rules(
            "klaviyo", hashed=set(), phone_format="e164", match_keys=[{I.EMAIL}, {I.PHONE}, {I.EXTERNAL_ID}]
        ),
        "hubspot": _rules("hubspot", hashed=set(), phone_format="e164", match_keys=[{I.EMAIL}]),
        "salesforce": _rules("salesforce", hashed=set(), phone_format="e164", match_keys=[{I.EMAIL}]),
        "braze": _rules("braze", hashed=set(), phone_format="e164", match_keys=[{I.EXTERNAL_ID}, {I.EMAIL}, {I.PHONE}]),
        "mailchimp": _rules("mailchimp", hashed=set(), phone_format="e164", match_keys=[{I.EMAIL}]),
    }
)


def get_platform(
    name: str, *, phone_format: PhoneFormat | None = None, default_region: str | None = None
) -> PlatformRules:
    """The rules for ``name``, optionally with another phone format (TikTok's conflicting sources) or another
    default phone region. Unknown names raise ValueError listing the known ones."""
    try:
        rules = PLATFORMS[name]
    except KeyError:
        raise ValueError(f"unknown platform {name!r}; known: {', '.join(sorted(PLATFORMS))}") from None
    return rules.with_settings(phone_format=phone_format, default_region=default_region)
