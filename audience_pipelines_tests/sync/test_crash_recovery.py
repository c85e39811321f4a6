"""Kill a sync process mid-run, run it again: nothing acknowledged is re-sent, nothing is lost."""

import os
import signal
import subprocess
import sys
import time

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
