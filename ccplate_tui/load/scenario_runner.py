"""One scenario's VUs inside one worker process: k6 executor behaviour on an asyncio loop.

Closed-model executors run VU tasks that loop iterations; open-model executors start each
iteration at its planned time on a free VU, or drop it (never queue it) when none is free.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ccplate_tui.config.model import ScenarioSpec
from ccplate_tui.load.executors import (
    arrival_times,
    max_vus,
    owns_event,
    planned_duration,
    share,
    stage_at,
    vus_at,
    weighted_share,
)
from ccplate_tui.load.metrics import Gauge, Tags
from ccplate_tui.load.requests import CompiledRequest

if TYPE_CHECKING:
    from ccplate_tui.load.worker import Worker

_RAMP_TICK = 0.05
"""Seconds between ramping-vus adjustments: fine enough for any stage length people use."""

_TIMER_SLACK = 0.001
"""Seconds: uvloop timers have millisecond resolution and round up."""
_BUSY_YIELD = 256
"""Arrival events handled without sleeping before the loop yields to the worker's event loop."""

now = time.perf_counter

_INSUFFICIENT_VUS = "Insufficient VUs, reached {} active VUs and cannot initialize more"
_INSUFFICIENT_VUS_NOTE = re.compile(
    r"(?P<scenario>.+): Insufficient VUs, reached \d+ active VUs and cannot initialize more",
    re.DOTALL,
)


def insufficient_vus_note(scenario: str, reached: int) -> str:
    """k6's warning when an arrival-rate scenario is at maxVUs and must drop iterations:
    `steady: Insufficient VUs, reached 200 active VUs and cannot initialize more`."""
    return f"{scenario}: {_INSUFFICIENT_VUS.format(reached)}"


def insufficient_vus_scenario(note: str) -> str | None:
    """The scenario an `insufficient_vus_note` is about, or None for any other note."""
    match = _INSUFFICIENT_VUS_NOTE.fullmatch(note)
    return match["scenario"] if match else None


