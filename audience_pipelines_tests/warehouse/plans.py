"""The plan PostgreSQL chooses for a statement that the code under test runs."""

from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

T = TypeVar("T")


def run_and_explain(engine: sa.Engine, marker: str, call: Callable[[], T]) -> tuple[T, str]:
    """``call()``'s result, and the plan of the one statement containing ``marker`` that it ran on ``engine``
    (explained with the parameters it ran with)."""
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if marker in statement:
            statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        result = call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    [(statement, parameters)] = statements
    with engine.connect() as conn:
        plan = "\n".join(conn.exec_driver_sql(f"explain {statement}", parameters).scalars())
    return result, plan
