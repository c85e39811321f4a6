"""A tiny audience whose daily membership the tests set, synced to a real webhook receiver on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from audience_pipelines.config import ProjectConfig
from audience_pipelines.destinations.webhook.fake import WebhookReceiver, new_secret
from audience_pipelines.sync.service import RunSummary, run_sync
from audience_pipelines.warehouse import PartitionRef, materialize_diff, materialize_snapshot

AUDIENCE_SQL = """
    select 'u' || p.user_id as member_key, p.email, p.phone, p.country, p.plan
    from src.membership m join src.profiles p using (user_id)
    where m.day = cast(:window_start as date)
"""
SECRET_ENV = "TEST_WEBHOOK_SECRET"
URL_ENV = "TEST_WEBHOOK_URL"


def day(n: int) -> dt.datetime:
    return dt.datetime(2026, 5, n, tzinfo=dt.UTC)


def email_of(user: int) -> str:
    return f"Person.{user}@Example.com"


def phone_of(user: int) -> str:
    return f"+1 (650) 555-{user:04d}"


@dataclass
class World:
    """The warehouse source tables, the receiver, and helpers to move through days and sync."""

    engine: sa.Engine
    receiver: WebhookReceiver
    sleeps: list[float] = field(default_factory=list)
    runs: int = 0
    last_day: int | None = None

    def profiles(self, users: Iterable[int]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.text("insert into src.profiles values (:u, :e, :p, 'US', :plan) on conflict do nothing"),
                [{"u": u, "e": email_of(u), "p": phone_of(u), "plan": f"plan-{u % 3}"} for u in users],
            )

    def delete_profile(self, user: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text("delete from src.profiles where user_id = :u"), {"u": user})

    def set_members(self, n: int, users: Iterable[int]) -> None:
        """Make ``users`` the audience's members on day ``n`` in the source tables."""
        users = list(users)
        if users:
            self.profiles(users)
            with self.engine.begin() as conn:
                conn.execute(
                    sa.text("insert into src.membership values (:d, :u)"),
                    [{"d": day(n).date(), "u": u} for u in users],
                )

    def members_on(self, n: int, users: Iterable[int], audience: str = "shoppers") -> None:
        """Make ``users`` the audience on day ``n`` and materialize its snapshot and diff."""
        self.set_members(n, users)
        config = self.config()
        materialize_snapshot(
            self.engine,
            config.audience(audience),
            partition_key=f"2026-05-{n:02d}",
            partition_start=day(n),
            partition_end=day(n + 1),
        )
        previous = PartitionRef(f"2026-05-{self.last_day:02d}", day(self.last_day)) if self.last_day else None
        materialize_diff(self.engine, audience, PartitionRef(f"2026-05-{n:02d}", day(n)), previous)
        self.last_day = n

    def config(self, **sync_overrides) -> ProjectConfig:
        return project_config(**sync_overrides)

    def sync(self, name: str = "to_hook", **sync_overrides) -> RunSummary:
        self.runs += 1
        return run_sync(
            self.engine,
            self.config(**sync_overrides),
            name,
            run_id=f"test-run-{self.runs}",
            trigger="manual",
            sleep=self.sleeps.append,
        )


def project_config(**sync_overrides) -> ProjectConfig:
    sync = {
        "name": "to_hook",
        "audience": "shoppers",
        "destination": "hook",
        "type": "list",
        "mode": "mirror",
        "target": {"name": "shoppers-list"},
        "identifiers": {"email": "email", "phone": "phone"},
        "fields": {"plan": "plan"},
        "max_exit_ratio": 1.0,
        **sync_overrides,
    }
    return ProjectConfig.model_validate(
        {
            "audiences": [
                {
                    "name": "shoppers",
                    "type": "dynamic",
                    "refresh": "daily",
                    "window": "1d",
                    "start": "2026-05-01",
                    "sql": AUDIENCE_SQL,
                    "identifiers": ["email", "phone", "country"],
                    "traits": ["plan"],
                    "min_size": 0,
                }
            ],
            "destinations": [
                {
                    "name": "hook",
                    "type": "webhook",
                    "base_url": "${" + URL_ENV + "}",
                    "credentials": {"signing_secret": SECRET_ENV},
                    "settings": {"path": "/hooks", "batch_size": 3},
                    "retry": {"base_delay_seconds": 0.01, "read_timeout_seconds": 1.0, "max_attempts": 4},
                }
            ],
            "syncs": [sync],
        }
    )


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    secret = new_secret()
    monkeypatch.setenv(SECRET_ENV, secret)
    with WebhookReceiver(secret) as server:
        monkeypatch.setenv(URL_ENV, server.base_url)
        yield server


@pytest.fixture
def world(clean_warehouse: sa.Engine, receiver: WebhookReceiver) -> World:
    with clean_warehouse.begin() as conn:
        conn.execute(sa.text("drop schema if exists src cascade; create schema src"))
        conn.execute(
            sa.text(
                "create table src.profiles (user_id int primary key, email text, phone text, country text, plan text)"
            )
        )
        conn.execute(sa.text("create table src.membership (day date, user_id int)"))
    return World(clean_warehouse, receiver)
