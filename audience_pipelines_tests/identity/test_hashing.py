"""SHA-256 hex, pre-hashed pass-through and the empty-string guard."""

import pandas as pd
import pytest

from audience_pipelines.identity import EmptyIdentifierError, is_sha256_hex, sha256_hex
from audience_pipelines_tests.identity.support import h, plain

DIGEST = "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"  # sha256("test@example.com")


def test_sha256_hex_is_lowercase_hex_of_the_utf8_bytes():
    out = sha256_hex(pd.Series(["test@example.com", "zoë", None], dtype=object))
    assert plain(out) == [DIGEST, h("zoë"), None]
    assert h("test@example.com") == DIGEST


def test_values_that_already_are_sha256_hex_pass_through_lowercased():
    out = sha256_hex(pd.Series([DIGEST.upper(), DIGEST, DIGEST[:63]], dtype=object))
    assert plain(out) == [DIGEST, DIGEST, h(DIGEST[:63])]
    assert is_sha256_hex(pd.Series([DIGEST.upper(), DIGEST[:63], DIGEST + "0", "g" * 64, None])).tolist() == [
        True, False, False, False, False,
    ]  # fmt: skip


@pytest.mark.parametrize("blank", ["", " ", "\t"])
def test_the_empty_string_is_never_hashed(blank):
    with pytest.raises(EmptyIdentifierError, match="refusing to hash an empty identifier"):
        sha256_hex(pd.Series(["fine", blank], dtype=object))


def test_an_all_missing_series_hashes_to_all_missing():
    assert plain(sha256_hex(pd.Series([None, None], dtype=object))) == [None, None]
