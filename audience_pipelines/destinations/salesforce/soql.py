"""SOQL text for the lookups the client makes: string literals quoted, ``IN`` lists bounded in length."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

PERSON_PREFIX = {"Contact": "003", "Lead": "00Q"}


def literal(value: str) -> str:
    """A SOQL string literal: backslash and quote escaped, control characters refused."""
    if any(ord(ch) < 32 for ch in value):
        raise ValueError("a SOQL literal cannot hold control characters")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def in_list(values: Sequence[str]) -> str:
    return "(" + ",".join(literal(v) for v in values) + ")"


def chunks(values: Sequence[str], budget: int) -> Iterator[list[str]]:
    """Consecutive runs of ``values`` whose quoted IN list stays within ``budget`` characters."""
    run: list[str] = []
    used = 0
    for value in values:
        size = len(literal(value)) + 1
        if run and used + size > budget:
            yield run
            run, used = [], 0
        run.append(value)
        used += size
    if run:
        yield run


def campaign_by_name(name: str) -> str:
    return f"SELECT Id, Name FROM Campaign WHERE Name = {literal(name)} ORDER BY CreatedDate LIMIT 2"


def people_by_email(person_object: str, emails: Sequence[str]) -> str:
    return f"SELECT Id, Email FROM {person_object} WHERE Email IN {in_list(emails)}"


def members_by_email(person_object: str, campaign_id: str, emails: Sequence[str]) -> str:
    return (
        f"SELECT Id, {person_object}Id, {person_object}.Email FROM CampaignMember "
        f"WHERE CampaignId = {literal(campaign_id)} AND {person_object}.Email IN {in_list(emails)}"
    )


def members_by_person(person_object: str, campaign_id: str, person_ids: Sequence[str]) -> str:
    return (
        f"SELECT Id, {person_object}Id FROM CampaignMember "
        f"WHERE CampaignId = {literal(campaign_id)} AND {person_object}Id IN {in_list(person_ids)}"
    )
