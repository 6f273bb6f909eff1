"""The lean client's wire behaviour, request by request, against plain-asyncio loopback servers
whose bytes are exact. Each case is one Go's net/http (so k6) handles in the way asserted here.
"""

from __future__ import annotations

import asyncio
import gzip
import time
import zlib
from collections.abc import Awaitable, Callable

import brotli
import pytest

from ccplate_tui.load.content_coding import DecompressionError, decode_body
from ccplate_tui.load.header_names import canonical_header_name
from ccplate_tui.load.http1 import (
    Http1Pool,
    MalformedResponse,
    ResponseTruncated,
    ServerClosed,
    TooManyInterimResponses,
    is_replayable,
    merge_headers,
    serialize_request,
)
from ccplate_tui.load.response_headers import ResponseHeaders

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, (await reader.readexactly(length) if length else b"")


class Served:
    """What a test server saw: request heads and bodies, in order."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []


async def _serve(answer: Callable[[int], bytes], close_after: bool = False) -> tuple:  # type: ignore[type-arg]
    """A server answering request n (from 1) with `answer(n)`; closing after each if asked."""
    served = Served()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head, body = await _read_request(reader)
                served.heads.append(head)
                served.bodies.append(body)
                writer.write(answer(len(served.heads)))
                await writer.drain()
                if close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], served


def _ok(body: bytes = b"ok", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n%s" % (extra, len(body), body)


def _get(port: int) -> bytes:
    return serialize_request("GET", f"127.0.0.1:{port}", "/", {}, None)


def _post(port: int, body: bytes = b'{"n":1}', headers: dict[str, str] | None = None) -> bytes:
    return serialize_request("POST", f"127.0.0.1:{port}", "/", headers or {}, body)


@pytest.mark.parametrize(("method", "replayable"), [("GET", True), ("POST", False)])
async def test_a_silent_close_after_each_response_costs_no_request(
    method: str, replayable: bool
) -> None:
    """The server closes every connection after answering, without `Connection: close`. Go
    sees the close before reusing the connection: 0 errors, each request sent once."""
    server, port, served = await _serve(lambda n: _ok(), close_after=True)
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        wire = _get(port) if method == "GET" else _post(port)
        for _ in range(50):
            assert (await pool.request(wire, 5.0, replayable)).status == 200
        pool.close()
    assert len(served.heads) == 50


async def test_a_post_the_server_read_and_dropped_is_an_error_and_not_sent_again() -> None:
    """Go never re-sends a POST that may have reached the application: `EOF`, one body."""
    dropped = Served()

    async def read_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head, body = await _read_request(reader)
                dropped.heads.append(head)
                dropped.bodies.append(body)
                if len(dropped.heads) == 1:
                    writer.write(_ok())
                    await writer.drain()
                    continue
                break  # read the second request fully, then hang up without a word
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(read_then_close, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        await pool.request(_post(port), 5.0, False)
        with pytest.raises(ServerClosed):
            await pool.request(_post(port, b'{"n":2}'), 5.0, False)
        pool.close()
    assert dropped.bodies == [b'{"n":1}', b'{"n":2}']


async def test_a_get_dropped_on_a_reused_connection_is_sent_again_once() -> None:
    """Go replays a GET whose reused connection died before any answer (a keep-alive race);
    on the fresh connection it is answered, and the caller sees one request."""
    connections = 0

    async def drop_second_on_first_connection(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        nonlocal connections
        connections += 1
        mine = connections
        try:
            count = 0
            while True:
                await _read_request(reader)
                count += 1
                if mine == 1 and count == 2:
                    break
                writer.write(_ok(b"conn%d" % mine))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(drop_second_on_first_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        assert (await pool.request(_get(port), 5.0, True)).body == b"conn1"
        retried = await pool.request(_get(port), 5.0, True)
        pool.close()
    assert retried.body == b"conn2"
    assert connections == 2


def test_replayable_methods_are_gos() -> None:
    assert is_replayable("GET", []) and is_replayable("OPTIONS", [])
    assert not is_replayable("POST", []) and not is_replayable("PATCH", [])
    assert not is_replayable("PUT", []) and not is_replayable("DELETE", [])
    assert is_replayable("POST", ["Idempotency-Key"])
    assert is_replayable("DELETE", ["x-idempotency-key"])


async def test_a_body_ended_by_the_close_is_complete() -> None:
    server, port, _ = await _serve(
        lambda n: b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it", close_after=True
    )
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        response = await pool.request(_get(port), 5.0, True)
        pool.close()
    assert (response.status, response.body) == (200, b"all of it")


async def test_a_body_cut_short_of_its_length_is_truncated() -> None:
    server, port, _ = await _serve(
        lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nnot 100", close_after=True
    )
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        with pytest.raises(ResponseTruncated):
            await pool.request(_get(port), 5.0, True)
        pool.close()


async def test_interim_responses_are_skipped() -> None:
    """100 and 103 come first; the final response, its headers and body, are the answer."""
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
    server, port, _ = await _serve(lambda n: interim + _ok(b"final%d" % n))
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        first = await pool.request(_get(port), 5.0, True)
        second = await pool.request(_get(port), 5.0, True)
        pool.close()
    assert (first.status, first.body, second.body) == (200, b"final1", b"final2")
    assert first.headers.get("Link") is None


async def test_interim_heads_past_ten_megabytes_are_too_many() -> None:
    """Go 1.24 (k6 1.1) counts no 1xx responses but bounds their bytes by 10 MB."""
    many = b"HTTP/1.1 103 Early Hints\r\nLink: </" + b"a" * 1000 + b">\r\n\r\n"
    server, port, _ = await _serve(lambda n: many * 11_000 + _ok())
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        with pytest.raises(TooManyInterimResponses):
            await pool.request(_get(port), 30.0, True)
        pool.close()


async def test_an_unsolicited_response_closes_the_connection() -> None:
    """A second response nobody asked for never completes the next request."""
    server, port, served = await _serve(lambda n: _ok(b"req%d" % n) + _ok(b"stray"))
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        bodies = [(await pool.request(_get(port), 5.0, True)).body for _ in range(3)]
        pool.close()
    # Each request answered by its own response (the stray one is never taken for the next),
    # and each on a new connection, the previous one having been closed.
    assert bodies == [b"req1", b"req2", b"req3"]
    assert len(served.heads) == 3


async def test_garbage_is_a_malformed_response() -> None:
    server, port, _ = await _serve(lambda n: b"SSH-2.0-OpenSSH_9.2\r\n\r\n", close_after=True)
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        with pytest.raises(MalformedResponse):
            await pool.request(_get(port), 5.0, True)
        pool.close()


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("br", brotli.compress),
        ("gzip, br", lambda data: brotli.compress(gzip.compress(data))),
    ],
)
async def test_coded_bodies_are_decoded_and_counted_as_sent(coding: str, encode) -> None:  # type: ignore[no-untyped-def]
    plain = b"hello " * 200
    wire_body = encode(plain)
    extra = b"Content-Encoding: %s\r\n" % coding.encode()
    server, port, served = await _serve(lambda n: _ok(wire_body, extra))
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        response = await pool.request(_get(port), 5.0, True)
        pool.close()
    assert response.body == plain
    assert len(wire_body) < response.received < len(plain)
    assert b"accept-encoding" not in served.heads[0].lower()  # k6 asks for no coding


async def test_a_body_that_does_not_decode_fails_the_request() -> None:
    server, port, _ = await _serve(lambda n: _ok(b"not gzip", b"Content-Encoding: gzip\r\n"))
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        with pytest.raises(DecompressionError):
            await pool.request(_get(port), 5.0, True)
        pool.close()


def test_unknown_and_differently_cased_codings_are_left_alone() -> None:
    assert decode_body(b"raw", "compress") == b"raw"
    assert decode_body(b"raw", "GZIP") == b"raw"  # k6's lookup is case-sensitive


async def test_repeated_response_headers_are_all_seen() -> None:
    extra = b"Set-Cookie: a=1; Path=/\r\nset-cookie: b=2\r\nX-Multi: x\r\nX-Multi: y\r\n"
    server, port, _ = await _serve(lambda n: _ok(b"ok", extra))
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        response = await pool.request(_get(port), 5.0, True)
        pool.close()
    assert response.headers["Set-Cookie"] == "a=1; Path=/, b=2"
    assert response.headers.get("x-multi") == "x, y"
    assert response.headers.first("X-Multi") == "x"


def test_header_names_take_gos_canonical_form() -> None:
    assert canonical_header_name("content-type") == "Content-Type"
    assert canonical_header_name("X-REQUEST-ID") == "X-Request-Id"
    assert canonical_header_name("bad name") == "bad name"
    headers = ResponseHeaders([(b"etag", b'"1"')])
    assert dict(headers) == {"Etag": '"1"'}


def test_request_headers_are_case_insensitive_and_the_users_win() -> None:
    merged = merge_headers(
        {"Content-Type": "application/json"},
        (("x-team", "a"),),
        {"content-type": "text/plain", "X-Team": "b"},
    )
    assert merged == {"content-type": "text/plain", "X-Team": "b"}
    wire = serialize_request("POST", "h", "/", merged, b"{}")
    assert wire.lower().count(b"content-type:") == 1


async def test_phases_add_up_to_the_duration() -> None:
    server, port, _ = await _serve(lambda n: _ok())
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        fresh = await pool.request(_get(port), 5.0, True)
        reused = await pool.request(_get(port), 5.0, True)
        pool.close()
    assert fresh.phases.connecting > 0 and fresh.phases.blocked >= fresh.phases.connecting
    assert reused.phases.connecting == 0
    for response in (fresh, reused):
        phases = response.phases
        assert phases.duration == pytest.approx(phases.sending + phases.waiting + phases.receiving)
        assert phases.waiting > 0


async def test_a_head_response_ends_with_its_headers_and_keeps_the_connection() -> None:
    """Its Content-Length describes the GET body that was not sent; the next request on the
    same connection is answered normally."""
    answers = {1: b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 2: _ok(b"after head")}
    server, port, served = await _serve(lambda n: answers[n])
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        head = await pool.request(serialize_request("HEAD", "h", "/", {}, None), 5.0, True)
        after = await pool.request(_get(port), 5.0, True)
        pool.close()
    assert (head.status, head.body, head.headers["Content-Length"]) == (200, b"", "1234")
    assert after.body == b"after head"
    assert len(served.heads) == 2 and served.heads[0].startswith(b"HEAD / ")
    assert len(pool.idle) == 0  # closed by pool.close(); one connection served both


async def test_bytes_after_a_head_response_close_the_connection() -> None:
    server, port, _ = await _serve(
        lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody" if n == 1 else _ok(b"fresh")
    )
    async with server:
        pool = Http1Pool("127.0.0.1", port, time.perf_counter)
        head = await pool.request(serialize_request("HEAD", "h", "/", {}, None), 5.0, True)
        assert pool.idle == []  # the body it should not have sent disqualifies the connection
        after = await pool.request(_get(port), 5.0, True)
        pool.close()
    assert (head.status, head.body) == (200, b"")
    assert after.body == b"fresh"


def test_framing_headers_are_not_shown_to_checks() -> None:
    """Go takes Transfer-Encoding, Trailer and `Connection: close` out of the header map."""
    headers = ResponseHeaders(
        [
            (b"Transfer-Encoding", b"chunked"),
            (b"Trailer", b"X-T"),
            (b"Connection", b"close"),
            (b"X-Kept", b"1"),
        ]
    )
    assert dict(headers) == {"X-Kept": "1"}
    assert dict(ResponseHeaders([(b"Connection", b"keep-alive")])) == {"Connection": "keep-alive"}
