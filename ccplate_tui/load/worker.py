"""One load-generating OS process: a uvloop event loop, keep-alive pools, this worker's VUs.

The coordinator talks to it over a duplex pipe: `start` (a shared monotonic start time), `stop`.
The worker answers `ready`, one `interval` message per interval (never one per request), `done`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import ssl
import sys
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection

from ccplate_tui.config.model import ScenarioSpec, TargetSpec
from ccplate_tui.load.http1 import (
    Http1Pool,
    Http1Response,
    failure_phases,
    failure_received,
)
from ccplate_tui.load.phases import RequestPhases
from ccplate_tui.load.reachability import DEMO_HEADER
from ccplate_tui.load.recorder import IntervalRecorder
from ccplate_tui.load.requests import CompiledRequest, compile_request
from ccplate_tui.load.response_headers import ResponseHeaders
from ccplate_tui.load.scenario_runner import ScenarioRunner
from ccplate_tui.load.transport_errors import classify_error
from ccplate_tui.process_lifetime import EXIT_ORPHANED, watch_owner

now = time.perf_counter

_LAG_PROBE = 0.05
"""Seconds between event-loop lag probes."""

_NO_HEADERS = ResponseHeaders([])


def _coarse_phases(asked: float, headers_at: float, ended: float) -> RequestPhases:
    """Phases of a request made through httpx, which times no connection set-up of its own:
    everything before the headers counts as waiting."""
    return RequestPhases(
        waiting=(headers_at - asked) * 1000.0, receiving=(ended - headers_at) * 1000.0
    )


@dataclass(frozen=True)
class WorkerPlan:
    """Everything a worker needs; pickled to a spawned process."""

    index: int
    count: int
    scenarios: tuple[ScenarioSpec, ...]
    target: TargetSpec
    interval: float
    run_tags: tuple[tuple[str, str], ...] = ()
    owner_pid: int = 0
    """The coordinator's pid: the worker ends itself when that process is gone."""


@dataclass(frozen=True)
class WorkerProgress:
    """One scenario's figures from one worker at the end of an interval."""

    name: str
    state: str
    active_vus: int
    allocated_vus: int
    iterations: int
    interrupted: int
    dropped: int
    stage: int | None
    iterations_planned: int | None
    started_at: float | None


