"""Sandbox: the shared machinery of strict fake servers on 127.0.0.1, and the local sandbox the demo starts.

Each destination's own fake lives in its package (``audience_pipelines/destinations/<name>/fake.py``).
"""

from audience_pipelines.sandbox.server import FakeServer, Request, RequestRecord, Response

__all__ = ["FakeServer", "Request", "RequestRecord", "Response"]
