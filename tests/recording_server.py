"""A loopback HTTP server that is not the demo target and writes down every request it gets.

It answers any method on any path with 200 and a small JSON body, and keeps `(method, path)` of
each request in arrival order, so a test can say exactly what reached "a user's own app".
"""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web


class RecordingServer:
    """`with RecordingServer() as server:` then `server.url`, `server.requests`."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        """Seconds every answer waits, to make a slow target."""
        self.requests: list[tuple[str, str]] = []
        """(method, path) of every request received, in order."""
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def _answer(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.json_response({"ok": True})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def paths(self) -> set[str]:
        return {path for _, path in self.requests}

    def __enter__(self) -> RecordingServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
