"""A lean HTTP/1.1 client for the load hot path: asyncio protocols, httptools (llhttp) parsing,
pre-serialised requests and a per-worker keep-alive pool.

Why not aiohttp's ClientSession here: on the 2-core dev machine against loopback nginx, one
uvloop process did about 14,500 requests per CPU-second through `session.get` and about 113,000
through this protocol path (benchmarks/ and the README have the numbers). A load generator that
spends its CPU in client bookkeeping measures itself; this path keeps the generator out of the
way. HTTP/1.1 over plain TCP or TLS; HTTP/2 (a scenario's `http2 = true`) goes through httpx.

On the wire it behaves as k6 does (Go's net/http Transport, k6's httpext): a request that fails
on a reused keep-alive connection before any byte of the answer is sent again on another
connection only when it is replayable; bodies delimited by the connection's close are complete;
1xx interim responses are skipped (up to 10 MB of them, as Go 1.24); bytes nobody asked for close the connection; coded bodies are
decoded. tests/test_http_conformance*.py hold the servers that prove each of these.
"""

from __future__ import annotations

import asyncio
import select
import ssl
from collections.abc import Iterable

import httptools

from ccplate_tui.load.content_coding import DecompressionError, decode_body
from ccplate_tui.load.header_names import canonical_header_name
from ccplate_tui.load.phases import NO_PHASES, RequestPhases
from ccplate_tui.load.response_headers import ResponseHeaders

MAX_RESPONSE_HEADER_BYTES = 10 << 20
"""Bytes of heads, interim (1xx) responses' included, read before a final response's headers
end (Go's default MaxResponseHeaderBytes; since Go 1.24, which k6 1.1 is built with, interim
responses are bounded by it rather than counted)."""

REPLAYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""Methods Go's Request.isReplayable sends again after a keep-alive race (with any body)."""

_PEER_CLOSED = getattr(select, "POLLRDHUP", 0)
_PEER_ACTIVITY = select.POLLIN | _PEER_CLOSED
"""An idle connection showing either has been closed by the server or holds bytes nobody asked
for; neither may carry the next request."""

IDEMPOTENCY_HEADERS = frozenset({"idempotency-key", "x-idempotency-key"})
"""A request carrying one of these is replayable whatever its method (Go, golang.org/issue/19943)."""


class ServerClosed(ConnectionError):
    """The server closed the connection before sending any byte of a response (Go: `EOF`)."""


class ResponseTruncated(ConnectionError):
    """The connection ended in the middle of a response (Go: `unexpected EOF`)."""


class MalformedResponse(ConnectionError):
    """The server sent bytes that are not an HTTP/1.x response."""


class TooManyInterimResponses(MalformedResponse):
    """More bytes of 1xx responses than Go's Transport reads before the final one."""


class ConnectTimeout(ConnectionError):
    """The TCP connection was not established within the request timeout."""


