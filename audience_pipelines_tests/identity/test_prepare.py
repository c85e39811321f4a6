"""prepare_identifiers: one batch, many fields, per-platform hashing, drop reasons and counts, no raw values in
errors or reprs."""

import traceback

import pandas as pd
import pytest

from audience_pipelines.identity import (
    FieldSpec,
    IdentifierError,
    IdentifierType,
    PreparedIdentifiers,
    get_platform,
    prepare_identifiers,
)
from audience_pipelines_tests.identity.support import h, plain

EMAIL, PHONE = FieldSpec("email", IdentifierType.EMAIL), FieldSpec("phone", IdentifierType.PHONE)


def meta_batch(frame: pd.DataFrame, **kwargs) -> PreparedIdentifiers:
    return prepare_identifiers(frame, {"EMAIL": EMAIL, "PHONE": PHONE}, "meta", **kwargs)


def test_values_are_normalized_hashed_and_dropped_with_reasons():
    frame = pd.DataFrame(
        {
            "email": ["A@Example.com ", "broken", None, "   ", "b@example.com"],
            "phone": [None, "+1 650 555 1212", "123", "", "(650) 555-1213"],
        }
    )
    prepared = meta_batch(frame)
    assert plain(prepared.values["EMAIL"]) == [h("a@example.com"), None, None, None, h("b@example.com")]
    assert plain(prepared.values["PHONE"]) == [None, h("16505551212"), None, None, h("16505551213")]
    assert plain(prepared.drop_reasons["EMAIL"]) == [None, "invalid_email", "missing", "empty", None]
    assert plain(prepared.drop_reasons["PHONE"]) == ["missing", None, "invalid_phone", "empty", None]
    assert prepared.usable.tolist() == [True, True, False, False, True]
    assert prepared.drop_counts() == {
        "EMAIL:invalid_email": 1,
        "EMAIL:empty": 1,
        "PHONE:invalid_phone": 1,
        "PHONE:empty": 1,
    }
    assert prepared.drop_counts(include_missing=True) == {
        "EMAIL:invalid_email": 1, "EMAIL:missing": 1, "EMAIL:empty": 1,
        "PHONE:missing": 1, "PHONE:invalid_phone": 1, "PHONE:empty": 1,
    }  # fmt: skip


def test_blank_values_are_never_hashed():
    frame = pd.DataFrame({"email": ["", " ", "\u00a0", None], "phone": ["", "  ", "\t", None]})
    prepared = meta_batch(frame)
    assert prepared.values.isna().all().all()
    for blank in ("", " ", "\u00a0", "\t"):
        assert h(blank) not in prepared.values.to_numpy()
    assert prepared.drop_counts() == {"EMAIL:empty": 3, "PHONE:empty": 3}
    assert not prepared.usable.any()


def test_already_hashed_values_pass_through_in_hashed_fields_only():
    digest = h("someone@example.com")
    frame = pd.DataFrame(
        {"email": [f" {digest.upper()} ", "Someone@Example.com"], "external_id": [digest.upper(), "CRM-1"]}
    )
    fields = {"EMAIL": EMAIL, "EXTERN_ID": FieldSpec("external_id", IdentifierType.EXTERNAL_ID)}
    prepared = prepare_identifiers(frame, fields, "meta")
    assert plain(prepared.values["EMAIL"]) == [digest, digest]
    assert plain(prepared.values["EXTERN_ID"]) == [digest.upper(), "CRM-1"]  # Meta's EXTERN_ID is sent raw
    assert plain(prepared.drop_reasons["EMAIL"]) == [None, None]


def test_the_input_index_is_kept_even_when_duplicated():
    frame = pd.DataFrame({"email": ["a@example.com", "bad", "c@example.com"]}, index=["u1", "u2", "u1"])
    prepared = prepare_identifiers(frame, {"em": EMAIL}, "meta")
    assert list(prepared.values.index) == ["u1", "u2", "u1"]
    assert list(prepared.usable.index) == ["u1", "u2", "u1"]
    assert plain(prepared.values["em"]) == [h("a@example.com"), None, h("c@example.com")]
    assert plain(prepared.drop_reasons["em"]) == [None, "invalid_email", None]


