"""Shared machinery for the sandbox fake destination servers.

Each fake is a strict in-process HTTP server bound to 127.0.0.1 that emulates one destination platform.
It serves from a daemon thread, keeps its state behind a lock, records a request log of
``(method, path, status)`` and supports a scripted list of faults (failures and delays).

Fakes never log request bodies or query strings: bodies may carry hashed PII and query strings may carry
access tokens. Only ``GET /_sandbox/state`` exposes what a fake holds, for the local demo.
"""

from __future__ import annotations

import abc
import contextlib
import json
import socket
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Self
from urllib.parse import parse_qsl, unquote, urlsplit

SANDBOX_PREFIX = "/_sandbox/"
STATE_PATH = "/_sandbox/state"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 64 * 1024 * 1024


def member_labels(members: Iterable[tuple[str | None, str]]) -> set[str]:
    """One label per member for ``held``: its primary identifier (a hashed email) when no other member shares
    it, else its whole identity (``(primary, whole)`` pairs in), so counts never merge two members."""
    pairs = list(members)
    shared = Counter(primary for primary, _ in pairs if primary)
    return {primary if primary and shared[primary] == 1 else whole for primary, whole in pairs}


class BodyError(ValueError):
    """A request body that cannot be parsed. The message never quotes body content."""


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request as seen by a fake (path is unquoted and has no query string)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """Return a header value (case-insensitive name) or None."""
        return self.headers.get(name.lower())

    @property
    def content_type(self) -> str:
        """Media type of the body, lower-cased and without parameters."""
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """Decode the body as JSON."""
        if not self.body:
            raise BodyError("request body is empty")
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise BodyError("request body is not valid JSON") from None

    def form(self) -> dict[str, str]:
        """Decode an ``application/x-www-form-urlencoded`` body (the last value of a repeated key wins)."""
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise BodyError("form body is not valid UTF-8") from None
        return dict(parse_qsl(text, keep_blank_values=True))

    def params(self, json_fields: Iterable[str] = ()) -> dict[str, Any]:
        """Merge query-string parameters with body parameters (JSON object or form-encoded).

        Body parameters win over query parameters. Parameters named in ``json_fields`` that arrive as
        strings (always the case for form bodies) are decoded as JSON, the way the Graph API accepts
        ``payload=<urlencoded JSON>``.
        """
        params: dict[str, Any] = dict(self.query)
        if self.body:
            if self.content_type == FORM_CONTENT_TYPE:
                params.update(self.form())
            elif self.content_type.startswith("multipart/"):
                raise BodyError("multipart bodies are not supported; send JSON or form-encoded parameters")
            else:
                body = self.json()
                if not isinstance(body, dict):
                    raise BodyError("JSON request body must be an object")
                params.update(body)
        for name in json_fields:
            value = params.get(name)
            if isinstance(value, str):
                try:
                    params[name] = json.loads(value)
                except json.JSONDecodeError:
                    raise BodyError(f"parameter '{name}' is not valid JSON") from None
        return params


@dataclass
class Response:
    """A response produced by a fake. A dict/list body is sent as JSON."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        """Return the body bytes and the default content type for them."""
        if self.body is None:
            return b"", "application/json"
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode("utf-8"), "application/json"


class RequestRecord(NamedTuple):
    """One entry of a fake's request log. Deliberately carries no body and no query string."""

    method: str
    path: str
    status: int


@dataclass
class _Fault:
    remaining: int
    method: str | None
    path_prefix: str | None
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0

    def matches(self, request: Request) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        return self.path_prefix is None or request.path.startswith(self.path_prefix)


