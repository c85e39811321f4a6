"""Configuration errors name the file, the item and the field; the shipped example is valid."""

import textwrap

import pytest

from audience_pipelines.config import ConfigError, DynamicAudience, StaticAudience, load_config
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


def load(tmp_path, text: str):
    path = tmp_path / "audiences.yaml"
    path.write_text(textwrap.dedent(text))
    return load_config(path)


def error_of(tmp_path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return str(caught.value)


def test_the_shipped_example_configuration_is_valid():
    config = load_config(PROJECT_DIR / "audiences.yaml")
    kinds = {a.name: type(a) for a in config.audiences}
    assert StaticAudience in kinds.values() and DynamicAudience in kinds.values()
    assert len(config.audiences) >= 3


def test_valid_audience_parses_window_and_refresh(tmp_path):
    audience = load(tmp_path, VALID).audience("buyers")
    assert audience.window.days == 30 and audience.refresh == "hourly" and audience.status == "active"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ("    window: 30d\n", "    window: 30 days\n", "field 'window': '30 days' is not a duration"),
        (
            "    refresh: hourly\n",
            "    refresh: every tuesday\n",
            "field 'refresh': 'every tuesday' is neither a preset",
        ),
        (
            "    refresh: hourly\n",
            "    refresh: 99 * * * *\n",
            "field 'refresh': '99 * * * *' is not a valid cron",
        ),
        ("    identifiers: [email]\n", "    identifiers: [email, shoe_size]\n", "field 'identifiers.1'"),
        (
            "    start: 2026-01-01\n",
            "    start: 2026-01-01\n    colour: blue\n",
            "field 'colour': Extra inputs",
        ),
        ("    sql: select", "    sql: delete from users; select", "field 'sql': must be a single SELECT"),
    ],
)
def test_errors_name_file_audience_and_field(tmp_path, change, field, message):
    text = VALID.replace(change, field)
    assert text != VALID
    error = error_of(tmp_path, text)
    assert "audiences.yaml: audience 'buyers' (item 1): " in error
    assert message in error


def test_missing_fields_and_wrong_type_are_named(tmp_path):
    error = error_of(tmp_path, "audiences:\n  - name: a\n    type: sometimes\n  - name: b\n    type: dynamic\n")
    assert "audience 'a' (item 1): field 'type'" in error
    assert "audience 'b' (item 2): field 'refresh': Field required" in error
    assert "audience 'b' (item 2): field 'sql': Field required" in error


def test_static_range_must_be_ordered(tmp_path):
    text = """
    audiences:
      - name: fixed
        type: static
        range: {start: 2026-02-01, end: 2026-01-01}
        sql: select 1 as member_key
    """
    error = error_of(tmp_path, text)
    assert "audience 'fixed' (item 1): field 'range': end (2026-01-01) must be after start (2026-02-01)" in error


def test_duplicate_names_are_reported_with_their_items(tmp_path):
    text = VALID + VALID.split("audiences:\n", 1)[1]
    assert "audiences: audience name 'buyers' is used by items 1, 2" in error_of(tmp_path, text)


def test_yaml_syntax_errors_give_the_line(tmp_path):
    error = error_of(tmp_path, "audiences:\n  - name: x\n\ttype: dynamic\n")
    assert "audiences.yaml: line 3, column 1 invalid YAML" in error


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere\.yaml: configuration file not found"):
        load_config(tmp_path / "nowhere.yaml")
