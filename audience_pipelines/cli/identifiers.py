"""``audience-pipelines identifiers normalize``: one value explained, or many values (a file or stdin, plain
lines or a CSV column) normalized and hashed in chunks through ``prepare_identifiers``, streamed as CSV."""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

import pandas as pd

CHUNK_ROWS = 50_000
HEADER = ("line", "normalized", "sha256", "reason")


class CommandError(Exception):
    """A problem with the command's input, shown as one ``error: ...`` line."""


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``identifiers normalize`` to a top-level ``add_subparsers()`` object; returns the ``normalize``
    parser (its handler is ``args.handler(args)``)."""
    identifiers = subparsers.add_parser("identifiers", help="identifier tools")
    identifiers_sub = identifiers.add_subparsers(dest="identifiers_command", required=True)
    normalize = identifiers_sub.add_parser(
        "normalize",
        help="show how values are normalized and hashed",
        description="Normalize and hash one VALUE, or every value of --file (one per line, or a CSV --column); "
        "many values print as CSV: line,normalized,sha256,reason.",
    )
    normalize.add_argument("--platform", required=True, help="meta, google, ga4, tiktok, webhook")
    normalize.add_argument("--type", required=True, dest="identifier_type", help="email, phone, first_name, ...")
    normalize.add_argument("--region", default=None, help="default phone region (default: the platform's, US)")
    normalize.add_argument("--file", help="read values from PATH ('-' for stdin) instead of VALUE")
    normalize.add_argument("--column", help="the file is CSV with a header row; take values from this column")
    normalize.add_argument("--country-column", help="CSV column holding each row's country (phones, ZIPs)")
    normalize.add_argument("value", nargs="?", help="a single value to explain")
    normalize.set_defaults(handler=run)
    return normalize


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Parse ``argv`` (``identifiers normalize ...``) and run it; the streams default to the process's."""
    parser = argparse.ArgumentParser(prog="audience-pipelines")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run(args, stdin=stdin, stdout=stdout, stderr=stderr)


