"""Audiences built from audiences: each mistake is named by file, audience, item and field."""

import textwrap

import pytest

from audience_pipelines.config import ConfigError, load_config

INPUTS = """
audiences:
  - name: buyers
    type: dynamic
    refresh: daily
    window: 30d
    start: 2026-01-01
    identifiers: [email, phone]
    traits: [spend]
    sql: select 1 as member_key
  - name: visitors
    type: dynamic
    refresh: daily
    window: 7d
    start: 2026-01-01
    identifiers: [email, external_id]
    traits: [spend]
    sql: select 1 as member_key
  - name: fixed
    type: static
    range: {start: 2026-01-01, end: 2026-02-01}
    sql: select 1 as member_key
"""

COMBO = """
  - name: combo
    type: dynamic
    refresh: daily
    start: 2026-01-01
"""


def load(tmp_path, text: str):
    path = tmp_path / "audiences.yaml"
    path.write_text(text)
    return load_config(path)


def with_combo(extra: str, combo: str = COMBO) -> str:
    return INPUTS + combo + textwrap.indent(textwrap.dedent(extra).strip("\n"), "    ") + "\n"


def error_of(tmp_path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return str(caught.value)


def test_a_combined_audience_loads_with_union_by_default_and_the_columns_its_includes_share(tmp_path):
    combo = load(tmp_path, with_combo("include: [buyers, visitors]")).audience("combo")
    assert combo.is_combined and combo.combine == "union" and combo.exclude == []
    assert (list(map(str, combo.identifiers)), combo.traits) == (["email"], ["spend"])
    assert combo.inputs == ["buyers", "visitors"]
    narrower = load(tmp_path, with_combo("include: [buyers]\ncombine: intersection\nidentifiers: [phone]"))
    assert list(map(str, narrower.audience("combo").identifiers)) == ["phone"]
    assert narrower.audience("combo").traits == [], "listing columns replaces the inherited ones"


def test_columns_inherit_through_combined_audiences_listed_in_any_order(tmp_path):
    text = INPUTS + (
        "  - {name: first, type: dynamic, refresh: daily, start: 2026-01-01, include: [second]}\n"
        "  - {name: second, type: dynamic, refresh: daily, start: 2026-01-01, include: [buyers, visitors]}\n"
    )
    first = load(tmp_path, text).audience("first")
    assert (list(map(str, first.identifiers)), first.traits) == (["email"], ["spend"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("include: []", "field 'include': must name at least one audience"),
        ("include: [combo]", "field 'include': audience 'combo' cannot be built from itself"),
        ("include: [buyers]\nexclude: [combo]", "field 'exclude': audience 'combo' cannot be built from itself"),
        ("include: [buyers, buyers]", "field 'include': buyers listed twice"),
        ("include: [buyers]\nexclude: [buyers]", "field 'exclude': buyers cannot be both included and excluded"),
        (
            "include: [buyers]\nsql: select 1 as member_key",
            "field 'sql': an audience has either 'sql' or 'include', not both",
        ),
        ("window: 7d", "field 'sql': Field required (or build the audience from others with 'include')"),
        ("include: [buyers]\nwindow: 7d", "field 'window': an audience built with 'include' has no window"),
        (
            "window: 7d\nsql: select 1 as member_key\nexclude: [buyers]",
            "field 'exclude': only applies to an audience built with 'include'",
        ),
        (
            "window: 7d\nsql: select 1 as member_key\ncombine: intersection",
            "field 'combine': only applies to an audience built with 'include'",
        ),
        ("include: [buyers]\ncombine: both", "field 'combine': Input should be 'union' or 'intersection'"),
        (
            "include: [buyers, nobody]",
            "field 'include': no audience named 'nobody' (audiences: buyers, combo, fixed, visitors)",
        ),
        ("include: [buyers]\nexclude: [ghost]", "field 'exclude': no audience named 'ghost'"),
        (
            "include: [buyers, visitors]\nidentifiers: [phone]",
            "field 'identifiers': included audience(s) visitors have no column 'phone'; every column of a "
            "combined audience must be one each include declares",
        ),
        (
            "include: [buyers]\ntraits: [visits]",
            "field 'traits': included audience(s) buyers have no column 'visits'",
        ),
    ],
)
def test_mistakes_name_file_audience_and_field(tmp_path, extra, message):
    error = error_of(tmp_path, with_combo(extra))
    assert "audiences.yaml: audience 'combo' (item 4): " + message in error, error


@pytest.mark.parametrize(
    ("combo", "message"),
    [
        (
            COMBO.replace("refresh: daily", "refresh: hourly") + "    include: [buyers]\n",
            "field 'refresh': 'hourly' differs from input audience 'buyers' ('daily'); a combined audience reads "
            "its inputs' snapshots of the same partition, so it must refresh on the same schedule",
        ),
        (
            COMBO.replace("start: 2026-01-01", "start: 2025-12-01") + "    include: [buyers]\n",
            "field 'start': 2025-12-01 is before input audience 'buyers' starts (2026-01-01)",
        ),
        (
            COMBO + "    include: [buyers]\n    exclude: [fixed]\n",
            "field 'type': 'dynamic' differs from input audience 'fixed' ('static')",
        ),
        (
            "  - {name: combo, type: static, range: {start: 2026-01-01, end: 2026-03-01}, include: [fixed]}\n",
            "field 'range': ends 2026-03-01 but input audience 'fixed' ends 2026-02-01",
        ),
    ],
)
def test_partitions_must_match_the_inputs(tmp_path, combo, message):
    assert "audiences.yaml: audience 'combo' (item 4): " + message in error_of(tmp_path, INPUTS + combo)


def test_same_cron_spelled_differently_and_a_later_start_are_compatible(tmp_path):
    combo = COMBO.replace("refresh: daily", "refresh: 0 0 * * *").replace("2026-01-01", "2026-01-10")
    assert load(tmp_path, INPUTS + combo + "    include: [buyers]\n").audience("combo").start.day == 10
    static = "  - {name: combo, type: static, range: {start: 2025-06-01, end: 2026-02-01}, include: [fixed]}\n"
    assert load(tmp_path, INPUTS + static).audience("combo").is_combined


def test_a_cycle_is_named_with_its_path(tmp_path):
    text = INPUTS + (
        "  - {name: x, type: dynamic, refresh: daily, start: 2026-01-01, include: [buyers, y]}\n"
        "  - {name: y, type: dynamic, refresh: daily, start: 2026-01-01, include: [visitors], exclude: [x]}\n"
    )
    error = error_of(tmp_path, text)
    cycle = "audiences are built from each other in a cycle"
    assert f"audience 'x' (item 4): field 'include': {cycle}: x -> y -> x" in error
    assert f"audience 'y' (item 5): field 'exclude': {cycle}: y -> x -> y" in error


def test_reading_a_draft_audience_is_a_warning(tmp_path):
    text = with_combo("include: [buyers]").replace("    window: 30d\n", "    window: 30d\n    status: draft\n", 1)
    assert load(tmp_path, text).warnings == [
        "audience 'combo' reads draft audience(s) buyers, whose snapshots are never refreshed"
    ]


def test_a_dumped_configuration_validates_again_unchanged(tmp_path):
    config = load(tmp_path, with_combo("include: [buyers]\ncombine: intersection\nexclude: [visitors]"))
    again = type(config).model_validate(config.model_dump(mode="json"))
    assert again == config
