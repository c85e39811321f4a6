"""Vectorized normalizers: each takes a Series of raw values and returns ``(normalized, reasons)``.

Both Series share the input's index and have object dtype. A normalized value is None where the input is
dropped, and the reason Series then holds a code from :mod:`audience_pipelines.identity.types` (``missing``,
``empty``, ``invalid_email``, ...); it is None where the value is kept. Everything goes through pandas string
methods except phone numbers, which are read once per distinct (value, region) pair, after a vectorized fast
path for plain North American numbers (``phones.py``). Dates live in ``dates.py``, the text handling they all
share in ``text.py``.

``FULL_NORMALIZERS`` maps the keys that platform rules name (``rules.py``) to these functions; ``NORMALIZERS``
is the same with a fast lane in front of email and phone (``fast_lane.py``), which gives the same result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd
import phonenumbers

from audience_pipelines.identity import tables
from audience_pipelines.identity.dates import date_of_birth, dob_day, dob_month, dob_year
from audience_pipelines.identity.fast_lane import EMAIL, Lane, email_lane, phone_lane, with_fast_lane
from audience_pipelines.identity.phones import phone_in_context
from audience_pipelines.identity.text import (
    Context,
    Normalized,
    as_text,
    letters_only,
    nfc,
    not_in,
    objects,
    on_distinct,
    reject,
    text,
    words,
)
from audience_pipelines.identity.types import (
    INVALID_COUNTRY,
    INVALID_EMAIL,
    INVALID_FORMAT,
    INVALID_GENDER,
    PHONE_FORMATS,
    PhoneFormat,
)

# ---------------------------------------------------------------------------------------------- email

_EMAIL = EMAIL.pattern
_WRAPPED = r"^mailto:|>$"


def unwrap_email(values: pd.Series) -> pd.Series:
    """The address inside ``Name <x@y>`` / ``<x@y>`` and after ``mailto:`` (query cut), for lowercase text."""
    joined = "\n".join(values.dropna().to_numpy())  # one C-level scan rules out the common case
    if ">" not in joined and "mailto:" not in joined:
        return values
    wrapped = values.str.contains(_WRAPPED, regex=True, na=False).to_numpy()
    if not wrapped.any():
        return values
    part = values[wrapped]
    inner = part.str.extract(r"<([^<>]*)>$")[0]
    part = inner.where(inner.notna(), part).str.strip()
    part = part.str.replace(r"^mailto:\s*([^?]*)(?:\?.*)?$", r"\1", regex=True).str.strip()
    out = values.copy()
    out[wrapped] = part.to_numpy()
    return out


def email(values: pd.Series) -> Normalized:
    """Trim and lowercase, unwrap ``mailto:x@y`` and ``Name <x@y>``; must look like ``local@domain.tld``."""
    out, reasons = text(values)
    out = unwrap_email(out.str.lower())
    return reject(out, reasons, out.str.fullmatch(_EMAIL), INVALID_EMAIL)


def email_gmail(values: pd.Series) -> Normalized:
    """Email, with the dots removed from the local part of gmail.com / googlemail.com addresses (GA4)."""
    out, reasons = email(values)
    parts = out.str.extract(r"^([^@]+)@(gmail\.com|googlemail\.com)$")
    gmail = parts[0].notna()
    if not gmail.any():
        return out, reasons
    out = out.where(~gmail, parts[0].str.replace(".", "", regex=False) + "@" + parts[1])
    return reject(out, reasons, out.str.startswith("@").eq(False), INVALID_EMAIL)


# ---------------------------------------------------------------------------------------------- phone

_UNSEEN = object()


#: Country text -> upper-case code (None: not a country), kept across batches: a country column holds few
#: distinct values, and resolving them costs more per batch than everything else the column needs.
_ROW_COUNTRIES: dict[str, str | None] = {}
_ROW_COUNTRIES_LIMIT = 10_000


def row_countries(countries: pd.Series) -> pd.Series:
    """Each row's country as an upper-case ISO alpha-2 code (None where missing or not a country)."""
    positions, uniques = pd.factorize(countries)
    if not all(type(value) is str for value in uniques):  # numbers, bytes, dates, ...: compared as text
        positions, uniques = pd.factorize(as_text(countries))
    known = {value: _ROW_COUNTRIES.get(value, _UNSEEN) for value in uniques}
    unseen = [value for value, code in known.items() if code is _UNSEEN]
    if unseen:
        codes, _ = country_upper(pd.Series(unseen, dtype=object))
        found = {value: code if isinstance(code, str) else None for value, code in zip(unseen, codes, strict=True)}
        known.update(found)
        if len(_ROW_COUNTRIES) + len(found) > _ROW_COUNTRIES_LIMIT:
            _ROW_COUNTRIES.clear()
        _ROW_COUNTRIES.update(found)
    table = np.array([*known.values(), None], dtype=object)  # missing values (position -1) read the last entry
    return pd.Series(table[positions], index=countries.index, dtype=object)