def run(
    args: argparse.Namespace,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """The ``identifiers normalize`` handler: 0 on success, 1 when the single value is dropped, 2 on errors
    (one ``error: ...`` line on stderr, never a traceback)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        rules, kind = _check(args)
        if args.file is None:
            return _explain_one(args, out)
        with _open(args.file, stdin) as source:
            _normalize_many(source, args, rules, kind, out)
            out.flush()
        return 0
    except BrokenPipeError:
        _silence(out)
        print("error: output closed before all values were written", file=err)
        return 2
    except CommandError as error:
        print(f"error: {error}", file=err)
        return 2


def _check(args: argparse.Namespace) -> tuple[Any, Any]:
    from audience_pipelines.identity import get_platform, identifier_type

    try:
        rules = get_platform(args.platform, default_region=args.region)
        kind = identifier_type(args.identifier_type)
    except ValueError as error:
        raise CommandError(str(error)) from None
    if args.file is None and args.value is None:
        raise CommandError("give a VALUE, or --file PATH ('-' for stdin)")
    if args.file is not None and args.value is not None:
        raise CommandError("give either a VALUE or --file, not both")
    if args.file is None and (args.column or args.country_column):
        raise CommandError("--column and --country-column need --file")
    if args.country_column and not args.column:
        raise CommandError("--country-column needs --column (CSV input)")
    return rules, kind


def _explain_one(args: argparse.Namespace, out: IO[str]) -> int:
    from audience_pipelines.identity import explain

    region = args.region or "US"
    try:
        shown = explain(args.platform, args.identifier_type, args.value, default_region=region)
    except ValueError as error:
        raise CommandError(str(error)) from None
    if shown.reason:
        print(f"dropped: {shown.reason} (the value is not sent)", file=out)
        return 1
    print(f"normalized: {shown.normalized}", file=out)
    if shown.hashed_by_platform:
        print(f"sha256:     {shown.hashed}", file=out)
    else:
        print(f"{args.platform} receives this {args.identifier_type} unhashed", file=out)
    return 0


class _Source:
    """An opened input: a text stream read lazily, closed afterwards unless it is stdin."""

    def __init__(self, stream: IO[str], owned: bool) -> None:
        self.stream, self.owned = stream, owned

    def __enter__(self) -> IO[str]:
        return self.stream

    def __exit__(self, *exc: object) -> None:
        if self.owned:
            self.stream.close()


def _open(path: str, stdin: IO[str] | None) -> _Source:
    if path == "-":
        if stdin is not None:
            return _Source(stdin, owned=False)
        return _Source(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline=""), owned=False)
    try:
        return _Source(open(path, encoding="utf-8-sig", newline=""), owned=True)
    except FileNotFoundError:
        raise CommandError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise CommandError(f"{path} is a directory, not a file") from None
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or type(error).__name__}") from None


Row = tuple[int, str, str | None]  # (input line number, value, country)


def _plain_rows(source: IO[str]) -> Iterator[Row]:
    for number, line in enumerate(source, start=1):
        yield number, line.rstrip("\r\n"), None


def _csv_rows(source: IO[str], column: str, country_column: str | None) -> Iterator[Row]:
    reader = csv.reader(source)
    header = next(reader, None)
    if header is None:
        raise CommandError("the CSV input is empty (no header row)")
    wanted = [column] + ([country_column] if country_column else [])
    missing = [name for name in wanted if name not in header]
    if missing:
        raise CommandError(f"the CSV header has no column {missing[0]!r} (columns: {', '.join(header)})")
    value_at = header.index(column)
    country_at = header.index(country_column) if country_column else None
    start = reader.line_num + 1
    for record in reader:
        value = record[value_at] if value_at < len(record) else ""
        country = None
        if country_at is not None and country_at < len(record):
            country = record[country_at]
        yield start, value, country
        start = reader.line_num + 1


def _normalize_many(source: IO[str], args: argparse.Namespace, rules: Any, kind: Any, out: IO[str]) -> None:
    from audience_pipelines.identity import FieldSpec

    rows = _csv_rows(source, args.column, args.country_column) if args.column else _plain_rows(source)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    fields = {"value": FieldSpec("value", kind)}
    country_column = "country" if args.country_column else None
    for chunk in _chunks(_decoded(rows, args.file), CHUNK_ROWS):
        writer.writerows(_prepare_chunk(chunk, fields, rules, country_column))


def _decoded(rows: Iterator[Row], path: str) -> Iterator[Row]:
    """``rows``, with a decoding error or a malformed CSV turned into one readable error."""
    try:
        yield from rows
    except UnicodeDecodeError:
        raise CommandError(f"{'stdin' if path == '-' else path} is not UTF-8 text") from None
    except csv.Error as error:
        raise CommandError(f"malformed CSV: {error}") from None


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _prepare_chunk(chunk: list[Row], fields: dict, rules: Any, country_column: str | None) -> Iterator[tuple]:
    from audience_pipelines.identity import prepare_identifiers

    numbers, values, countries = zip(*chunk, strict=True)
    frame = pd.DataFrame({"value": pd.Series(values, dtype=object)})
    if country_column:
        frame[country_column] = pd.Series(countries, dtype=object)
    prepared = prepare_identifiers(frame, fields, rules, country_column=country_column, keep_normalized=True)
    assert prepared.normalized is not None
    hashed = rules.hashes(fields["value"].identifier)
    normalized = prepared.normalized["value"].to_numpy()
    sent = prepared.values["value"].to_numpy()
    reasons = prepared.drop_reasons["value"].to_numpy()
    for number, value, digest, reason in zip(numbers, normalized, sent, reasons, strict=True):
        yield number, value or "", (digest or "") if hashed else "", reason or ""


def _silence(out: IO[str]) -> None:
    """After a closed pipe, point the real stdout at /dev/null so the interpreter's final flush is quiet."""
    try:
        fileno = out.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fileno)
    os.close(devnull)
