"""Overlapping a sync's reading, sending and checkpointing: two helper threads around the sending thread.

``ReadAhead`` reads and prepares the next pages while the current one is sent; ``OrderedWriter`` writes
acknowledged batches to the warehouse on its own connection, in the order they were acknowledged. Both
queues are bounded, so memory stays flat however large the audience; an error in either thread surfaces
in the sending thread at its next hand-over.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import sqlalchemy as sa

from audience_pipelines.warehouse.ledger import relax_commit_durability

T = TypeVar("T")
_END = object()
_POLL_SECONDS = 0.2


class ReadAhead(Generic[T]):
    """Iterates ``source`` in a thread, at most ``depth`` items ahead of the consumer."""

    def __init__(self, source: Iterator[T], *, depth: int = 2, name: str = "sync-reader") -> None:
        self._source = source
        self._items: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[T]:
        try:
            while True:
                item = self._items.get()
                if item is _END:
                    if self._error is not None:
                        raise self._error
                    return
                yield item  # type: ignore[misc]
        finally:
            self.close()

    def close(self) -> None:
        """Stop reading (the thread finishes the page at hand and exits)."""
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):  # unblock a producer waiting for room
                self._items.get(timeout=_POLL_SECONDS)
        self._thread.join()

    def _run(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    return
        except BaseException as error:  # handed to the consumer, raised in its thread
            self._error = error
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()
            self._put(_END)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._items.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False


Write = Callable[[sa.Connection], None]
#: A queued write and whether it may commit asynchronously (see ``relax_commit_durability``).
_Queued = tuple[Write, bool]


class OrderedWriter:
    """Applies warehouse writes in submission order, on ``lanes`` connections of its own, one thread each.

    Writes waiting in the queue when a thread gets to them form one group, applied in one transaction, which
    commits asynchronously only if every write in it is ``relaxed`` (a checkpoint under a batch id). Groups
    are numbered as they are taken; a group's statements may run while the group before it is still running on
    the other connection, but it commits only after that group has committed, so what is committed is always
    a prefix of what was submitted (what a killed run leaves behind is exactly as if the writes were applied
    one by one). After a failed write, nothing later is applied (each write is an acknowledged batch: skipping
    one means the next run sends it again under the same batch id), everything earlier still commits, and the
    error is raised at the next ``submit``, ``wait_until_written`` or ``close``. Groups touch different
    members' rows, so they never wait on each other's row locks.
    """

    def __init__(self, engine: sa.Engine, *, depth: int = 8, lanes: int = 2, name: str = "sync-checkpoints") -> None:
        self._engine = engine
        self._writes: queue.Queue[_Queued | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._failed_group: int | None = None
        self._taking = threading.Lock()  # takes a group and its number as one step
        self._turn = threading.Condition()
        self._next_group = 0
        self._done_group = -1  # every group up to this one has committed (or was abandoned)
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{lane}", daemon=True) for lane in range(lanes)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, write: Write, *, relaxed: bool = False) -> None:
        """Queue a write (waits while ``depth`` writes are pending)."""
        self._raise_failure()
        self._writes.put((write, relaxed))

    def wait_until_written(self) -> None:
        """Wait until every submitted write is committed (raising a write's error, if any)."""
        self._writes.join()
        self._raise_failure()

    def close(self) -> None:
        """Commit what was submitted, then stop the threads (raising a write's error, if any)."""
        alive = [thread for thread in self._threads if thread.is_alive()]
        for _ in alive:
            self._writes.put(None)
        for thread in alive:
            thread.join()
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    def _take(self) -> tuple[list[_Queued | None], int]:
        with self._taking:
            pending = [self._writes.get()]
            while pending[-1] is not None and not self._writes.empty():
                pending.append(self._writes.get_nowait())
            group = self._next_group
            self._next_group += 1
        return pending, group

    def _wait_turn(self, group: int) -> None:
        with self._turn:
            self._turn.wait_for(lambda: self._done_group == group - 1)

    def _end_turn(self, group: int) -> None:
        with self._turn:
            self._done_group = group
            self._turn.notify_all()

    def _abandoned(self, group: int) -> bool:
        return self._failed_group is not None and self._failed_group < group

    def _fail(self, group: int, error: BaseException) -> None:
        if self._failed_group is None or group < self._failed_group:
            self._failed_group, self._error = group, error

    def _run(self) -> None:
        connection: sa.Connection | None = None
        try:
            while True:
                pending, group = self._take()
                writes = [queued for queued in pending if queued is not None]
                try:
                    if writes and not self._abandoned(group):
                        connection = connection or self._engine.connect()
                        with connection.begin() as transaction:
                            if all(relaxed for _, relaxed in writes):
                                relax_commit_durability(connection)
                            for write, _ in writes:
                                write(connection)
                            self._wait_turn(group)
                            if self._abandoned(group):
                                transaction.rollback()
                except BaseException as error:  # raised in the sending thread
                    self._fail(group, error)
                finally:
                    self._wait_turn(group)  # returns at once when the group got its turn above
                    self._end_turn(group)
                    for _ in pending:
                        self._writes.task_done()
                if pending[-1] is None:
                    return
        finally:
            if connection is not None:
                connection.close()
