"""A fast ``phonenumbers.parse`` for plain phone-number text, from phonenumbers' own metadata.

Plain text is ASCII digits with spaces, dots, dashes and round brackets, and at most a leading ``+`` (or
``(+``): what almost every audience column holds. For such text ``parse`` only looks at the digits and at
whether a ``+`` leads, so the same reading (dial-out prefix, country code, national prefix, possible lengths,
all from the region's metadata) is done here without phonenumbers' general text handling, several times
faster. Anything else raises :class:`OutOfScope` and the caller asks phonenumbers itself. A test reads
generated numbers of every region both ways and requires the same result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata, ValidationResult

_LONGEST_PLAIN = 40  # characters; phonenumbers itself reads up to 250
_LENGTHS_KNOWN = 64  # possible-length verdicts precomputed up to this many digits (a transform rule adds a few)
_FEWEST_DIGITS = 3  # fewer: phonenumbers' viability rules for two digits are not repeated here
_SHORTEST_NATIONAL = 2  # phonenumbers' limits on a national significant number
_LONGEST_NATIONAL = 17
_LONGEST_COUNTRY_CODE = 3
_SHORTEST_INTERNATIONAL = 7  # as phones.read_number: no full number (country code + number) is shorter
_IS_POSSIBLE = ValidationResult.IS_POSSIBLE
_TOO_LONG = ValidationResult.TOO_LONG
_KEEP_NATIONAL_PREFIX = frozenset(
    {ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY, ValidationResult.INVALID_LENGTH}
)
#: A North American national number: area code and exchange start with 2-9.
NANP_NUMBER = re.compile(r"[2-9]\d\d[2-9]\d{6}")


class OutOfScope(Exception):
    """The text is not plain, or the reading takes a path phonenumbers handles in ways not repeated here."""


class Reading(NamedTuple):
    """A parsed number: its country calling code and national significant number (leading zeros kept)."""

    country_code: int
    national: str

    def phone_number(self) -> phonenumbers.PhoneNumber:
        """The same number as phonenumbers' object (for ``is_valid_number``)."""
        zeros = len(self.national) - len(self.national.lstrip("0"))
        zeros = min(zeros, len(self.national) - 1)  # an all-zero number keeps its last zero as the number
        return phonenumbers.PhoneNumber(
            country_code=self.country_code,
            national_number=int(self.national),
            italian_leading_zero=True if zeros else None,
            number_of_leading_zeros=zeros if zeros > 1 else None,
        )


#: A reading inside this module: (country code, national significant number), as :class:`Reading` holds it.
_Number = tuple[int, str]


