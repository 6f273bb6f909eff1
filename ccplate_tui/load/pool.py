"""The coordinator side of the worker processes: spawn, start together, merge interval snapshots.

Workers are started with the `spawn` context (never `fork` from a running app: a forked copy of a
Textual app or of threads is unsafe).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait

from ccplate_tui.config.model import ScenarioSpec, TargetSpec
from ccplate_tui.load.executors import max_vus, planned_duration
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.snapshot import IntervalSnapshot, ScenarioProgress, WorkerHealth
from ccplate_tui.load.worker import WorkerPlan, WorkerProgress, worker_main

_START_DELAY = 0.05
"""Seconds between the start message and the shared start time, so every worker starts together."""
_READY_TIMEOUT = 30.0


class WorkerFailure(RuntimeError):
    """A worker process crashed or could not start."""


def default_workers() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


class WorkerPool:
    """Runs scenarios on N worker processes and yields merged `IntervalSnapshot`s."""

    def __init__(
        self,
        scenarios: tuple[ScenarioSpec, ...],
        target: TargetSpec,
        *,
        interval: float = 1.0,
        workers: int | None = None,
        run_tags: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.scenarios = scenarios
        self.target = target
        self.interval = interval
        self.count = max(1, workers or default_workers())
        # More processes than VUs would only idle.
        self.count = min(self.count, max(1, sum(max_vus(s.executor) for s in scenarios)))
        self.run_tags = run_tags
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self.conns: list[Connection] = []
        self.run_start: float | None = None
        self.wall_start: float | None = None
        self.failures: list[str] = []
        self._stop_sent: str | None = None

    def start(self) -> None:
        """Spawn the workers, wait until each is ready, then start them at one shared instant."""
        context = multiprocessing.get_context("spawn")
        for index in range(self.count):
            parent, child = context.Pipe(duplex=True)
            plan = WorkerPlan(
                index, self.count, self.scenarios, self.target, self.interval, self.run_tags
            )
            process = context.Process(
                target=worker_main, args=(plan, child), name=f"ccplate-worker-{index}", daemon=True
            )
            process.start()
            child.close()
            self.processes.append(process)
            self.conns.append(parent)
        waiting = set(range(self.count))
        deadline = time.monotonic() + _READY_TIMEOUT
        while waiting:
            ready = wait(
                [self.conns[i] for i in waiting], timeout=max(0.0, deadline - time.monotonic())
            )
            if not ready:
                self.close()
                raise WorkerFailure("worker processes did not start within 30 s")
            for conn in ready:
                index = self.conns.index(conn)  # type: ignore[arg-type]
                try:
                    message = conn.recv()  # type: ignore[union-attr]
                except EOFError:
                    self.close()
                    raise WorkerFailure(f"worker {index} exited while starting") from None
                if message[0] == "error":
                    self.close()
                    raise WorkerFailure(f"worker {index} failed to start:\n{message[2]}")
                waiting.discard(index)
        self.run_start = time.perf_counter() + _START_DELAY
        self.wall_start = time.time() + _START_DELAY
        for conn in self.conns:
            conn.send(("start", self.run_start))
        if self._stop_sent is not None:
            # stop() came while the workers were starting: repeat it to all of them now.
            graceful, self._stop_sent = self._stop_sent == "stop", None
            self.stop(graceful=graceful)

    def stop(self, *, graceful: bool = False) -> None:
        """Abort every worker now (in-flight iterations are interrupted), or with `graceful`
        start no new iteration and give running ones their gracefulStop. An abort may follow a
        graceful stop."""
        kind = "stop" if graceful else "abort"
        if self._stop_sent == "abort" or self._stop_sent == kind:
            return
        self._stop_sent = kind
        for conn in self.conns:
            with contextlib.suppress(OSError, ValueError):
                conn.send((kind,))

    def snapshots(self) -> Iterator[IntervalSnapshot]:
        """Merged snapshots, one per interval, until every worker is done."""
        assert self.run_start is not None and self.wall_start is not None
        live = {i: conn for i, conn in enumerate(self.conns)}
        pending: dict[int, list[tuple]] = {}
        finished: set[int] = set()
        while live:
            ready = wait(list(live.values()), timeout=1.0)
            for conn in ready:
                index = next(i for i, c in live.items() if c is conn)
                try:
                    message = conn.recv()  # type: ignore[union-attr]
                except (EOFError, OSError):
                    if index not in finished:
                        self.failures.append(f"worker {index} exited unexpectedly")
                    del live[index]
                    continue
                kind = message[0]
                if kind == "interval":
                    pending.setdefault(message[2], []).append(message)
                elif kind == "done":
                    finished.add(index)
                    del live[index]
                elif kind == "error":
                    self.failures.append(f"worker {index} failed:\n{message[2]}")
                    finished.add(index)
                    del live[index]
            # Interval k is complete once every worker still running has sent it; a worker that
            # finished sent its last interval before its `done`.
            for number in sorted(pending):
                have = {part[1] for part in pending[number]}
                if any(index not in have for index in live):
                    break
                yield self._merge(number, pending.pop(number))
        for number in sorted(pending):
            yield self._merge(number, pending.pop(number))

    def _merge(self, number: int, parts: list[tuple]) -> IntervalSnapshot:
        metrics = MetricSet()
        progress: dict[str, list[WorkerProgress]] = {}
        cpu = 0.0
        lag = 0.0
        notes: list[str] = []
        start = min(p[3] for p in parts)
        end = max(p[4] for p in parts)
        for _, _, _, _, _, part_metrics, part_progress, part_cpu, part_lag, part_notes in parts:
            metrics.combine(part_metrics)
            for item in part_progress:
                progress.setdefault(item.name, []).append(item)
            cpu = max(cpu, part_cpu)
            lag = max(lag, part_lag)
            notes.extend(part_notes)
        assert self.wall_start is not None
        return IntervalSnapshot(
            index=number,
            start=start,
            end=end,
            metrics=metrics,
            progress=tuple(
                self._progress(spec, progress.get(spec.name, []), end) for spec in self.scenarios
            ),
            health=WorkerHealth(workers=self.count, cpu_percent=cpu, loop_lag_ms=lag),
            wall_time=self.wall_start + end,
            notes=tuple(notes),
        )

    def _progress(
        self, spec: ScenarioSpec, parts: list[WorkerProgress], end: float
    ) -> ScenarioProgress:
        states = {p.state for p in parts}
        state = next(
            (s for s in ("running", "stopping", "waiting", "done") if s in states), "waiting"
        )
        started = [p.started_at for p in parts if p.started_at is not None]
        elapsed = 0.0
        if started and self.run_start is not None:
            elapsed = max(0.0, self.run_start + end - min(started))
        planned_iters = [p.iterations_planned for p in parts if p.iterations_planned is not None]
        stages = [p.stage for p in parts if p.stage is not None]
        return ScenarioProgress(
            name=spec.name,
            state=state,
            elapsed=min(elapsed, planned_duration(spec.executor) + spec.executor.graceful_stop),
            planned=planned_duration(spec.executor),
            active_vus=sum(p.active_vus for p in parts),
            max_vus=sum(p.allocated_vus for p in parts),
            iterations=sum(p.iterations for p in parts),
            interrupted=sum(p.interrupted for p in parts),
            dropped=sum(p.dropped for p in parts),
            stage=max(stages) if stages else None,
            iterations_planned=sum(planned_iters) if planned_iters else None,
        )

    def close(self, timeout: float = 5.0) -> None:
        """Stop and reap every worker; none is left behind."""
        self.stop()
        deadline = time.monotonic() + timeout
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in self.processes:
            if process.is_alive():
                process.terminate()
                process.join(2.0)
            if process.is_alive():
                process.kill()
                process.join(1.0)
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.close()
