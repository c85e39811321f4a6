"""A small audience synced to one registered destination's fake: what the contract suite drives.

Members are numbered; member ``n`` has a valid email, phone, name, postcode, GA client id and fbp, so every
destination type finds the identifiers its contract case maps.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa

from audience_pipelines.config import ProjectConfig
from audience_pipelines.destinations.kit import ContractCase, ContractFake, DestinationType
from audience_pipelines.sync.service import RunSummary, run_sync
from audience_pipelines.warehouse import PartitionRef, materialize_diff, materialize_snapshot
from audience_pipelines.warehouse.ledger import ledger_fields
from audience_pipelines_tests.destinations.support import serving

COLUMNS = ("email", "phone", "first_name", "last_name", "country", "zip", "external_id", "ga_client_id", "fbp")
AUDIENCE_SQL = """
    select 'p' || p.n as member_key, p.email, p.phone, p.first_name, p.last_name, p.country, p.zip,
           p.external_id, p.ga_client_id, p.fbp, p.lifetime_value
    from contract.people p join contract.membership m using (n)
    where m.day = cast(:window_start as date)
"""
BATCH = 3
SYNC = "contract_sync"
LIST_NAME = "contract-list"


def day(n: int) -> dt.datetime:
    return dt.datetime(2026, 6, n, tzinfo=dt.UTC)


def person(n: int) -> dict[str, Any]:
    return {
        "n": n,
        "email": f"Person.{n}@Example.com",
        "phone": f"+1 (650) 555-{n:04d}",
        "first_name": "Ada",
        "last_name": f"Lovelace{chr(97 + n % 26)}",
        "country": "US",
        "zip": "94043",
        "external_id": f"crm-{n}",
        "ga_client_id": f"{1000000 + n}.1700000000",
        "fbp": f"fb.1.1700000000000.{1000000 + n}",
        "lifetime_value": 10 * n,
    }


@contextlib.contextmanager
def contract_world(
    kind: DestinationType, case: ContractCase, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ContractWorld]:
    """The type's fake serving, the source tables empty, and a world to sync through them."""
    with serving(kind.fake.for_tests(), monkeypatch) as fake:
        prepare_tables(engine)
        yield ContractWorld(engine, kind, case, fake)


def prepare_tables(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("drop schema if exists contract cascade; create schema contract"))
        columns = ", ".join(f"{c} text" for c in COLUMNS)
        conn.execute(sa.text(f"create table contract.people (n int primary key, {columns}, lifetime_value int)"))
        conn.execute(sa.text("create table contract.membership (day date, n int)"))


def destination_body(kind: DestinationType, case: ContractCase, fake: ContractFake) -> dict[str, Any]:
    body = fake.destination(kind.name)
    settings = {**body.get("settings", {}), **case.settings, case.batch_setting: BATCH}
    retry = {"base_delay_seconds": 0.01, "read_timeout_seconds": 2.0, "max_attempts": 4, "max_wait_seconds": 120}
    return {"name": "contract_destination", "type": kind.name, **body, "settings": settings, "retry": retry}


def project_dict(kind: DestinationType, case: ContractCase, fake: ContractFake, mode: str) -> dict[str, Any]:
    sync: dict[str, Any] = {
        "name": SYNC,
        "audience": "people",
        "destination": "contract_destination",
        "type": case.sync_type,
        "mode": mode,
        "identifiers": dict(case.identifiers),
        "fields": dict(case.fields),
        "max_exit_ratio": 1.0,
        "min_size": 0,
    }
    if case.sync_type == "list":
        sync["target"] = {"name": LIST_NAME}
    audience = {
        "name": "people",
        "type": "dynamic",
        "refresh": "daily",
        "window": "1d",
        "start": "2026-06-01",
        "sql": AUDIENCE_SQL,
        "identifiers": list(COLUMNS),
        "traits": ["lifetime_value"],
        "min_size": 0,
    }
    return {"audiences": [audience], "destinations": [destination_body(kind, case, fake)], "syncs": [sync]}


@dataclass
class ContractWorld:
    """One destination type, one contract case, its running fake and the warehouse."""

    engine: sa.Engine
    kind: DestinationType
    case: ContractCase
    fake: ContractFake
    mode: str = "mirror"
    sleeps: list[float] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    runs: int = 0
    last_day: int | None = None

    @property
    def config(self) -> ProjectConfig:
        return ProjectConfig.model_validate(project_dict(self.kind, self.case, self.fake, self.mode))

    def members_on(self, n: int, members: Iterable[int]) -> set[str]:
        """Make ``members`` the audience on day ``n`` and materialize its snapshot and diff."""
        members = sorted(members)
        with self.engine.begin() as conn:
            if members:
                people = [person(m) for m in members]
                columns = ", ".join(("n", *COLUMNS, "lifetime_value"))
                values = ", ".join(f":{c}" for c in ("n", *COLUMNS, "lifetime_value"))
                conn.execute(
                    sa.text(f"insert into contract.people ({columns}) values ({values}) on conflict do nothing"), people
                )
                conn.execute(
                    sa.text("insert into contract.membership values (:d, :n)"),
                    [{"d": day(n).date(), "n": m} for m in members],
                )
        materialize_snapshot(
            self.engine,
            self.config.audience("people"),
            partition_key=f"2026-06-{n:02d}",
            partition_start=day(n),
            partition_end=day(n + 1),
        )
        previous = PartitionRef(f"2026-06-{self.last_day:02d}", day(self.last_day)) if self.last_day else None
        materialize_diff(self.engine, "people", PartitionRef(f"2026-06-{n:02d}", day(n)), previous)
        self.last_day = n
        return {f"p{m}" for m in members}

    def sync(self, log: Callable[[str], None] | None = None) -> RunSummary:
        self.runs += 1
        return run_sync(
            self.engine,
            self.config,
            SYNC,
            run_id=f"contract-run-{self.runs}",
            trigger="manual",
            log=log or self.logs.append,
            sleep=self.sleeps.append,
        )

    def change_trait(self, members: Iterable[int], value: int) -> None:
        """Give ``members`` a new lifetime_value in the source (the next snapshot carries it)."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.text("update contract.people set lifetime_value = :v where n = any(:ns)"),
                {"v": value, "ns": list(members)},
            )

    def ledger(self) -> dict[str, dict[str, str]]:
        """member key -> fields as sent, for the members the ledger holds as sent."""
        with self.engine.connect() as conn:
            return ledger_fields(conn, SYNC)

    def held(self) -> set[str]:
        """What the fake holds for the sync, as match values."""
        with self.engine.connect() as conn:
            state = conn.execute(
                sa.text("select list_id from audience_pipelines.sync_state where sync = :s"), {"s": SYNC}
            ).scalar_one_or_none()
        if self.case.sync_type == "list" and state is None:
            return set()
        destination = self.config.destination("contract_destination")
        return self.fake.held(destination, state if self.case.sync_type == "list" else None, SYNC)

    def expected_on_fake(self) -> set[str]:
        """The match values of the members the ledger says the fake holds."""
        field_name = self.case.match_field
        return {key if field_name is None else fields[field_name] for key, fields in self.ledger().items()}
