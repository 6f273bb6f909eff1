"""The demo target reports its unhandled API errors to its own Sentry ingest, through sentry-sdk.

A real app wired with @sentry/nextjs reports every error its routes throw; the demo does the same
so "100 % of errors captured" can be measured against it: 5xx answers the load saw, against
events the ingest received in the run's window.

The client is a dedicated `sentry_sdk.Client` with a `Scope` of its own per event, as in
sentry.capture: no `sentry_sdk.init()`, no integrations, nothing global. The target runs in-process
in many tests and must never change what the host process's SDK does. The SDK's background thread
POSTs the envelopes over loopback to this same server, which answers them on its event loop like
any other request; only `flush` and `close` block, so they run in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sentry_sdk
from aiohttp import web
from sentry_sdk.scope import Scope
from sentry_sdk.utils import event_from_exception, exc_info_from_error

from ccplate_tui import __version__

log = logging.getLogger(__name__)

DEMO_PUBLIC_KEY = "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"
"""The demo's DSN public key (the one examples/ccplate-app/.env.local uses); the target's ingest
accepts any non-empty key."""
DEMO_PROJECT_ID = 1
ENVIRONMENT = "demo"
TRANSPORT_QUEUE_SIZE = 10_000
"""The SDK drops events beyond this many queued (its default is 100): room for a burst under
load while the sender catches up over loopback."""
FLUSH_TIMEOUT_S = 3.0
"""How long shutdown waits for queued events; short, as a stopped target's ingest is gone anyway."""
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def dsn_for(base_url: str, key: str = DEMO_PUBLIC_KEY, project_id: int = DEMO_PROJECT_ID) -> str:
    """`http://<key>@host:port/__sentry/<project>` for a target served at `base_url`."""
    scheme, _, netloc = base_url.rstrip("/").partition("://")
    return f"{scheme}://{key}@{netloc}/__sentry/{project_id}"


def _base_url(host: str, port: int) -> str:
    """`http://host:port`, a wildcard bind (0.0.0.0, ::) as loopback: the SDK must connect."""
    host = _WILDCARD_HOSTS.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _base_url_of(request: web.Request) -> str | None:
    """The address this request reached, as a base URL."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if not isinstance(sockname, tuple) or len(sockname) < 2:
        return None
    return _base_url(str(sockname[0]), int(sockname[1]))


class ExactDropper:
    """Drops exactly floor(n * rate) of the first n events: deterministic, unlike sampling.

    The rate is held as a Fraction of its decimal text, so 0.2 of 1,000 is 200, not 199 after a
    floating-point product like 0.2 * 5 = 0.9999….
    """

    def __init__(self, rate: float = 0.0) -> None:
        self.rate = rate
        self._fraction = Fraction(repr(rate))
        self.seen = 0

    def set_rate(self, rate: float) -> None:
        """A new rate restarts the count, so its exact share holds from now on."""
        if rate != self.rate:
            self.rate = rate
            self._fraction = Fraction(repr(rate))
            self.seen = 0

    def should_drop(self) -> bool:
        before = self.seen * self._fraction
        self.seen += 1
        return int(self.seen * self._fraction) > int(before)


@dataclass(frozen=True)
class ReportCounts:
    sent: int
    dropped: int


class ErrorReporter:
    """Captures a target's unhandled errors with a dedicated sentry-sdk client.

    The client is made at the first error (most targets in tests never fail), with the DSN of
    the address the target is served at: `configure` when the server knows it, else the address
    the failing request reached.
    """

    def __init__(self, sentry_drop: float = 0.0, environment: str = ENVIRONMENT) -> None:
        self.environment = environment
        self.dropper = ExactDropper(sentry_drop)
        self.base_url: str | None = None
        self.client: sentry_sdk.Client | None = None
        self.sent = 0
        """Events handed to the SDK's transport (not dropped by sentry_drop)."""
        self.dropped = 0
        """Events dropped on purpose by the sentry_drop fault."""

    @property
    def dsn(self) -> str | None:
        return None if self.base_url is None else dsn_for(self.base_url)

    def configure(self, host: str, port: int) -> None:
        """The address the target is served at; the DSN points at its `/__sentry/1`."""
        if self.client is None:
            self.base_url = _base_url(host, port)

    def counts(self) -> ReportCounts:
        return ReportCounts(self.sent, self.dropped)

    def _before_send(self, event: Any, _hint: Any) -> Any:
        # Runs in the capturing thread (the event loop's), so the count needs no lock.
        if self.dropper.should_drop():
            self.dropped += 1
            return None
        return event

    def _client(self, request: web.Request) -> sentry_sdk.Client | None:
        if self.client is None:
            self.base_url = self.base_url or _base_url_of(request)
            if self.base_url is None:
                return None
            self.client = sentry_sdk.Client(
                dsn=self.dsn,
                environment=self.environment,
                release=f"ccplate-demo-target@{__version__}",
                default_integrations=False,
                auto_enabling_integrations=False,
                integrations=[],
                before_send=self._before_send,
                transport_queue_size=TRANSPORT_QUEUE_SIZE,
                # Loopback to ourselves: a proxy from the environment must not get in between.
                http_proxy="",
                https_proxy="",
                include_local_variables=False,  # the login handler's locals hold a password
                send_client_reports=False,
                enable_backpressure_handling=False,
                max_breadcrumbs=0,
            )
        return self.client

    def capture(self, error: BaseException, request: web.Request) -> None:
        """Report `error` as unhandled, with the request's method, URL and route; never raises."""
        try:
            client = self._client(request)
            if client is None:
                return
            event, hint = event_from_exception(
                exc_info_from_error(error),
                client_options=client.options,
                mechanism={"type": "aiohttp", "handled": False},
            )
            event["level"] = "error"
            event["request"] = {"method": request.method, "url": str(request.url)}
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else request.path
            event["transaction"] = f"{request.method} {route}"
            if client.capture_event(event, hint=hint, scope=Scope()) is not None:
                self.sent += 1
        except Exception:  # reporting must never turn an error answer into a crash
            log.exception("could not report an error to the demo Sentry ingest")

    async def flush(self, timeout: float = FLUSH_TIMEOUT_S) -> None:
        """Wait (in a thread: the server must keep answering the SDK) for queued events."""
        if self.client is not None:
            await asyncio.to_thread(self.client.flush, timeout)

    async def close(self, timeout: float = FLUSH_TIMEOUT_S) -> None:
        """Flush what is still queued, then stop the SDK's worker thread."""
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(client.close, timeout)
