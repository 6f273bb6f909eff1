"""Sample the metric sources of `[sources.NAME]` once per interval, on the coordinator.

A `SourceSampler` runs one thread with its own asyncio loop beside the run (never in the
workers: the traffic's hot path pays nothing). Every interval it reads all sources at once, each
bounded by its own `timeout`; a source that does not answer in time, or answers with no number,
gives a sample with value None and the reason. The run takes the samples finished so far with
each interval snapshot (`take`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ccplate_tui.config.model import SourceSpec
from ccplate_tui.config.sources import parse_json_path
from ccplate_tui.load.side_loop import SideLoop
from ccplate_tui.load.source_samples import SourceSample
from ccplate_tui.load.units_format import humanize_ms

MAX_BODY = 8 * 1024 * 1024
"""Bytes read of an answer at most: a metrics page is kilobytes; more is not a metrics page."""
_STOP_GRACE = 1.0


class SourceError(Exception):
    """A source answered, but not with one number; the message says what it gave instead."""


def _number(value: Any, what: str) -> float:
    """A finite float from a JSON number or numeric string (as Prometheus writes values)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SourceError(f"{what} is {json.dumps(value)[:80]}, not a number")
    try:
        number = float(value)
    except ValueError:
        raise SourceError(f"{what} is {value[:80]!r}, not a number") from None
    if not math.isfinite(number):
        raise SourceError(f"{what} is {value!r}, not a finite number")
    return number


async def _get(client: httpx.AsyncClient, url: str, params: dict[str, str] | None = None) -> bytes:
    async with client.stream("GET", url, params=params) as response:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_BODY:
                raise SourceError(f"the answer is larger than {MAX_BODY // (1024 * 1024)} MiB")
        if response.status_code != 200:
            text = bytes(body[:200]).decode("utf-8", "replace").strip()
            raise SourceError(
                f"HTTP {response.status_code}" + (f": {text.splitlines()[0]}" if text else "")
            )
        return bytes(body)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise SourceError(f"the answer is not JSON ({exc})") from None


async def read_prometheus(client: httpx.AsyncClient, spec: SourceSpec) -> float:
    """One number from Prometheus' `GET /api/v1/query` (a scalar or a one-sample vector)."""
    assert spec.url is not None
    answer = _json(await _get(client, spec.url + "/api/v1/query", {"query": spec.query}))
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error = answer.get("error") if isinstance(answer, dict) else None
        raise SourceError(f"Prometheus answered an error: {error or answer!r:.200}")
    data = answer.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return _number(result[1], "the scalar")
    if kind == "vector" and isinstance(result, list):
        if len(result) != 1:
            raise SourceError(
                f"the query gave {len(result)} series, expected 1 (aggregate it, e.g. sum(...))"
            )
        return _number((result[0].get("value") or [None, None])[1], "the sample")
    raise SourceError(f"expected a scalar or a vector of one sample, got {kind or 'nothing'}")


async def read_metrics(client: httpx.AsyncClient, spec: SourceSpec) -> float:
    """The sample named `spec.query` with `spec.labels` from a Prometheus text endpoint."""
    assert spec.url is not None
    text = (await _get(client, spec.url)).decode("utf-8", "replace")
    wanted = dict(spec.labels)
    found: list[float] = []
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = sample.labels
                if sample.name == spec.query and all(labels.get(k) == v for k, v in wanted.items()):
                    found.append(float(sample.value))
    except ValueError as exc:
        raise SourceError(f"not a Prometheus text page ({exc})") from None
    labels = "{" + ",".join(f'{k}="{v}"' for k, v in spec.labels) + "}" if spec.labels else ""
    if not found:
        raise SourceError(f"no sample {spec.query}{labels} on the page")
    if len(found) > 1:
        raise SourceError(
            f"{len(found)} samples match {spec.query}{labels}; add labels to pick one"
        )
    return _number(found[0], f"{spec.query}{labels}")


async def read_json(client: httpx.AsyncClient, spec: SourceSpec) -> float:
    """The number at `spec.query` (a path like `a.b[0].c`) in a JSON document."""
    assert spec.url is not None
    value = _json(await _get(client, spec.url))
    walked = ""
    for step in parse_json_path(spec.query):
        found = (isinstance(step, int) and isinstance(value, list) and step < len(value)) or (
            isinstance(step, str) and isinstance(value, dict) and step in value
        )
        if found:
            value = value[step]
        else:
            where = f" under {walked}" if walked else ""
            raise SourceError(f"the document has no {step!r}{where}")
        walked += f"[{step}]" if isinstance(step, int) else (f".{step}" if walked else step)
    return _number(value, spec.query)


