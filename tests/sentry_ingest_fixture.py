"""A loopback Sentry ingest + event API with switchable failure answers, for the capture tests.

The happy path is the demo target's own `add_sentry_routes`; a middleware in front of it answers
the way Relay and the Sentry API do when things go wrong (401/403/404/413/429/500, 200 without or
with another id, a hanging answer; API 404-then-200, 401, 429). Runs on its own event loop in a
thread, bound to 127.0.0.1 on a free port (the pattern of tests/http_fixtures.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ccplate_tui.target.sentry_ingest import SentryIngestStore, add_sentry_routes
from tests.http_fixtures import free_port

__all__ = ["API_TOKEN", "DEMO_KEY", "INGEST_MODES", "SentryIngestFixture", "free_port"]

DEMO_KEY = "ccplatefixturekey0123456789abcd"
API_TOKEN = "sntrys_fixture_token_0123456789abcdefXYZ"
INGEST_MODES = (
    "ok",
    "401",
    "403",
    "404",
    "413",
    "429",
    "500",
    "no_id",
    "wrong_id",
    "hang",
    "echo_auth",
)
RATE_LIMITS = "60:error;default:organization:quota_exceeded"
_HANG_LIMIT_S = 30.0


@dataclass
class SeenRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


def _relay(status: int, detail: str, *causes: str, **headers: str) -> web.Response:
    body: dict[str, Any] = {"detail": detail}
    if causes:
        body["causes"] = list(causes)
    return web.json_response(body, status=status, headers=headers)


class SentryIngestFixture:
    """`with SentryIngestFixture() as ingest:`; set `ingest_mode` / `api_script` to misbehave."""

    def __init__(
        self,
        prefixes: tuple[str, ...] = ("/__sentry",),
        *,
        api_token: str | None = API_TOKEN,
        keys: tuple[str, ...] | None = None,
        auto_decompress: bool = True,
    ) -> None:
        self.prefixes = prefixes
        self.api_token = api_token
        self.keys = keys
        self.auto_decompress = auto_decompress
        """False: the ingest itself decodes gzip/br (aiohttp hands over the raw body)."""
        self.store = SentryIngestStore()
        self.ingest_mode = "ok"
        self.api_script: list[int] = []
        """Statuses the API answers, in order, before the real handler answers again."""
        self.api_retry_after = "3"
        self.api_always: int | None = None
        """A status the API answers every time (e.g. 401), whatever the script says."""
        self.requests: list[SeenRequest] = []
        self.api_polls = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.port = 0
        self._release: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def dsn(self, project: int = 1, prefix: str | None = None, key: str = DEMO_KEY) -> str:
        prefix = self.prefixes[0] if prefix is None else prefix
        return f"http://{key}@127.0.0.1:{self.port}{prefix}/{project}"

    def envelope_requests(self) -> list[SeenRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/envelope/")]

    def _app(self) -> web.Application:
        @web.middleware
        async def misbehave(request: web.Request, handler):  # type: ignore[no-untyped-def]
            self.requests.append(
                SeenRequest(
                    request.method, request.path, dict(request.query), dict(request.headers)
                )
            )
            if request.method == "POST" and request.path.endswith("/envelope/"):
                answer = await self._ingest_answer(request)
                if answer is not None:
                    return answer
            elif request.method == "GET" and "/api/0/projects/" in request.path:
                self.api_polls += 1
                answer = self._api_answer()
                if answer is not None:
                    return answer
            return await handler(request)

        app = web.Application(middlewares=[misbehave])
        for prefix in self.prefixes:
            add_sentry_routes(
                app, prefix, store=self.store, api_token=self.api_token, keys=self.keys
            )
        return app

    async def _ingest_answer(self, request: web.Request) -> web.StreamResponse | None:
        mode = self.ingest_mode
        if mode == "ok":
            return None
        await request.read()
        if mode == "401":
            return _relay(401, "bad x-sentry-auth header", "invalid public key")
        if mode == "403":
            return _relay(403, "event submission rejected with_reason: ProjectId")
        if mode == "404":  # a Sentry before 20.6: no Relay, no envelope route
            return web.Response(
                status=404,
                text="<h1>Not Found</h1><p>The requested resource was not found.</p>",
                content_type="text/html",
            )
        if mode == "413":
            return _relay(413, "envelope exceeded size limits")
        if mode == "429":
            return _relay(
                429,
                "event submission rejected with_reason: RateLimited",
                **{"Retry-After": "60", "X-Sentry-Rate-Limits": RATE_LIMITS},
            )
        if mode == "500":
            return web.Response(status=500, text="Internal Server Error")
        if mode == "no_id":
            return web.json_response({})
        if mode == "wrong_id":
            return web.json_response({"id": uuid.uuid4().hex})
        if mode == "echo_auth":  # a careless proxy that repeats the credentials it got
            return _relay(400, f"unexpected header {request.headers.get('X-Sentry-Auth', '')}")
        if mode == "hang":
            assert self._release is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), _HANG_LIMIT_S)
            return web.json_response({})
        raise AssertionError(f"unknown ingest mode {mode!r}")

    def _api_answer(self) -> web.Response | None:
        status = self.api_always
        if status is None and self.api_script:
            status = self.api_script.pop(0)
        if status is None:
            return None
        if status == 401:
            return web.json_response({"detail": "Invalid token"}, status=401)
        if status == 403:
            return web.json_response(
                {"detail": "You do not have permission to perform this action."}, status=403
            )
        if status == 404:
            return web.json_response({"detail": "Event not found"}, status=404)
        if status == 429:
            return web.json_response(
                {"detail": "You are attempting to use this endpoint too frequently."},
                status=429,
                headers={"Retry-After": self.api_retry_after},
            )
        return web.json_response({"detail": "Internal Error"}, status=status)

    def start(self) -> SentryIngestFixture:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    async def _start(self) -> None:
        self._release = asyncio.Event()
        self.runner = web.AppRunner(
            self._app(),
            access_log=None,
            shutdown_timeout=1.0,
            auto_decompress=self.auto_decompress,
        )
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        if self._release is not None:
            self.loop.call_soon_threadsafe(self._release.set)  # let a hanging answer finish
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
            self.runner = None

    def __enter__(self) -> SentryIngestFixture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@contextlib.contextmanager
def sentry_ingest(**kwargs: Any) -> Iterator[SentryIngestFixture]:
    with SentryIngestFixture(**kwargs) as fixture:
        yield fixture
