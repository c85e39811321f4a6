"""Consent: a sync with a consent column sends only members who grant it, counts the rest, and removes members
who withdraw it (list and event syncs, text and boolean columns)."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from audience_pipelines.cli.syncs import print_runs
from audience_pipelines.config import ConfigError, ProjectConfig, load_config
from audience_pipelines.destinations.webhook.fake import WebhookReceiver
from audience_pipelines.sync.service import RunSummary, run_sync
from audience_pipelines.warehouse import PartitionRef, materialize_diff, materialize_snapshot
from audience_pipelines.warehouse.ledger import ledger_members
from audience_pipelines.warehouse.sync_runs import MatchFigures, recent_runs
from audience_pipelines_tests.sync_world import SECRET_ENV, URL_ENV

AUDIENCE_SQL = """
    select 'u' || p.user_id as member_key, p.email, p.opt_in, p.subscribed
    from consent_src.people p join consent_src.membership m using (user_id)
    where m.day = cast(:window_start as date)
"""
LIST = "consenting"
TEXT_RULE = {"column": "opt_in", "granted": ["yes", "true"]}


def day(n: int) -> dt.datetime:
    return dt.datetime(2026, 5, n, tzinfo=dt.UTC)


def project(sync_type: str, consent: Any) -> ProjectConfig:
    sync: dict[str, Any] = {
        "name": "to_hook",
        "audience": "people",
        "destination": "hook",
        "type": sync_type,
        "identifiers": {"email": "email"},
        "max_exit_ratio": 1.0,
        "consent": consent,
    }
    if sync_type == "list":
        sync["target"] = {"name": LIST}
    audience = {
        "name": "people",
        "type": "dynamic",
        "refresh": "daily",
        "window": "1d",
        "start": "2026-05-01",
        "sql": AUDIENCE_SQL,
        "identifiers": ["email"],
        "traits": ["opt_in", "subscribed"],
        "min_size": 0,
    }
    destination = {
        "name": "hook",
        "type": "webhook",
        "base_url": "${" + URL_ENV + "}",
        "credentials": {"signing_secret": SECRET_ENV},
        "settings": {"path": "/hooks", "batch_size": 2},
        "retry": {"base_delay_seconds": 0.01, "read_timeout_seconds": 1.0, "max_attempts": 3},
    }
    return ProjectConfig.model_validate({"audiences": [audience], "destinations": [destination], "syncs": [sync]})


@dataclass
class ConsentWorld:
    engine: sa.Engine
    receiver: WebhookReceiver
    config: ProjectConfig
    runs: int = 0
    last_day: int | None = None

    def people_on(self, n: int, people: Mapping[int, tuple[str | None, bool | None]]) -> None:
        """Day ``n``'s audience: user -> (opt_in text, subscribed boolean), as the source holds them now."""
        rows = [{"u": u, "o": opt_in, "s": subscribed} for u, (opt_in, subscribed) in people.items()]
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    """insert into consent_src.people values (:u, 'person' || :u || '@example.com', :o, :s)
                       on conflict (user_id) do update set opt_in = excluded.opt_in, subscribed = excluded.subscribed"""
                ),
                rows,
            )
            conn.execute(
                sa.text("insert into consent_src.membership values (:d, :u)"),
                [{"d": day(n).date(), "u": u} for u in people],
            )
        key = f"2026-05-{n:02d}"
        materialize_snapshot(
            self.engine,
            self.config.audience("people"),
            partition_key=key,
            partition_start=day(n),
            partition_end=day(n + 1),
        )
        previous = PartitionRef(f"2026-05-{self.last_day:02d}", day(self.last_day)) if self.last_day else None
        materialize_diff(self.engine, "people", PartitionRef(key, day(n)), previous)
        self.last_day = n

    def sync(self) -> RunSummary:
        self.runs += 1
        summary = run_sync(self.engine, self.config, "to_hook", run_id=f"consent-run-{self.runs}", trigger="manual")
        assert summary.status == "success", summary.message
        return summary

    def held(self) -> set[str]:
        return self.receiver.member_keys(LIST)

    def ledger(self) -> set[str]:
        with self.engine.connect() as conn:
            return ledger_members(conn, "to_hook")

    def event_names(self, member: str) -> list[str]:
        return [e["event_name"] for e in self.receiver.events() if e["member_key"] == member]


def make_world(engine: sa.Engine, receiver: WebhookReceiver, sync_type: str, consent: Any) -> ConsentWorld:
    with engine.begin() as conn:
        conn.execute(sa.text("drop schema if exists consent_src cascade; create schema consent_src"))
        conn.execute(
            sa.text(
                "create table consent_src.people (user_id int primary key, email text, opt_in text, subscribed boolean)"
            )
        )
        conn.execute(sa.text("create table consent_src.membership (day date, user_id int)"))
    return ConsentWorld(engine, receiver, project(sync_type, consent))


def everyone(users: Iterable[int], opt_in: str | None = "yes") -> dict[int, tuple[str | None, bool | None]]:
    return {u: (opt_in, True) for u in users}


