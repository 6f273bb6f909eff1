"""Misbehaving HTTP/1.1 servers on loopback, byte-exact, for the HTTP conformance suite.

Each server is a plain asyncio stream server (no HTTP framework between the test and the
socket), bound to 127.0.0.1 on a free port and run on its own event loop in a background thread:

    with KeepAliveClose(after=1) as server:
        run something against server.url
        assert server.count("POST") == 3

Every server writes down what it received: each request's method, target, headers in wire order
(names in the case they were sent), body, and which connection it came on. What k6 1.1 does
against each of them is in tests/test_http_conformance.py (and, side by side with the real k6
binary, tests/test_http_conformance_k6.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import struct
import threading
import zlib
from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import brotli

BODY = b"hello conformance\n"
"""The body most servers answer with; a check looks for `conformance` in it."""


@dataclass
class Received:
    """One request as it arrived on the wire."""

    conn: int
    """Which accepted connection it came on (1, 2, ...)."""
    index: int
    """Its place on that connection (1 for the first request)."""
    method: str
    target: str
    headers: list[tuple[str, str]]
    """(name, value) in wire order, names as sent."""
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.target).query).items()}

    def header(self, name: str) -> list[str]:
        """Every value of `name` (case-insensitive), in wire order."""
        return [v for k, v in self.headers if k.lower() == name.lower()]


def response(
    status: int = 200,
    body: bytes = BODY,
    headers: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
    *,
    length: bool = True,
    reason: str | None = None,
) -> bytes:
    """The bytes of one response; `length=False` leaves Content-Length out."""
    reasons = {
        200: "OK",
        204: "No Content",
        304: "Not Modified",
        100: "Continue",
        103: "Early Hints",
    }
    lines = [f"HTTP/1.1 {status} {reason or reasons.get(status, 'Status')}"]
    lines.extend(f"{k}: {v}" for k, v in headers)
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Peer:
    """The server's end of one accepted connection."""

    def __init__(
        self, server: ConformanceServer, number: int, reader: asyncio.StreamReader, writer
    ) -> None:  # type: ignore[no-untyped-def]
        self.server = server
        self.number = number
        self.reader = reader
        self.writer = writer
        self.served = 0
        """Requests read on this connection so far."""

    async def read_request(self, timeout: float | None = None) -> Received | None:
        """The next request, or None when the client closed (or `timeout` passed first)."""
        try:
            head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            return None
        except asyncio.LimitOverrunError:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = ([*lines[0].split(" ", 2), "", ""])[:3]
        headers = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.append((name, value.strip()))
        body = b""
        lowered = {k.lower(): v for k, v in headers}
        try:
            if "content-length" in lowered:
                body = await self.reader.readexactly(int(lowered["content-length"]))
            elif lowered.get("transfer-encoding", "").lower() == "chunked":
                body = await self._read_chunked()
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        self.served += 1
        request = Received(self.number, self.served, method, target, headers, body)
        self.server._record(request)
        return request

    async def _read_chunked(self) -> bytes:
        out = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while (await self.reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return b"".join(out)
            out.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    async def send(self, data: bytes) -> None:
        """Write `data`; raises ConnectionResetError once the client has gone (which ends this
        connection's handler quietly)."""
        if self.writer.transport.is_closing():
            raise ConnectionResetError("the client closed the connection")
        self.writer.write(data)
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    async def close(self) -> None:
        """An orderly close (FIN)."""
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    def reset(self) -> None:
        """Close with RST (SO_LINGER 0), as a crashed server or a firewall does."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


class ConformanceServer:
    """A loopback server; subclasses say what happens on each connection in `serve`.

    The default `serve` reads requests one after another and answers each with `answer`.
    """

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.connections = 0
        self._lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()
        self.port = 0

    # -- what subclasses say -----------------------------------------------------------------

    async def serve(self, peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            if not await self.answer(peer, request):
                return

    async def answer(self, peer: Peer, request: Received) -> bool:
        """Answer one request; return False to stop reading this connection."""
        await peer.send(response())
        return True

    # -- what tests read ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count(self, method: str | None = None, path: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)
            )

    def by_method(self) -> Counter[str]:
        with self._lock:
            return Counter(r.method for r in self.requests)

    def bodies(self, method: str | None = None) -> list[bytes]:
        with self._lock:
            return [r.body for r in self.requests if method is None or r.method == method]

    def duplicate_bodies(self, method: str | None = None) -> list[bytes]:
        """Bodies that reached the server more than once (each request's body is unique)."""
        return [b for b, n in Counter(self.bodies(method)).items() if b and n > 1]

    # -- plumbing ----------------------------------------------------------------------------

    def _record(self, request: Received) -> None:
        with self._lock:
            self.requests.append(request)

    async def _handle(self, reader: asyncio.StreamReader, writer) -> None:  # type: ignore[no-untyped-def]
        with self._lock:
            self.connections += 1
            number = self.connections
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = Peer(self, number, reader, writer)
        try:
            await self.serve(peer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, limit=1 << 20, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.sleep(0)

    def start(self) -> ConformanceServer:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def stop(self) -> None:
        if self.loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self.thread is not None:
            self.thread.join(5)
        self.loop.close()
        self.loop = None

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------
# a. keep-alive connections the server closes
# ---------------------------------------------------------------------------------------------


class KeepAliveClose(ConformanceServer):
    """Answers with Content-Length and no `Connection: close`, then silently closes the
    connection after every `after` responses (after=1: after each one)."""

    def __init__(self, after: int = 1, linger: float = 0.0) -> None:
        super().__init__()
        self.after = after
        self.linger = linger
        """Seconds between the last response and the close."""

    async def answer(self, peer: Peer, request: Received) -> bool:
        await peer.send(response())
        if peer.served >= self.after:
            if self.linger:
                await asyncio.sleep(self.linger)
            await peer.close()
            return False
        return True


class IdleTimeout(ConformanceServer):
    """Keep-alive, but a connection idle for `idle` seconds is closed (FIN), as nginx's
    keepalive_timeout or Node's keepAliveTimeout (5 s) do; `reset` closes with RST instead."""

    def __init__(self, idle: float = 0.05, reset: bool = False) -> None:
        super().__init__()
        self.idle = idle
        self.reset = reset

    async def serve(self, peer: Peer) -> None:
        while (request := await peer.read_request(self.idle if peer.served else None)) is not None:
            await peer.send(response())
            del request
        if self.reset:
            peer.reset()
        else:
            await peer.close()


class IdleReset(ConformanceServer):
    """Answers, then `delay` seconds later resets the idle connection (SO_LINGER 0 close)."""

    def __init__(self, delay: float = 0.01) -> None:
        super().__init__()
        self.delay = delay

    async def answer(self, peer: Peer, request: Received) -> bool:
        await peer.send(response())
        await asyncio.sleep(self.delay)
        peer.reset()
        return False


# ---------------------------------------------------------------------------------------------
# b. requests read in full, then the connection closed without an answer
# ---------------------------------------------------------------------------------------------


class ReadThenClose(ConformanceServer):
    """Reads each request in full, then closes without answering: request number `drop_at` on
    every connection (1: a fresh connection; 2: a reused one); earlier ones are answered.
    `reset` closes with RST instead of FIN."""

    def __init__(self, drop_at: int = 1, reset: bool = False) -> None:
        super().__init__()
        self.drop_at = drop_at
        self.reset = reset

    async def answer(self, peer: Peer, request: Received) -> bool:
        if peer.served >= self.drop_at:
            if self.reset:
                peer.reset()
            else:
                await peer.close()
            return False
        await peer.send(response())
        return True


# ---------------------------------------------------------------------------------------------
# c. bodies delimited by the close
# ---------------------------------------------------------------------------------------------


class BodyToEof(ConformanceServer):
    """Answers 200 with neither Content-Length nor chunking, and ends the body by closing."""

    def __init__(self, body: bytes = BODY, connection_close_header: bool = False) -> None:
        super().__init__()
        self.body = body
        self.connection_close_header = connection_close_header

    async def answer(self, peer: Peer, request: Received) -> bool:
        headers = [("Content-Type", "text/plain")]
        if self.connection_close_header:
            headers.append(("Connection", "close"))
        await peer.send(response(200, self.body, headers, length=False))
        await peer.close()
        return False


# ---------------------------------------------------------------------------------------------
# d. interim responses, unsolicited responses
# ---------------------------------------------------------------------------------------------


class Interim(ConformanceServer):
    """Sends `interim` 1xx responses (status, headers) before the final 200."""

    def __init__(self, interim: list[tuple[int, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.interim = interim

    async def answer(self, peer: Peer, request: Received) -> bool:
        for status, headers in self.interim:
            await peer.send(response(status, b"", headers, length=False))
        await peer.send(response(200, BODY, [("X-Final", "yes")]))
        return True


CONTINUE = [(100, [])]
EARLY_HINTS = [
    (
        103,
        [
            ("Link", "</style.css>; rel=preload; as=style"),
            ("Link", "</app.js>; rel=preload; as=script"),
        ],
    )
]
SIX_INTERIM = [(100, [])] * 6


class Unsolicited(ConformanceServer):
    """Answers each request, then, in the same write, a second response nobody asked for."""

    async def answer(self, peer: Peer, request: Received) -> bool:
        await peer.send(
            response(200, f"real {request.target}\n".encode())
            + response(200, b"STALE unsolicited\n", [("X-Stale", "yes")])
        )
        return True


# ---------------------------------------------------------------------------------------------
# e. content codings; f. repeated headers; g. request headers
# ---------------------------------------------------------------------------------------------

PLAIN = b"hello conformance, decoded " * 40


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


CODINGS = {
    "gzip": ("gzip", gzip.compress(PLAIN, mtime=0)),
    "deflate": ("deflate", zlib.compress(PLAIN)),
    "deflate-raw": ("deflate", _raw_deflate(PLAIN)),
    "br": ("br", brotli.compress(PLAIN)),
    "identity": (None, PLAIN),
}
"""path name -> (Content-Encoding, body on the wire); every one decodes to PLAIN."""


class Coded(ConformanceServer):
    """`/gzip`, `/deflate` (zlib-wrapped), `/deflate-raw` (raw deflate, labelled deflate), `/br`,
    `/identity`: PLAIN, coded so; any other path answers BODY."""

    @staticmethod
    def wire(path: str) -> bytes:
        """The exact bytes answered to `path` (`/gzip`, ...)."""
        coding = CODINGS.get(path.strip("/"))
        if coding is None:
            return response()
        name, body = coding
        headers = [("Content-Type", "text/plain")]
        if name:
            headers.append(("Content-Encoding", name))
        return response(200, body, headers)

    async def answer(self, peer: Peer, request: Received) -> bool:
        await peer.send(self.wire(request.path))
        return True


class RepeatedHeaders(ConformanceServer):
    """Two Set-Cookie, two X-Multi, and a lower-case x-lower header."""

    HEADERS = (
        ("Set-Cookie", "a=1; Path=/"),
        ("X-Multi", "one"),
        ("Set-Cookie", "b=2; Path=/"),
        ("X-Multi", "two"),
        ("x-lower", "lower"),
    )

    async def answer(self, peer: Peer, request: Received) -> bool:
        await peer.send(response(200, BODY, self.HEADERS))
        return True


class Recording(ConformanceServer):
    """Answers 200 BODY to anything; the point is `requests`, what the client sent."""


# ---------------------------------------------------------------------------------------------
# h. the rest
# ---------------------------------------------------------------------------------------------


class Chunked(ConformanceServer):
    """A chunked body with chunk extensions and a trailer."""

    async def answer(self, peer: Peer, request: Received) -> bool:
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Trailer\r\n\r\n"
        chunks = b'6;ext=1\r\nhello \r\nc;name="v"\r\nconformance\n\r\n0\r\nX-Trailer: done\r\n\r\n'
        await peer.send(head + chunks)
        return True


class ConnectionCloseHeader(ConformanceServer):
    """Answers with `Connection: close` and Content-Length, then closes."""

    async def answer(self, peer: Peer, request: Received) -> bool:
        await peer.send(response(200, BODY, [("Connection", "close")]))
        await peer.close()
        return False


class NoContent(ConformanceServer):
    """`/204` and `/304` with a stray `Content-Length: 5` (and no body bytes); keep-alive."""

    async def answer(self, peer: Peer, request: Received) -> bool:
        status = 304 if request.path == "/304" else 204
        await peer.send(response(status, b"", [("Content-Length", "5")], length=False))
        return True


class BigBody(ConformanceServer):
    """A body of `size` bytes (10 MB by default), Content-Length framed."""

    def __init__(self, size: int = 10 * 1024 * 1024) -> None:
        super().__init__()
        self.size = size
        self._body = b"x" * (size - len(BODY)) + BODY

    async def answer(self, peer: Peer, request: Received) -> bool:
        await peer.send(response(200, self._body))
        return True


class Dribble(ConformanceServer):
    """Headers at once, then a Content-Length body one byte every `every` seconds."""

    def __init__(self, size: int = 40, every: float = 0.05) -> None:
        super().__init__()
        self.size = size
        self.every = every

    async def answer(self, peer: Peer, request: Received) -> bool:
        await peer.send(f"HTTP/1.1 200 OK\r\nContent-Length: {self.size}\r\n\r\n".encode())
        for _ in range(self.size):
            await asyncio.sleep(self.every)
            await peer.send(b"x")
        return True


class ResetMidBody(ConformanceServer):
    """Headers promising 1000 bytes, 100 of them, then RST."""

    async def answer(self, peer: Peer, request: Received) -> bool:
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"y" * 100)
        await asyncio.sleep(0.02)
        peer.reset()
        return False


class TruncatedBody(ConformanceServer):
    """Headers promising 1000 bytes, 100 of them, then an orderly close (FIN)."""

    async def answer(self, peer: Peer, request: Received) -> bool:
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"y" * 100)
        await asyncio.sleep(0.02)
        await peer.close()
        return False


class StatusEcho(ConformanceServer):
    """`/404` answers 404, `/503` answers 503, and so on (Content-Length framed, keep-alive)."""

    async def answer(self, peer: Peer, request: Received) -> bool:
        code = int(request.path.strip("/") or 200)
        await peer.send(response(code, b"hello", reason="Status"))
        return True


class Silent(ConformanceServer):
    """Reads the request and never answers (until the client gives up)."""

    async def answer(self, peer: Peer, request: Received) -> bool:
        await peer.reader.read()  # until the client closes
        return False


class Garbage(ConformanceServer):
    """Answers with bytes that are not HTTP, then closes."""

    async def answer(self, peer: Peer, request: Received) -> bool:
        await peer.send(b"\x00\x01this is not HTTP at all\r\n\r\n")
        await asyncio.sleep(0.01)
        await peer.close()
        return False


class HugeHeaders(ConformanceServer):
    """A response carrying about `size` bytes of headers (70 KB by default)."""

    def __init__(self, size: int = 70 * 1024) -> None:
        super().__init__()
        count = size // 100
        self.headers = [(f"X-Filler-{i:05d}", "v" * 84) for i in range(count)]

    async def answer(self, peer: Peer, request: Received) -> bool:
        await peer.send(response(200, BODY, self.headers))
        return True


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Flapping(ConformanceServer):
    """Listens for `period` seconds, then refuses connections (nothing listening) for `period`,
    alternately. Answers with `Connection: close`, so every request dials."""

    def __init__(self, period: float = 0.2) -> None:
        super().__init__()
        self.period = period
        self._flap: asyncio.Task | None = None

    async def answer(self, peer: Peer, request: Received) -> bool:
        await peer.send(response(200, BODY, [("Connection", "close")]))
        await peer.close()
        return False

    async def _start(self) -> None:
        await super()._start()
        self._flap = asyncio.get_running_loop().create_task(self._toggle())

    async def _toggle(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            assert self._server is not None
            self._server.close()
            await asyncio.sleep(self.period)
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, reuse_address=True
            )

    async def _stop(self) -> None:
        if self._flap is not None:
            self._flap.cancel()
        await super()._stop()


# ---------------------------------------------------------------------------------------------
# many VUs, responses that must reach the request that asked
# ---------------------------------------------------------------------------------------------


class EchoId(ConformanceServer):
    """Echoes each request's path and `id` query (`?id=${vu}-${iteration}`) in the body and in
    `X-Echo-Id`, while misbehaving: closes a keep-alive connection silently after every
    `close_every` responses, and closes one idle for `idle` seconds. A response that reaches the
    wrong request shows a path its check does not expect."""

    def __init__(self, close_every: int = 3, idle: float = 0.05, stale_every: int = 0) -> None:
        super().__init__()
        self.close_every = close_every
        self.idle = idle
        self.stale_every = stale_every
        """With n > 0, every nth response on a connection is followed (same write) by an
        unsolicited one for `/id/stale`."""

    async def serve(self, peer: Peer) -> None:
        while (request := await peer.read_request(self.idle if peer.served else None)) is not None:
            ident = request.query.get("id", "")
            body = f"path={request.path} id={ident}\n".encode()
            data = response(200, body, [("X-Echo-Id", ident)])
            if self.stale_every and peer.served % self.stale_every == 0:
                data += response(200, b"path=/id/stale id=stale\n", [("X-Echo-Id", "stale")])
            await peer.send(data)
            if peer.served % self.close_every == 0:
                break
        await peer.close()
