"""The HTTP layer every destination shares: TLS is verified, and a platform's requested wait is honoured."""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
import math
import re
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import audience_pipelines
from audience_pipelines.destinations.kit import Batch, DestinationError, FailureKind, ListRef, OutboundMember
from audience_pipelines.destinations.registry import build_client
from audience_pipelines_tests.sync_world import project_config

LIST = ListRef("shoppers-list", "shoppers-list")


def one_member_batch() -> Batch:
    member = OutboundMember("u1", {"email": "person.1@example.com"})
    return Batch("b" * 32, members=[member], sync="to_hook", audience="shoppers")


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no certificate authority signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class _AcceptEverything(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.server.handled += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"accepted": 1, "rejected": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def untrusted_https_server(tmp_path: Path) -> Iterator[ThreadingHTTPServer]:
    """An HTTPS server on 127.0.0.1 that would accept any batch, behind a self-signed certificate."""
    cert_path, key_path = self_signed_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AcceptEverything)
    server.handled = 0
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_destination_client_verifies_tls_certificates(receiver):
    client = build_client(project_config().destination("hook"))
    try:
        assert client.http.session.verify is True
    finally:
        client.close()


def test_no_code_path_switches_tls_verification_off():
    package = Path(audience_pipelines.__file__).parent
    switch_off = re.compile(r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context")
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if switch_off.search(line)
    ]
    assert offenders == []


def test_a_server_with_an_untrusted_certificate_gets_nothing_and_the_run_fails(
    untrusted_https_server, receiver, monkeypatch
):
    # requests lets a CA bundle named in the environment override a session's verify setting: take it away,
    # so that only the client's own setting decides.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("TEST_WEBHOOK_URL", f"https://127.0.0.1:{untrusted_https_server.server_address[1]}")
    sleeps: list[float] = []
    client = build_client(project_config().destination("hook"), sleep=sleeps.append)
    try:
        with pytest.raises(DestinationError) as failure:
            client.add_members(LIST, one_member_batch())
    finally:
        client.close()
    assert "tls certificate" in failure.value.message.lower() and "could not be verified" in failure.value.message
    assert failure.value.kind is FailureKind.PERMANENT and sleeps == [], "an untrusted certificate is not retried"
    assert untrusted_https_server.handled == 0, "no batch was handed to a server whose certificate is untrusted"


def test_a_retry_after_given_as_an_http_date_is_waited_out(receiver):
    # A whole second in the future, three seconds ahead: HTTP dates carry no fractions.
    retry_at = email.utils.formatdate(math.ceil(time.time()) + 3, usegmt=True)
    receiver.fail_next(429, {"error": "rate_limited"}, {"Retry-After": retry_at})
    sleeps: list[float] = []
    client = build_client(project_config().destination("hook"), sleep=sleeps.append)
    try:
        outcome = client.add_members(LIST, one_member_batch())
    finally:
        client.close()
    assert outcome.accepted == 1 and receiver.member_keys(LIST.id) == {"u1"}
    assert len(sleeps) == 1
    assert 2.0 <= sleeps[0] <= 4.0, f"waited {sleeps[0]:.2f}s for a Retry-After about 3 s ahead"


def test_a_retry_after_date_in_the_past_retries_at_once(receiver):
    receiver.fail_next(503, {"error": "busy"}, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    sleeps: list[float] = []
    client = build_client(project_config().destination("hook"), sleep=sleeps.append)
    try:
        client.add_members(LIST, one_member_batch())
    finally:
        client.close()
    assert sleeps == [0.0]
