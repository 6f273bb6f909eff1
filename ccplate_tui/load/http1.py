"""A lean HTTP/1.1 client for the load hot path: asyncio protocols, httptools (llhttp) parsing,
pre-serialised requests and a per-worker keep-alive pool.

Why not aiohttp's ClientSession here: on the 2-core dev machine against loopback nginx, one
uvloop process did about 14,500 requests per CPU-second through `session.get` and about 113,000
through this protocol path (benchmarks/ and the README have the numbers). A load generator that
spends its CPU in client bookkeeping measures itself; this path keeps the generator out of the
way. Plain `http://` only; TLS, HEAD and HTTP/2 requests go through aiohttp or httpx.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httptools


class ServerClosed(ConnectionError):
    """The server closed the connection before sending any part of a response."""


class ResponseTruncated(ConnectionError):
    """The connection ended in the middle of a response."""


class MalformedResponse(ConnectionError):
    """The server sent bytes that are not an HTTP/1.x response."""


class ConnectTimeout(ConnectionError):
    """The TCP connection was not established within the request timeout."""


@dataclass(frozen=True)
class Http1Response:
    status: int
    headers: dict[str, str]
    body: bytes
    headers_at: float
    """perf_counter time when the status line and headers had arrived (time to first byte)."""
    received: int
    """Bytes read off the socket for this response."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; carries at most one request at a time."""

    __slots__ = (
        "_body",
        "_clock",
        "_header_name",
        "_headers",
        "_headers_at",
        "_received",
        "_started",
        "_waiter",
        "closed",
        "keep_alive",
        "parser",
        "transport",
    )

    def __init__(self, clock) -> None:  # type: ignore[no-untyped-def]
        self._clock = clock
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future | None = None
        self._body: list[bytes] = []
        self._headers: dict[str, str] = {}
        self._header_name = ""
        self._headers_at = 0.0
        self._received = 0
        self._started = False
        self.closed = False
        self.keep_alive = True

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._received += len(data)
        self._started = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(MalformedResponse("unexpected protocol upgrade"))
        except httptools.HttpParserError as exc:
            self._fail(MalformedResponse(str(exc)))

    def eof_received(self) -> bool:
        self._lost(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost(exc)

    # -- httptools callbacks -----------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if name:
            self._header_name = name.decode("latin-1")
            self._headers[self._header_name] = value.decode("latin-1")
        else:  # a value continued across reads
            self._headers[self._header_name] += value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._headers_at = self._clock()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
            waiter.set_result(
                Http1Response(
                    self.parser.get_status_code(),
                    self._headers,
                    body,
                    self._headers_at,
                    self._received,
                )
            )

    # -- requests ----------------------------------------------------------------------------

    def send(self, data: bytes, waiter: asyncio.Future) -> None:
        self._waiter = waiter
        self._body = []
        self._headers = {}
        self._received = 0
        self._started = False
        assert self.transport is not None
        self.transport.write(data)

    def _fail(self, exc: Exception) -> None:
        self.keep_alive = False
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.abort()

    def _lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.keep_alive = False
        waiter, self._waiter = self._waiter, None
        if waiter is None or waiter.done():
            return
        if isinstance(exc, ConnectionResetError | BrokenPipeError):
            waiter.set_exception(exc)
        elif self._started:
            waiter.set_exception(ResponseTruncated("connection closed mid-response"))
        else:
            waiter.set_exception(ServerClosed("connection closed before any response"))

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class Http1Pool:
    """Keep-alive connections to one host, reused last-in first-out; unbounded, like k6's VUs."""

    def __init__(self, host: str, port: int, clock) -> None:  # type: ignore[no-untyped-def]
        self.host = host
        self.port = port
        self.clock = clock
        self.idle: list[_Connection] = []

    async def _connect(self, timeout: float) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(self.clock), self.host, self.port),
                timeout,
            )
        except TimeoutError:
            raise ConnectTimeout(
                f"no connection to {self.host}:{self.port} in {timeout}s"
            ) from None
        return conn  # type: ignore[return-value]

    def _take_idle(self) -> _Connection | None:
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed:
                return conn
        return None

    async def request(self, data: bytes, timeout: float) -> Http1Response:
        """Send pre-serialised request bytes; raises on transport failure or timeout."""
        conn = self._take_idle()
        if conn is None:
            response, conn = await self._exchange(await self._connect(timeout), data, timeout)
        else:
            try:
                response, conn = await self._exchange(conn, data, timeout)
            except ServerClosed:
                # A keep-alive connection the server had just closed: retry once on a new one,
                # as every HTTP client does; the request never reached the application.
                response, conn = await self._exchange(await self._connect(timeout), data, timeout)
        if conn.keep_alive and not conn.closed:
            self.idle.append(conn)
        else:
            conn.abort()
        return response

    async def _exchange(
        self, conn: _Connection, data: bytes, timeout: float
    ) -> tuple[Http1Response, _Connection]:
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        conn.send(data, waiter)
        handle = loop.call_later(timeout, _expire, waiter, conn)
        try:
            return await waiter, conn
        except BaseException:
            conn.abort()
            raise
        finally:
            handle.cancel()

    def close(self) -> None:
        for conn in self.idle:
            conn.abort()
        self.idle.clear()


def _expire(waiter: asyncio.Future, conn: _Connection) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("request timeout"))
    conn.abort()


def serialize_request(
    method: str, host_header: str, target: str, headers: dict[str, str], body: bytes | None
) -> bytes:
    """The bytes of one HTTP/1.1 request; Content-Length is set whenever there is a body."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}"]
    lowered = {k.lower() for k in headers}
    lines.extend(
        f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")
    )
    if "user-agent" not in lowered:
        lines.append("User-Agent: ccplate-tui/0.1")
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body else head
