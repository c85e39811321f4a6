"""The contract every registered destination passes against its own strict fake, by being registered.

Each test runs real syncs (warehouse snapshots, the engine, the client, HTTP on 127.0.0.1) for every
``(destination type, contract case)`` in the registry: batch limits, acknowledgement arithmetic, the
platform's own throttle wait, 5xx retries, fast authentication failures without secrets, the three modes
ending with exactly the intended members, and a SIGKILL mid-run followed by a rerun.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from audience_pipelines.destinations.kit import (
    ContractCase,
    DestinationType,
    MatchReporting,
    MatchReportingFake,
    ProfileFake,
)
from audience_pipelines.destinations.registry import DESTINATION_TYPES
from audience_pipelines.sync.preview import preview_sync
from audience_pipelines.sync.service import RunSummary
from audience_pipelines.warehouse import SCHEMA
from audience_pipelines.warehouse.sync_runs import recent_runs
from audience_pipelines_tests.conftest import PROJECT_DIR
from audience_pipelines_tests.destinations.contract_world import (
    BATCH,
    SYNC,
    ContractWorld,
    contract_world,
    project_dict,
)

CASES = [(kind, case) for kind in DESTINATION_TYPES for case in kind.contracts]
IDS = [f"{kind.name}-{case.sync_type}" for kind, case in CASES]


FIELD_CASES = [(kind, case) for kind, case in CASES if case.fields]
MATCH_CASES = [(kind, case) for kind, case in CASES if kind.reports_matches and case.sync_type == "list"]


@pytest.fixture(params=CASES, ids=IDS)
def world(
    request: pytest.FixtureRequest, clean_warehouse: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ContractWorld]:
    yield from _world(*request.param, clean_warehouse, monkeypatch)


@pytest.fixture(params=FIELD_CASES, ids=[f"{kind.name}-{case.sync_type}" for kind, case in FIELD_CASES])
def fields_world(
    request: pytest.FixtureRequest, clean_warehouse: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ContractWorld]:
    """Only the destinations whose contract case maps the trait to a profile property."""
    yield from _world(*request.param, clean_warehouse, monkeypatch)


@pytest.fixture(params=MATCH_CASES, ids=[f"{kind.name}-{case.sync_type}" for kind, case in MATCH_CASES])
def match_world(
    request: pytest.FixtureRequest, clean_warehouse: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ContractWorld]:
    """Only the destinations that declare they report match figures."""
    yield from _world(*request.param, clean_warehouse, monkeypatch)


def _world(
    kind: DestinationType, case: ContractCase, clean_warehouse: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ContractWorld]:
    with contract_world(kind, case, clean_warehouse, monkeypatch) as world:
        yield world


def assert_acknowledged(summary: RunSummary) -> None:
    """Success, and every member or event sent was either accepted or rejected, nothing in between."""
    assert summary.status == "success", summary.message
    counts = summary.counts
    assert counts.accepted + counts.rejected == counts.sent
    assert counts.rejected == 0


def assert_destination_matches_ledger(world: ContractWorld, members: set[str]) -> None:
    assert set(world.ledger()) == members, "the ledger holds exactly the intended members"
    assert world.held() == world.expected_on_fake(), "the fake holds exactly what the ledger says"


def test_mirror_follows_churn_in_bounded_batches(world: ContractWorld) -> None:
    first = world.members_on(1, range(1, 8))
    assert_acknowledged(world.sync())
    assert_destination_matches_ledger(world, first)
    second = world.members_on(2, range(4, 11))
    summary = world.sync()
    assert_acknowledged(summary)
    assert (summary.counts.planned_adds, summary.counts.planned_removes) == (3, 3)
    assert_destination_matches_ledger(world, second)
    assert 0 < world.fake.largest_request() <= BATCH, "no request carried more than the batch setting"


def test_additive_only_adds(world: ContractWorld) -> None:
    world.mode = "additive"
    first = world.members_on(1, range(1, 6))
    assert_acknowledged(world.sync())
    second = world.members_on(2, range(3, 9))
    summary = world.sync()
    assert_acknowledged(summary)
    assert summary.counts.planned_removes == 0
    assert_destination_matches_ledger(world, first | second)


def test_subtractive_only_removes_members_who_leave(world: ContractWorld) -> None:
    world.mode = "subtractive"
    world.members_on(1, range(1, 7))
    first = world.sync()
    assert_acknowledged(first)
    assert first.counts.sent == 0 and world.fake.rows_received() == 0, "subtractive sends no adds"
    world.members_on(2, range(3, 7))
    second = world.sync()
    assert_acknowledged(second)
    assert second.counts.sent == 2 and world.fake.rows_received() == 2, "only the two leavers were sent"
    assert_destination_matches_ledger(world, set())


def test_a_throttle_is_honoured_with_the_platforms_own_wait(world: ContractWorld) -> None:
    members = world.members_on(1, range(1, 5))
    wait = world.fake.throttle_next()
    assert_acknowledged(world.sync())
    if wait is None:  # the platform documents no wait: exponential backoff
        assert world.sleeps, "the throttled request was retried after a backoff"
    else:
        assert any(abs(slept - wait) < 1.0 for slept in world.sleeps), (wait, world.sleeps)
    assert_destination_matches_ledger(world, members)


def test_server_errors_are_retried_then_succeed(world: ContractWorld) -> None:
    members = world.members_on(1, range(1, 5))
    world.fake.fail_next(503, times=2)
    assert_acknowledged(world.sync())
    assert len(world.sleeps) >= 2
    assert_destination_matches_ledger(world, members)


def test_an_authentication_failure_fails_fast_naming_the_variable(world: ContractWorld) -> None:
    world.members_on(1, range(1, 5))
    world.fake.revoke_credentials()
    summary = world.sync()
    assert summary.status == "failed"
    assert any(f"${name}" in summary.message for name in world.fake.environment()), summary.message
    assert world.sleeps == [], "authentication failures are not retried"
    assert set(world.ledger()) == set()


def test_no_secret_reaches_logs_errors_or_history(world: ContractWorld) -> None:
    world.members_on(1, range(1, 5))
    world.fake.throttle_next()
    world.fake.fail_next(503)
    ok = world.sync()
    world.members_on(2, range(2, 7))
    world.fake.revoke_credentials()
    failed = world.sync()
    with world.engine.connect() as conn:
        history = conn.execute(sa.text(f"select * from {SCHEMA}.sync_runs")).all()
        rejections = conn.execute(sa.text(f"select * from {SCHEMA}.sync_rejections")).all()
    text = "\n".join([*world.logs, str(ok.message), str(failed.message), repr(history), repr(rejections)])
    for secret in world.fake.secrets():
        assert secret not in text


def test_preview_builds_the_first_requests_without_sending_or_leaking(world: ContractWorld) -> None:
    world.members_on(1, range(1, 6))
    lines = list(preview_sync(world.engine, world.config, SYNC, limit=2).json_lines())
    assert lines and {line["operation"] for line in lines} == {"add" if world.case.sync_type == "list" else "events"}
    assert all(line["destination_type"] == world.kind.name and line["body"] for line in lines)
    assert world.fake.rows_received() == 0 and set(world.ledger()) == set(), "nothing sent, nothing recorded"
    text = json.dumps(lines)
    for secret in world.fake.secrets():
        assert secret not in text


def test_a_trait_change_resends_only_the_members_it_changed(fields_world: ContractWorld) -> None:
    world = fields_world
    members = world.members_on(1, range(1, 7))
    assert_acknowledged(world.sync())
    [(trait, prop)] = world.case.fields.items()
    world.change_trait([2, 5], 999)
    world.members_on(2, range(1, 7))
    summary = world.sync()
    assert_acknowledged(summary)
    assert (summary.counts.planned_adds, summary.counts.sent) == (2, 2), "only the two changed members"
    ledger = world.ledger()
    assert set(ledger) == members and ledger["p2"][prop] == ledger["p5"][prop] == "999"
    assert ledger["p1"][prop] == "10", f"{trait} unchanged for the others"
    assert isinstance(world.fake, ProfileFake), "a destination that writes profile properties shows them"
    email = next(iter(world.case.identifiers.values()))
    assert str(world.fake.profile_value(ledger["p2"][email], prop)) == "999"
    assert str(world.fake.profile_value(ledger["p1"][email], prop)) == "10"


def test_match_figures_follow_what_the_platform_matched(match_world: ContractWorld) -> None:
    world = match_world
    for day, members in ((1, range(1, 13)), (2, range(7, 21))):
        world.members_on(day, members)
        summary = world.sync()
        assert_acknowledged(summary)
        report, figures = summary.result.match_report, summary.result.match
        list_id = summary.result.list_ref.id
        assert isinstance(world.fake, MatchReportingFake)
        matched = world.fake.matched_members(list_id)
        assert 0 < matched < len(members), "the fake matched some members, not all"
        assert report.matched_low <= matched <= report.matched_high, (report, matched)
        assert 0 < figures.match_rate <= 1
        with world.engine.connect() as conn:
            [latest, *_] = recent_runs(conn, SYNC)
        assert latest.match == figures, "run history keeps the same figures"


def test_match_reporting_is_declared_exactly_where_it_is_implemented() -> None:
    for kind in DESTINATION_TYPES:
        assert hasattr(kind.client, "match_report") == kind.reports_matches, kind.name
        assert hasattr(kind.fake, "matched_members") >= kind.reports_matches, kind.name
        if kind.reports_matches:
            assert "list" in kind.capabilities, f"{kind.name}: match figures are read for lists"
            assert isinstance(kind.client, type) and issubclass(kind.client, MatchReporting), kind.name


KILLED_RUN = """
import json, os
from audience_pipelines.config import ProjectConfig
from audience_pipelines.sync.service import run_sync
from audience_pipelines.warehouse import get_engine

