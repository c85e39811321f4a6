"""Phone numbers: a vectorized fast path for plain North American numbers, ``e164`` for the rest (once per
distinct value and region), formatted as E.164 or as digits with the country code. ``e164`` reads plain text
with ``phone_reading`` and anything else with ``phonenumbers`` (``e164_reference``: the rules themselves)."""

from __future__ import annotations

import re
from functools import cache

import pandas as pd
import phonenumbers

from audience_pipelines.identity.phone_reading import NANP_NUMBER, OutOfScope, plain_e164
from audience_pipelines.identity.text import Context, Normalized, nones, objects, text
from audience_pipelines.identity.types import INVALID_PHONE

NANP_REGIONS = frozenset({"US", "CA"})


def phone_in_context(values: pd.Series, context: Context) -> Normalized:
    """``normalize.phone`` with its settings in ``context`` (row countries already resolved to codes)."""
    out, reasons = text(values)
    present = out.notna().to_numpy()
    if not present.any():
        return out, reasons
    region = pd.Series(context.default_region, index=values.index, dtype=object)
    if context.countries is not None:
        region = region.where(~context.countries.isin(phonenumbers.SUPPORTED_REGIONS), context.countries)
    candidates, regions = out[present], region[present]
    formatted = nanp_fast_path(candidates, regions)
    slow = formatted.isna().to_numpy()
    if slow.any():
        formatted[slow] = _parse_each_distinct(candidates[slow], regions[slow]).to_numpy()
    if context.phone_format == "digits_with_country_code":
        formatted = formatted.str.removeprefix("+")
    result = nones(values.index)
    result[present] = formatted.to_numpy()
    reasons = reasons.copy()
    reasons[present & result.isna().to_numpy()] = INVALID_PHONE
    return result, reasons


# A plain North American number: optional "+" and "1", area code, exchange, line; spaces, dots, dashes and
# parentheses between the groups only.
_NANP_SHAPE = r"^(\+)?(?:(1)[\s.\-]*)?\(?([2-9]\d\d)\)?[\s.\-]*([2-9]\d\d)[\s.\-]*(\d{4})$"
# The shapes ``nanp_fast_path`` takes, one pattern per kind of row, for the phone lane (``fast_lane.py``) to
# fullmatch trimmed text: in a US or CA row any of them (a "+" only before the "1"), elsewhere "+1 ..." only.
# Groups: area code, exchange, line.
_NANP_NUMBER = r"\(?([2-9]\d\d)\)?[\s.\-]*([2-9]\d\d)[\s.\-]*(\d{4})"
NANP_IN_REGION = re.compile(rf"(?:\+?1[\s.\-]*)?{_NANP_NUMBER}")
NANP_PLUS_ONE = re.compile(rf"\+1[\s.\-]*{_NANP_NUMBER}")


def nanp_fast_path(values: pd.Series, regions: pd.Series) -> pd.Series:
    """E.164 for plain North American numbers, without calling ``phonenumbers`` per value.

    Only unambiguous shapes take this path (``_NANP_SHAPE``: area code and exchange starting with 2-9):
    ``+1 ...`` in any row, ``1 ...`` or a bare 10-digit number in a US or CA row. Everything else (``+65...``
    is Singapore, not a 10-digit US number) is left as None for ``phonenumbers``; a test checks that both
    agree on these shapes.
    """
    parts = values.str.extract(_NANP_SHAPE)
    plus, one = parts[0].notna(), parts[1].notna()
    in_nanp = regions.isin(NANP_REGIONS)
    ok = parts[2].notna() & ((plus & one) | (~plus & in_nanp))
    return ("+1" + parts[2] + parts[3] + parts[4]).where(ok, None)


def _parse_each_distinct(values: pd.Series, regions: pd.Series) -> pd.Series:
    """``e164`` for each distinct (region, value) pair, mapped back onto the rows."""
    if regions.nunique() <= 1:
        region = regions.iloc[0]
        table = {value: e164(value, region) for value in pd.unique(values.to_numpy())}
        return objects(values.map(table))
    keys = regions + values  # region codes are two letters: the key splits back without a separator
    table = {key: e164(key[2:], key[:2]) for key in pd.unique(keys.to_numpy())}
    return objects(keys.map(table))


_PLUS = re.compile(r"^[\s(\[]*[+\uff0b]")
_LEADING_00 = re.compile(r"^\D*0\D*0")
_LEADING_JUNK = re.compile(r"^\D*")
_NON_DIGIT = re.compile(r"[^0-9]+")
_SHORTEST_INTERNATIONAL = 7  # country code + number: no shorter full number exists (+690 3xxx, Tokelau)


@cache
def _international_prefix(region: str) -> re.Pattern[str] | None:
    """The region's dial-out prefix pattern from phonenumbers' metadata (``011`` US, ``0011`` AU, ...)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    prefix = metadata.international_prefix if metadata else None
    return re.compile(prefix) if prefix else None


def _parse(value: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None


def read_number(value: str, region: str) -> phonenumbers.PhoneNumber | None:
    """The number ``value`` most plausibly is, dialled from ``region`` (None if it cannot be read).

    ``+...`` is international. A number starting with the region's own dial-out prefix (phonenumbers'
    metadata: ``011`` in North America, ``0011`` in Australia, ``00`` plus a carrier code in Brazil) is read by
    phonenumbers with that region; ``00`` is read as the dial-out prefix in any other region too. Otherwise the
    digits are a national number unless they only make sense as country code + number without the ``+``
    (``447911123456`` in a US row), or start with the region's own country code and are valid that way
    (``4930123456`` in a DE row): normalized output read again is the same number, never a second code.
    """
    if _PLUS.match(value):
        return _parse(value, region)
    digits = _NON_DIGIT.sub("", value)
    prefix = _international_prefix(region)
    if prefix is not None and prefix.match(digits):
        number = _parse(value, region)
        if not digits.startswith("00") or (number is not None and phonenumbers.is_valid_number(number)):
            return number
        plain_00 = _parse(_LEADING_00.sub("+", value, count=1), region)  # Hong Kong's 00[1-9]? vs "00 852 ..."
        return plain_00 if plain_00 is not None and phonenumbers.is_valid_number(plain_00) else number
    if digits.startswith("00"):
        return _parse(_LEADING_00.sub("+", value, count=1), region)
    national = _parse(value, region)
    if digits[:1] in ("", "0") or len(digits) < _SHORTEST_INTERNATIONAL:
        return national  # a trunk prefix, or too short: country codes never start with 0
    own_code = digits.startswith(str(phonenumbers.country_code_for_region(region)))
    national_valid = national is not None and phonenumbers.is_valid_number(national)
    if national_valid and not own_code:
        return national
    international = _parse(_LEADING_JUNK.sub("+", value, count=1), region)
    if international is not None and phonenumbers.is_valid_number(international):
        return international
    return national


def e164(value: str, region: str) -> str | None:
    """``value`` (trimmed text) in E.164, dialled from ``region``; None unless it is a possible full number
    (and, in North America, has an area code and exchange starting with 2-9).

    Plain text (digits and punctuation) is read by ``phone_reading.plain_e164``, which gives the same as
    ``e164_reference`` several times faster; anything else by the reference itself."""
    try:
        return plain_e164(value, region)
    except OutOfScope:
        return e164_reference(value, region)


def e164_reference(value: str, region: str) -> str | None:
    """``e164`` with every reading done by ``phonenumbers`` itself: the rules, and the oracle of the fast reading."""
    number = read_number(value, region)
    if number is None:
        return None
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    if number.country_code == 1 and not NANP_NUMBER.fullmatch(str(number.national_number)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
