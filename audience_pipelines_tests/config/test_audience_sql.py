"""Audience SQL: ';' and ':word' inside literals and comments are fine; unbound parameters are named."""

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from audience_pipelines.config import ConfigError, load_config
from audience_pipelines.config.audiences import check_audience_sql

AUDIENCE = """
audiences:
  - name: notes
    type: static
    range: {{start: 2026-01-01, end: 2026-02-01}}
    sql: |
{sql}
"""


def load_sql(tmp_path, sql: str):
    path = tmp_path / "audiences.yaml"
    path.write_text(AUDIENCE.format(sql="\n".join("      " + line for line in sql.splitlines())))
    return load_config(path).audience("notes").sql


def compiled(sql: str) -> sa.sql.compiler.SQLCompiler:
    """The audience SQL as the warehouse runs it: wrapped and passed through ``text()``."""
    return sa.text(f"select * from ({sql}) q limit 0").compile(dialect=postgresql.dialect())


@pytest.mark.parametrize(
    ("sql", "sent"),
    [
        ("select 1 as member_key from t where note = 'a;b'", "note = 'a;b'"),
        ("select 1 as member_key -- see :thing", "-- see :thing\n) q"),
        ("select '12:30' as at, 'a :thing' as member_key", "'12:30' as at, 'a :thing'"),
        ("select 1 as member_key; -- done: bye", "select 1 as member_key) q"),
        ("select 1 as member_key -- last\n;", "-- last\n) q"),
        ("select x::text as member_key from t", "x::text"),
        ("select $$a :b; c$$ as member_key", "$$a :b; c$$"),
        ("select $q$ it's :x $q$ as member_key", "$q$ it's :x $q$"),
        ("select E'it\\'s :x; y' as member_key", "E'it\\'s :x; y'"),
        ('select 1 as "member_key:x;"', '"member_key:x;"'),
        ("/* :a; */ select /* nested /* :b */ ; */ 1 as member_key", "/* nested /* :b */ ; */"),
        ("-- who: :everyone;\nwith a as (select 1 as member_key) select * from a", "-- who: :everyone;\nwith"),
        ("select '\\:x' as member_key", "':x'"),
        ("select a[1:2] as member_key, b[lo:hi] from t", "a[1:2] as member_key, b[lo:hi]"),
    ],
)
def test_colons_and_semicolons_in_literals_and_comments_are_fine(tmp_path, sql, sent):
    statement = compiled(load_sql(tmp_path, sql))
    assert sent in str(statement)
    assert statement.params == {}


def test_the_window_parameters_are_bound_and_nothing_else(tmp_path):
    sql = "select 'at :noon' as member_key from t where t >= :window_start and t < CAST(:window_end AS date)"
    statement = compiled(load_sql(tmp_path, sql))
    assert set(statement.params) == {"window_start", "window_end"}
    assert "'at :noon'" in str(statement) and "%(window_start)s" in str(statement)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("select 1 as member_key from t where id = :user_id", "unknown parameter ':user_id'"),
        ("select 1 as member_key from t where 'x' = 'x' and a = :_audience", "unknown parameter ':_audience'"),
        ("select 1 as member_key from t where t >= :window_start::timestamptz", "':window_start::' is not bound"),
        ("select 1 as member_key; select 2", "must be a single statement (found ';' inside)"),
        ("select 'a;b' as member_key; delete from t", "must be a single statement (found ';' inside)"),
        ("-- select\ndelete from t", "must be a single SELECT"),
        ("select 1 as member_key\nfrom t where a = 'open", "unterminated string literal starting at line 2 of the SQL"),
        ('select 1 as "member_key', "unterminated quoted identifier"),
        ("select 1 as member_key /* /* */", "unterminated /* comment"),
        ("select $x$ 1 as member_key", "unterminated $x$ quoted string"),
    ],
)
def test_bad_sql_is_named_with_the_audience(tmp_path, sql, message):
    with pytest.raises(ConfigError) as caught:
        load_sql(tmp_path, sql)
    assert "audience 'notes' (item 1): field 'sql': " in str(caught.value)
    assert message in str(caught.value)


def test_checking_twice_changes_nothing():
    once = check_audience_sql("select 'a :b' as member_key -- c :d")
    assert check_audience_sql(once) == once