class Http1Response:
    """One final response; `body` is decoded, `received` counts the bytes on the wire."""

    __slots__ = ("body", "ended", "headers", "phases", "received", "status")

    def __init__(
        self,
        status: int,
        headers: ResponseHeaders,
        body: bytes,
        received: int,
        phases: RequestPhases,
        ended: float,
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.received = received
        """Bytes read off the socket for this request (every attempt, interim responses too)."""
        self.phases = phases
        self.ended = ended
        """perf_counter time when the last byte arrived."""


def is_replayable(method: str, header_names: Iterable[str]) -> bool:
    """Whether Go's Transport would send this request again after a keep-alive race.

    PUT and DELETE are idempotent by RFC 9110 but Go (so k6) does not replay them without an
    Idempotency-Key header: the server may have acted on them.
    """
    if method in REPLAYABLE_METHODS:
        return True
    return any(name.lower() in IDEMPOTENCY_HEADERS for name in header_names)


def failure_phases(exc: BaseException) -> RequestPhases | None:
    """The phases timed before `exc` ended a request, when the client recorded them."""
    return getattr(exc, "phases", None)


def failure_received(exc: BaseException) -> int:
    """Bytes read off the socket before `exc` ended a request (k6 counts them received)."""
    return getattr(exc, "received", 0)


class _Connection(asyncio.Protocol):
    """One keep-alive connection; carries at most one request at a time."""

    __slots__ = (
        "_body",
        "_clock",
        "_coding",
        "_first_at",
        "_framed",
        "_head",
        "_headers_done",
        "_interim",
        "_poll",
        "_raw",
        "_received",
        "_stale_parser",
        "_status",
        "_unsolicited",
        "_waiter",
        "_watch",
        "_wrote_at",
        "closed",
        "keep_alive",
        "parser",
        "transport",
    )

    def __init__(self, clock, tls: bool = False) -> None:  # type: ignore[no-untyped-def]
        self._clock = clock
        # Under TLS, bytes on an idle socket may be a session ticket, not a response: only the
        # server's close disqualifies the connection.
        self._watch = _PEER_CLOSED if tls else _PEER_ACTIVITY
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future | None = None
        self._reset_message()
        self._received = 0
        self._first_at = 0.0
        self._wrote_at = 0.0
        self._interim = 0
        self._unsolicited = False
        self._head = False
        """The request in flight is a HEAD: its response ends with its headers."""
        self._stale_parser = False
        self._poll: select.poll | None = None
        self.closed = False
        self.keep_alive = True

    def _reset_message(self) -> None:
        self._raw: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._status = 0
        self._coding: bytes | None = None
        self._framed = False
        """The body's end is known from Content-Length or chunking, not from the close."""
        self._headers_done = False

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._poll = select.poll()
        self._poll.register(transport.get_extra_info("socket").fileno(), self._watch)

    def reusable(self) -> bool:
        """Whether this idle connection can carry a request: not closed, and nothing (a close,
        a reset, stray bytes) waiting on its socket that the event loop has not read yet.

        Go's Transport learns of a server's close at once, from a goroutine blocked reading each
        idle connection; an event loop learns of it only at its next poll, which may come after
        the next request was written. Asking the socket directly closes that gap.
        """
        return not self.closed and not self._poll.poll(0)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:
            # Bytes nobody asked for: Go logs "Unsolicited response received on idle HTTP
            # channel" and closes, so they never complete a later request.
            self.abort()
            return
        if not self._first_at:
            self._first_at = self._clock()
        self._received += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(MalformedResponse("unexpected protocol upgrade"))
        except httptools.HttpParserError:
            self._fail(MalformedResponse(self._malformed(data)))
        if self._stale_parser:
            # llhttp cannot be told that a HEAD response has no body, so the parser that read
            # its headers (and now waits for a body) is replaced.
            self.parser = httptools.HttpResponseParser(self)
            self._stale_parser = False
        if self._unsolicited:
            self.abort()

    def eof_received(self) -> bool:
        self._lost(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost(exc)

    # -- httptools callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._waiter is None:
            self._unsolicited = True

    def _malformed(self, data: bytes) -> str:
        """Go's words for a response it cannot read (net/http's ReadResponse)."""
        if self._status:
            return "malformed MIME header line"
        line = data.split(b"\n", 1)[0].rstrip(b"\r").decode("latin-1")
        proto, space, status = line.partition(" ")
        if not space:
            return f"malformed HTTP response {_go_quote(line)}"
        code = status.lstrip(" ").partition(" ")[0]
        if len(code) != 3 or not code.isdigit():
            return f"malformed HTTP status code {_go_quote(code)}"
        return f"malformed HTTP version {_go_quote(proto)}"

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._headers_done:
            return  # a trailer field: Go keeps it out of the headers (res.headers has none)
        self._raw.append((name, value))
        size = len(name)
        if size == 16 or size == 14 or size == 17:
            lowered = name.lower()
            if lowered == b"content-encoding":
                if self._coding is None:  # Go's Header.Get: the first one
                    self._coding = value
            elif lowered == b"content-length" or (
                lowered == b"transfer-encoding" and value.lower().endswith(b"chunked")
            ):
                self._framed = True

    def on_headers_complete(self) -> None:
        status = self._status = self.parser.get_status_code()
        self._headers_done = True
        if self._head and status >= 200:
            self.keep_alive = self.parser.should_keep_alive()
            self._stale_parser = True
            self._complete()

    def on_body(self, body: bytes) -> None:
        if self._stale_parser:
            self._unsolicited = True  # bytes after a HEAD response's headers
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._stale_parser:
            return  # a HEAD response, completed with its headers
        status = self._status
        if 100 <= status < 200:
            self._interim += 1
            self._reset_message()
            if self._received > MAX_RESPONSE_HEADER_BYTES:
                self._fail(
                    TooManyInterimResponses(
                        f"server response headers exceeded {MAX_RESPONSE_HEADER_BYTES} bytes"
                    )
                )
            return
        self.keep_alive = self.parser.should_keep_alive()
        self._complete()

    def _complete(self) -> None:
        waiter, self._waiter = self._waiter, None
        status, raw, chunks, coding = self._status, self._raw, self._body, self._coding
        self._reset_message()
        if waiter is None or waiter.done():
            return
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if coding is not None and body:
            try:
                body = decode_body(body, coding.decode("latin-1"))
            except DecompressionError as exc:
                waiter.set_exception(exc)
                return
        waiter.set_result((status, ResponseHeaders(raw), body, self._clock()))

    # -- requests ----------------------------------------------------------------------------

    @property
    def answered(self) -> bool:
        """Whether any byte of an answer to the current request has arrived."""
        return self._first_at != 0.0

    def send(self, data: bytes, waiter: asyncio.Future, head: bool = False) -> None:
        self._waiter = waiter
        self._head = head
        self._reset_message()
        self._received = 0
        self._first_at = 0.0
        self._interim = 0
        assert self.transport is not None
        self.transport.write(data)
        self._wrote_at = self._clock()

    def _fail(self, exc: Exception) -> None:
        self.keep_alive = False
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.abort()

    def _lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.keep_alive = False
        waiter = self._waiter
        if waiter is None or waiter.done():
            self._waiter = None
            return
        if self._headers_done and not self._framed and self._status not in (204, 304):
            # No Content-Length, no chunking: the close is the end of the body.
            self._complete()
            return
        self._waiter = None
        if isinstance(exc, ConnectionResetError | BrokenPipeError):
            waiter.set_exception(exc)
        elif self._first_at:
            waiter.set_exception(ResponseTruncated("unexpected EOF"))
        else:
            waiter.set_exception(ServerClosed("EOF"))

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class Http1Pool:
    """One VU's keep-alive connections to one origin, reused last-in first-out.

    With `tls`, each new connection is dialled, then handshaken, so the two are timed apart
    (k6's http_req_connecting and http_req_tls_handshaking).
    """

    def __init__(self, host: str, port: int, clock, tls: ssl.SSLContext | None = None) -> None:  # type: ignore[no-untyped-def]
        self.host = host
        self.port = port
        self.clock = clock
        self.tls = tls
        self.idle: list[_Connection] = []

    def _take_idle(self) -> _Connection | None:
        while self.idle:
            conn = self.idle.pop()
            if conn.reusable():
                return conn
            conn.abort()
        return None

    async def request(self, data: bytes, timeout: float, replayable: bool = False) -> Http1Response:
        """Send pre-serialised request bytes; raises on transport failure or timeout.

        A failure carries the phases timed so far as `exc.phases` (see `failure_phases`).
        """
        clock = self.clock
        asked_at = clock()
        deadline = asked_at + timeout
        head = data.startswith(b"HEAD ")
        first_send = 0.0
        received = 0
        connecting = handshaking = 0.0
        while True:
            conn = self._take_idle()
            reused = conn is not None
            if conn is None:
                try:
                    conn, connecting, handshaking = await self._connect(deadline, timeout)
                except Exception as exc:
                    # k6 times no phase of a request that never had a connection: its tracer
                    # records a connect, and a handshake, only when they succeed.
                    exc.phases = NO_PHASES  # type: ignore[attr-defined]
                    raise
            got_at = clock()
            if not first_send:
                first_send = got_at
            try:
                status, headers, body, ended = await self._exchange(
                    conn, data, deadline - clock(), head
                )
            except (ServerClosed, ConnectionResetError, BrokenPipeError) as exc:
                received += conn._received
                if reused and replayable and not conn.answered:
                    continue  # a keep-alive race: the request never reached the application
                exc.phases = self._phases(
                    asked_at, first_send, conn, connecting, handshaking, clock()
                )  # type: ignore[attr-defined]
                exc.received = received  # type: ignore[attr-defined]
                raise
            except Exception as exc:
                exc.phases = self._phases(
                    asked_at, first_send, conn, connecting, handshaking, clock()
                )  # type: ignore[attr-defined]
                exc.received = received + conn._received  # type: ignore[attr-defined]
                raise
            received += conn._received
            phases = RequestPhases(
                (first_send - asked_at) * 1000.0,
                connecting,
                handshaking,
                (conn._wrote_at - first_send) * 1000.0,
                # An answer may start before a large request is written; k6 then says 0.
                max(conn._first_at - conn._wrote_at, 0.0) * 1000.0,
                (ended - conn._first_at) * 1000.0,
            )
            if conn.keep_alive and not conn.closed:
                self.idle.append(conn)
            else:
                conn.abort()
            return Http1Response(status, headers, body, received, phases, ended)

    @staticmethod
    def _phases(
        asked_at: float,
        first_send: float,
        conn: _Connection,
        connecting: float,
        handshaking: float,
        now: float,
    ) -> RequestPhases:
        """What k6's tracer reports for a request that failed once it had a connection: waiting
        runs to the failure when no byte came back."""
        first = conn._first_at
        return RequestPhases(
            (first_send - asked_at) * 1000.0,
            connecting,
            handshaking,
            (conn._wrote_at - first_send) * 1000.0,
            max((first or now) - conn._wrote_at, 0.0) * 1000.0,
            (now - first) * 1000.0 if first else 0.0,
        )

    async def _connect(self, deadline: float, timeout: float) -> tuple[_Connection, float, float]:
        """A new connection, and the milliseconds its TCP connect and TLS handshake took."""
        loop = asyncio.get_running_loop()
        clock = self.clock
        started = clock()
        try:
            transport, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(clock, self.tls is not None), self.host, self.port
                ),
                max(deadline - started, 0.0),
            )
        except TimeoutError:
            raise ConnectTimeout(
                f"no connection to {self.host}:{self.port} in {timeout}s"
            ) from None
        connected = clock()
        if self.tls is None:
            return conn, (connected - started) * 1000.0, 0.0  # type: ignore[return-value]
        try:
            conn.transport = await asyncio.wait_for(  # type: ignore[attr-defined]
                loop.start_tls(transport, conn, self.tls, server_hostname=self.host),
                max(deadline - connected, 0.0),
            )
        except BaseException:
            transport.abort()
            raise
        return conn, (connected - started) * 1000.0, (clock() - connected) * 1000.0  # type: ignore[return-value]

    async def _exchange(
        self, conn: _Connection, data: bytes, remaining: float, head: bool
    ) -> tuple[int, ResponseHeaders, bytes, float]:
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        conn.send(data, waiter, head)
        handle = loop.call_later(max(remaining, 0.0), _expire, waiter, conn)
        try:
            return await waiter
        except BaseException:
            conn.abort()
            raise
        finally:
            handle.cancel()

    def close(self) -> None:
        for conn in self.idle:
            conn.abort()
        self.idle.clear()


