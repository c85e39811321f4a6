"""Fixtures shared by every destination's tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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


@pytest.fixture
def opened() -> Iterator[list[Any]]:
    """Destination clients a test built; each is closed when the test ends."""
    clients: list[Any] = []
    yield clients
    for client in clients:
        client.close()