async def read_command(spec: SourceSpec) -> float:
    """The number a command prints (its last non-empty line); killed with its group on timeout."""
    try:
        process = await asyncio.create_subprocess_exec(
            *spec.command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise SourceError(f"could not start {spec.command[0]}: {exc.strerror or exc}") from None
    try:
        out, err = await process.communicate()
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await asyncio.shield(process.wait())
    if process.returncode != 0:
        last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise SourceError(f"exit {process.returncode}" + (f": {last[0][:200]}" if last[0] else ""))
    lines = [line.strip() for line in out.decode("utf-8", "replace").splitlines() if line.strip()]
    if not lines:
        raise SourceError("the command printed nothing")
    return _number(lines[-1], "its output")


async def read_source(client: httpx.AsyncClient, spec: SourceSpec) -> float:
    """One reading of `spec`, unbounded in time (the caller bounds it)."""
    if spec.kind == "prometheus":
        return await read_prometheus(client, spec)
    if spec.kind == "metrics":
        return await read_metrics(client, spec)
    if spec.kind == "json":
        return await read_json(client, spec)
    return await read_command(spec)


def _transport_error(exc: httpx.HTTPError) -> str:
    cause = exc.__cause__ or exc.__context__
    text = str(exc) or type(exc).__name__
    if isinstance(cause, OSError) and cause.strerror:
        text = cause.strerror
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {text}"
    return text


async def sample_source(
    client: httpx.AsyncClient, spec: SourceSpec, run_start: float, wall_start: float
) -> SourceSample:
    """Read `spec` within its timeout: a sample with a value, or with None and the reason."""
    value: float | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(spec.timeout):
            value = await read_source(client, spec)
    except TimeoutError:
        error = f"no answer within {humanize_ms(spec.timeout * 1000)}"
    except SourceError as exc:
        error = str(exc)
    except httpx.HTTPError as exc:
        error = _transport_error(exc)
    except OSError as exc:
        error = exc.strerror or str(exc)
    at = max(0.0, time.perf_counter() - run_start)
    return SourceSample(spec.name, value, error, at, wall_start + at, spec.unit)


class SourceSampler:
    """Samples every source once per `interval` on a thread of its own until closed."""

    def __init__(self, sources: Sequence[SourceSpec], interval: float) -> None:
        self.sources = tuple(sources)
        self.interval = interval
        self._samples: list[SourceSample] = []
        self._lock = threading.Lock()
        self._side = SideLoop("ccplate-sources")

    def start(self, run_start: float, wall_start: float) -> None:
        """Begin sampling: the first reading at once, then one every interval from `run_start`
        (a `time.perf_counter()` instant, `wall_start` the same instant in Unix time)."""
        if self.sources:
            self._side.start(lambda: self._main(run_start, wall_start))

    def take(self) -> tuple[SourceSample, ...]:
        """The samples finished since the previous call, in the order they finished."""
        with self._lock:
            taken, self._samples = tuple(self._samples), []
        return taken

    @property
    def running(self) -> bool:
        return self._side.running

    def close(self) -> None:
        """Stop sampling; a reading in flight is abandoned (its command killed)."""
        if self.sources:
            self._side.stop(max(s.timeout for s in self.sources) + _STOP_GRACE)

    async def _main(self, run_start: float, wall_start: float) -> None:
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as client:
            await asyncio.gather(
                *(self._every_interval(client, s, run_start, wall_start) for s in self.sources)
            )

    async def _every_interval(
        self, client: httpx.AsyncClient, spec: SourceSpec, run_start: float, wall_start: float
    ) -> None:
        """Read one source at each tick of the run's clock; a slow source skips the ticks it
        overran without holding up the others."""
        tick = 0
        while not self._side.stopping.is_set():
            sample = await sample_source(client, spec, run_start, wall_start)
            with self._lock:
                self._samples.append(sample)
            elapsed = time.perf_counter() - run_start
            tick = max(tick + 1, math.floor(elapsed / self.interval) + 1)
            await asyncio.sleep(max(0.0, run_start + tick * self.interval - time.perf_counter()))