def phone(
    values: pd.Series,
    *,
    phone_format: PhoneFormat = "e164",
    default_region: str = "US",
    countries: pd.Series | None = None,
) -> Normalized:
    """Parse with ``phonenumbers`` and format as E.164 (``+16505551212``) or as digits with the country code
    and no ``+`` (``16505551212``).

    A number without a country code takes it from the row's country (``countries``: names or codes, same
    index as ``values``) when that is known, else from ``default_region``. Numbers that are not a possible
    full number for their region (too short, too long, local-only, a North American area code or exchange
    starting with 0 or 1) are dropped as ``invalid_phone``.
    """
    region = default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown default region {default_region!r} (expected an ISO 3166-1 alpha-2 code)")
    if phone_format not in PHONE_FORMATS:
        raise ValueError(f"unknown phone format {phone_format!r}; known: {', '.join(PHONE_FORMATS)}")
    rows = None if countries is None else row_countries(countries)
    return phone_in_context(values, Context(phone_format, region, rows))


# ---------------------------------------------------------------------------------------------- names


def letters(values: pd.Series) -> Normalized:
    """Lowercase letters and marks only: digits, punctuation and spaces go; accented and non-Latin letters and
    every combining mark stay, in NFC (Meta names and cities: ``"Zoë-Ann "`` -> ``zoëann``, ``"मुंबई"`` kept)."""
    out, reasons = text(values)
    out = letters_only(out)
    return reject(out, reasons, out.ne(""), INVALID_FORMAT)


def first_initial(values: pd.Series) -> Normalized:
    """The first letter of a name (or of an initial), lowercase."""
    out, reasons = letters(values)
    return out.str[:1], reasons


def name_lower(values: pd.Series) -> Normalized:
    """Trim and lowercase, nothing else (Google Customer Match names: ``"Zoë-Ann"`` -> ``zoë-ann``)."""
    out, reasons = text(values)
    return nfc(out.str.lower()), reasons


def name_words(values: pd.Series) -> Normalized:
    """Lowercase, digits and symbols removed, words kept apart by one space (GA4 user-provided data)."""
    out, reasons = text(values)
    out = out.str.lower().str.replace(not_in("LM", r"\s"), "", regex=True)
    out = nfc(out.str.replace(r"\s+", " ", regex=True).str.strip())
    return reject(out, reasons, out.ne(""), INVALID_FORMAT)


def name_compact(values: pd.Series) -> Normalized:
    """Lowercase with all whitespace removed (TikTok Events API names)."""
    out, reasons = text(values)
    return nfc(out.str.lower().str.replace(r"\s+", "", regex=True)), reasons


def alnum(values: pd.Series) -> Normalized:
    """Lowercase letters, marks and decimal digits only (TikTok Events API city and state)."""
    out, reasons = text(values)
    out = nfc(out.str.lower().str.replace(not_in("LM", r"\d"), "", regex=True))
    return reject(out, reasons, out.ne(""), INVALID_FORMAT)


# --------------------------------------------------------------------------------------------- places


def state(values: pd.Series) -> Normalized:
    """US state names become their two-letter code; anything else is kept as lowercase letters only
    (``"New York"`` -> ``ny``, ``" NY "`` -> ``ny``, ``"Île-de-France"`` -> ``îledefrance``)."""
    out, reasons = text(values)
    code = words(out).map(tables.US_STATES)
    out = objects(code.where(code.notna(), letters_only(out)))
    return reject(out, reasons, out.ne(""), INVALID_FORMAT)


def _us_zip(out: pd.Series, reasons: pd.Series, context: Context) -> Normalized:
    """US rows keep the 5-digit ZIP. In a row whose country is US, ZIP+4 written without its dash is cut to 5
    digits, a 3- or 4-digit ZIP (leading zeros lost in a numeric column: 2134 for 02134) is zero-padded, and
    anything else is invalid. Rows with no country are only cut from 9 digits, and only when the default
    region is US; other countries' postcodes are left alone."""
    if context.countries is None:
        us, unknown = pd.Series(False, index=out.index), pd.Series(True, index=out.index)
    else:
        us, unknown = context.countries.eq("US"), context.countries.isna()
    zip4 = out.str.fullmatch(r"\d{9}").eq(True) & (us | (unknown & (context.default_region == "US")))
    short = out.str.fullmatch(r"\d{3,4}").eq(True) & us
    if zip4.any() or short.any():
        out = out.where(~zip4, out.str[:5]).where(~short, out.str.zfill(5))
    return reject(out, reasons, ~us | out.str.fullmatch(r"\d{5}").eq(True), INVALID_FORMAT)


