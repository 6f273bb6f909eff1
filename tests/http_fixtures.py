"""A loopback HTTP server with well-defined misbehaviours, for the engine's tests.

It runs on its own event loop in a thread of the test process, bound to 127.0.0.1 on a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator

from aiohttp import web


async def _ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _sleep(request: web.Request) -> web.Response:
    await asyncio.sleep(int(request.match_info["ms"]) / 1000.0)
    return web.json_response({"slept_ms": int(request.match_info["ms"])})


async def _status(request: web.Request) -> web.Response:
    return web.json_response({"status": "forced"}, status=int(request.match_info["code"]))


async def _echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response(
        {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "content_type": request.content_type,
            "length": len(body),
            "body": body[:200].decode("utf-8", "replace"),
            "header": request.headers.get("X-Test", ""),
            "user_agent": request.headers.get("User-Agent", ""),
        }
    )


async def _multipart(request: web.Request) -> web.Response:
    reader = await request.multipart()
    parts = {}
    async for part in reader:
        data = await part.read()
        parts[part.name] = {"filename": part.filename, "size": len(data)}
    return web.json_response(parts, status=201)


def _raw_transport(request: web.Request) -> asyncio.Transport:
    transport = request.transport
    assert transport is not None
    return transport  # type: ignore[return-value]


async def _reset(request: web.Request) -> web.StreamResponse:
    transport = _raw_transport(request)
    transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
    await asyncio.sleep(0.01)
    transport.abort()
    return web.Response()


async def _garbage(request: web.Request) -> web.StreamResponse:
    transport = _raw_transport(request)
    transport.write(b"\x00\x01this is not HTTP at all\r\n\r\n")
    await asyncio.sleep(0.01)
    transport.close()
    return web.Response()


async def _drop(request: web.Request) -> web.StreamResponse:
    _raw_transport(request).abort()
    return web.Response()


class FixtureServer:
    """Start with `with FixtureServer() as url:`; `stop()` takes it down mid-test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.hits = 0
        """Requests that reached a handler."""
        self.answered = 0
        """Requests whose whole response was written (fault routes that break the connection
        instead are not answers)."""
        self.stopped = threading.Event()
        """Set once the server has stopped (`stop()`, or `stop_after()` reached)."""
        self._stop_after: int | None = None
        self._stopping: asyncio.Future[None] | None = None

    def stop_after(self, answered: int) -> None:
        """Stop the server (as `stop()` does) the moment it has answered `answered` requests:
        a run sees it go away after that many successes, however slowly its workers start.
        Responses still in flight then close their connections."""
        self._stop_after = answered

    def _app(self) -> web.Application:
        @web.middleware
        async def count(request: web.Request, handler):  # type: ignore[no-untyped-def]
            self.hits += 1
            response = await handler(request)
            transport = request.transport
            if transport is None or transport.is_closing():
                return response  # a fault route broke the connection: nothing to answer on
            if self._stop_after is not None and self.answered + 1 >= self._stop_after:
                response.force_close()  # this answer is among the last: no keep-alive after
            # Sent here, not after the middleware returns, so `answered` counts what was sent.
            try:
                await response.prepare(request)
                await response.write_eof()
            except ConnectionError:
                return response  # the client went away: aiohttp handles it as ever
            self.answered += 1
            if self._stop_after is not None and self.answered >= self._stop_after:
                self._begin_stop()
            return response

        app = web.Application(middlewares=[count])
        app.router.add_get("/ok", _ok)
        app.router.add_get("/sleep/{ms}", _sleep)
        app.router.add_route("*", "/status/{code}", _status)
        app.router.add_route("*", "/echo", _echo)
        app.router.add_post("/upload", _multipart)
        app.router.add_get("/reset", _reset)
        app.router.add_get("/garbage", _garbage)
        app.router.add_get("/drop", _drop)
        return app

    def start(self) -> str:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self.url

    async def _start(self) -> None:
        self.runner = web.AppRunner(self._app(), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.runner is None and self._stopping is None:
            return  # never started, or already stopped
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(10)

    def _begin_stop(self) -> asyncio.Future[None]:
        """Start stopping (on the server's loop); the same future for every caller."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._cleanup(), loop=self.loop)
        return self._stopping

    async def _stop(self) -> None:
        await asyncio.shield(self._begin_stop())

    async def _cleanup(self) -> None:
        runner, self.runner = self.runner, None
        if runner is not None:
            await runner.cleanup()  # stops listening at once, then closes every connection
        self.stopped.set()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def free_port() -> int:
    """A loopback port with nothing listening on it (for connection-refused tests)."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def fixture_server() -> Iterator[FixtureServer]:
    server = FixtureServer()
    server.start()
    try:
        yield server
    finally:
        server.__exit__()