def _go_quote(text: str) -> str:
    """`text` as Go's %q prints it, for error messages that match k6's."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append(f"\\x{ord(char):02x}")
    return '"' + "".join(out) + '"'


def _expire(waiter: asyncio.Future, conn: _Connection) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("request timeout"))
    conn.abort()


def merge_headers(*layers: dict[str, str] | tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Request headers from several layers, case-insensitively: a later layer's value replaces
    an earlier one whatever its case, so the wire carries each name once."""
    merged: dict[str, str] = {}
    names: dict[str, str] = {}
    for layer in layers:
        items = layer.items() if isinstance(layer, dict) else layer
        for name, value in items:
            key = name.lower()
            previous = names.get(key)
            if previous is not None:
                del merged[previous]
            names[key] = name
            merged[name] = value
    return merged


def canonical_headers(headers: dict[str, str]) -> dict[str, str]:
    """The same headers under Go's canonical names (`content-type` -> `Content-Type`): k6 sets
    request headers through Go's Header.Set, so that is how they go on the wire."""
    return {canonical_header_name(name): value for name, value in headers.items()}


def serialize_request(
    method: str, host_header: str, target: str, headers: dict[str, str], body: bytes | None
) -> bytes:
    """The bytes of one HTTP/1.1 request; Content-Length is set whenever there is a body.

    Like k6, no Accept-Encoding is sent unless the scenario sets one (k6 disables Go's automatic
    gzip request), and each header name goes on the wire once.
    """
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
