"""A contract world with a second (event) sync to the same destination, for find-user and forget-user tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from audience_pipelines.config import ProjectConfig
from audience_pipelines.destinations.kit import ContractCase, DestinationType
from audience_pipelines.sync.service import RunSummary, run_sync
from audience_pipelines.warehouse.people import SUPPRESSION_KEY_ENV
from audience_pipelines_tests.destinations.contract_world import ContractWorld, contract_world, project_dict

EVENTS = "contract_events"
KEY = "test-suppression-key-0123456789abcdef"


@dataclass
class PeopleWorld(ContractWorld):
    """The contract world's list or event sync, plus ``contract_events`` when ``with_events``."""

    with_events: bool = False

    @property
    def config(self) -> ProjectConfig:
        body = project_dict(self.kind, self.case, self.fake, self.mode)
        if self.with_events:
            body["syncs"].append(
                {
                    "name": EVENTS,
                    "audience": "people",
                    "destination": "contract_destination",
                    "type": "event",
                    "identifiers": {"email": "email", "external_id": "external_id"},
                    "max_exit_ratio": 1.0,
                }
            )
        return ProjectConfig.model_validate(body)

    def sync_named(self, name: str) -> RunSummary:
        self.runs += 1
        return run_sync(
            self.engine,
            self.config,
            name,
            run_id=f"people-run-{self.runs}",
            trigger="manual",
            log=self.logs.append,
            sleep=self.sleeps.append,
        )

    def held_by(self, name: str) -> set[str]:
        """What the fake holds for one sync of this world."""
        sync = self.config.sync(name)
        with self.engine.connect() as conn:
            list_id = conn.execute(
                sa.text("select list_id from audience_pipelines.sync_state where sync = :s"), {"s": name}
            ).scalar_one_or_none()
        return self.fake.held(self.config.destination(sync.destination), list_id if sync.type == "list" else None, name)


@contextlib.contextmanager
def people_world(
    kind: DestinationType,
    case: ContractCase,
    engine: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
    *,
    with_events: bool = False,
) -> Iterator[PeopleWorld]:
    """The destination's fake serving, the suppression key set, and a world with one or two syncs."""
    monkeypatch.setenv(SUPPRESSION_KEY_ENV, KEY)
    with contract_world(kind, case, engine, monkeypatch) as world:
        yield PeopleWorld(world.engine, world.kind, world.case, world.fake, with_events=with_events)
