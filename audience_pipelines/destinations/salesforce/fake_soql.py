"""The small SOQL subset the fake Salesforce answers: ``SELECT a, b FROM X WHERE f = 'v' AND g IN ('v', ...)``,
optionally ``ORDER BY f`` and ``LIMIT n``. Anything else is ``MALFORMED_QUERY``, as Salesforce would answer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>\d+)|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|(?P<sym>[(),=]))")


class MalformedQuery(ValueError):
    """The query text is outside the subset (the message never quotes literals)."""


@dataclass
class Query:
    fields: list[str]
    sobject: str
    conditions: dict[str, set[str]] = field(default_factory=dict)  # field -> casefolded allowed values
    order_by: str | None = None
    limit: int | None = None


def _tokens(text: str) -> list[tuple[str, str]]:
    found, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip():
                raise MalformedQuery("unexpected character in query")
            break
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        found.append((kind, value))
        position = match.end()
    return found


def parse(text: str) -> Query:
    tokens = _tokens(text)
    index = 0

    def take(kind: str, word: str | None = None) -> str:
        nonlocal index
        if index >= len(tokens):
            raise MalformedQuery("unexpected end of query")
        got_kind, value = tokens[index]
        if got_kind != kind or (word is not None and value.upper() != word):
            raise MalformedQuery(f"expected {word or kind}")
        index += 1
        return value

    def peek(word: str) -> bool:
        return index < len(tokens) and tokens[index][0] in ("word", "sym") and tokens[index][1].upper() == word

    take("word", "SELECT")
    fields = [take("word")]
    while peek(","):
        take("sym", ",")
        fields.append(take("word"))
    take("word", "FROM")
    query = Query(fields, take("word"))
    if peek("WHERE"):
        take("word", "WHERE")
        while True:
            name = take("word")
            if peek("="):
                take("sym", "=")
                values = {take("str").casefold()}
            else:
                take("word", "IN")
                take("sym", "(")
                values = {take("str").casefold()}
                while peek(","):
                    take("sym", ",")
                    values.add(take("str").casefold())
                take("sym", ")")
            query.conditions[name] = query.conditions.get(name, values) & values
            if not peek("AND"):
                break
            take("word", "AND")
    if peek("ORDER"):
        take("word", "ORDER")
        take("word", "BY")
        query.order_by = take("word")
    if peek("LIMIT"):
        take("word", "LIMIT")
        query.limit = int(take("num"))
    if index != len(tokens):
        raise MalformedQuery("unexpected text after the query")
    return query
