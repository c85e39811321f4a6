"""Vectorized normalizers: each takes a Series of raw values and returns (normalized, drop reasons).

A normalized value is None where the input is dropped; the reason Series then says why (``missing``,
``empty``, ``invalid_email``, ``invalid_phone``, ``invalid_date``, ``invalid_gender``, ``invalid_country``,
``invalid_format``). Phone numbers go through ``phonenumbers``; everything else through pandas string ops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import pandas as pd
import phonenumbers

Normalized = tuple[pd.Series, pd.Series]
PhoneFormat = Literal["e164", "digits"]

_US_STATES = {
    "alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca", "colorado": "co",
    "connecticut": "ct", "delaware": "de", "district of columbia": "dc", "florida": "fl", "georgia": "ga",
    "hawaii": "hi", "idaho": "id", "illinois": "il", "indiana": "in", "iowa": "ia", "kansas": "ks",
    "kentucky": "ky", "louisiana": "la", "maine": "me", "maryland": "md", "massachusetts": "ma",
    "michigan": "mi", "minnesota": "mn", "mississippi": "ms", "missouri": "mo", "montana": "mt",
    "nebraska": "ne", "nevada": "nv", "new hampshire": "nh", "new jersey": "nj", "new mexico": "nm",
    "new york": "ny", "north carolina": "nc", "north dakota": "nd", "ohio": "oh", "oklahoma": "ok",
    "oregon": "or", "pennsylvania": "pa", "rhode island": "ri", "south carolina": "sc", "south dakota": "sd",
    "tennessee": "tn", "texas": "tx", "utah": "ut", "vermont": "vt", "virginia": "va", "washington": "wa",
    "west virginia": "wv", "wisconsin": "wi", "wyoming": "wy", "puerto rico": "pr",
}  # fmt: skip
_COUNTRY_NAMES = {
    "usa": "us", "united states": "us", "united states of america": "us", "america": "us",
    "uk": "gb", "united kingdom": "gb", "great britain": "gb", "england": "gb", "canada": "ca",
    "germany": "de", "deutschland": "de", "france": "fr", "spain": "es", "italy": "it", "mexico": "mx",
    "australia": "au", "india": "in", "brazil": "br", "japan": "jp", "netherlands": "nl",
}  # fmt: skip
_ISO_COUNTRIES = frozenset(code.lower() for code in phonenumbers.SUPPORTED_REGIONS)
_MONTHS = {
    name: f"{number:02d}"
    for number, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
         ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
         ("nov", "november"), ("dec", "december")],
        start=1,
    )
    for name in names
}  # fmt: skip
_GENDERS = {"m": "m", "male": "m", "man": "m", "boy": "m", "f": "f", "female": "f", "woman": "f", "girl": "f"}


def text(values: pd.Series) -> Normalized:
    """Strip surrounding whitespace; None/NaN -> ``missing``, blank -> ``empty``."""
    missing = values.isna()
    stripped = values.where(missing, values.astype(str).str.strip())
    empty = ~missing & (stripped == "")
    reasons = pd.Series(None, index=values.index, dtype=object)
    reasons[missing] = "missing"
    reasons[empty] = "empty"
    return stripped.where(~(missing | empty), None).astype(object), reasons


def _validated(values: pd.Series, reasons: pd.Series, valid: pd.Series, reason: str) -> Normalized:
    """Drop values (not already dropped) for which ``valid`` is False, with ``reason``."""
    bad = reasons.isna() & ~valid.fillna(False).astype(bool)
    reasons = reasons.copy()
    reasons[bad] = reason
    return values.where(~bad, None), reasons


def email(values: pd.Series) -> Normalized:
    """Trim and lowercase; must look like ``local@domain.tld``."""
    out, reasons = text(values)
    out = out.str.lower()
    return _validated(out, reasons, out.str.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+"), "invalid_email")


def email_without_gmail_dots(values: pd.Series) -> Normalized:
    """Email, with dots removed from the local part of gmail.com / googlemail.com addresses (GA4)."""
    out, reasons = email(values)
    parts = out.str.extract(r"^(?P<local>[^@]+)@(?P<domain>gmail\.com|googlemail\.com)$")
    gmail = parts["local"].notna()
    out = out.where(~gmail, parts["local"].str.replace(".", "", regex=False) + "@" + parts["domain"])
    return out, reasons


def phone(
    values: pd.Series, *, phone_format: PhoneFormat, default_region: str, regions: pd.Series | None = None
) -> Normalized:
    """Parse with ``phonenumbers`` (the row's country as region when given) and format as E.164 (``+1650…``)
    or as digits with the country code and no ``+`` (``1650…``). Parsed once per distinct (value, region)."""
    out, reasons = text(values)
    region = pd.Series(default_region.upper(), index=values.index, dtype=object)
    if regions is not None:
        row_regions = regions.astype(object).where(regions.notna(), "").astype(str).str.strip().str.upper()
        region = region.where(~row_regions.isin(phonenumbers.SUPPORTED_REGIONS), row_regions)
    present = out.notna()
    result = pd.Series(None, index=values.index, dtype=object)
    fast = _nanp_fast_path(out, region) if present.any() else result
    result[fast.notna()] = fast[fast.notna()]
    present = present & fast.isna()
    pairs = pd.DataFrame({"value": out[present], "region": region[present]})
    lookup = {key: _format_phone(*key) for key in pairs.drop_duplicates().itertuples(index=False, name=None)}
    result[pairs.index] = [lookup[key] for key in pairs.itertuples(index=False, name=None)]
    reasons = reasons.copy()
    reasons[present & result.isna()] = "invalid_phone"
    if phone_format == "digits":
        result = result.where(result.isna(), result.str.removeprefix("+"))
    return result, reasons


_NANP_REGIONS = frozenset({"US", "CA"})


def _nanp_fast_path(values: pd.Series, regions: pd.Series) -> pd.Series:
    """E.164 for plain North American numbers without calling ``phonenumbers`` per value.

    Only unambiguous shapes take this path (a 10-digit national number whose area code and exchange start
    with 2-9, optionally preceded by 1 or +1, in a NANP region); everything else is left as None for
    ``phonenumbers``. A test checks the two agree on these shapes.
    """
    text = values.astype(object).where(values.notna(), "").astype(str)
    digits = text.str.replace(r"\D", "", regex=True)
    plain = text.str.fullmatch(r"\+?[\d\s().\-]+") & ~text.str.startswith("00")
    international = text.str.startswith("+")
    national = digits.str.len().eq(10) & ~international
    with_one = digits.str.len().eq(11) & digits.str.startswith("1")
    number = digits.where(national, digits.str[1:])
    shaped = number.str.fullmatch(r"[2-9]\d\d[2-9]\d{6}")
    ok = plain & regions.isin(_NANP_REGIONS) & (national | with_one) & shaped & values.notna()
    return ("+1" + number).where(ok, None)


def _format_phone(value: str, region: str) -> str | None:
    candidate = "+" + value[2:] if value.startswith("00") else value
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def letters(values: pd.Series) -> Normalized:
    """Lowercase, keep letters only (accented letters kept; digits, punctuation and spaces removed)."""
    out, reasons = text(values)
    out = out.str.lower().str.replace(r"[\W\d_]+", "", regex=True)
    return _validated(out, reasons, out.str.len() > 0, "invalid_format")


def trimmed_lower(values: pd.Series) -> Normalized:
    """Trim and lowercase (Google's name rule)."""
    out, reasons = text(values)
    return out.str.lower(), reasons


def first_initial(values: pd.Series) -> Normalized:
    """The first letter of a name, lowercase."""
    out, reasons = letters(values)
    return out.str[:1], reasons


def state(values: pd.Series) -> Normalized:
    """US state names become their 2-letter code; otherwise letters only, lowercase."""
    out, reasons = text(values)
    lowered = out.str.lower().str.replace(r"\s+", " ", regex=True)
    out = lowered.map(lambda v: _US_STATES.get(v, v) if isinstance(v, str) else v)
    out = out.str.replace(r"[\W\d_]+", "", regex=True)
    return _validated(out, reasons, out.str.len() > 0, "invalid_format")


def zip_code(values: pd.Series) -> Normalized:
    """Lowercase, whitespace removed, the part before ``-`` (US ZIP+4 becomes 5 digits)."""
    out, reasons = text(values)
    out = out.str.lower().str.split("-").str[0].str.replace(r"\s+", "", regex=True)
    return _validated(out, reasons, out.str.len() > 0, "invalid_format")


def country(values: pd.Series) -> Normalized:
    """ISO 3166-1 alpha-2, lowercase; common English names accepted."""
    out, reasons = text(values)
    lowered = out.str.lower().str.replace(r"[^a-z ]", "", regex=True).str.strip()
    out = lowered.map(lambda v: _COUNTRY_NAMES.get(v, v) if isinstance(v, str) else v)
    return _validated(out, reasons, out.isin(_ISO_COUNTRIES), "invalid_country")


def gender(values: pd.Series) -> Normalized:
    """``m`` or ``f``."""
    out, reasons = text(values)
    out = out.str.lower().map(lambda v: _GENDERS.get(v) if isinstance(v, str) else None)
    return _validated(out, reasons, out.notna(), "invalid_gender")


def date_parts(values: pd.Series) -> tuple[Normalized, Normalized, Normalized]:
    """A date (or ISO text) split into (``YYYY``, ``MM``, ``DD``)."""
    out, reasons = text(values)
    parsed = pd.to_datetime(out, errors="coerce", format="mixed")
    bad = out.notna() & parsed.isna()
    reasons = reasons.copy()
    reasons[bad] = "invalid_date"
    ok = parsed.notna()
    year = pd.Series(None, index=values.index, dtype=object)
    month, day = year.copy(), year.copy()
    year[ok] = parsed[ok].dt.year.astype(int).map("{:04d}".format)
    month[ok] = parsed[ok].dt.month.astype(int).map("{:02d}".format)
    day[ok] = parsed[ok].dt.day.astype(int).map("{:02d}".format)
    return (year, reasons), (month, reasons.copy()), (day, reasons.copy())


def dob_year(values: pd.Series) -> Normalized:
    out, reasons = text(values)
    out = out.str.replace(r"\D", "", regex=True)
    return _validated(out, reasons, out.str.fullmatch(r"(19|20)\d\d"), "invalid_date")


def dob_month(values: pd.Series) -> Normalized:
    out, reasons = text(values)
    lowered = out.str.lower()
    named = lowered.map(lambda v: _MONTHS.get(v) if isinstance(v, str) else None)
    numeric = pd.to_numeric(lowered, errors="coerce")
    in_range = numeric.between(1, 12)
    padded = numeric.where(in_range).map(lambda n: f"{int(n):02d}" if pd.notna(n) else None)
    out = named.where(named.notna(), padded)
    return _validated(out, reasons, out.notna(), "invalid_date")


def dob_day(values: pd.Series) -> Normalized:
    out, reasons = text(values)
    numeric = pd.to_numeric(out, errors="coerce")
    out = numeric.where(numeric.between(1, 31)).map(lambda n: f"{int(n):02d}" if pd.notna(n) else None)
    return _validated(out, reasons, out.notna(), "invalid_date")


def lower_id(values: pd.Series) -> Normalized:
    """Trim and lowercase (mobile advertiser ids keep their hyphens)."""
    out, reasons = text(values)
    return out.str.lower(), reasons


def raw_id(values: pd.Series) -> Normalized:
    """Trim only: click ids and external ids are case-sensitive."""
    return text(values)


def _pattern(regex: str) -> Callable[[pd.Series], Normalized]:
    def normalize(values: pd.Series) -> Normalized:
        out, reasons = text(values)
        return _validated(out, reasons, out.str.fullmatch(regex), "invalid_format")

    normalize.__doc__ = f"Trim; must match ``{regex}``."
    return normalize


fbp = _pattern(r"fb\.\d\.\d+\.\d+")
fbc = _pattern(r"fb\.\d\.\d+\.\S+")
ga_client_id = _pattern(r"\d+\.\d+")