class Worker:
    """The event-loop side of a worker process."""

    def __init__(self, plan: WorkerPlan, conn: Connection) -> None:
        self.plan = plan
        self.conn = conn
        self.index = plan.index
        self.count = plan.count
        self.stopping = False
        self.wind_down = asyncio.Event()
        """Set on stop or abort, so scenarios still waiting for their startTime give up at once."""
        self.http2_clients: dict[str, object] = {}
        self.vu_pools: dict[int, dict[tuple[str, int, bool], Http1Pool]] = {}
        self.tls_context: ssl.SSLContext | None = None
        self.requests: list[CompiledRequest] = []
        self.runners: list[ScenarioRunner] = []
        self.recorder: IntervalRecorder
        self._notes: list[str] = []
        self._lag_max = 0.0
        self._stop_event: asyncio.Event | None = None
        self._demo: str | None = None
        """The demo target's version, once one of its answers carried DEMO_HEADER."""
        self._look_for_demo = True
        """Read the next answer's headers for DEMO_HEADER: at most once per interval."""

    def note(self, text: str) -> None:
        self._notes.append(text)

    async def prepare(self) -> None:
        """Compile every request (and open HTTP/2 clients) before the start signal."""
        open_model: set[str] = set()
        for spec in self.plan.scenarios:
            tags = tuple(
                sorted(
                    {**dict(self.plan.run_tags), **dict(spec.tags), "scenario": spec.name}.items()
                )
            )
            compiled = []
            for req in spec.requests:
                request = await compile_request(
                    len(self.requests),
                    req,
                    spec,
                    self.plan.target,
                    self.plan.run_tags,
                    seed=self.index * 1_000_003 + len(self.requests),
                )
                self.requests.append(request)
                compiled.append(request)
            if spec.executor.is_open_model:
                open_model.add(spec.name)
            if spec.http2:
                import httpx

                # As on the lean path: certificates verified (k6's default), no Accept-Encoding
                # unless the scenario sets one.
                client = httpx.AsyncClient(
                    http2=True, trust_env=False, headers={"User-Agent": "ccplate-tui/0.1 httpx"}
                )
                del client.headers["Accept-Encoding"]
                self.http2_clients[spec.name] = client
            self.runners.append(ScenarioRunner(self, spec, compiled, tags))
        self.recorder = IntervalRecorder(self.requests, open_model)

    async def send(
        self, request: CompiledRequest, vu: int, iteration: int, intended: float | None
    ) -> None:
        """Send one request and record it; transport failures are recorded, never raised."""
        if request.http1:
            exchange = self._pool_for(request, vu).request(
                request.wire_bytes(vu, iteration),
                request.timeout.total or 60.0,
                request.replayable,
            )
        else:
            url, headers, body = request.build(vu, iteration)
            exchange = self._via_httpx(
                self.http2_clients[request.scenario], request, url, headers, body
            )
        started = now()
        try:
            response = await exchange
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            ended = now()
            phases = failure_phases(exc) or RequestPhases(waiting=(ended - started) * 1000.0)
            self._record(
                request, 0, classify_error(exc), phases, started, ended, intended,
                failure_received(exc), b"", _NO_HEADERS,
            )  # fmt: skip
            return
        self._record(
            request, response.status, None, response.phases, started, response.ended, intended,
            response.received, response.body, response.headers,
        )  # fmt: skip

    def _pool_for(self, request: CompiledRequest, vu: int) -> Http1Pool:
        """The VU's own keep-alive pool for the request's host: as in k6, where every VU has its
        own Transport, a VU never takes a connection another VU has just used."""
        pools = self.vu_pools.get(vu)
        if pools is None:
            pools = self.vu_pools[vu] = {}
        pool = pools.get(request.origin)
        if pool is None:
            tls = None
            if request.tls:
                # Certificates are verified, as k6 does by default; HTTP/1.1 is all we speak.
                tls = self.tls_context
                if tls is None:
                    tls = self.tls_context = ssl.create_default_context()
                    tls.set_alpn_protocols(["http/1.1"])
            pool = pools[request.origin] = Http1Pool(request.host, request.port, now, tls)
        return pool

    def release_vu(self, vu: int) -> None:
        """Close a VU's connections when it stops for good (a ramp-down)."""
        for pool in self.vu_pools.pop(vu, {}).values():
            pool.close()

    async def _via_httpx(self, client, request, url, headers, body) -> Http1Response:  # type: ignore[no-untyped-def]
        """Scenarios with `http2 = true`; httpx errors become the exceptions classify_error knows."""
        import httpx

        asked = now()
        try:
            async with client.stream(
                request.method, url, headers=headers, content=body, timeout=request.timeout.total
            ) as resp:
                headers_at = now()
                payload = await resp.aread()
                ended = now()
                head = sum(len(k) + len(v) + 4 for k, v in resp.headers.raw)
                return Http1Response(
                    resp.status_code,
                    ResponseHeaders(list(resp.headers.raw)),
                    payload,
                    resp.num_bytes_downloaded + head,
                    _coarse_phases(asked, headers_at, ended),
                    ended,
                )
        except httpx.TimeoutException:
            raise TimeoutError("request timeout") from None
        except httpx.ConnectError as exc:
            raise (exc.__cause__ or ConnectionRefusedError("connection refused")) from None
        except httpx.HTTPError as exc:
            raise (exc.__cause__ or exc) from None

    def _record(
        self, request, status, error, phases, started, ended, intended, received, payload, headers
    ) -> None:
        if self._look_for_demo and status:
            self._look_for_demo = False
            self._demo = headers.first(DEMO_HEADER)
        series = self.recorder.http_series(request, status, error)
        series.count += 1
        series.sent += request.sent_bytes
        series.received += received
        duration_ms = phases.duration  # k6's: connection set-up is reported apart
        if series.uncorrected is not None:
            series.uncorrected.add(duration_ms)
            if intended is not None and intended < started:
                series.duration.add((ended - intended) * 1000.0)
            else:
                series.duration.add(duration_ms)
        else:
            series.duration.add(duration_ms)
        series.add_phases(phases)
        for check in request.checks:
            try:
                passed = bool(check.predicate(status, payload, duration_ms, headers))
            except Exception:
                passed = False
            self.recorder.check(request, check.name, passed)

    def progress(self) -> list[WorkerProgress]:
        return [
            WorkerProgress(
                name=r.spec.name,
                state=r.state,
                active_vus=r.active,
                allocated_vus=r.allocated,
                iterations=r.iterations,
                interrupted=r.interrupted,
                dropped=r.dropped,
                stage=r.stage(),
                iterations_planned=r.iterations_planned,
                started_at=r.started_at,
            )
            for r in self.runners
        ]

    def _flush(self, number: int, start: float, end: float, cpu: float) -> None:
        vus = {r.spec.name: r.take_gauges() for r in self.runners}
        metrics = self.recorder.flush(vus)
        notes, self._notes = self._notes, []
        lag, self._lag_max = self._lag_max, 0.0
        self._look_for_demo = self._demo is None
        self.conn.send(
            (
                "interval",
                self.index,
                number,
                start,
                end,
                metrics,
                self.progress(),
                cpu,
                lag * 1000.0,
                notes,
                self._demo,
            )
        )

    async def _probe_lag(self) -> None:
        while True:
            before = now()
            await asyncio.sleep(_LAG_PROBE)
            lag = now() - before - _LAG_PROBE
            if lag > self._lag_max:
                self._lag_max = lag

    def _on_control(self) -> None:
        try:
            while self.conn.poll():
                message = self.conn.recv()
                if message[0] == "abort":
                    self._request_stop()
                elif message[0] == "stop":
                    self._request_graceful_stop()
        except (EOFError, OSError):
            self._request_stop()

    def _request_stop(self) -> None:
        """Abort: interrupt every running iteration now."""
        self.stopping = True
        self.wind_down.set()
        if self._stop_event is not None:
            self._stop_event.set()

    def _request_graceful_stop(self) -> None:
        """Stop: start no new iteration; running ones get their scenario's gracefulStop."""
        if self.stopping:
            return
        self.stopping = True
        self.wind_down.set()
        longest = max((r.spec.executor.graceful_stop for r in self.runners), default=0.0)
        asyncio.get_running_loop().call_later(longest, self._request_stop)

    async def run(self, run_start: float) -> None:
        """Run every scenario from `run_start` (a perf_counter value shared by all workers)."""
        loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        loop.add_reader(self.conn.fileno(), self._on_control)
        lag_task = loop.create_task(self._probe_lag())
        interval = self.plan.interval
        wait = run_start - now()
        if wait > 0:
            await asyncio.sleep(wait)
        scenario_tasks = [loop.create_task(r.run(run_start)) for r in self.runners]
        all_done = loop.create_task(asyncio.wait(scenario_tasks))
        stop_wait = loop.create_task(self._stop_event.wait())
        number = 0
        cpu_mark = time.process_time()
        wall_mark = now()
        while True:
            boundary = run_start + (number + 1) * interval
            done, _ = await asyncio.wait(
                {all_done, stop_wait},
                timeout=max(0.0, boundary - now()),
                return_when=asyncio.FIRST_COMPLETED,
            )
            crashed = _crashed(scenario_tasks)
            if stop_wait in done or crashed is not None:
                for task in scenario_tasks:
                    task.cancel()
                await asyncio.gather(*scenario_tasks, return_exceptions=True)
            finished = all_done.done() or stop_wait.done() or crashed is not None
            end_time = min(now(), boundary) if not finished else now()
            cpu_now, wall_now = time.process_time(), now()
            cpu = 100.0 * (cpu_now - cpu_mark) / max(wall_now - wall_mark, 1e-6)
            cpu_mark, wall_mark = cpu_now, wall_now
            self._flush(number, number * interval, end_time - run_start, cpu)
            number += 1
            if crashed is not None:
                # worker_main reports it: the run fails with the reason, never ends "fine".
                raise crashed
            if finished:
                break
        lag_task.cancel()
        stop_wait.cancel()
        loop.remove_reader(self.conn.fileno())
        for vu in list(self.vu_pools):
            self.release_vu(vu)
        for client in self.http2_clients.values():
            await client.aclose()  # type: ignore[attr-defined]


