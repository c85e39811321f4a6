"""The demo's last step: find one demo user by email, then forget them everywhere."""

from __future__ import annotations

import sqlalchemy as sa

from audience_pipelines.cli.people import find_lines, forget_lines
from audience_pipelines.config import ProjectConfig
from audience_pipelines.sync.find import PersonQuery, find_person
from audience_pipelines.sync.forget import forget_person
from audience_pipelines.warehouse.people import most_held_member


def show_find_and_forget(engine: sa.Engine, config: ProjectConfig) -> None:
    """Print find-user for the demo user most destinations hold, forget them, and print what was done.

    Each demo run forgets one more demo user: the one forgotten before stays suppressed and erased.
    """
    with engine.connect() as conn:
        found = most_held_member(conn, [s.name for s in config.syncs if s.type == "list"], "email")
    if found is None:
        print("\nFind and forget a user: no list sync holds a member with an email yet")
        return
    _, email = found
    query = PersonQuery(email=email)
    print(f"\nfind-user --email {query.masked().removeprefix('email ')}")
    for line in find_lines(query, find_person(engine, config, query)):
        print(line)
    print(f"\nforget-user --email {query.masked().removeprefix('email ')} --confirm")
    for line in forget_lines(query, forget_person(engine, config, query)):
        print(line)
