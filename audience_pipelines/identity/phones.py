"""Phone numbers: a vectorized fast path for plain North American numbers, ``phonenumbers`` for the rest
(once per distinct value and region), formatted as E.164 or as digits with the country code."""

from __future__ import annotations

import re

import pandas as pd
import phonenumbers

from audience_pipelines.identity.text import Context, Normalized, nones, objects, text
from audience_pipelines.identity.types import INVALID_PHONE

_NANP_REGIONS = frozenset({"US", "CA"})
_NANP_NUMBER = r"[2-9]\d\d[2-9]\d{6}"


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


def nanp_fast_path(values: pd.Series, regions: pd.Series) -> pd.Series:
    """E.164 for plain North American numbers, without calling ``phonenumbers`` per value.

    Only unambiguous shapes take this path (``_NANP_SHAPE``: area code and exchange starting with 2-9):
    ``+1 ...`` in any row, ``1 ...`` or a bare 10-digit number in a US or CA row. Everything else (``+65...``
    is Singapore, not a 10-digit US number) is left as None for ``phonenumbers``; a test checks that both
    agree on these shapes.
    """
    parts = values.str.extract(_NANP_SHAPE)
    plus, one = parts[0].notna(), parts[1].notna()
    in_nanp = regions.isin(_NANP_REGIONS)
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


def e164(value: str, region: str) -> str | None:
    candidate = "+" + value[2:] if value.startswith("00") else value  # 00 as the international prefix
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    if number.country_code == 1 and not re.fullmatch(_NANP_NUMBER, str(number.national_number)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
