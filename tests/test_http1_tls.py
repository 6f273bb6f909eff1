"""HTTPS through the lean client: a loopback TLS server with a certificate made for the test.

The connect and the handshake are timed apart (k6's http_req_connecting and
http_req_tls_handshaking); an untrusted certificate fails the request as k6 fails it.
"""

from __future__ import annotations

import asyncio
import gzip
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from ccplate_tui.load.http1 import Http1Pool, serialize_request
from ccplate_tui.load.transport_errors import classify_error
from tests.engine_helpers import run_toml

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
    ]
    subprocess.run(
        [*command, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True
    )
    return cert, key


async def _tls_server(cert: Path, key: Path) -> tuple[asyncio.AbstractServer, int, list[int]]:
    """Answers every request on a connection with a gzipped body; counts connections."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        body = gzip.compress(b"secure hello")
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body) + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    return server, server.sockets[0].getsockname()[1], connections


async def test_https_is_handshaken_once_and_timed_apart(certificate) -> None:
    cert, key = certificate
    server, port, connections = await _tls_server(cert, key)
    async with server:
        trusting = ssl.create_default_context(cafile=str(cert))
        pool = Http1Pool("127.0.0.1", port, time.perf_counter, trusting)
        wire = serialize_request("GET", f"127.0.0.1:{port}", "/", {}, None)
        first = await pool.request(wire, 5.0, True)
        second = await pool.request(wire, 5.0, True)
        pool.close()
    assert (first.status, first.body) == (200, b"secure hello")
    assert second.body == b"secure hello"
    assert len(connections) == 1
    assert first.phases.connecting > 0 and first.phases.tls_handshaking > 0
    assert first.phases.blocked >= first.phases.connecting + first.phases.tls_handshaking
    assert second.phases.connecting == 0 and second.phases.tls_handshaking == 0


async def test_an_untrusted_certificate_fails_as_k6_says(certificate) -> None:
    cert, key = certificate
    server, port, _ = await _tls_server(cert, key)
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter, ssl.create_default_context())
        wire = serialize_request("GET", f"127.0.0.1:{port}", "/", {}, None)
        with pytest.raises(ssl.SSLCertVerificationError) as caught:
            await pool.request(wire, 5.0, True)
        pool.close()
    assert classify_error(caught.value) == ("x509: unknown authority", "1310")


def test_an_https_run_decodes_and_reports_the_handshake(
    certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's workers trust the certificate through SSL_CERT_FILE, as OpenSSL reads it."""
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    loop = asyncio.new_event_loop()
    server, port, connections = loop.run_until_complete(_tls_server(cert, key))
    import threading

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        result = run_toml(
            f"""
[target]
base_url = "https://127.0.0.1:{port}"

[scenarios.tls]
executor = "per-vu-iterations"
vus = 2
iterations = 5

[[scenarios.tls.requests]]
path = "/"
checks = {{ "decoded" = 'body contains "secure hello"' }}
"""
        )
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    checks = result.totals.select("checks")
    assert (checks.passes, checks.total) == (10, 10)  # type: ignore[union-attr]
    handshakes = result.totals.select("http_req_tls_handshaking")
    assert handshakes.count == 10 and handshakes.max > 0  # type: ignore[union-attr]
    assert len(connections) == 2