def test_the_country_column_gives_phones_their_country_code_and_checks_us_zips():
    frame = pd.DataFrame(
        {
            "phone": ["020 7946 0958", "(650) 555-1212", "030 1234567"],
            "zip": ["SW1A 1AA", "94107-1234", "10115"],
            "country": ["United Kingdom", "US", None],
        }
    )
    fields = {"PHONE": PHONE, "ZIP": FieldSpec("zip", IdentifierType.ZIP)}
    prepared = prepare_identifiers(frame, fields, "meta", country_column="country", default_region="DE")
    assert plain(prepared.values["PHONE"]) == [h("442079460958"), h("16505551212"), h("49301234567")]
    assert plain(prepared.values["ZIP"]) == [h("sw1a1aa"), h("94107"), h("10115")]
    without = prepare_identifiers(frame, fields, "meta")
    assert plain(without.drop_reasons["PHONE"]) == ["invalid_phone", None, "invalid_phone"]


def test_usable_needs_a_matching_identifier_of_the_platform():
    frame = pd.DataFrame(
        {
            "email": [None, None, "bad", "x@example.com"],
            "first_name": ["Ann", "Ann", "Ann", None],
            "last_name": ["Lee", "Lee", None, None],
            "zip": ["94107", None, None, None],
            "country": ["US", "US", "US", None],
        }
    )
    fields = {key: FieldSpec(key, IdentifierType(key)) for key in frame.columns}
    # Meta (customer file and CAPI): names and places alone match nobody.
    assert prepare_identifiers(frame, fields, "meta").usable.tolist() == [False, False, False, True]
    # Google: a full address (first + last name, country, postal code) is a match key.
    assert prepare_identifiers(frame, fields, "google").usable.tolist() == [True, False, False, True]
    # A webhook receiver takes whatever survived.
    assert prepare_identifiers(frame, fields, "webhook").usable.tolist() == [True, True, True, True]


def test_two_columns_of_the_same_identifier_type():
    frame = pd.DataFrame({"work": ["bad", "w@example.com"], "home": ["h@example.com", None]})
    fields = {"EMAIL_1": FieldSpec("work", "email"), "EMAIL_2": FieldSpec("home", "email")}
    prepared = prepare_identifiers(frame, fields, get_platform("meta"))
    assert prepared.usable.tolist() == [True, True]
    assert prepared.drop_counts() == {"EMAIL_1:invalid_email": 1}


def test_webhook_values_are_normalized_but_not_hashed():
    frame = pd.DataFrame({"email": [" A@Example.com"], "phone": ["(650) 555-1212"]})
    prepared = prepare_identifiers(frame, {"email": EMAIL, "phone": PHONE}, "webhook")
    assert prepared.values.iloc[0].to_dict() == {"email": "a@example.com", "phone": "+16505551212"}


def test_an_empty_batch():
    prepared = meta_batch(pd.DataFrame({"email": [], "phone": []}, dtype=object))
    assert prepared.values.shape == (0, 2) and prepared.usable.tolist() == [] and prepared.drop_counts() == {}


class Leaky:
    """A value whose conversion to text fails with the value in the message, as some drivers' types do."""

    def __str__(self) -> str:
        raise RuntimeError("cannot render jane.doe@example.com")


def test_errors_name_fields_and_columns_never_values():
    frame = pd.DataFrame({"email": pd.Series(["ok@example.com", Leaky()], dtype=object)})
    with pytest.raises(IdentifierError) as caught:
        prepare_identifiers(frame, {"EMAIL": EMAIL}, "meta")
    rendered = "".join(traceback.format_exception(caught.value))
    assert "field 'EMAIL' (column 'email')" in str(caught.value)
    assert "RuntimeError" in str(caught.value)
    assert "jane.doe" not in rendered and "ok@example.com" not in rendered


def test_a_missing_column_is_named():
    frame = pd.DataFrame({"mail": ["secret@example.com"]})
    with pytest.raises(KeyError, match="no column") as caught:
        prepare_identifiers(frame, {"EMAIL": EMAIL}, "meta", country_column="country")
    assert "'country'" in str(caught.value) and "'email'" in str(caught.value)
    assert "secret" not in str(caught.value)


def test_unknown_identifier_types_are_named():
    with pytest.raises(ValueError, match="unknown identifier type 'shoe_size'"):
        FieldSpec("size", "shoe_size")


def test_the_repr_shows_counts_not_values():
    frame = pd.DataFrame({"email": ["jane@example.com", "bad"], "phone": ["+1 650 555 1212", None]})
    for platform in ("meta", "webhook"):
        prepared = prepare_identifiers(frame, {"EMAIL": EMAIL, "PHONE": PHONE}, platform)
        shown = repr(prepared)
        assert "jane" not in shown and "6505551212" not in shown and h("jane@example.com") not in shown
        assert shown == (
            "PreparedIdentifiers(rows=2, fields=[EMAIL, PHONE], usable=1, dropped={'EMAIL:invalid_email': 1})"
        )
