"""SQLAlchemy engines for the warehouse, always through psycopg2."""

from __future__ import annotations

import functools
import os

import sqlalchemy as sa

WAREHOUSE_URL_ENV = "AUDIENCE_PIPELINES_WAREHOUSE_URL"


def psycopg2_url(url: str) -> str:
    """Force the ``postgresql+psycopg2`` scheme (SQLAlchemy 2.1 maps bare ``postgresql://`` to psycopg 3)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def warehouse_url() -> str:
    """The warehouse URL from ``$AUDIENCE_PIPELINES_WAREHOUSE_URL``."""
    url = os.environ.get(WAREHOUSE_URL_ENV)
    if not url:
        raise RuntimeError(
            f"{WAREHOUSE_URL_ENV} is not set; run through `audience-pipelines` for the embedded "
            "database, or export the URL of your warehouse"
        )
    return psycopg2_url(url)


@functools.cache
def get_engine(url: str) -> sa.Engine:
    """One pooled engine per URL and process."""
    return sa.create_engine(psycopg2_url(url), pool_pre_ping=True, pool_size=2, max_overflow=4)
