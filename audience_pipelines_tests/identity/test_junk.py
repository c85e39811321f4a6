"""Junk identifiers (placeholder text, digests of nothing) are dropped with their own reasons, never sent."""

import pandas as pd
import pytest

from audience_pipelines.identity import (
    DROP_REASONS,
    EmptyIdentifierError,
    FieldSpec,
    IdentifierType,
    explain,
    prepare_identifiers,
    sha256_hex,
)
from audience_pipelines_tests.identity.support import h, plain, why

EMPTY_DIGEST = h("")
ZERO_DIGEST = "0" * 64
PLACEHOLDERS = ["nan", "NaN", "None", "none", "NULL", "null", "Null", "undefined", "UNDEFINED", "N/A", "n/a", "-"]
KINDS = [kind.value for kind in IdentifierType]


def test_the_new_reasons_are_known_codes():
    assert {"placeholder", "hashed_empty", "hashed_placeholder", "degenerate_hash"} <= DROP_REASONS


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("platform", ["meta", "google", "tiktok", "webhook"])
def test_placeholder_text_is_no_value_for_any_identifier(platform, kind):
    raw = [*PLACEHOLDERS, " null ", "\tNone\n", "nUlL", "UnDeFiNeD"]
    assert why(platform, kind, *raw) == ["placeholder"] * len(raw)
    assert why(platform, kind, "   ", "\t") == ["empty", "empty"]


@pytest.mark.parametrize("platform", ["meta", "google", "tiktok", "webhook"])
@pytest.mark.parametrize("kind", ["email", "phone", "first_name", "external_id", "madid", "zip"])
def test_digests_of_nothing_are_not_pre_hashed_identifiers(platform, kind):
    raw = [EMPTY_DIGEST, EMPTY_DIGEST.upper(), f" {EMPTY_DIGEST} ", h(" "), ZERO_DIGEST, "f" * 64, h("null"), h("None")]
    reasons = ["hashed_empty"] * 4 + ["degenerate_hash"] * 2 + ["hashed_placeholder"] * 2
    assert why(platform, kind, *raw) == reasons
    frame = pd.DataFrame({"v": raw})
    prepared = prepare_identifiers(frame, {"F": FieldSpec("v", kind)}, platform)
    assert plain(prepared.values["F"]) == [None] * len(raw)
    assert plain(prepared.drop_reasons["F"]) == reasons


def test_junk_is_counted_per_reason():
    frame = pd.DataFrame(
        {
            "email": ["a@example.com", "null", "N/A", EMPTY_DIGEST, ZERO_DIGEST, " ", None],
            "external_id": ["crm-1", "undefined", "-", "nan", "None", "crm-2", "  "],
        }
    )
    fields = {"EMAIL": FieldSpec("email", "email"), "EXTERN_ID": FieldSpec("external_id", "external_id")}
    prepared = prepare_identifiers(frame, fields, "meta")
    assert prepared.drop_counts() == {
        "EMAIL:placeholder": 2,
        "EMAIL:hashed_empty": 1,
        "EMAIL:degenerate_hash": 1,
        "EMAIL:empty": 1,
        "EXTERN_ID:placeholder": 4,
        "EXTERN_ID:empty": 1,
    }
    assert prepared.usable.tolist() == [True, False, False, False, False, True, False]


def test_a_real_pre_hashed_value_still_passes_through():
    digest = h("someone@example.com")
    shown = explain("meta", "email", digest.upper())
    assert (shown.hashed, shown.reason) == (digest, None)
    assert explain("meta", "email", EMPTY_DIGEST).reason == "hashed_empty"


@pytest.mark.parametrize("junk", [EMPTY_DIGEST, ZERO_DIGEST.upper(), h("null")])
def test_the_hasher_refuses_junk_digests(junk):
    with pytest.raises(EmptyIdentifierError):
        sha256_hex(pd.Series(["fine", junk], dtype=object))


def test_words_that_only_contain_a_placeholder_are_kept():
    assert why("meta", "first_name", "Nana", "Nonya", "Nullah", "Nandi") == [None] * 4
