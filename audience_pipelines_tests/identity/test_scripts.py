"""Names and cities in scripts with combining marks keep every mark (Mn, Mc, Me), in NFC; punctuation, digits
and spaces still go where the platform's rule says so."""

import unicodedata

import pytest

from audience_pipelines.identity import explain
from audience_pipelines_tests.identity.support import h, norm

# (raw, Meta letters-only form): each keeps its vowel signs, viramas, points or diacritics.
SCRIPTS = [
    ("मुंबई", "मुंबई"),  # Devanagari: vowel signs (Mn/Mc) and anusvara
    ("प्रिया शर्मा", "प्रियाशर्मा"),  # Devanagari: virama
    ("কলকাতা", "কলকাতা"),  # Bengali: vowel sign aa (Mc)
    ("અમદાવાદ", "અમદાવાદ"),  # Gujarati
    ("กรุงเทพ มหานคร", "กรุงเทพมหานคร"),  # Thai: sara u (Mn), mai ek (Mn)
    ("ສົມສັກ", "ສົມສັກ"),  # Lao
    ("မြန်မာ", "မြန်မာ"),  # Myanmar: medial ra (Mc), asat (Mn)
    ("שָׁלוֹם", "שָׁלוֹם"),  # Hebrew points
    ("مُحَمَّد", "مُحَمَّد"),  # Arabic harakat and shadda
    ("Zoë-Ann", "zoëann"),
    ("A\u20dd", "a\u20dd"),  # an enclosing mark (Me)
]


@pytest.mark.parametrize(("raw", "expected"), SCRIPTS)
def test_meta_names_and_cities_keep_every_mark(raw, expected):
    assert norm("meta", "first_name", raw) == [expected]
    assert norm("meta", "city", raw) == [expected]
    assert explain("meta", "last_name", raw).hashed == h(expected)


@pytest.mark.parametrize(("raw", "expected"), SCRIPTS)
def test_marks_survive_every_platform_rule(raw, expected):
    marks = [c for c in unicodedata.normalize("NFC", raw) if unicodedata.category(c).startswith("M")]
    for platform, kind in [("ga4", "first_name"), ("ga4", "city"), ("tiktok", "city"), ("tiktok", "first_name")]:
        (out,) = norm(platform, kind, raw)
        assert [c for c in out if unicodedata.category(c).startswith("M")] == marks, (platform, kind)


def test_output_is_nfc_even_when_punctuation_sat_between_a_letter_and_its_mark():
    assert norm("meta", "first_name", "e-\u0301mile") == ["\u00e9mile"]
    assert norm("meta", "first_name", "\u00e9mile") == norm("meta", "first_name", "e\u0301mile")


def test_digits_in_any_script_punctuation_and_symbols_still_go():
    assert norm("meta", "city", "मुंबई ४००००१", "Москва-2", "東京・23区", "Ⅻ½ Paris²") == [
        "मुंबई", "москва", "東京区", "paris",
    ]  # fmt: skip
    assert norm("ga4", "city", "Rio de Janeiro 2", "São  Paulo!") == ["rio de janeiro", "são paulo"]
    assert norm("tiktok", "city", "मुंबई ४००००१") == ["मुंबई४००००१"]  # TikTok keeps letters and digits
