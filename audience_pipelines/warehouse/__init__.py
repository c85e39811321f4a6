"""Warehouse SQL: snapshots, diffs, membership history (and, later, the sync ledger)."""

from audience_pipelines.warehouse.diffs import (
    DiffResult,
    MissingSnapshotError,
    PartitionRef,
    materialize_diff,
)
from audience_pipelines.warehouse.engine import WAREHOUSE_URL_ENV, get_engine, psycopg2_url, warehouse_url
from audience_pipelines.warehouse.schema import SCHEMA, ensure_schema
from audience_pipelines.warehouse.snapshots import (
    AudienceSqlError,
    SnapshotResult,
    Window,
    audience_window,
    materialize_snapshot,
    prune_snapshots,
)

__all__ = [
    "SCHEMA",
    "WAREHOUSE_URL_ENV",
    "AudienceSqlError",
    "DiffResult",
    "MissingSnapshotError",
    "PartitionRef",
    "SnapshotResult",
    "Window",
    "audience_window",
    "ensure_schema",
    "get_engine",
    "materialize_diff",
    "materialize_snapshot",
    "prune_snapshots",
    "psycopg2_url",
    "warehouse_url",
]