class FakeServer(abc.ABC):
    """Base class of a sandbox fake: lifecycle, request log, fault script and the state endpoint.

    Subclasses implement :meth:`handle` (normal request handling) and :meth:`state` (a JSON-able
    snapshot) and keep their mutable state behind ``self._lock``.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._lock = threading.RLock()
        self._control_lock = threading.Lock()
        self._log: list[RequestRecord] = []
        self._faults: list[_Fault] = []
        self._internal_errors: list[str] = []
        self._rows_received = 0
        self._largest_request = 0
        self._stopping = threading.Event()
        self._httpd: _SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Bind and start serving from a daemon thread. Returns self."""
        if self._httpd is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        self._stopping.clear()
        httpd = _SandboxHTTPServer((self._host, self._port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"sandbox-{type(self).__name__}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and release the port. Safe to call twice."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._httpd is not None

    @property
    def base_url(self) -> str:
        """Root URL of the running fake, e.g. ``http://127.0.0.1:54321``."""
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() first")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        """Absolute URL for a path on this fake."""
        return self.base_url + "/" + path.lstrip("/")

    # ------------------------------------------------------------------ fault script

    def fail_next(
        self,
        status: int,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` instead of handling them.

        ``body`` defaults to the fake's native error body for the status. ``method`` and ``path``
        (a path prefix) restrict which requests match. Faults are consumed in the order scheduled.
        """
        self._schedule(
            _Fault(
                remaining=times,
                method=method.upper() if method else None,
                path_prefix=path,
                status=status,
                body=body,
                headers=dict(headers or {}),
            )
        )

    def delay_next(self, seconds: float, times: int = 1, *, method: str | None = None, path: str | None = None) -> None:
        """Sleep ``seconds`` before handling the next ``times`` matching requests.

        The request is then handled normally (its effect is applied even if the client has already
        timed out, like a real slow server).
        """
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        self._schedule(
            _Fault(
                remaining=times,
                method=method.upper() if method else None,
                path_prefix=path,
                delay_seconds=seconds,
            )
        )

    def clear_faults(self) -> None:
        """Drop every scheduled fault that has not fired yet."""
        with self._control_lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> int:
        """Number of scheduled fault firings not yet consumed."""
        with self._control_lock:
            return sum(fault.remaining for fault in self._faults)

    def _schedule(self, fault: _Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("times must be >= 1")
        with self._control_lock:
            self._faults.append(fault)

    def _take_fault(self, request: Request) -> _Fault | None:
        with self._control_lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(request):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        del self._faults[index]
                    return fault
        return None

    def default_fault_body(self, status: int) -> Any:
        """Body used by :meth:`fail_next` when none is given; subclasses return their native error shape."""
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return {"error": phrase.lower().replace(" ", "_").replace("-", "_")}

    # ------------------------------------------------------------------ request log

    @property
    def request_log(self) -> list[RequestRecord]:
        """Copy of the request log (sandbox control endpoints excluded)."""
        with self._control_lock:
            return list(self._log)

    @property
    def request_count(self) -> int:
        """Number of requests served (sandbox control endpoints excluded)."""
        with self._control_lock:
            return len(self._log)

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[RequestRecord]:
        """Logged requests whose path starts with ``path_prefix`` (and whose method matches, if given)."""
        return [
            record
            for record in self.request_log
            if record.path.startswith(path_prefix) and (method is None or record.method == method.upper())
        ]

    def clear_log(self) -> None:
        """Forget the request log."""
        with self._control_lock:
            self._log.clear()

    @property
    def internal_errors(self) -> list[str]:
        """Unexpected exceptions raised while handling (type and route only); empty when the fake is sound."""
        with self._control_lock:
            return list(self._internal_errors)

    # ------------------------------------------------------------------ contract counters

    def count_rows(self, rows: int, *, received: bool = True, largest: bool = True) -> None:
        """Count the members or events an accepted request carried (for ``rows_received`` / ``largest_request``)."""
        with self._lock:
            if received:
                self._rows_received += rows
            if largest:
                self._largest_request = max(self._largest_request, rows)

    def rows_received(self) -> int:
        """Members or events received in accepted member/event requests, re-sends included."""
        with self._lock:
            return self._rows_received

    def largest_request(self) -> int:
        """The most members or events one accepted request carried."""
        with self._lock:
            return self._largest_request

    # ------------------------------------------------------------------ subclass API

    @abc.abstractmethod
    def handle(self, request: Request) -> Response:
        """Handle one request normally (after the fault script has had its say)."""

    @abc.abstractmethod
    def state(self) -> dict[str, Any]:
        """JSON-able snapshot of what the fake holds, served at ``GET /_sandbox/state``."""

    # ------------------------------------------------------------------ dispatch

    def dispatch(self, request: Request) -> Response:
        """Route a request: sandbox control endpoints, then scripted faults, then :meth:`handle`."""
        if request.path.startswith(SANDBOX_PREFIX):
            return self._control(request)
        fault = self._take_fault(request)
        if fault is not None and fault.delay_seconds:
            self._stopping.wait(fault.delay_seconds)
        if fault is not None and fault.status is not None:
            body = fault.body if fault.body is not None else self.default_fault_body(fault.status)
            response = Response(fault.status, body, dict(fault.headers))
        else:
            try:
                response = self.handle(request)
            except Exception as exc:
                response = self._internal_error(request, exc)
        with self._control_lock:
            self._log.append(RequestRecord(request.method, request.path, response.status))
        return response

    def _control(self, request: Request) -> Response:
        if request.path == STATE_PATH and request.method == "GET":
            try:
                return Response(200, self.state())
            except Exception as exc:
                return self._internal_error(request, exc)
        return Response(404, {"error": "unknown_sandbox_endpoint"})

    def _internal_error(self, request: Request, exc: Exception) -> Response:
        note = f"{type(exc).__name__} while handling {request.method} {request.path}"
        with self._control_lock:
            self._internal_errors.append(note)
        print(f"[sandbox] {type(self).__name__}: {note}", file=sys.stderr)
        return Response(500, {"error": "sandbox_internal_error"})


class _SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    fake: FakeServer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        print(f"[sandbox] connection error: {type(exc).__name__}", file=sys.stderr)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_GET
    do_PUT = do_GET
    do_PATCH = do_GET
    do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default access log: request lines can carry access tokens in the query string."""

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline(65537).split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise OverflowError
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise OverflowError
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except OverflowError:
            self.close_connection = True
            self._write(Response(413, {"error": "request_body_too_large"}))
            return
        except ValueError:
            self.close_connection = True
            self._write(Response(400, {"error": "malformed_http_framing"}))
            return
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=unquote(split.path),
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        self._write(self.server.fake.dispatch(request))

    def _write(self, response: Response) -> None:
        payload, content_type = response.encode()
        headers = dict(response.headers)
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = content_type
        try:
            self.send_response(response.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True
