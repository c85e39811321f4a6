"""Fixtures shared by every destination's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A plain HTTP session for talking to a fake directly."""
    with requests.Session() as session:
        yield session


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait a client asked for; passing ``sleeps.append`` as ``sleep`` means no test waits."""
    return []
