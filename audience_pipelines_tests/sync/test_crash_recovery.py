"""Kill a sync process mid-run, run it again: nothing acknowledged is re-sent, nothing is lost."""

import os
import signal
import subprocess
import sys
import time

import sqlalchemy as sa

from audience_pipelines.warehouse import SCHEMA
from audience_pipelines.warehouse.ledger import ledger_members
from audience_pipelines_tests.conftest import PROJECT_DIR

SCRIPT = """
import os
from audience_pipelines.warehouse import get_engine
from audience_pipelines.sync.service import run_sync
from audience_pipelines_tests.sync_world import project_config

summary = run_sync(get_engine(os.environ["WAREHOUSE_URL"]), project_config(), "to_hook",
                   run_id="doomed-run", trigger="manual")
print("finished", summary.status)
"""


def test_a_killed_run_resumes_without_duplicates_or_losses(world, warehouse_url):
    users = list(range(1, 31))
    world.members_on(1, users)
    world.receiver.delay_next(0.15, times=100)  # slow receiver: the kill lands mid-run
    env = {**os.environ, "WAREHOUSE_URL": warehouse_url}
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=PROJECT_DIR, env=env)
    deadline = time.monotonic() + 60
    while world.receiver.deliveries < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    delivered_before = world.receiver.deliveries
    assert 3 <= delivered_before < 10, "the run was killed part-way through its 10 batches"
    with world.engine.connect() as conn:
        checkpointed = ledger_members(conn, "to_hook")
    assert 0 < len(checkpointed) < 30

    world.receiver.clear_faults()
    summary = world.sync()
    assert summary.status == "success"
    assert world.receiver.member_keys("shoppers-list") == {f"u{u}" for u in users}
    applied = [key for batch in world.receiver.batches() for key in batch["member_keys"]]
    assert sorted(applied) == sorted(f"u{u}" for u in users), "each member applied exactly once"
    assert summary.counts.sent <= 30 - len(checkpointed), "acknowledged batches were not re-sent"


KILLED_BETWEEN_SEND_AND_CHECKPOINT = """
import os
import signal

from audience_pipelines.sync import runner
from audience_pipelines.warehouse import get_engine
from audience_pipelines.sync.service import run_sync
from audience_pipelines_tests.sync_world import project_config

runner.READ_PAGE = 7  # pages of 6 members, batches of 3: batches are cut across page ends
record_held = runner.record_held
checkpoints = []


def record_then_die(conn, sync, entries, **kwargs):
    checkpoints.append(len(entries))
    if len(checkpoints) == int(os.environ["DIE_AT_CHECKPOINT"]):  # acknowledged, never committed
        os.kill(os.getpid(), signal.SIGKILL)
    record_held(conn, sync, entries, **kwargs)


runner.record_held = record_then_die
run_sync(get_engine(os.environ["WAREHOUSE_URL"]), project_config(), "to_hook", run_id="doomed-run", trigger="manual")
"""


def test_a_run_killed_between_an_acknowledgement_and_its_checkpoint_resends_that_batch_under_the_same_id(
    world, warehouse_url
):
    """Checkpoints commit asynchronously, behind the sending: a kill can land after the receiver acknowledged
    batches that the ledger never recorded. The next run sends them again under the same batch ids, so the
    receiver recognizes the repeats: no member is lost, none is applied twice."""
    users = list(range(1, 31))
    world.profiles(users)
    with world.engine.begin() as conn:  # four members without identifiers: skipped, so batches straddle pages
        conn.execute(sa.text("update src.profiles set email = null, phone = null where user_id in (2, 9, 14, 22)"))
    world.members_on(1, users)
    sendable = {f"u{u}" for u in users} - {"u2", "u9", "u14", "u22"}
    env = {**os.environ, "WAREHOUSE_URL": warehouse_url, "DIE_AT_CHECKPOINT": "4"}
    process = subprocess.run([sys.executable, "-c", KILLED_BETWEEN_SEND_AND_CHECKPOINT], cwd=PROJECT_DIR, env=env)
    assert process.returncode == -signal.SIGKILL
    acknowledged = {key for batch in world.receiver.batches() for key in batch["member_keys"]}
    with world.engine.connect() as conn:
        checkpointed = ledger_members(conn, "to_hook")
    assert len(acknowledged) >= 12, "at least four batches were acknowledged before the kill"
    assert checkpointed < acknowledged, "the kill left acknowledged members out of the ledger"

    summary = world.sync()
    assert summary.status == "success"
    applied = [key for batch in world.receiver.batches() for key in batch["member_keys"]]
    assert sorted(applied) == sorted(sendable), "each member applied exactly once"
    assert world.receiver.member_keys("shoppers-list") == sendable
    assert world.receiver.duplicate_deliveries >= 1, "the unrecorded batches came again, under their own ids"
    with world.engine.connect() as conn:
        assert ledger_members(conn, "to_hook") == sendable


def test_a_checkpoint_the_warehouse_refuses_ends_the_run_failed_and_the_next_run_completes_it(world):
    """The checkpoint thread's error reaches the run: it ends failed with what was recorded before, and the
    next run re-sends the unrecorded batch under its id (the receiver applies it once)."""
    world.members_on(1, range(1, 13))  # batches of 3 in key order: u1 u10 u11 | u12 u2 u3 | u4 u5 u6 | u7 u8 u9
    with world.engine.begin() as conn:
        conn.execute(
            sa.text(
                f"""create function src.refuse_u7() returns trigger language plpgsql as $$
                    begin
                        if new.member_key = 'u7' then raise exception 'the ledger is full'; end if;
                        return new;
                    end $$;
                    create trigger refuse_u7 before insert on {SCHEMA}.sync_ledger
                        for each row execute function src.refuse_u7()"""
            )
        )
    failed = world.sync()
    assert failed.status == "failed" and "warehouse error" in failed.message
    with world.engine.connect() as conn:
        status = conn.execute(
            sa.text(f"select status from {SCHEMA}.sync_runs where run_id = :r"), {"r": failed.run_id}
        ).scalar_one()
        assert status == "failed"
        recorded = ledger_members(conn, "to_hook")
    # The writer commits the checkpoints queued together in one transaction, so the refused batch may take
    # the ones queued with it down too: what stays recorded is whole batches, in order, all before u7's.
    batches = [{"u1", "u10", "u11"}, {"u12", "u2", "u3"}, {"u4", "u5", "u6"}]
    prefixes = [set().union(*batches[:n]) for n in range(len(batches) + 1)]
    assert recorded in prefixes, recorded

    with world.engine.begin() as conn:
        conn.execute(sa.text(f"drop trigger refuse_u7 on {SCHEMA}.sync_ledger"))
    summary = world.sync()
    assert summary.status == "success"
    applied = [key for batch in world.receiver.batches() for key in batch["member_keys"]]
    assert sorted(applied) == sorted(f"u{u}" for u in range(1, 13)), "each member applied exactly once"
    with world.engine.connect() as conn:
        assert ledger_members(conn, "to_hook") == {f"u{u}" for u in range(1, 13)}
