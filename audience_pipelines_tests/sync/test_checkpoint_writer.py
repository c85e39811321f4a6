"""The checkpoint writer: writes run on two connections, but what is committed is always a prefix of what was
submitted, so a killed or failed run leaves the ledger as if its batches had been written one by one."""

import threading
import time

import pytest
import sqlalchemy as sa

from audience_pipelines.sync.overlap import OrderedWriter

TABLE = "public.writer_order"


@pytest.fixture
def table(warehouse_engine: sa.Engine) -> sa.Engine:
    with warehouse_engine.begin() as conn:
        conn.execute(sa.text(f"drop table if exists {TABLE}; create table {TABLE} (n int primary key)"))
    yield warehouse_engine
    with warehouse_engine.begin() as conn:
        conn.execute(sa.text(f"drop table if exists {TABLE}"))


def insert(n: int, *, started: threading.Event | None = None, pause: float = 0.0):
    def write(conn: sa.Connection) -> None:
        if started is not None:
            started.set()
        conn.execute(sa.text(f"insert into {TABLE} values (:n)"), {"n": n})
        if pause:
            conn.execute(sa.text("select pg_sleep(:s)"), {"s": pause})

    return write


def fail(conn: sa.Connection) -> None:
    conn.execute(sa.text("select 1 / 0"))


def committed(engine: sa.Engine) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(sa.text(f"select n from {TABLE}")).scalars())


def test_a_later_group_that_finishes_first_waits_for_the_one_before_it(table):
    writer = OrderedWriter(table)
    first_started = threading.Event()
    writer.submit(insert(1, started=first_started, pause=0.5))  # a slow batch on one connection
    assert first_started.wait(10)
    writer.submit(insert(2))  # a quick one on the other, taken while the first is still running
    seen = []
    while len(seen) < 1000 and (not seen or seen[-1] != {1, 2}):
        seen.append(committed(table))
        time.sleep(0.01)
    writer.close()
    assert committed(table) == {1, 2}
    assert {2} not in seen, "the second batch was committed before the first"


def test_after_a_failed_write_nothing_later_is_applied_and_everything_earlier_is(table):
    writer = OrderedWriter(table)
    started = threading.Event()
    writer.submit(insert(1, started=started, pause=0.3))
    assert started.wait(10)
    writer.submit(fail)
    with pytest.raises(sa.exc.DBAPIError):
        writer.submit(insert(3))
        writer.submit(insert(4))
        writer.close()
    assert committed(table) == {1}
