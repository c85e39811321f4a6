"""Advisory locks: two runs of one sync never interleave, whatever launched them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa


class SyncBusyError(RuntimeError):
    """Another run of the same sync holds its lock."""


@contextlib.contextmanager
def sync_lock(engine: sa.Engine, sync: str) -> Iterator[None]:
    """A session-level advisory lock on one connection, held for the whole run.

    An error while unlocking (a dead connection, which releases the lock anyway) never hides the error that
    ended the run.
    """
    key = f"audience_pipelines.sync:{sync}"
    with engine.connect() as conn:
        if not conn.execute(sa.text("select pg_try_advisory_lock(hashtext(:k))"), {"k": key}).scalar_one():
            raise SyncBusyError(f"sync '{sync}' is already running (its lock is held); not starting a second run")
        try:
            yield
        finally:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                conn.execute(sa.text("select pg_advisory_unlock(hashtext(:k))"), {"k": key})
                conn.commit()
