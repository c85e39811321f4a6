"""Files that are not UTF-8, not files, absurdly nested, alias bombs or repeat a key: a ConfigError naming the line."""

import textwrap
from itertools import pairwise

import pytest
import yaml

from audience_pipelines.config import ConfigError, load_config
from audience_pipelines.config.loader import parse_yaml
from audience_pipelines_tests.conftest import PROJECT_DIR

VALID = """
audiences:
  - name: buyers
    type: dynamic
    refresh: hourly
    window: 30d
    start: 2026-01-01
    identifiers: [email]
    sql: select user_id::text as member_key, email from users
"""
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n" for previous, name in pairwise("abcdefghi")
)


def error_for(tmp_path, content: str | bytes) -> str:
    path = tmp_path / "audiences.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


def test_a_file_that_is_not_utf8_names_the_line_and_byte(tmp_path):
    error = error_for(tmp_path, VALID.replace("buyers", "caf\xe9").encode("latin-1"))
    assert "audiences.yaml: line 3, column 14: not UTF-8 text (byte 0xe9)" in error


def test_a_directory_is_not_a_configuration_file(tmp_path):
    with pytest.raises(ConfigError, match=r"is a directory, not a configuration file"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 10_000, "line 1, column 65 invalid YAML: nested deeper than 64 levels"),
        ("[" * 10_000 + "]" * 10_000, "line 1, column 65 invalid YAML: nested deeper than 64 levels"),
        ("".join(" " * i + f"k{i}:\n" for i in range(200)), "line 64, column 64 invalid YAML: nested deeper"),
        (BOMB, "line 5, column 8 invalid YAML: aliases expand to more than 10,000 values"),
        ("a: &a [1, *a]\n", "line 1, column 11 invalid YAML: alias *a refers to a node containing it"),
        ("deep: &d " + "[" * 40 + "]" * 40 + "\nx: " + "[" * 40 + "*d" + "]" * 40, "alias nests deeper than 64"),
        ("audiences:\n  - name: a\x07\n", "line 2 invalid YAML: unacceptable character #x0007"),
    ],
    ids=["brackets", "closed-brackets", "mappings", "billion-laughs", "recursive-alias", "deep-alias", "control"],
)
def test_absurd_yaml_is_refused_with_the_line(tmp_path, content, message):
    error = error_for(tmp_path, content)
    assert error.startswith(str(tmp_path / "audiences.yaml"))
    assert message in error


@pytest.mark.parametrize(
    ("original", "repeated", "line"),
    [
        ("    window: 30d\n", "    window: 30d\n    window: 7d\n", 7),
        ("    type: dynamic\n", "    type: dynamic\n    name: sellers\n", 5),
    ],
)
def test_a_key_repeated_in_one_mapping_is_an_error_naming_key_and_lines(tmp_path, original, repeated, line):
    error = error_for(tmp_path, VALID.replace(original, repeated))
    key = repeated.split()[-2].rstrip(":")
    assert f"line {line}, column 5 invalid YAML: found duplicate key '{key}' (first at line" in error


def test_same_key_in_different_mappings_and_merge_keys_still_load(tmp_path):
    text = VALID + VALID.split("audiences:\n", 1)[1].replace("buyers", "sellers")
    path = tmp_path / "audiences.yaml"
    path.write_text(textwrap.dedent(text))
    assert [a.name for a in load_config(path).audiences] == ["buyers", "sellers"]
    merged = "base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  x: 3\n"
    assert parse_yaml(path, merged) == yaml.safe_load(merged) == {"base": {"x": 1, "y": 2}, "item": {"x": 3, "y": 2}}


def test_the_shipped_file_parses_exactly_as_safe_load_does():
    text = (PROJECT_DIR / "audiences.yaml").read_text(encoding="utf-8")
    assert parse_yaml(PROJECT_DIR / "audiences.yaml", text) == yaml.safe_load(text)
