"""Dagster resources: the warehouse connection."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from audience_pipelines.warehouse import WAREHOUSE_URL_ENV, ensure_schema, get_engine


class WarehouseResource(dg.ConfigurableResource):
    """The PostgreSQL warehouse holding source tables, snapshots, diffs and sync state."""

    url: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        ensure_schema(self.engine())

    def engine(self) -> sa.Engine:
        """A pooled SQLAlchemy engine (psycopg2)."""
        return get_engine(self.url)


def warehouse_from_env() -> WarehouseResource:
    """The warehouse resource reading its URL from ``$AUDIENCE_PIPELINES_WAREHOUSE_URL`` at run time."""
    return WarehouseResource(url=dg.EnvVar(WAREHOUSE_URL_ENV))