def _no_match(digits: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class _Plan:
    """What reading a number needs from one region's (or calling code's) metadata.

    ``general`` fullmatches the region's national number pattern; ``lengths[n]`` is phonenumbers' possible-length
    verdict for a national number of ``n`` digits (any type).
    """

    country_code: int
    country_code_text: str
    dial_out: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None
    transform: str | None
    general: Callable[[str], re.Match[str] | None]
    lengths: tuple[ValidationResult, ...]
    code_lengths: tuple[ValidationResult, ...]  # ``lengths`` of the plan for the whole calling code (code_plan)


def _length_verdict(actual: int, possible: tuple[int, ...], local: tuple[int, ...]) -> ValidationResult:
    """phonenumbers' ``_test_number_length`` for a national number of ``actual`` digits."""
    if actual in local:
        return ValidationResult.IS_POSSIBLE_LOCAL_ONLY
    if possible[0] == actual:
        return ValidationResult.IS_POSSIBLE
    if possible[0] > actual:
        return ValidationResult.TOO_SHORT
    if possible[-1] < actual:
        return ValidationResult.TOO_LONG
    return ValidationResult.IS_POSSIBLE if actual in possible[1:] else ValidationResult.INVALID_LENGTH


def _plan(metadata: PhoneMetadata, code_lengths: tuple[ValidationResult, ...] | None = None) -> _Plan:
    """The plan of ``metadata``; ``code_lengths`` is its calling code's verdicts when another region's metadata
    decides them (None: this metadata's own)."""
    general = metadata.general_desc
    possible, local = tuple(general.possible_length), tuple(general.possible_length_local_only)
    pattern = general.national_number_pattern
    lengths = tuple(_length_verdict(n, possible, local) for n in range(_LENGTHS_KNOWN + 1))
    return _Plan(
        country_code=metadata.country_code,
        country_code_text=str(metadata.country_code),
        dial_out=re.compile(metadata.international_prefix) if metadata.international_prefix else None,
        national_prefix=re.compile(metadata.national_prefix_for_parsing)
        if metadata.national_prefix_for_parsing
        else None,
        transform=metadata.national_prefix_transform_rule or None,
        general=re.compile(pattern).fullmatch if pattern else _no_match,
        lengths=lengths,
        code_lengths=lengths if code_lengths is None else code_lengths,
    )


@cache
def region_plan(region: str) -> _Plan:
    """The plan of a supported region (ISO code in upper case)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    return _plan(metadata, code_plan(metadata.country_code).lengths)


@cache
def code_plan(country_code: int) -> _Plan:
    """The plan phonenumbers uses for numbers with ``country_code``: its main region's (or the non-geographic
    entity's)."""
    main = phonenumbers.region_code_for_country_code(country_code)
    return _plan(PhoneMetadata.metadata_for_region_or_calling_code(country_code, main))


#: Country calling codes by their digits (``"44"`` -> 44): a dict lookup per prefix length, no int parsing.
_COUNTRY_CODES = {str(code): code for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE}


def _split_country_code(digits: str) -> tuple[int, str]:
    """(country code, rest) for digits that start with one (codes never start with 0), else (0, digits)."""
    if digits[0] != "0":
        for size in range(1, _LONGEST_COUNTRY_CODE + 1):
            code = _COUNTRY_CODES.get(digits[:size])
            if code is not None and size <= len(digits):
                return code, digits[size:]
    return 0, digits


#: ``_split_country_code`` of any digits that start with these three, as (country code, its length): for three
#: digits or more the split depends on the first three only. Prefixes that start no country code are absent.
_CODE_SPLITS = {
    prefix: (code, len(prefix) - len(rest))
    for prefix in (f"{n:03d}" for n in range(1000))
    for code, rest in [_split_country_code(prefix)]
    if code
}


def _strip_national_prefix(number: str, plan: _Plan) -> str:
    """``number`` without the region's national (trunk) prefix, unless that leaves a number that no longer fits
    the region's pattern when the whole one did; a transform rule rewrites instead of cutting."""
    if not number or plan.national_prefix is None:
        return number
    found = plan.national_prefix.match(number)
    if found is None:
        return number
    if plan.transform is None:
        candidate = number[found.end() :]
    else:
        groups = found.groups()
        if not groups:
            raise OutOfScope("a transform rule without groups")
        if groups[-1] is None:
            candidate = number[found.end() :]
        else:
            candidate = plan.national_prefix.sub(plan.transform, number, count=1)
    if plan.general(candidate) is None and plan.general(number) is not None:
        return number
    return candidate


def _significant(national: str, plan: _Plan) -> str | None:
    """The national number with its national prefix stripped where what remains is a possible length
    (``_strip_national_prefix``, inlined for the common case: a plain prefix such as ``0``); None when it is
    too short or too long to be a number."""
    if len(national) < _SHORTEST_NATIONAL:
        return None
    found = plan.national_prefix.match(national) if plan.national_prefix is not None else None
    if found is not None:
        if plan.transform is None:
            stripped = national[found.end() :]
            if plan.general(stripped) is None and plan.general(national) is not None:
                stripped = national
        else:
            stripped = _strip_national_prefix(national, plan)
        if plan.lengths[len(stripped)] not in _KEEP_NATIONAL_PREFIX:
            national = stripped
    return None if len(national) > _LONGEST_NATIONAL else national


def _finish(code: int, national: str, plan: _Plan) -> _Number | None:
    """The national prefix stripped where what remains is a possible length, and the length limits checked."""
    significant = _significant(national, plan)
    return None if significant is None else (code, significant)


def read_digits(plus: bool, digits: str, region: str) -> Reading | None:
    """``phonenumbers.parse`` of plain text whose digits are ``digits`` (a ``+`` before them if ``plus``), dialled
    from ``region``: a :class:`Reading`, or None where phonenumbers raises."""
    if plus:
        number = _international(digits)
    else:
        home = region_plan(region)
        number = _national(digits, home, home.dial_out.match(digits) if home.dial_out is not None else None)
    return None if number is None else Reading(*number)


def _international(digits: str) -> _Number | None:
    """``+<digits>``: the country code, then the number as its main region reads it."""
    if len(digits) < _FEWEST_DIGITS:
        raise OutOfScope("too few digits")
    code, national = _split_country_code(digits)
    if code == 0:
        raise OutOfScope("no country code after '+' (phonenumbers then reads it without the '+')")
    return _finish(code, national, code_plan(code))


def _national(digits: str, home: _Plan, dial_out: re.Match[str] | None) -> _Number | None:
    """Digits without a ``+``, dialled from ``home`` (``dial_out``: its dial-out prefix matched at the start)."""
    if len(digits) < _FEWEST_DIGITS:
        raise OutOfScope("too few digits")
    if dial_out is not None and digits[dial_out.end() : dial_out.end() + 1] != "0":
        rest = digits[dial_out.end() :]
        if len(rest) <= _SHORTEST_NATIONAL:
            return None  # too short after the dial-out prefix
        code, national = _split_country_code(rest)
        return _finish(code, national, code_plan(code)) if code else None
    own = home.country_code_text
    if digits.startswith(own):
        national = _strip_national_prefix(digits[len(own) :], home)
        if (home.general(digits) is None and home.general(national) is not None) or home.lengths[
            len(digits)
        ] == _TOO_LONG:
            return _finish(home.country_code, national, code_plan(home.country_code))
    return _finish(home.country_code, digits, home)


def plain_digits(text: str) -> tuple[bool, str]:
    """(whether a ``+`` leads, the digits) of plain text; :class:`OutOfScope` for any other text."""
    if len(text) > _LONGEST_PLAIN or not text.isascii():
        raise OutOfScope("not plain text")
    plus_at = text.find("+")
    if plus_at > 0 and not (plus_at == 1 and text[0] == "("):
        raise OutOfScope("not plain text")
    digits = text[plus_at + 1 :] if plus_at >= 0 else text
    if digits.isdigit():
        return plus_at >= 0, digits
    digits = digits.replace(" ", "")  # the usual separator, alone in most numbers
    if not digits.isdigit():
        digits = digits.replace("-", "").replace(".", "").replace("(", "").replace(")", "")
        if not digits.isdigit():
            raise OutOfScope("not plain text")
    return plus_at >= 0, digits


def read_plain(text: str, region: str) -> Reading | None:
    """``phonenumbers.parse(text, region)`` as a :class:`Reading` (None where it raises) for plain ``text``
    (trimmed); :class:`OutOfScope` for any other text."""
    return read_digits(*plain_digits(text), region)


def _is_valid(number: _Number | None) -> bool:
    return number is not None and phonenumbers.is_valid_number(Reading(*number).phone_number())


def plain_e164(text: str, region: str) -> str | None:
    """``phones.e164_reference(text, region)`` for plain ``text`` (trimmed), without asking phonenumbers to
    parse; :class:`OutOfScope` for any other text."""
    return digits_e164(*plain_digits(text), region)


def digits_e164(plus: bool, digits: str, region: str) -> str | None:
    """``plain_e164`` of the text ``plain_digits`` read as ``(plus, digits)``. The choices between readings are
    ``phones.read_number``'s, step for step: a test requires the same result over every region's numbers."""
    if plus:
        split = _CODE_SPLITS.get(digits[:3]) if len(digits) >= _FEWEST_DIGITS else None
        if split is None:
            return _e164(_international(digits))  # raises OutOfScope: too few digits, or no country code
        code, size = split  # _international, inlined
        plan = code_plan(code)
        return _finished_e164(digits[size:], plan, plan.lengths)
    home = region_plan(region)
    dial_out = home.dial_out.match(digits) if home.dial_out is not None else None
    if dial_out is not None:
        if dial_out.end() == 2 and digits.startswith("00"):  # "00" then a country code: the common case, inlined
            split = _CODE_SPLITS.get(digits[2:5]) if len(digits) >= _FEWEST_DIGITS + 2 else None
            if split is not None:  # _national and _international then read the same number
                code, size = split
                plan = code_plan(code)
                return _finished_e164(digits[2 + size :], plan, plan.lengths)
        number = _national(digits, home, dial_out)
        if digits.startswith("00"):
            after_00 = _international(digits[2:])
            if after_00 != number and not _is_valid(number) and _is_valid(after_00):
                number = after_00
        return _e164(number)
    if digits.startswith("00"):
        return _e164(_international(digits[2:]))
    if digits[0] == "0" and len(digits) >= _FEWEST_DIGITS:
        # A national number after a trunk prefix (the common case, inlined): country codes never start with 0.
        return _finished_e164(digits, home, home.code_lengths)
    national = _national(digits, home, None)
    if digits[0] == "0" or len(digits) < _SHORTEST_INTERNATIONAL:
        return _e164(national)
    if _is_valid(national) and not digits.startswith(home.country_code_text):
        return _e164(national)
    international = _international(digits)
    return _e164(international if _is_valid(international) else national)


def _finished_e164(national: str, plan: _Plan, code_lengths: tuple[ValidationResult, ...]) -> str | None:
    """``_e164(_finish(plan.country_code, national, plan))`` in one call, ``code_lengths`` being
    ``code_plan(plan.country_code).lengths``: the inner step of the common readings, so ``_e164``'s checks are
    repeated here step for step (the corpus test compares both ways with phonenumbers)."""
    significant = _significant(national, plan)
    if significant is None or code_lengths[len(significant)] != _IS_POSSIBLE:
        return None
    if plan.country_code == 1 and NANP_NUMBER.fullmatch(str(int(significant))) is None:
        return None
    return f"+{plan.country_code_text}{significant}"


def _e164(number: _Number | None) -> str | None:
    """``+<code><national>`` where phonenumbers calls the number possible (and a North American number has an
    area code and exchange starting with 2-9), else None."""
    if number is None:
        return None
    code, national = number
    if code_plan(code).lengths[len(national)] != _IS_POSSIBLE:
        return None
    if code == 1 and NANP_NUMBER.fullmatch(str(int(national))) is None:
        return None
    return f"+{code}{national}"
