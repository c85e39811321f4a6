"""Bad configuration and command-line input get a one-line message and a non-zero exit, never a traceback."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from itertools import pairwise

import pytest

from audience_pipelines.cli import SIGPIPE_EXIT, main
from audience_pipelines.embedded import EmbeddedPostgres
from audience_pipelines_tests.conftest import PROJECT_DIR

SHIPPED = PROJECT_DIR / "audiences.yaml"
FUTURE = """
audiences:
  - name: later
    type: dynamic
    refresh: daily
    window: 7d
    start: 2099-01-01
    sql: select 1 as member_key
"""


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    """Environment for in-process commands that stop before touching a database."""
    monkeypatch.setenv("AUDIENCE_PIPELINES_PROJECT_DIR", str(PROJECT_DIR))
    monkeypatch.setenv("AUDIENCE_PIPELINES_CONFIG", str(SHIPPED))
    monkeypatch.setenv("DAGSTER_PG_URL", "postgresql://nobody@127.0.0.1:9/dagster")
    monkeypatch.setenv("AUDIENCE_PIPELINES_WAREHOUSE_URL", "postgresql://nobody@127.0.0.1:9/warehouse")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    return monkeypatch


def run_main(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["runs", "--sync", "nope"], "error: no sync named 'nope' in "),
        (["sync", "nope"], "error: no sync named 'nope' in "),
        (["backfill", "nope", "--from", "2026-11-08", "--to", "2026-11-09"], "error: no audience named 'nope' in "),
        (["backfill", "cart_abandoners_7d", "--from", "2026-11-20", "--to", "2026-11-10"], "--from 2026-11-20 is"),
        (["backfill", "cart_abandoners_7d", "--from", "2020-01-01", "--to", "2026-11-10"], "has partitions 2026-11-07"),
        (["demo", "--users", "-5"], "error: demo: users must be between 1 and"),
    ],
)
def test_unknown_names_and_bad_ranges_exit_1_with_one_line(cli_env, capsys, argv, message):
    code, err = run_main(argv, capsys)
    assert code == 1
    assert err.startswith(message) or message in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_names_list_what_exists(cli_env, capsys):
    _, err = run_main(["sync", "nope"], capsys)
    assert f"in {SHIPPED} (syncs: cart_abandoners_to_webhook, " in err
    _, err = run_main(["backfill", "nope", "--from", "a", "--to", "b"], capsys)
    assert "(audiences: cart_abandoners_7d, high_value_90d, " in err


def test_an_audience_without_partitions_yet_cannot_be_backfilled(cli_env, capsys, tmp_path):
    (tmp_path / "later.yaml").write_text(FUTURE)
    cli_env.setenv("AUDIENCE_PIPELINES_CONFIG", str(tmp_path / "later.yaml"))
    code, err = run_main(["backfill", "later", "--from", "2099-01-01", "--to", "2099-01-02"], capsys)
    assert code == 1 and "audience 'later' has no complete partition yet" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["runs", "--limit", "-1"], "argument --limit: must be 0 or more, got -1"),
        (["runs", "--limit", "many"], "argument --limit: expected a whole number, got 'many'"),
        (["backfill", "x", "--from", "a"], "the following arguments are required: --to"),
        (["no-such-command"], "invalid choice: 'no-such-command'"),
    ],
)
def test_usage_errors_return_2_from_main(capsys, argv, message):
    code, err = run_main(argv, capsys)
    assert code == 2 and message in err


def test_help_returns_0(capsys):
    assert main(["--help"]) == 0
    assert "audience-pipelines" in capsys.readouterr().out


class ClosedPipe(io.StringIO):
    """A stdout whose reader has gone away, like ``audience-pipelines runs | head -1`` after one line."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")


def test_a_closed_stdout_ends_quietly(cli_env, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["validate"]) == SIGPIPE_EXIT
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Broken pipe" not in err and "error" not in err.lower()


# --- the same through the real command, as a subprocess -----------------------------------------------