class ScenarioRunner:
    """Runs this worker's segment of one scenario and keeps its progress figures."""

    def __init__(
        self, worker: Worker, spec: ScenarioSpec, requests: list[CompiledRequest], tags: Tags
    ) -> None:
        self.worker = worker
        self.spec = spec
        self.requests = requests
        self.tags = tags
        self.index = worker.index
        self.count = worker.count
        self.state = "waiting"
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.active = 0
        self.allocated = 0
        self.iterations = 0
        self.interrupted = 0
        self.dropped = 0
        self.vus_gauge = Gauge(0)
        self.vus_max_gauge = Gauge(0)
        self._tasks: set[asyncio.Task] = set()
        self._next_vu = 0

    # -- progress ---------------------------------------------------------------------------

    def _set_active(self, delta: int) -> None:
        self.active += delta
        self.vus_gauge.set(self.active)

    def _set_allocated(self, value: int) -> None:
        self.allocated = value
        self.vus_max_gauge.set(value)

    def take_gauges(self) -> tuple[Tags, Gauge, Gauge]:
        """The VU gauges of the interval just ended; fresh ones start at the current values."""
        out = (self.tags, self.vus_gauge, self.vus_max_gauge)
        self.vus_gauge = Gauge(self.active)
        self.vus_max_gauge = Gauge(self.allocated)
        return out

    def stage(self) -> int | None:
        if self.started_at is None or not self.spec.executor.stages:
            return None
        return stage_at(self.spec.executor.stages, now() - self.started_at)

    def new_vu_id(self) -> int:
        """Globally unique, 1-based VU ids: worker i numbers i+1, i+1+count, ..."""
        self._next_vu += 1
        return (self._next_vu - 1) * self.count + self.index + 1

    # -- iterations -------------------------------------------------------------------------

    async def iteration(self, vu: int, number: int, intended: float | None) -> None:
        """Run the requests of one iteration; a cancellation mid-way counts as interrupted."""
        worker = self.worker
        started = now()
        group: str | None = None
        group_started = started
        try:
            for position, request in enumerate(self.requests):
                if request.group != group:
                    if group is not None:
                        worker.recorder.group(self.spec.name, group).add(
                            (now() - group_started) * 1000.0
                        )
                    group, group_started = request.group, now()
                await worker.send(request, vu, number, intended if position == 0 else None)
                if request.think_time:
                    await asyncio.sleep(request.think_time)
            if group is not None:
                worker.recorder.group(self.spec.name, group).add((now() - group_started) * 1000.0)
            if self.spec.think_time:
                await asyncio.sleep(self.spec.think_time)
        except asyncio.CancelledError:
            self.interrupted += 1
            raise
        # Fetched at the end: the recorder starts a new tally each interval.
        tally = worker.recorder.scenario(self.spec.name, self.tags)
        tally.iterations += 1
        tally.duration.add((now() - started) * 1000.0)
        self.iterations += 1

    async def _looping_vu(self, vu: int, keep_going: Callable[[int], bool]) -> None:
        self._set_active(+1)
        try:
            number = 0
            while keep_going(number) and not self.worker.stopping:
                await self.iteration(vu, number, None)
                number += 1
        finally:
            self._set_active(-1)
            self.worker.release_vu(vu)

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _finish(self, tasks: set[asyncio.Task] | list[asyncio.Task], deadline: float) -> None:
        """Let running iterations end until `deadline`, then interrupt what is left."""
        pending = {t for t in tasks if not t.done()}
        if pending:
            self.state = "stopping"
            _, pending = await asyncio.wait(pending, timeout=max(0.0, deadline - now()))
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def cancel_all(self) -> None:
        """Hard stop: interrupt every running iteration now."""
        for task in list(self._tasks):
            task.cancel()

    # -- executors --------------------------------------------------------------------------

    async def run(self, run_start: float) -> None:
        spec = self.spec.executor
        begin = run_start + spec.start_time
        if begin > now():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.worker.wind_down.wait(), begin - now())
        if self.worker.stopping:
            self.state = "done"
            return
        self.started_at = now()
        self.state = "running"
        try:
            runner = {
                "constant-vus": self._constant_vus,
                "ramping-vus": self._ramping_vus,
                "per-vu-iterations": self._per_vu_iterations,
                "shared-iterations": self._shared_iterations,
                "constant-arrival-rate": self._arrival_rate,
                "ramping-arrival-rate": self._arrival_rate,
            }[spec.executor]
            await runner()
        finally:
            self.cancel_all()
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            self.state = "done"
            self.ended_at = now()

    async def _constant_vus(self) -> None:
        spec = self.spec.executor
        assert self.started_at is not None and spec.vus is not None and spec.duration is not None
        end = self.started_at + spec.duration
        mine = share(spec.vus, self.index, self.count)
        self._set_allocated(mine)
        tasks = [
            self._spawn(self._looping_vu(self.new_vu_id(), lambda _n: now() < end))
            for _ in range(mine)
        ]
        await self._wait_until(end, tasks)
        await self._finish(tasks, end + spec.graceful_stop)

    async def _wait_until(self, deadline: float, tasks: list[asyncio.Task]) -> None:
        """Sleep until `deadline`, waking early if every task has already ended."""
        if tasks and deadline > now():
            await asyncio.wait(tasks, timeout=deadline - now())
        elif deadline > now():
            await asyncio.sleep(deadline - now())

    async def _ramping_vus(self) -> None:
        spec = self.spec.executor
        assert self.started_at is not None
        start = self.started_at
        total = planned_duration(spec)
        end = start + total
        ramp_down = spec.graceful_ramp_down if spec.graceful_ramp_down is not None else 30.0
        running: list[tuple[asyncio.Task, list[bool]]] = []
        retiring: list[tuple[asyncio.Task, float]] = []
        # k6 initialises every VU the stages can need up front: that is vus_max.
        self._set_allocated(share(max_vus(spec), self.index, self.count))
        while (t := now()) < end and not self.worker.stopping:
            want = share(vus_at(spec, t - start), self.index, self.count)
            running = [(task, flag) for task, flag in running if not task.done()]
            while len(running) < want:
                flag = [True]
                task = self._spawn(
                    self._looping_vu(self.new_vu_id(), lambda _n, f=flag: f[0] and now() < end)
                )
                running.append((task, flag))
            while len(running) > want:
                task, flag = running.pop()
                flag[0] = False
                retiring.append((task, t + ramp_down))
            still = []
            for task, deadline in retiring:
                if task.done():
                    continue
                if t >= deadline:
                    task.cancel()
                else:
                    still.append((task, deadline))
            retiring = still
            await asyncio.sleep(min(_RAMP_TICK, max(0.0, end - now())))
        for task, deadline in retiring:
            if not task.done() and deadline <= now():
                task.cancel()
        tasks = [task for task, _ in running] + [task for task, _ in retiring]
        await self._finish(tasks, end + spec.graceful_stop)

    async def _per_vu_iterations(self) -> None:
        spec = self.spec.executor
        assert self.started_at is not None and spec.vus and spec.iterations
        end = self.started_at + (spec.max_duration or 600.0)
        mine = share(spec.vus, self.index, self.count)
        self._set_allocated(mine)
        per_vu = spec.iterations
        tasks = [
            self._spawn(self._looping_vu(self.new_vu_id(), lambda n: n < per_vu and now() < end))
            for _ in range(mine)
        ]
        await self._wait_until(end, tasks)
        await self._finish(tasks, end + spec.graceful_stop)

    async def _shared_iterations(self) -> None:
        spec = self.spec.executor
        assert self.started_at is not None and spec.vus and spec.iterations
        end = self.started_at + (spec.max_duration or 600.0)
        weights = [share(spec.vus, i, self.count) for i in range(self.count)]
        mine = weights[self.index]
        left = [weighted_share(spec.iterations, weights, self.index)]
        self._set_allocated(mine)

        def take(_n: int) -> bool:
            if left[0] <= 0 or now() >= end:
                return False
            left[0] -= 1
            return True

        tasks = [self._spawn(self._looping_vu(self.new_vu_id(), take)) for _ in range(mine)]
        await self._wait_until(end, tasks)
        await self._finish(tasks, end + spec.graceful_stop)

    @property
    def iterations_planned(self) -> int | None:
        """This worker's planned iterations for the iteration-based executors."""
        spec = self.spec.executor
        if spec.executor == "per-vu-iterations" and spec.vus and spec.iterations:
            return share(spec.vus, self.index, self.count) * spec.iterations
        if spec.executor == "shared-iterations" and spec.vus and spec.iterations:
            weights = [share(spec.vus, i, self.count) for i in range(self.count)]
            return weighted_share(spec.iterations, weights, self.index)
        return None

    async def _arrival_rate(self) -> None:
        spec = self.spec.executor
        assert self.started_at is not None
        start = self.started_at
        end = start + planned_duration(spec)
        weights = [share(spec.max_vus or 0, i, self.count) for i in range(self.count)]
        cap = weights[self.index]
        free = [
            self.new_vu_id()
            for _ in range(share(spec.pre_allocated_vus or 0, self.index, self.count))
        ]
        self._set_allocated(len(free))
        warned = False
        running: set[asyncio.Task] = set()

        async def run_on(vu: int, number: int, intended: float) -> None:
            self._set_active(+1)
            try:
                await self.iteration(vu, number, intended)
            finally:
                self._set_active(-1)
                free.append(vu)

        number = 0
        busy = 0
        for k, offset in enumerate(arrival_times(spec)):
            if self.worker.stopping:
                break
            if cap == 0 or not owns_event(k, weights, self.index):
                continue
            when = start + offset
            if when >= end:
                break
            # Event-loop timers fire up to a millisecond late; waking that much early keeps the
            # tool's own timer slack out of the coordinated-omission-corrected latency.
            delay = when - now() - _TIMER_SLACK
            if delay > 0:
                busy = 0
                await asyncio.sleep(delay)
                if self.worker.stopping:
                    break
            else:
                busy += 1
                if busy >= _BUSY_YIELD:
                    # Behind schedule (a rate above what the VUs can serve): without a yield the
                    # loop would count drops forever and never hear the stop.
                    busy = 0
                    await asyncio.sleep(0)
                    if self.worker.stopping:
                        break
            if free:
                task = self._spawn(run_on(free.pop(), number, when))
                running.add(task)
                task.add_done_callback(running.discard)
                number += 1
                continue
            self.dropped += 1
            self.worker.recorder.scenario(self.spec.name, self.tags).dropped += 1
            if self.allocated < cap:
                free.append(self.new_vu_id())
                self._set_allocated(self.allocated + 1)
            elif not warned:
                warned = True
                # This worker's share only: the coordinator (pool) turns the first of these into
                # one warning per scenario per run with the scenario's total, as k6 prints it.
                self.worker.note(insufficient_vus_note(self.spec.name, self.allocated))
        if self.worker.stopping:
            await self._finish(running, now() + spec.graceful_stop)
            return
        await self._wait_until(end, [])
        await self._finish(running, end + spec.graceful_stop)
