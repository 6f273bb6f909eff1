"""The lean HTTP/1.1 client against real loopback servers, well-behaved and not."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from ccplate_tui.load.http1 import (
    ConnectTimeout,
    Http1Pool,
    MalformedResponse,
    ResponseTruncated,
    ServerClosed,
    serialize_request,
)
from tests.http_fixtures import fixture_server, free_port

WAIT = 30.0
"""Generous bound on waiting for a loopback peer to do what the test waits for."""


@pytest.fixture(scope="module")
def server():
    with fixture_server() as srv:
        yield srv


def _get(path: str, port: int) -> bytes:
    return serialize_request("GET", f"127.0.0.1:{port}", path, {}, None)


async def test_keep_alive_reuses_one_connection(server) -> None:
    pool = Http1Pool("127.0.0.1", server.port, time.perf_counter)
    for _ in range(5):
        response = await pool.request(_get("/ok", server.port), 5.0)
        assert response.status == 200
        assert response.body == b'{"ok": true}'
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.received > len(response.body)
    assert len(pool.idle) == 1
    pool.close()


async def test_concurrent_requests_open_as_many_connections_as_needed(server) -> None:
    pool = Http1Pool("127.0.0.1", server.port, time.perf_counter)
    responses = await asyncio.gather(
        *[pool.request(_get("/sleep/50", server.port), 5.0) for _ in range(8)]
    )
    assert [r.status for r in responses] == [200] * 8
    assert len(pool.idle) == 8
    pool.close()


async def test_post_body_and_headers_arrive_intact(server) -> None:
    pool = Http1Pool("127.0.0.1", server.port, time.perf_counter)
    body = b'{"model": "LoadTest1"}'
    wire = serialize_request(
        "POST",
        f"127.0.0.1:{server.port}",
        "/echo?vu=3",
        {"Content-Type": "application/json", "X-Test": "yes"},
        body,
    )
    response = await pool.request(wire, 5.0)
    import json

    echoed = json.loads(response.body)
    assert echoed["length"] == len(body)
    assert echoed["query"] == {"vu": "3"}
    assert echoed["header"] == "yes"
    assert echoed["content_type"] == "application/json"
    pool.close()


async def test_transport_faults_raise_distinct_errors(server) -> None:
    pool = Http1Pool("127.0.0.1", server.port, time.perf_counter)
    with pytest.raises(ResponseTruncated):
        await pool.request(_get("/reset", server.port), 5.0)
    with pytest.raises(MalformedResponse):
        await pool.request(_get("/garbage", server.port), 5.0)
    with pytest.raises(ServerClosed):
        await pool.request(_get("/drop", server.port), 5.0)
    with pytest.raises(TimeoutError):
        await pool.request(_get("/sleep/2000", server.port), 0.2)
    # The pool is still usable after every kind of failure.
    assert (await pool.request(_get("/ok", server.port), 5.0)).status == 200
    pool.close()


async def test_connection_refused() -> None:
    pool = Http1Pool("127.0.0.1", free_port(), time.perf_counter)
    with pytest.raises(ConnectionRefusedError):
        await pool.request(_get("/", 1), 2.0)


async def _raw_server(handler) -> tuple[asyncio.AbstractServer, int]:  # type: ignore[no-untyped-def]
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_a_keep_alive_connection_closed_while_idle_is_not_reused() -> None:
    served = 0
    idle = asyncio.Event()
    """The client has read its answer: the connection sits idle in its pool."""
    closed = asyncio.Event()
    """The server has closed that connection."""

    async def one_response_then_close(reader, writer) -> None:  # type: ignore[no-untyped-def]
        nonlocal served
        await reader.readuntil(b"\r\n\r\n")
        served += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
        await writer.drain()
        await asyncio.wait_for(idle.wait(), WAIT)
        writer.close()  # closes the kept-alive connection behind the client's back
        await writer.wait_closed()
        closed.set()

    server, port = await _raw_server(one_response_then_close)
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        assert (await pool.request(_get("/", port), 2.0)).body == b"hi"
        idle.set()
        await asyncio.wait_for(closed.wait(), WAIT)  # not a guess at how long a close takes
        assert (await pool.request(_get("/", port), 2.0)).body == b"hi"
        assert served == 2
        pool.close()


async def test_chunked_bodies_and_connection_close() -> None:
    async def chunked(reader, writer) -> None:  # type: ignore[no-untyped-def]
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
            b"X-Multi: a\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        await writer.drain()
        writer.close()

    server, port = await _raw_server(chunked)
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        response = await pool.request(_get("/", port), 2.0)
        assert response.status == 201
        assert response.body == b"hello world"
        assert response.headers["X-Multi"] == "a"
        assert pool.idle == []  # Connection: close is honoured
        pool.close()


async def test_connect_timeout_is_its_own_error() -> None:
    # A listening socket with a full backlog never completes the handshake in time.
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        with pytest.raises(ConnectTimeout):
            await pool.request(_get("/", port), 0.3)
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_serialized_requests_carry_length_host_and_agent() -> None:
    wire = serialize_request("POST", "127.0.0.1:8787", "/api/files", {"X-A": "1"}, b"abc")
    head, _, body = wire.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /api/files HTTP/1.1"
    assert "Host: 127.0.0.1:8787" in lines
    assert "Content-Length: 3" in lines
    assert "X-A: 1" in lines
    assert any(line.startswith("User-Agent: ccplate-tui") for line in lines)
    assert body == b"abc"
    empty_post = serialize_request("POST", "h", "/", {}, None)
    assert b"Content-Length: 0" in empty_post
    assert b"Content-Length" not in serialize_request("GET", "h", "/", {}, None)