config = ProjectConfig.model_validate(json.loads(os.environ["CONTRACT_CONFIG"]))
run_sync(get_engine(os.environ["CONTRACT_WAREHOUSE_URL"]), config, os.environ["CONTRACT_SYNC"],
         run_id="doomed-run", trigger="manual")
"""


def test_a_killed_run_and_a_rerun_lose_and_duplicate_nothing(world: ContractWorld, warehouse_url: str) -> None:
    members = world.members_on(1, range(1, 31))
    world.fake.slow_down(0.15, times=400)
    env = {
        **os.environ,
        "CONTRACT_CONFIG": json.dumps(project_dict(world.kind, world.case, world.fake, world.mode)),
        "CONTRACT_WAREHOUSE_URL": warehouse_url,
        "CONTRACT_SYNC": SYNC,
    }
    process = subprocess.Popen([sys.executable, "-c", KILLED_RUN], cwd=PROJECT_DIR, env=env)
    deadline = time.monotonic() + 60
    while world.fake.rows_received() < 2 * BATCH and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run was killed, not finished"
    assert world.fake.rows_received() < len(members), "the kill landed mid-run"

    world.fake.clear_faults()
    assert_acknowledged(world.sync())
    assert_destination_matches_ledger(world, members)
    resent = world.fake.rows_received() - len(members)
    assert 0 <= resent <= BATCH, f"{resent} re-sent: at most the one batch in flight at the kill"


def test_every_registered_type_has_its_own_package_and_contract() -> None:
    names = [kind.name for kind in DESTINATION_TYPES]
    assert len(names) == len(set(names))
    for kind in DESTINATION_TYPES:
        package = kind.client.__module__.rsplit(".", 1)[0]
        assert kind.config.__module__.startswith(package) and kind.fake.__module__.startswith(package), kind.name
        assert isinstance(kind, DestinationType) and all(isinstance(c, ContractCase) for c in kind.contracts)
        assert sys.modules[package].__doc__, f"{package} documents the platform contract in its docstring"
