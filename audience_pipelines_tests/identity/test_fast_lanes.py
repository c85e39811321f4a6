"""The fast paths give exactly what the full paths give: ``phone_reading`` against ``phonenumbers.parse``, the fast
``e164`` against the phonenumbers-only reference, and the email and phone lanes (``fast_lane.py``) against the
vectorized normalizers, over the generated corpora with junk, missing values and pre-hashed digests mixed in."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import phonenumbers
import pytest

from audience_pipelines.identity import FieldSpec, get_platform, normalize_values, prepare_identifiers
from audience_pipelines.identity.fast_lane import email_lane, phone_lane
from audience_pipelines.identity.normalize import FULL_NORMALIZERS, NORMALIZERS, row_countries
from audience_pipelines.identity.phone_reading import OutOfScope, Reading, read_plain
from audience_pipelines.identity.phones import e164, e164_reference
from audience_pipelines.identity.prepare import _prepare_fully, prepare_column
from audience_pipelines.identity.text import Context
from audience_pipelines_tests.identity import corpus
from audience_pipelines_tests.identity.support import h, plain

PHONE_TEXTS = corpus.phone_texts(per_region=24)
DIGEST = h("someone@example.com")
FULL_WIDTH = "".join(chr(0xFF10 + int(d)) for d in "6505551212")  # full-width digits


def _library_reading(text: str, region: str) -> Reading | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return Reading(number.country_code, phonenumbers.national_significant_number(number))


def test_plain_reading_is_phonenumbers_parse_for_every_regions_numbers():
    read = 0
    for text, region in PHONE_TEXTS:
        try:
            reading = read_plain(text, region)
        except OutOfScope:
            continue
        assert reading == _library_reading(text, region), (text, region)
        read += 1
    assert read > 0.9 * len(PHONE_TEXTS)  # plain text is nearly all of it: the comparison is not vacuous


def test_plain_reading_leaves_other_text_to_phonenumbers():
    others = ["+1 650 555 1212 ext. 7", "tel:+16505551212", "650\u00a0555 1212", FULL_WIDTH, "1-800-FLOWERS", "12"]
    for text in others:
        with pytest.raises(OutOfScope):
            read_plain(text, "US")


def test_fast_e164_is_the_reference_for_every_regions_numbers():
    texts = PHONE_TEXTS + [(p.raw.strip(), p.region) for p in corpus.phones()[::3]]
    wrong = [(text, region) for text, region in texts if e164(text, region) != e164_reference(text, region)]
    assert wrong == []
    assert sum(e164(text, region) is not None for text, region in texts) > 3000


def _mixed(values: list, rng: random.Random) -> list:
    """``values`` with missing values, blanks, placeholders, digests, numbers and non-ASCII text mixed in."""
    extra = [None, np.nan, pd.NA, "", "   ", "\t", "null", "N/A", " - ", DIGEST, DIGEST.upper(), "0" * 64]
    extra += [6505551212, 6505551212.0, FULL_WIDTH, "650\u00a0555\u00a01212", "x@y", "Zoë@Example.com"]
    return rng.sample(values + extra * 20, len(values) + len(extra) * 20)


def _same(fast: tuple[pd.Series, ...], full: tuple[pd.Series, ...]) -> None:
    for got, expected in zip(fast, full, strict=True):
        assert plain(got) == plain(expected)
        assert list(got.index) == list(expected.index)


@pytest.mark.parametrize("platform", ["meta", "google", "tiktok", "webhook"])
def test_the_email_lane_gives_what_the_full_normalizer_gives(platform):
    rng = random.Random(corpus.SEED)
    raw = [r for r, _ in corpus.emails()] + [e for _, e in corpus.emails()] + ["a@b", "a@@b.com", "a b@c.com"]
    raw += ["a@b.c>d", "x@y.co>", " MAILTO:X@Y.CO ", "mailto:x@y.co?subject=hi", "Jo <jo@y.co>", "mailtox@y.co"]
    values = pd.Series(_mixed(raw, rng), dtype=object, index=range(7, 7 + len(raw) + 360))
    context = Context()
    _same(NORMALIZERS["email"](values, context), FULL_NORMALIZERS["email"](values, context))
    rules = get_platform(platform)
    _same(prepare_column(values, "email", rules, context), _prepare_fully(values, "email", rules, context))
    _, _, taken, _ = email_lane(values.to_numpy(dtype=object), context)
    assert taken.mean() > 0.5


@pytest.mark.parametrize(("platform", "default_region"), [("meta", "US"), ("google", "GB"), ("tiktok", "DE")])
def test_the_phone_lane_gives_what_the_full_normalizer_gives(platform, default_region):
    rng = random.Random(corpus.SEED)
    texts = PHONE_TEXTS[::5] + [(f" {p.raw} ", p.region) for p in corpus.phones()[::5]]
    north_american = ["(650) 555-1212", "+1 650 555 1212", "1-650-555-1212", "6505551212", "+16505551212"]
    regions = ["US", "CA", "GB", None, "United States", "XX"]
    texts += [(rng.choice(north_american), rng.choice(regions)) for _ in range(300)]
    rng.shuffle(texts)
    values = pd.Series(_mixed([t for t, _ in texts], rng), dtype=object)
    countries = pd.Series([rng.choice([r for _, r in texts]) for _ in range(len(values))], dtype=object)
    rules = get_platform(platform, default_region=default_region)
    context = Context(rules.phone_format, rules.default_region, row_countries(countries))
    _same(NORMALIZERS["phone"](values, context), FULL_NORMALIZERS["phone"](values, context))
    _same(prepare_column(values, "phone", rules, context), _prepare_fully(values, "phone", rules, context))
    _, _, taken, _ = phone_lane(values.to_numpy(dtype=object), context)
    assert taken.mean() > 0.8


def _north_american_texts(rng: random.Random, count: int) -> list[str]:
    """North American numbers in the shapes the lane reads inline and in near misses (a "+" without the "1",
    area codes or exchanges starting with 0 or 1, brackets half closed, extra digits, padding of any kind)."""
    shapes = ["{a}{e}{l}", "({a}) {e}-{l}", "{a}.{e}.{l}", "+1 {a} {e} {l}", "1-{a}-{e}-{l}", "+{a}{e}{l}",
              "1{a}{e}{l}", "2{a}{e}{l}", "+1 ({a}) {e}-{l}", "+11{a}{e}{l}", "({a} {e}-{l}", "{a}) {e} {l}",
              "1 ({a}){e}.{l}", "+1.{a}.{e}.{l}", "+ 1 {a} {e} {l}", "{a} {e} {l} 1", "+1{a}{e}{l}", "1 {a}\t{e} {l}",
              "+1-{a}-{e}-{l}", "({a})-{e}-{l}", "{a}--{e}..{l}", "(+1) {a} {e} {l}", "+44 {a} {e} {l}"]  # fmt: skip
    pads = ["", " ", "\t", "\u00a0", "\u2003", "\n", "\x1c"]
    texts = []
    for _ in range(count):
        area = rng.choice(["650", "212", "416", "150", "050", "911"])
        text = rng.choice(shapes).format(
            a=area, e=rng.choice(["555", "155", "055", "234"]), l=f"{rng.randrange(10000):04d}"
        )
        texts.append(rng.choice(pads) + text + rng.choice(pads))
    return texts


@pytest.mark.parametrize("platform", ["meta", "google"])
def test_the_phone_lane_reads_north_american_shapes_as_the_full_normalizer_does(platform):
    rng = random.Random(corpus.SEED)
    values = pd.Series(_north_american_texts(rng, 3000), dtype=object)
    countries = pd.Series([rng.choice(["US", "CA", "GB", "DE", None, "XX"]) for _ in range(len(values))], dtype=object)
    rules = get_platform(platform)
    context = Context(rules.phone_format, rules.default_region, row_countries(countries))
    _same(NORMALIZERS["phone"](values, context), FULL_NORMALIZERS["phone"](values, context))
    _same(prepare_column(values, "phone", rules, context), _prepare_fully(values, "phone", rules, context))
    _, _, taken, kept = phone_lane(values.to_numpy(dtype=object), context)
    assert taken.mean() > 0.8 and kept.mean() > 0.2  # the comparison is not vacuous


def test_row_countries_reads_text_and_other_values_alike():
    mixed = pd.Series(["US", " gb ", None, np.nan, b"DE", 1.0, "United Kingdom", pd.NA, "N/A", 44], dtype=object)
    assert plain(row_countries(mixed)) == ["US", "GB", None, None, "DE", None, "GB", None, None, None]
    for dtype in ("string", "category", object):
        named = pd.Series(["US", "fr", None, "Deutschland"], dtype=dtype)
        assert plain(row_countries(named)) == ["US", "FR", None, "DE"]


def test_prepare_identifiers_with_the_lanes_drops_and_counts_as_before():
    frame = pd.DataFrame(
        {
            "email": [" Jane.Doe@Example.COM ", None, "  ", "null", DIGEST, "mailto:a@b.co", "bad"],
            "phone": ["(650) 555-1212", "020 7946 0958", None, "-", "12", "+44 20 7946 0958", FULL_WIDTH],
            "country": ["US", "GB", "US", "US", "US", "FR", "US"],
        },
        index=[10, 11, 12, 13, 14, 15, 16],
    )
    fields = {"EMAIL": FieldSpec("email", "email"), "PHONE": FieldSpec("phone", "phone")}
    prepared = prepare_identifiers(frame, fields, "meta", country_column="country", keep_normalized=True)
    assert plain(prepared.normalized["EMAIL"]) == ["jane.doe@example.com", None, None, None, DIGEST, "a@b.co", None]
    assert plain(prepared.values["PHONE"]) == [h("16505551212"), h("442079460958"), None, None, None, h("442079460958"),
                                               h("16505551212")]  # fmt: skip
    assert prepared.drop_counts() == {
        "EMAIL:empty": 1,
        "EMAIL:placeholder": 1,
        "EMAIL:invalid_email": 1,
        "PHONE:placeholder": 1,
        "PHONE:invalid_phone": 1,
    }
    assert prepared.usable.tolist() == [True, True, False, False, True, True, True]


def test_normalize_values_uses_the_lanes_with_any_index():
    values = pd.Series(["(650) 555-1212", None, "020 7946 0958"], index=["a", "b", "c"], dtype=object)
    countries = pd.Series(["US", "US", "GB"], index=list("abc"))
    out, reasons = normalize_values(values, "phone", "google", countries=countries)
    assert plain(out) == ["+16505551212", None, "+442079460958"]
    assert plain(reasons) == [None, "missing", None]
    assert list(out.index) == ["a", "b", "c"]