def test_members_without_consent_are_not_sent_and_are_counted(clean_warehouse, receiver, capsys):
    world = make_world(clean_warehouse, receiver, "list", TEXT_RULE)
    world.people_on(1, {1: ("yes", None), 2: (" YES ", None), 3: ("no", None), 4: (None, None), 5: ("True", None)})
    summary = world.sync()
    assert world.held() == world.ledger() == {"u1", "u2", "u5"}, "case and spaces ignored; no or missing: not sent"
    assert (summary.counts.planned_adds, summary.counts.skipped_consent) == (3, 2)
    with clean_warehouse.connect() as conn:
        [run] = recent_runs(conn, "to_hook")
    assert run.counts.skipped_consent == 2, "run history keeps the count"
    assert run.match == MatchFigures(), "a webhook reports no match figures"
    print_runs(clean_warehouse, world.config, "to_hook", 5)
    header, row = capsys.readouterr().out.strip().splitlines()[2:4]
    assert row.split()[header.split().index("nocons")] == "2", "`runs` shows it under nocons"


def test_withdrawing_consent_removes_the_member_and_granting_it_again_adds_them_back(clean_warehouse, receiver):
    world = make_world(clean_warehouse, receiver, "list", TEXT_RULE)
    world.people_on(1, everyone([1, 2, 3]))
    world.sync()
    assert world.held() == {"u1", "u2", "u3"}
    world.people_on(2, {**everyone([1, 2, 3]), 2: ("no", True), 3: (None, True)})
    summary = world.sync()
    assert (summary.counts.planned_adds, summary.counts.planned_removes, summary.counts.skipped_consent) == (0, 2, 2)
    assert world.held() == world.ledger() == {"u1"}, "still in the audience, but no consent: removed"
    world.people_on(3, everyone([1, 2, 3]))
    world.sync()
    assert world.held() == world.ledger() == {"u1", "u2", "u3"}


def test_a_boolean_column_needs_only_its_name(clean_warehouse, receiver):
    world = make_world(clean_warehouse, receiver, "list", "subscribed")
    world.people_on(1, {1: ("no", True), 2: ("yes", False), 3: ("yes", None)})
    summary = world.sync()
    assert world.held() == {"u1"} and summary.counts.skipped_consent == 2
    world.people_on(2, {1: (None, False), 2: (None, True)})
    world.sync()
    assert world.held() == {"u2"}


def test_event_syncs_send_no_entry_without_consent_and_an_exit_on_withdrawal(clean_warehouse, receiver):
    world = make_world(clean_warehouse, receiver, "event", TEXT_RULE)
    world.people_on(1, {1: ("yes", True), 2: ("yes", True), 3: ("no", True)})
    world.sync()
    world.people_on(2, {1: ("yes", True), 2: ("withdrawn", True), 3: ("no", True)})
    world.sync()
    assert world.event_names("u1") == ["added_to_segment"]
    assert world.event_names("u2") == ["added_to_segment", "removed_from_segment"]
    assert world.event_names("u3") == [], "never consented: never announced"


def test_without_a_consent_rule_everyone_is_sent(clean_warehouse, receiver):
    world = make_world(clean_warehouse, receiver, "list", None)
    world.people_on(1, {1: ("no", False), 2: (None, None)})
    assert world.sync().counts.skipped_consent == 0
    assert world.held() == {"u1", "u2"}


CONFIG = """
audiences:
  - name: buyers
    type: dynamic
    refresh: daily
    window: 7d
    start: 2026-01-01
    identifiers: [email]
    traits: [opt_in]
    sql: select user_id::text as member_key, email, opt_in from users
destinations:
  - name: hook
    type: webhook
    base_url: https://hooks.example.com
    credentials: {{signing_secret: HOOK_SECRET}}
syncs:
  - name: buyers_to_hook
    audience: buyers
    destination: hook
    type: list
    target: {{name: buyers}}
    identifiers: {{email: email}}
    consent: {consent}
"""


@pytest.mark.parametrize(
    ("consent", "message"),
    [
        ("{column: marketing}", "field 'consent.column': audience 'buyers' has no column 'marketing'"),
        ("{column: opt_in, granted: [yes]}", "field 'consent.granted': quote the consent values"),
        ("{column: opt_in, granted: ['it''s']}", "is not a consent value"),
        ("{column: opt_in, granted: []}", "field 'consent.granted'"),
        ("{column: opt_in, extra: 1}", "field 'consent.extra'"),
    ],
)
def test_consent_config_errors_name_file_item_and_field(tmp_path, consent, message):
    path = tmp_path / "audiences.yaml"
    path.write_text(textwrap.dedent(CONFIG.format(consent=consent)))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert "audiences.yaml" in text and "buyers_to_hook" in text and message in text, text


def test_consent_config_accepts_a_column_name_or_a_mapping(tmp_path):
    path = tmp_path / "audiences.yaml"
    path.write_text(textwrap.dedent(CONFIG.format(consent="{column: opt_in, granted: ['Yes', ' Opted_In ', 1]}")))
    assert load_config(path).sync("buyers_to_hook").consent.granted == ["yes", "opted_in", "1"]
    path.write_text(textwrap.dedent(CONFIG.format(consent="opt_in")))
    rule = load_config(path).sync("buyers_to_hook").consent
    assert (rule.column, rule.granted) == ("opt_in", ["true"])
