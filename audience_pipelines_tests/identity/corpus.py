"""Seeded generated corpora for the identity tests: phone numbers of every region written many ways, emails,
names and cities in many scripts, and junk. Small enough that the whole identity suite stays fast."""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from audience_pipelines.identity.junk import EMPTY_DIGESTS, PLACEHOLDERS

SEED = 20261128

# Dial-out prefixes tried against each region's pattern (phonenumbers' metadata says which one a region uses).
_DIAL_OUT_CANDIDATES = ("00", "011", "0011", "0014", "001", "002", "008", "0021", "0015", "010", "810", "009", "000")


# Numbering-plan regions that are not ISO countries: as a row country "AC" is read as Saint Helena (SH).
_NOT_COUNTRIES = frozenset({"AC", "TA"})


@dataclass(frozen=True)
class Phone:
    raw: str
    region: str
    e164: str


@cache
def dial_out_prefixes(region: str) -> tuple[str, ...]:
    """The region's dial-out prefixes: its preferred one and the common ones its pattern accepts."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    pattern = metadata.international_prefix or ""
    found = [p for p in _DIAL_OUT_CANDIDATES if pattern and re.fullmatch(pattern, p)]
    preferred = metadata.preferred_international_prefix
    if preferred and preferred.replace("~", "").isdigit():
        found.append(preferred)
    return tuple(dict.fromkeys(found))


def _junk_punctuation(rng: random.Random, text: str) -> str:
    """``text`` with spaces, dashes, dots, slashes or brackets put between some digits, and stray spaces."""
    out = []
    for char in text:
        out.append(char)
        if char.isdigit() and rng.random() < 0.25:
            out.append(rng.choice([" ", "-", ".", "/", " - ", "  "]))
    return f"{rng.choice(['', ' ', '  '])}{''.join(out).rstrip('-./ ')}{rng.choice(['', ' ', chr(9)])}"


def phones(rng: random.Random | None = None) -> list[Phone]:
    """Each region's example mobile and fixed-line numbers, written national, international, E.164, after the
    region's dial-out prefixes, as RFC 3966, and with junk punctuation; about 3,000 values."""
    rng = rng or random.Random(SEED)
    out: list[Phone] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS - _NOT_COUNTRIES):
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
            national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
            international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
            written = [national, international, e164, _junk_punctuation(rng, national)]
            written += [f"{prefix} {international[1:]}" for prefix in dial_out_prefixes(region)]
            written.append(_junk_punctuation(rng, international))
            out += [Phone(raw, region, e164) for raw in dict.fromkeys(written)]
    return out


_LOCAL = "abcdefghijklmnopqrstuvwxyz0123456789"
_DOMAINS = ["example.com", "mail.example.co.uk", "gmail.com", "example.org", "xn--bcher-kva.example", "ex-ample.io"]


def _random_case(rng: random.Random, text: str) -> str:
    return "".join(c.upper() if rng.random() < 0.3 else c for c in text)


def emails(rng: random.Random | None = None, count: int = 3000) -> list[tuple[str, str]]:
    """(raw, expected normalized) emails: mixed case, surrounding whitespace, and ``mailto:`` / ``<...>`` /
    ``Name <...>`` wrappers."""
    rng = rng or random.Random(SEED)
    out = []
    for _ in range(count):
        local = "".join(rng.choice(_LOCAL) for _ in range(rng.randint(1, 12)))
        if rng.random() < 0.3:
            local += "." + "".join(rng.choice(_LOCAL) for _ in range(rng.randint(1, 5)))
        if rng.random() < 0.2:
            local += "+tag" + str(rng.randint(0, 99))
        address = f"{local}@{rng.choice(_DOMAINS)}"
        raw = _random_case(rng, address)
        wrapper = rng.choice(["{}", "{}", "{}", "mailto:{}", "<{}>", "Jane Doe <{}>", '"Doe, J." <{}>', "MAILTO:{}"])
        raw = wrapper.format(raw)
        raw = rng.choice(["", " ", "\t", "\u00a0"]) + raw + rng.choice(["", " ", "\n", "\u200b"])
        out.append((raw, address))
    return out


# Script blocks: (first, last) code points. Letters and marks are taken from them with unicodedata.
SCRIPTS = {
    "latin": (0x0041, 0x024F),
    "cyrillic": (0x0410, 0x044F),
    "greek": (0x0391, 0x03CE),
    "arabic": (0x0620, 0x065F),
    "hebrew": (0x0591, 0x05EA),
    "devanagari": (0x0900, 0x097F),
    "bengali": (0x0980, 0x09FE),
    "gujarati": (0x0A80, 0x0AFF),
    "thai": (0x0E01, 0x0E4E),
    "lao": (0x0E81, 0x0ECD),
    "myanmar": (0x1000, 0x109F),
    "cjk": (0x4E00, 0x4FFF),
}
_LATIN_ACCENTS = "\u0300\u0301\u0302\u0303\u0308\u030a\u030c\u0327"


