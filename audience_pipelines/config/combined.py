"""Audiences built from audiences: their inputs must exist, form no cycle, share partitions and columns."""

from __future__ import annotations

from typing import Any

from audience_pipelines.config.audiences import Audience, DynamicAudience
from audience_pipelines.config.refresh import cron_for

SAME_PARTITION = "a combined audience reads its inputs' snapshots of the same partition"


def with_inherited_columns(raw_audiences: list[Any]) -> list[Any]:
    """Raw audience items where a combined audience that lists neither identifiers nor traits takes the
    columns every audience it includes declares (in the first include's order)."""
    by_name = {a["name"]: a for a in raw_audiences if isinstance(a, dict) and isinstance(a.get("name"), str)}

    def columns_of(name: Any, seen: frozenset[str]) -> tuple[list[str], list[str]] | None:
        item = by_name.get(name) if isinstance(name, str) else None
        if item is None or name in seen:
            return None  # unknown audiences and cycles are reported after validation
        if not _inherits(item):
            return _names(item.get("identifiers")), _names(item.get("traits"))
        found = [columns_of(n, seen | {name}) for n in item["include"]]
        if not found or any(f is None for f in found):
            return None
        first, *others = found
        return tuple(  # type: ignore[return-value]
            [c for c in first[kind] if all(c in other[kind] for other in others)] for kind in (0, 1)
        )

    items = []
    for item in raw_audiences:
        inherited = columns_of(item.get("name"), frozenset()) if isinstance(item, dict) and _inherits(item) else None
        items.append({**item, "identifiers": inherited[0], "traits": inherited[1]} if inherited else item)
    return items


def _inherits(item: dict[str, Any]) -> bool:
    return isinstance(item.get("include"), list) and "identifiers" not in item and "traits" not in item


def _names(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def combined_audience_problems(audiences: list[Audience]) -> list[str]:
    """Every problem of every combined audience, as ``audience 'x' (item n): field 'f': message``."""
    by_name = {a.name: a for a in audiences}
    problems = []
    for index, audience in enumerate(audiences):
        if not audience.is_combined:
            continue
        found = [
            *_unknown_inputs(audience, by_name),
            *_cycle(audience, by_name),
            *_partition_mismatches(audience, by_name),
            *_missing_columns(audience, by_name),
        ]
        problems.extend(f"audience '{audience.name}' (item {index + 1}): {p}" for p in found)
    return problems


def _unknown_inputs(audience: Audience, by_name: dict[str, Audience]) -> list[str]:
    fields = {"include": audience.include or [], "exclude": audience.exclude}
    return [
        f"field '{field}': no audience named '{name}' (audiences: {', '.join(sorted(by_name))})"
        for field, names in fields.items()
        for name in names
        if name not in by_name
    ]


def _cycle(audience: Audience, by_name: dict[str, Audience]) -> list[str]:
    """The first cycle leading back to ``audience`` through the audiences it reads, if any."""

    explored: set[str] = set()

    def path_back(name: str, path: list[str]) -> list[str] | None:
        explored.add(name)
        for following in by_name[name].inputs if name in by_name else ():
            if following == audience.name:
                return [*path, following]
            if following not in explored:
                found = path_back(following, [*path, following])
                if found:
                    return found
        return None

    path = path_back(audience.name, [audience.name])
    if path is None or len(path) < 3:
        return []  # reading itself directly is reported on the field
    field = "include" if path[1] in (audience.include or ()) else "exclude"
    return [f"field '{field}': audiences are built from each other in a cycle: {' -> '.join(path)}"]


def _partition_mismatches(audience: Audience, by_name: dict[str, Audience]) -> list[str]:
    problems = []
    for name in audience.inputs:
        source = by_name.get(name)
        if source is None or source is audience:
            continue
        if type(source) is not type(audience):
            problems.append(
                f"field 'type': '{audience.type}' differs from input audience '{name}' ('{source.type}'); "
                f"{SAME_PARTITION}, so it must have the same type"
            )
        elif isinstance(audience, DynamicAudience) and isinstance(source, DynamicAudience):
            if cron_for(audience.refresh) != cron_for(source.refresh):
                problems.append(
                    f"field 'refresh': '{audience.refresh}' differs from input audience '{name}' "
                    f"('{source.refresh}'); {SAME_PARTITION}, so it must refresh on the same schedule"
                )
            if audience.start < source.start:
                problems.append(
                    f"field 'start': {audience.start} is before input audience '{name}' starts ({source.start}); "
                    f"{SAME_PARTITION}, and the partitions before {source.start} have none"
                )
        elif audience.range.end != source.range.end:
            problems.append(
                f"field 'range': ends {audience.range.end} but input audience '{name}' ends {source.range.end}; "
                f"{SAME_PARTITION}, and a static audience's one partition is the day its range ends"
            )
    return problems


def _missing_columns(audience: Audience, by_name: dict[str, Audience]) -> list[str]:
    """Each column must be one every include declares: a member's attributes come from the first include
    (in the order listed) that holds it."""
    problems = []
    for field, columns in (("identifiers", map(str, audience.identifiers)), ("traits", audience.traits)):
        for column in columns:
            lacking = [n for n in audience.include or () if n in by_name and column not in by_name[n].columns]
            if lacking:
                problems.append(
                    f"field '{field}': included audience(s) {', '.join(lacking)} have no column '{column}'; "
                    "every column of a combined audience must be one each include declares"
                )
    return problems


def draft_input_warnings(audiences: list[Audience]) -> list[str]:
    """Combined audiences that will wait forever because an input is a draft (never refreshed)."""
    drafts = {a.name for a in audiences if a.status == "draft"}
    return [
        f"audience '{a.name}' reads draft audience(s) {', '.join(n for n in a.inputs if n in drafts)}, "
        "whose snapshots are never refreshed"
        for a in audiences
        if a.is_combined and a.status != "draft" and any(n in drafts for n in a.inputs)
    ]
