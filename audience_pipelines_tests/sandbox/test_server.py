"""Tests of the shared fake-server machinery, through a tiny echo fake."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from audience_pipelines.sandbox.server import BodyError, FakeServer, Request, RequestRecord, Response


class EchoFake(FakeServer):
    """Echoes parsed parameters; ``/boom`` raises to exercise the internal-error path."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handled = 0

    def handle(self, request: Request) -> Response:
        if request.path == "/boom":
            raise RuntimeError("handler bug")
        try:
            params = request.params(json_fields=("payload",))
        except BodyError as exc:
            return Response(400, {"error": str(exc)})
        with self._lock:
            self.handled += 1
        return Response(201, {"method": request.method, "path": request.path, "params": params})

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"handled": self.handled}


@pytest.fixture
def echo() -> Iterator[EchoFake]:
    with EchoFake() as fake:
        yield fake


def test_lifecycle_binds_localhost_ephemeral_port_and_releases_it() -> None:
    fake = EchoFake()
    assert not fake.running
    with pytest.raises(RuntimeError):
        _ = fake.base_url
    with fake:
        assert fake.base_url.startswith("http://127.0.0.1:")
        assert int(fake.base_url.rsplit(":", 1)[1]) > 0
        assert requests.get(fake.url("x"), timeout=2).status_code == 201
        url = fake.base_url
    assert not fake.running
    fake.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=1)


def test_stop_closes_idle_keep_alive_connections(echo: EchoFake, http: requests.Session) -> None:
    assert http.get(echo.url("/a"), timeout=2).status_code == 201
    url = echo.base_url
    echo.stop()
    with pytest.raises(requests.ConnectionError):
        http.get(url + "/b", timeout=1)


def test_json_and_form_bodies_are_parsed(echo: EchoFake, http: requests.Session) -> None:
    as_json = http.post(echo.url("/p?q=1"), json={"a": 1, "payload": {"k": [1]}}, timeout=2).json()
    assert as_json["params"] == {"q": "1", "a": 1, "payload": {"k": [1]}}
    as_form = http.post(echo.url("/p"), data={"a": "x", "payload": json.dumps({"k": [2]})}, timeout=2).json()
    assert as_form["params"] == {"a": "x", "payload": {"k": [2]}}
    bad = http.post(echo.url("/p"), data={"payload": "{not json"}, timeout=2)
    assert bad.status_code == 400
    assert bad.json() == {"error": "parameter 'payload' is not valid JSON"}
    not_json = http.post(echo.url("/p"), data=b"\x00oops", headers={"Content-Type": "application/json"})
    assert not_json.json() == {"error": "request body is not valid JSON"}


def test_chunked_request_body_is_read(echo: EchoFake, http: requests.Session) -> None:
    chunks = iter([b'{"a": ', b'"chunked"}'])
    response = http.post(echo.url("/c"), data=chunks, headers={"Content-Type": "application/json"}, timeout=2)
    assert response.json()["params"] == {"a": "chunked"}


def test_request_log_has_method_path_status_only(echo: EchoFake, http: requests.Session) -> None:
    http.post(echo.url("/v1/things?access_token=secret"), json={"email": "jane@example.com"}, timeout=2)
    http.get(echo.url("/boom"), timeout=2)
    http.get(echo.url("/_sandbox/state"), timeout=2)
    assert echo.request_log == [
        RequestRecord("POST", "/v1/things", 201),
        RequestRecord("GET", "/boom", 500),
    ]
    assert echo.request_count == 2
    assert echo.requests_to("/v1/", method="post") == [RequestRecord("POST", "/v1/things", 201)]
    assert echo.internal_errors == ["RuntimeError while handling GET /boom"]
    echo.clear_log()
    assert echo.request_count == 0


def test_fault_script_fails_then_recovers_in_order(echo: EchoFake, http: requests.Session) -> None:
    echo.fail_next(429, headers={"Retry-After": "7"})
    echo.fail_next(503, body={"error": "maintenance"}, times=2)
    assert echo.pending_faults == 3

    first = http.get(echo.url("/x"), timeout=2)
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "7"
    assert first.json() == {"error": "too_many_requests"}
    assert [http.get(echo.url("/x"), timeout=2).status_code for _ in range(3)] == [503, 503, 201]
    assert echo.handled == 1
    assert [record.status for record in echo.request_log] == [429, 503, 503, 201]
    assert echo.pending_faults == 0


def test_fault_matching_by_method_and_path(echo: EchoFake, http: requests.Session) -> None:
    echo.fail_next(500, method="POST", path="/v1/users")
    assert http.get(echo.url("/v1/users"), timeout=2).status_code == 201
    assert http.post(echo.url("/v1/other"), timeout=2).status_code == 201
    assert http.post(echo.url("/v1/users/9"), timeout=2).status_code == 500
    assert http.post(echo.url("/v1/users"), timeout=2).status_code == 201


def test_sandbox_control_endpoints_bypass_faults(echo: EchoFake, http: requests.Session) -> None:
    echo.fail_next(500)
    assert http.get(echo.url("/_sandbox/state"), timeout=2).json() == {"handled": 0}
    assert http.get(echo.url("/_sandbox/nope"), timeout=2).status_code == 404
    assert echo.pending_faults == 1
    echo.clear_faults()
    assert echo.pending_faults == 0


def test_delay_makes_a_short_timeout_client_time_out(echo: EchoFake, http: requests.Session) -> None:
    echo.delay_next(0.3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.get(echo.url("/slow"), timeout=0.1)
    assert http.get(echo.url("/fast"), timeout=2).status_code == 201


def test_invalid_fault_arguments_are_refused(echo: EchoFake) -> None:
    with pytest.raises(ValueError):
        echo.fail_next(500, times=0)
    with pytest.raises(ValueError):
        echo.delay_next(-1)
    with pytest.raises(RuntimeError):
        echo.start()


def test_concurrent_requests_are_all_served_and_logged(echo: EchoFake) -> None:
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        status = requests.get(echo.url("/concurrent"), timeout=5).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 16
    assert echo.request_count == 16
    assert echo.state() == {"handled": 16}
