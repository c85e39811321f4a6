"""``audience-pipelines identifiers normalize``: one value, or many from a file / stdin, plain or CSV, as CSV out;
errors are one ``error:`` line and a non-zero exit, never a traceback."""

import argparse
import csv
import io
import os
import time

import pytest

from audience_pipelines.cli import identifiers
from audience_pipelines_tests.identity.support import h


def run(*argv, stdin=None):
    out, err = io.StringIO(), io.StringIO()
    code = identifiers.main(["identifiers", "normalize", *argv], stdin=stdin, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def rows(text):
    return list(csv.reader(io.StringIO(text)))


def test_register_adds_the_sub_command_to_a_parser():
    parser = argparse.ArgumentParser()
    identifiers.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["identifiers", "normalize", "--platform", "meta", "--type", "email", "a@b.co"])
    assert args.handler is identifiers.run and args.value == "a@b.co"


def test_a_single_value_is_explained_as_before():
    code, out, _ = run("--platform", "meta", "--type", "phone", "+1 (650) 555-1212")
    assert code == 0
    assert out == f"normalized: 16505551212\nsha256:     {h('16505551212')}\n"
    code, out, _ = run("--platform", "google", "--type", "email", "nobody")
    assert (code, out) == (1, "dropped: invalid_email (the value is not sent)\n")
    assert run("--platform", "webhook", "--type", "email", "A@B.co")[1].endswith("receives this email unhashed\n")


def test_a_file_of_lines_prints_one_csv_line_per_input_line(tmp_path):
    path = tmp_path / "emails.txt"
    path.write_text("A@Example.com\n\nnull\r\nmailto:x@y.org\nbroken", encoding="utf-8")
    code, out, err = run("--platform", "meta", "--type", "email", "--file", str(path))
    assert (code, err) == (0, "")
    assert rows(out) == [
        ["line", "normalized", "sha256", "reason"],
        ["1", "a@example.com", h("a@example.com"), ""],
        ["2", "", "", "empty"],
        ["3", "", "", "placeholder"],
        ["4", "x@y.org", h("x@y.org"), ""],
        ["5", "", "", "invalid_email"],
    ]


def test_stdin_and_unhashed_platforms():
    code, out, _ = run("--platform", "webhook", "--type", "phone", "--file", "-", stdin=io.StringIO("(650) 555-1212\n"))
    assert (code, rows(out)[1]) == (0, ["1", "+16505551212", "", ""])


def test_a_csv_column_with_a_country_column(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(
        'id,phone,country\n1,020 7946 0958,GB\n"2\nb",0011 44 20 7946 0958,AU\n3,N/A,US\n4,(650) 555-1212,\n',
        encoding="utf-8",
    )
    code, out, _ = run(
        "--platform", "meta", "--type", "phone", "--file", str(path), "--column", "phone", "--country-column", "country"
    )
    assert code == 0
    assert rows(out)[1:] == [
        ["2", "442079460958", h("442079460958"), ""],
        ["3", "442079460958", h("442079460958"), ""],  # Australia's dial-out prefix
        ["5", "", "", "placeholder"],  # line numbers are where each record starts (record 2 spans two lines)
        ["6", "16505551212", h("16505551212"), ""],
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--platform", "myspace", "--type", "email", "x"], "error: unknown platform 'myspace'"),
        (["--platform", "meta", "--type", "shoe_size", "x"], "error: unknown identifier type 'shoe_size'"),
        (["--platform", "meta", "--type", "email", "--file", "/no/such/file"], "error: no such file: /no/such/file"),
        (["--platform", "meta", "--type", "email", "--file", "/"], "error: / is a directory"),
        (["--platform", "meta", "--type", "email"], "error: give a VALUE, or --file"),
        (["--platform", "meta", "--type", "email", "--file", "-", "x"], "error: give either a VALUE or --file"),
    ],
)
def test_errors_are_one_line_and_a_non_zero_exit(argv, message):
    code, out, err = run(*argv, stdin=io.StringIO(""))
    assert code == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_csv_errors(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("id,mail\n1,a@b.co\n", encoding="utf-8")
    code, _, err = run("--platform", "meta", "--type", "email", "--file", str(path), "--column", "email")
    assert code == 2 and err == "error: the CSV header has no column 'email' (columns: id, mail)\n"
    path.write_bytes(b"caf\xe9@example.com\n")
    code, _, err = run("--platform", "meta", "--type", "email", "--file", str(path))
    assert code == 2 and err == f"error: {path} is not UTF-8 text\n"


def test_a_closed_pipe_is_an_error_line_not_a_traceback(tmp_path):
    path = tmp_path / "many.txt"
    path.write_text("".join(f"user{i}@example.com\n" for i in range(200_000)), encoding="utf-8")
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` that has exited
    with os.fdopen(write_end, "w") as closed:
        err = io.StringIO()
        argv = ["identifiers", "normalize", "--platform", "meta", "--type", "email", "--file", str(path)]
        code = identifiers.main(argv, stdout=closed, stderr=err)
        assert code == 2 and err.getvalue() == "error: output closed before all values were written\n"


def test_many_lines_stream_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(identifiers, "CHUNK_ROWS", 1_000)
    seen = []
    real = identifiers._prepare_chunk

    def counting(chunk, *args):
        seen.append(len(chunk))
        return real(chunk, *args)

    monkeypatch.setattr(identifiers, "_prepare_chunk", counting)
    path = tmp_path / "many.txt"
    path.write_text("".join(f"{i}@example.com\n" for i in range(2_500)), encoding="utf-8")
    started = time.perf_counter()
    code, out, _ = run("--platform", "meta", "--type", "email", "--file", str(path))
    assert code == 0 and seen == [1_000, 1_000, 500]
    lines = out.splitlines()
    assert len(lines) == 2_501 and lines[-1] == f"2500,2499@example.com,{h('2499@example.com')},"
    assert time.perf_counter() - started < 5