def zip_code(values: pd.Series, *, countries: pd.Series | None = None, default_region: str = "US") -> Normalized:
    """Meta: lowercase with no spaces and no dash (``"SW1A 1AA"`` -> ``sw1a1aa``, ``"00-950"`` -> ``00950``);
    a US ZIP+4 (``"94107-1234"``, in a US row or one with no country) is cut to the 5-digit ZIP, and US rows
    must end up as 5 digits (see ``_us_zip``)."""
    rows = None if countries is None else row_countries(countries)
    return _zip(values, Context(default_region=default_region.upper(), countries=rows))


def _zip_plus_four(out: pd.Series, context: Context) -> pd.Series:
    """``12345-6789`` -> ``12345`` where the row is US or has no country; other postcodes keep their dash."""
    zip5 = out.str.extract(r"^(\d{5})\s*-\s*\d{4}$")[0]
    cut = zip5.notna()
    if context.countries is not None:
        cut &= context.countries.eq("US") | context.countries.isna()
    return objects(out.where(~cut, zip5))


def _zip_text(values: pd.Series, context: Context, removed: str) -> Normalized:
    out, reasons = text(values)
    out = _zip_plus_four(out.str.lower(), context).str.replace(removed, "", regex=True)
    out, reasons = reject(out, reasons, out.ne(""), INVALID_FORMAT)
    return _us_zip(out, reasons, context)


def _zip(values: pd.Series, context: Context) -> Normalized:
    return _zip_text(values, context, r"[\s\-]+")


def _zip_keep_dash(values: pd.Series, context: Context) -> Normalized:
    """Lowercase with whitespace removed, dashes kept; US ZIP+4 cut to 5 digits (TikTok's zip)."""
    return _zip_text(values, context, r"\s+")


def postal_code(values: pd.Series, *, countries: pd.Series | None = None, default_region: str = "US") -> Normalized:
    """Postal code sent unhashed (Google): trimmed, inner whitespace collapsed, case kept; US ZIP+4 becomes
    the 5-digit ZIP and US rows must be 5 digits."""
    rows = None if countries is None else row_countries(countries)
    return _postal_code(values, Context(default_region=default_region.upper(), countries=rows))


def _postal_code(values: pd.Series, context: Context) -> Normalized:
    out, reasons = text(values)
    out = out.str.replace(r"\s+", " ", regex=True)
    zip4 = out.str.extract(r"^(\d{5}) ?- ?\d{4}$")[0]
    out = out.where(zip4.isna(), zip4)
    return _us_zip(objects(out), reasons, context)


def country(values: pd.Series) -> Normalized:
    """ISO 3166-1 alpha-2, lowercase. Codes in any case, common English (and a few native) names and alpha-3
    codes are accepted (``"United States"``, ``"USA"``, ``"U.S."`` -> ``us``); anything else is
    ``invalid_country``, and so are values that say "no country" and only look like a code once their
    punctuation goes (``"N/A"`` is not Namibia, ``"U/K"`` is not the UK, ``"unknown"``, ``"other"``)."""
    out, reasons = text(values)
    key = words(out)
    compact = key.str.replace(" ", "", regex=False)
    code = key.map(tables.COUNTRY_ALIASES)
    code = code.where(code.notna(), compact.map(tables.COUNTRY_ALIASES))
    code = objects(code.where(code.notna(), compact))
    not_country = out.str.contains("/", regex=False).eq(True) | key.isin(tables.NOT_COUNTRIES)
    return reject(code, reasons, code.isin(tables.ISO_COUNTRIES) & ~not_country, INVALID_COUNTRY)


def country_upper(values: pd.Series) -> Normalized:
    """ISO 3166-1 alpha-2 in upper case (Google's unhashed ``countryCode``)."""
    out, reasons = country(values)
    return out.str.upper(), reasons


# -------------------------------------------------------------------------------------------- gender