def _crashed(tasks: list[asyncio.Task]) -> BaseException | None:
    """The exception a scenario's task ended with (a bug, MemoryError), or None."""
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            return task.exception()
    return None


def _raise_open_files_limit() -> None:
    """Thousands of VUs need thousands of sockets: lift the soft limit to the hard one."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY:
            hard = 1 << 20
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def worker_main(plan: WorkerPlan, conn: Connection) -> None:
    """Process entry point: wait for `start`, run, report `done` (or `error`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if plan.owner_pid:
        # A thread, so even a worker whose event loop never yields goes with a killed owner.
        watch_owner(plan.owner_pid, lambda: os._exit(EXIT_ORPHANED))
    _raise_open_files_limit()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    try:
        asyncio.run(_main(plan, conn))
    except Exception:
        with contextlib.suppress(OSError):
            conn.send(("error", plan.index, traceback.format_exc()))
    finally:
        conn.close()
        sys.stdout.flush()
        os._exit(0)


async def _main(plan: WorkerPlan, conn: Connection) -> None:
    worker = Worker(plan, conn)
    await worker.prepare()
    conn.send(("ready", plan.index))
    loop = asyncio.get_running_loop()
    message = await loop.run_in_executor(None, conn.recv)
    if message[0] != "start":
        for client in worker.http2_clients.values():
            await client.aclose()  # type: ignore[attr-defined]
        conn.send(("done", plan.index))
        return
    await worker.run(message[1])
    conn.send(("done", plan.index))