VALID = """
audiences:
  - name: buyers
    type: dynamic
    refresh: daily
    window: 30d
    start: 2026-01-01
    identifiers: [email, phone]
    sql: select user_id::text as member_key, email, phone from users
destinations:
  - name: hook
    type: webhook
    base_url: http://localhost:9
    credentials: {signing_secret: HOOK_SECRET}
syncs:
  - name: buyers_to_hook
    audience: buyers
    destination: hook
    type: list
    target: {name: buyers}
    identifiers: {email: email, phone: phone}
"""
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n" for previous, name in pairwise("abcdefghi")
)
DIRECTORY = object()
SUBPROCESS_CASES = {
    "not-utf8": (["validate"], VALID.replace("buyers", "k\xe4ufer", 1).encode("latin-1"), ["line 3", "not UTF-8"]),
    "directory": (["validate"], DIRECTORY, ["is a directory"]),
    "deep-nesting": (["validate"], "[" * 10_000, ["line 1, column 65", "nested deeper than 64 levels"]),
    "alias-bomb": (["validate"], BOMB, ["line 5", "aliases expand to more than 10,000 values"]),
    "repeated-key": (
        ["validate"],
        VALID.replace("    window: 30d\n", "    window: 30d\n    window: 7d\n", 1),
        ["line 7, column 5", "duplicate key 'window'"],
    ),
    "unbound-parameter": (
        ["validate"],
        VALID.replace("from users", "from users where note = 'a;b :c' and id = :who"),
        ["audience 'buyers' (item 1): field 'sql'", "unknown parameter ':who'"],
    ),
    "phone-region": (
        ["validate"],
        VALID + "    default_phone_region: ZZ\n",
        ["field 'default_phone_region'", "'ZZ' is not a phone region"],
    ),
    "partition-count": (
        ["validate"],
        VALID.replace("refresh: daily", "refresh: '* * * * *'").replace("start: 2026-01-01", "start: 2020-01-01"),
        ["field 'start'", "partitions by now (at most 100,000)"],
    ),
    "runs-unknown-sync": (["runs", "--sync", "nope"], VALID, ["no sync named 'nope'", "(syncs: buyers_to_hook)"]),
    "sync-unknown": (["sync", "nope"], VALID, ["no sync named 'nope'"]),
    "backfill-unknown": (["backfill", "nope", "--from", "a", "--to", "b"], VALID, ["no audience named 'nope'"]),
    "backfill-reversed": (
        ["backfill", "buyers", "--from", "2026-03-02", "--to", "2026-03-01"],
        VALID,
        ["--from 2026-03-02 is after --to 2026-03-01"],
    ),
    "negative-limit": (["runs", "--limit", "-3"], VALID, ["argument --limit: must be 0 or more, got -3"]),
    "negative-users": (["demo", "--users", "-5"], VALID, ["users must be between 1 and"]),
}


@pytest.fixture
def subprocess_env(tmp_path, postgres: EmbeddedPostgres) -> dict[str, str]:
    """The command's environment: the session's PostgreSQL (nothing embedded starts), a fresh DAGSTER_HOME."""
    (tmp_path / "home").mkdir()
    return {
        **os.environ,
        "AUDIENCE_PIPELINES_CONFIG": str(tmp_path / "audiences.yaml"),
        "AUDIENCE_PIPELINES_PROJECT_DIR": str(PROJECT_DIR),
        "DAGSTER_PG_URL": postgres.dagster_url,
        "AUDIENCE_PIPELINES_WAREHOUSE_URL": postgres.warehouse_url,
        "DAGSTER_HOME": str(tmp_path / "home"),
    }


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "audience_pipelines.cli", *args]


@pytest.mark.parametrize(("argv", "config", "expected"), SUBPROCESS_CASES.values(), ids=SUBPROCESS_CASES.keys())
def test_bad_input_through_the_real_command(tmp_path, subprocess_env, argv, config, expected):
    path = tmp_path / "audiences.yaml"
    if config is DIRECTORY:
        path.mkdir()
    elif isinstance(config, bytes):
        path.write_bytes(config)
    else:
        path.write_text(config, encoding="utf-8")
    done = subprocess.run(command(*argv), env=subprocess_env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    for text in expected:
        assert text in done.stderr


def test_output_into_a_closed_pipe_ends_quietly(tmp_path, subprocess_env):
    """``audience-pipelines runs | head -1``: the reader leaves before the output is written."""
    (tmp_path / "audiences.yaml").write_text(VALID)
    process = subprocess.Popen(command("runs"), env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    _, err = process.communicate(timeout=120)
    assert process.returncode == SIGPIPE_EXIT, err.decode()
    assert b"Traceback" not in err and b"Exception ignored" not in err