def gender(values: pd.Series) -> Normalized:
    """``m`` or ``f`` (from m/male/man/boy, f/female/woman/girl in any case)."""
    out, reasons = text(values)
    out = objects(words(out).str.replace(" ", "", regex=False).map(tables.GENDERS))
    return reject(out, reasons, out.notna(), INVALID_GENDER)


# ------------------------------------------------------------------------------------------ other ids

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_ZERO_UUID = "00000000-0000-0000-0000-000000000000"


def madid(values: pd.Series) -> Normalized:
    """Mobile advertiser id (IDFA / GAID): trimmed, lowercase, hyphens kept; must be a UUID. The all-zero
    id (what a device reports when ad tracking is off) identifies nobody and is ``invalid_format``."""
    out, reasons = text(values)
    out = out.str.lower()
    return reject(out, reasons, out.str.fullmatch(_UUID).eq(True) & out.ne(_ZERO_UUID), INVALID_FORMAT)


def lower_id(values: pd.Series) -> Normalized:
    """Trimmed and lowercased (TikTok's external_id)."""
    out, reasons = text(values)
    return out.str.lower(), reasons


def raw_id(values: pd.Series) -> Normalized:
    """Trimmed only: external ids and click ids are case-sensitive."""
    return text(values)


def _pattern(regex: str, doc: str) -> Callable[[pd.Series], Normalized]:
    def normalize(values: pd.Series) -> Normalized:
        out, reasons = text(values)
        return reject(out, reasons, out.str.fullmatch(regex), INVALID_FORMAT)

    normalize.__doc__ = doc
    return normalize


fbp = _pattern(r"fb\.\d\.\d+\.\d+", "Meta browser id, trimmed: ``fb.<subdomain>.<creation ms>.<random>``.")
fbc = _pattern(r"fb\.\d\.\d+\.\S+", "Meta click id, trimmed: ``fb.<subdomain>.<creation ms>.<fbclid>``.")


def ga_client_id(values: pd.Series) -> Normalized:
    """GA4 client id ``<random>.<timestamp>``; a whole ``_ga`` cookie value (``GA1.1.<id>``) is cut to it."""
    out, reasons = text(values)
    out = out.str.replace(r"^GA\d\.\d+\.", "", regex=True, case=False)
    return reject(out, reasons, out.str.fullmatch(r"\d+\.\d+"), INVALID_FORMAT)


# ------------------------------------------------------------------------------------------- registry

Normalizer = Callable[[pd.Series, Context], Normalized]


def _no_context(function: Callable[[pd.Series], Normalized]) -> Normalizer:
    def run(values: pd.Series, context: Context) -> Normalized:
        return on_distinct(function, values)

    run.__doc__ = function.__doc__
    return run


#: Normalizer keys -> the vectorized normalizers alone (``NORMALIZERS`` puts fast lanes in front of some).
FULL_NORMALIZERS: Mapping[str, Normalizer] = MappingProxyType(
    {
        "email": _no_context(email),
        "email_gmail": _no_context(email_gmail),
        "phone": phone_in_context,
        "letters": _no_context(letters),
        "first_initial": _no_context(first_initial),
        "name_lower": _no_context(name_lower),
        "name_words": _no_context(name_words),
        "name_compact": _no_context(name_compact),
        "alnum": _no_context(alnum),
        "state": _no_context(state),
        "zip": _zip,
        "zip_keep_dash": _zip_keep_dash,
        "postal_code": _postal_code,
        "country": _no_context(country),
        "country_upper": _no_context(country_upper),
        "gender": _no_context(gender),
        "date_of_birth": _no_context(date_of_birth),
        "dob_year": _no_context(dob_year),
        "dob_month": _no_context(dob_month),
        "dob_day": _no_context(dob_day),
        "madid": _no_context(madid),
        "lower_id": _no_context(lower_id),
        "raw_id": _no_context(raw_id),
        "fbp": _no_context(fbp),
        "fbc": _no_context(fbc),
        "ga_client_id": _no_context(ga_client_id),
    }
)

#: Normalizer keys whose common values take a fast lane (``fast_lane.py``) before the full normalizer.
FAST_LANES: Mapping[str, Lane] = MappingProxyType({"email": email_lane, "phone": phone_lane})

#: Normalizer keys (named by platform rules) -> functions of (values, context): ``FULL_NORMALIZERS``, with the
#: fast lanes in front where there is one (the result is the same).
NORMALIZERS: Mapping[str, Normalizer] = MappingProxyType(
    {
        **FULL_NORMALIZERS,
        **{key: with_fast_lane(lane, FULL_NORMALIZERS[key]) for key, lane in FAST_LANES.items()},
    }
)
