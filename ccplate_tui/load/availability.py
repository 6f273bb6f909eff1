"""Probe the `[availability]` health URL on a fixed grid during a run, on the coordinator.

An `AvailabilityProber` runs one thread with its own asyncio loop beside the run (never in the
workers: the traffic's hot path pays nothing), like load/sources.py's SourceSampler. Probe k is
sent at `run_start + k * every` of the wall clock (`--time-scale` does not touch `every`), one
at a time and each bounded by `timeout`: a probe slower than `every` makes the grid's next ticks
be skipped (counted as `skipped`), never stacked on a target that is not answering. The run takes
a `ProbeTally` of the probes finished since its last look with each interval snapshot (`take`);
a probe still in flight then is counted in a later interval.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time

import httpx

from ccplate_tui.config.model import AvailabilitySpec
from ccplate_tui.load.probe_tally import ProbeTally, capped_reasons
from ccplate_tui.load.side_loop import SideLoop
from ccplate_tui.load.units_format import humanize_ms
from ccplate_tui.loopback import RemoteTargetRefused, is_loopback_url

__all__ = ["AvailabilityProber", "ProbeTally", "check_probe_url", "probe_once"]

MAX_BODY = 1024 * 1024
"""Bytes of an answer read at most: a health answer is small; past this it is up enough."""
_MAX_REASON = 160
_STOP_GRACE = 1.0


def check_probe_url(spec: AvailabilitySpec, *, allow_remote: bool) -> None:
    """Raise RemoteTargetRefused for a probe URL that is not loopback unless remote targets
    are allowed: the probe obeys the same guard as the load."""
    if allow_remote or is_loopback_url(spec.url):
        return
    raise RemoteTargetRefused(
        f"refusing to probe {spec.url} ([availability] url): it is not a loopback address. Set "
        "`allow_remote = true` under [target] in the config, or pass --allow-remote, if you own "
        "that server and mean it."
    )


def _os_error(exc: BaseException) -> OSError | None:
    """The OSError at the root of an httpx error (httpx wraps httpcore, which wraps it)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current
        current = current.__cause__ or current.__context__
    return None


def _transport_reason(exc: httpx.HTTPError) -> str:
    """Why a probe got no HTTP answer, worded for the summary: `cannot connect: Connection
    refused`, `connection lost: Connection reset by peer`, `broken answer: …`."""
    root = _os_error(exc)
    text = str(exc) or type(exc).__name__
    if root is not None:
        # asyncio words a refused connect "Connect call failed ('127.0.0.1', 8787)": the errno's
        # own words say it plainly, and stay one reason whatever the address.
        text = os.strerror(root.errno) if root.errno else root.strerror or text
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {text}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"broken answer: {text}"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return f"connection lost: {text}"
    return text


async def _ask(client: httpx.AsyncClient, spec: AvailabilitySpec) -> str | None:
    async with client.stream(spec.method, spec.url) as response:
        if not spec.accepts(response.status_code):
            return f"HTTP {response.status_code}"
        # The whole answer must arrive: one cut off midway is a failure, not a pass.
        read = 0
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read > MAX_BODY:
                break
    return None


async def probe_once(client: httpx.AsyncClient, spec: AvailabilitySpec) -> str | None:
    """Send one probe within `spec.timeout`: None when the target answered as expected, else
    the reason it did not."""
    try:
        async with asyncio.timeout(spec.timeout):
            reason = await _ask(client, spec)
    except (TimeoutError, httpx.TimeoutException):
        reason = f"no answer within {humanize_ms(spec.timeout * 1000)}"
    except httpx.HTTPError as exc:
        reason = _transport_reason(exc)
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
    return reason[:_MAX_REASON] if reason is not None else None


class AvailabilityProber:
    """Probes `spec.url` every `spec.every` seconds on a thread of its own until closed."""

    def __init__(self, spec: AvailabilitySpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        self._reset()
        self._side = SideLoop("ccplate-probe")

    def _reset(self) -> None:
        self._sent = self._ok = self._skipped = 0
        self._failures: dict[str, int] = {}
        self._first: float | None = None
        self._last: float | None = None

    def start(self, run_start: float, wall_start: float) -> None:
        """Begin probing: the first probe at once, then one per tick of `every` from
        `run_start` (a `time.perf_counter()` instant, `wall_start` the same instant in Unix
        time)."""
        self._side.start(lambda: self._main(run_start, wall_start))

    def take(self) -> ProbeTally:
        """The probes finished since the previous call."""
        with self._lock:
            tally = ProbeTally(
                sent=self._sent,
                ok=self._ok,
                failures=capped_reasons(self._failures),
                first_at=self._first,
                last_at=self._last,
                skipped=self._skipped,
            )
            self._reset()
        return tally

    def close(self) -> None:
        """Stop probing; a probe in flight is abandoned, counted nowhere."""
        self._side.stop(_STOP_GRACE)

    @property
    def running(self) -> bool:
        return self._side.running

    def _record(self, reason: str | None, sent_at: float, skipped: int) -> None:
        with self._lock:
            self._sent += 1
            if reason is None:
                self._ok += 1
            else:
                self._failures[reason] = self._failures.get(reason, 0) + 1
            if self._first is None:
                self._first = sent_at
            self._last = sent_at
            self._skipped += skipped

    async def _main(self, run_start: float, wall_start: float) -> None:
        every = self.spec.every
        # No kept-alive connection: each probe connects afresh, as a load balancer's health
        # check does, so a target that stops accepting connections is seen at once.
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(
            trust_env=False, follow_redirects=False, limits=limits, timeout=self.spec.timeout
        ) as client:
            tick = 0
            while not self._side.stopping.is_set():
                delay = run_start + tick * every - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent_at = wall_start + (time.perf_counter() - run_start)
                reason = await probe_once(client, self.spec)
                elapsed = time.perf_counter() - run_start
                following = max(tick + 1, math.floor(elapsed / every) + 1)
                self._record(reason, sent_at, following - tick - 1)
                tick = following