@cache
def _inventory(script: str) -> tuple[str, str]:
    """(letters, marks) of a script block, by Unicode category."""
    first, last = SCRIPTS[script]
    chars = [chr(c) for c in range(first, last + 1)]
    letters = "".join(c for c in chars if unicodedata.category(c).startswith("L"))
    marks = "".join(c for c in chars if unicodedata.category(c).startswith("M"))
    if script in ("latin", "cyrillic", "greek"):
        letters = "".join(c for c in letters if c.lower() != c or c.upper() != c)  # cased letters only
        marks = _LATIN_ACCENTS
    return letters, marks


def _word(rng: random.Random, script: str) -> str:
    letters, marks = _inventory(script)
    out = []
    for _ in range(rng.randint(1, 7)):
        out.append(rng.choice(letters))
        if marks and rng.random() < 0.4:
            out.append(rng.choice(marks))
    return "".join(out)


def names(rng: random.Random | None = None, count: int = 3000) -> list[tuple[str, str, str]]:
    """(script, raw, clean) names and cities: ``clean`` is one word of letters and marks only (NFC); ``raw``
    adds case, spaces, punctuation, digits and decomposition to ``clean`` or to several words."""
    rng = rng or random.Random(SEED)
    out = []
    for i in range(count):
        script = list(SCRIPTS)[i % len(SCRIPTS)]
        clean = unicodedata.normalize("NFC", _word(rng, script))
        words = [clean] + [_word(rng, script) for _ in range(rng.choice([0, 0, 1, 2]))]
        raw = rng.choice([" ", "-", " ", "'", ". "]).join(words)
        if rng.random() < 0.3:
            raw += rng.choice([" 3", " 12", "!", " (Jr.)", " ٣", " ४"])
        if rng.random() < 0.3:
            raw = unicodedata.normalize("NFD", raw)
        out.append((script, rng.choice(["", " ", "  "]) + _random_case(rng, raw) + rng.choice(["", " "]), clean))
    return out


def junk(rng: random.Random | None = None) -> list[str]:
    """Placeholder text in random case with whitespace, blanks, and digests of nothing."""
    rng = rng or random.Random(SEED)
    values = [
        rng.choice(["", " ", "\t"]) + _random_case(rng, word) + rng.choice(["", " ", "\n"]) for word in PLACEHOLDERS
    ]
    values += [" ", "\t\n", "\u00a0", "\u200b", *sorted(EMPTY_DIGESTS), "0" * 64, "F" * 64]
    return values * 3


_PREFIXES = ("", "", "0", "00", "000", "+", "+0", "(+", "1", "8", "011", "0011", "810", "(0)")


def phone_texts(rng: random.Random | None = None, per_region: int = 40) -> list[tuple[str, str]]:
    """(text, region): every region's example numbers of each type, written nationally, internationally, after
    dial-out prefixes, with and without the country code; the same with a digit changed, added or dropped and
    random prefixes; and random digit strings. Some get spaces, dashes, dots or brackets. Most are plain text
    that ``phone_reading`` reads; many are not valid numbers (which is the point: they must be dropped alike)."""
    rng = rng or random.Random(SEED)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        code = str(phonenumbers.country_code_for_region(region))
        written = []
        for kind in PhoneNumberType.values():
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            national = phonenumbers.national_significant_number(number)
            formats = (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.E164)
            written += [phonenumbers.format_number(number, f) for f in formats]
            written += [code + national, "00" + code + national, "011" + code + national, "0" + national, national]
            for _ in range(per_region // 8):
                digits = list(national)
                spot = rng.randrange(len(digits) + 1)
                change = rng.choice(["replace", "insert", "drop"])
                if change == "insert" or spot == len(digits):
                    digits.insert(spot, rng.choice("0123456789"))
                elif change == "replace":
                    digits[spot] = rng.choice("0123456789")
                elif len(digits) > 1:
                    del digits[spot]
                prefix = rng.choice([*_PREFIXES, code, "+" + code, "00" + code, "+" + str(rng.choice(codes))])
                written.append(prefix + "".join(digits))
        for _ in range(per_region // 4):
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 18)))
            written.append(rng.choice([*_PREFIXES, code, "+" + code]) + digits)
        for text in written:
            if rng.random() < 0.5:
                text = "".join(c + (rng.choice(" -.()") if c.isdigit() and rng.random() < 0.2 else "") for c in text)
            out.append((text.strip(), region))
    return out
