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
from ccplate_tui.load.executors import max_vus, planned_duration, planned_vus
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.scenario_runner import insufficient_vus_note, insufficient_vus_scenario
from ccplate_tui.load.snapshot import IntervalSnapshot, ScenarioProgress, WorkerHealth
from ccplate_tui.load.worker import WorkerPlan, WorkerProgress, worker_main

_START_DELAY = 0.05
"""Seconds between the start message and the shared start time, so every worker starts together."""
_READY_TIMEOUT = 30.0


class WorkerFailure(RuntimeError):
    """A worker process crashed or could not start."""


class HostSampler:
    """The host's CPU use and load average, read on the coordinator once per interval.

    Never read by the workers: the hot path pays nothing for it. CPU use comes from psutil's
    cumulative CPU times (the difference since the previous reading, as `psutil.cpu_percent`
    computes it, but with its own mark so other callers of that function change nothing here).
    A host without these figures gives None, and the warnings that need them stay silent.
    """

    def __init__(self) -> None:
        self.cores = os.cpu_count() or None
        self._mark: tuple[float, float] | None = self._times()

    @staticmethod
    def _times() -> tuple[float, float] | None:
        """(busy, total) CPU seconds of the whole host since boot, or None where unknown."""
        try:
            import psutil

            times = psutil.cpu_times()
        except Exception:  # no psutil figures on this platform: the host stays unjudged
            return None
        total = sum(times)
        # Linux counts guest time inside user time already; iowait is idle (as psutil does).
        total -= getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
        idle = times.idle + getattr(times, "iowait", 0.0)
        return total - idle, total

    def read(self) -> tuple[float | None, float | None]:
        """(host CPU % since the previous reading, 1-minute load average)."""
        cpu = None
        now_times = self._times()
        if now_times is not None and self._mark is not None:
            busy = now_times[0] - self._mark[0]
            total = now_times[1] - self._mark[1]
            if total > 0:
                cpu = min(100.0, max(0.0, 100.0 * busy / total))
        if now_times is not None and (cpu is not None or self._mark is None):
            self._mark = now_times
        load = None
        try:
            import psutil

            load = float(psutil.getloadavg()[0])
        except Exception:  # no load average on this platform
            load = None
        return cpu, load


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
        self.count = min(self.count, max(1, planned_vus(scenarios)))
        self.run_tags = run_tags
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self.conns: list[Connection] = []
        self.run_start: float | None = None
        self.wall_start: float | None = None
        self.failures: list[str] = []
        self._stop_sent: str | None = None
        self.host: HostSampler | None = None
        self.target_demo: str | None = None
        """The demo target's version once a worker saw its `DEMO_HEADER` (sticky for the run)."""
        self._vus_capped: set[str] = set()
        """Scenarios whose `Insufficient VUs` warning this run has already given."""

    def start(self) -> None:
        """Spawn the workers, wait until each is ready, then start them at one shared instant."""
        context = multiprocessing.get_context("spawn")
        for index in range(self.count):
            parent, child = context.Pipe(duplex=True)
            plan = WorkerPlan(
                index,
                self.count,
                self.scenarios,
                self.target,
                self.interval,
                self.run_tags,
                owner_pid=os.getpid(),
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
        self.host = HostSampler()  # from here on, each interval's host CPU is its own
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
        """One snapshot from every worker's `interval` message for interval `number`.

        A message is `("interval", index, number, start, end, metrics, progress, cpu, lag_ms,
        notes[, demo])`: `demo`, the demo target's version once the worker saw `DEMO_HEADER`, is
        read when present, so a worker that does not send it yet changes nothing else.
        """
        metrics = MetricSet()
        progress: dict[str, list[WorkerProgress]] = {}
        cpu = 0.0
        cpu_total = 0.0
        lag = 0.0
        notes: list[str] = []
        start = min(p[3] for p in parts)
        end = max(p[4] for p in parts)
        for part in parts:
            part_metrics, part_progress, part_cpu, part_lag, part_notes = part[5:10]
            metrics.combine(part_metrics)
            for item in part_progress:
                progress.setdefault(item.name, []).append(item)
            cpu = max(cpu, part_cpu)
            cpu_total += part_cpu
            lag = max(lag, part_lag)
            notes.extend(self._worker_notes(part_notes))
            if len(part) > 10 and part[10] and self.target_demo is None:
                self.target_demo = str(part[10])
        host_cpu, host_load = self.host.read() if self.host is not None else (None, None)
        assert self.wall_start is not None
        return IntervalSnapshot(
            index=number,
            start=start,
            end=end,
            metrics=metrics,
            progress=tuple(
                self._progress(spec, progress.get(spec.name, []), end) for spec in self.scenarios
            ),
            health=WorkerHealth(
                workers=self.count,
                cpu_percent=cpu,
                loop_lag_ms=lag,
                cpu_total_percent=cpu_total,
                host_cpu_percent=host_cpu,
                host_load_1m=host_load,
                host_cores=self.host.cores if self.host is not None else None,
            ),
            wall_time=self.wall_start + end,
            notes=tuple(notes),
            target_demo=self.target_demo,
        )

    def _worker_notes(self, notes: list[str]) -> list[str]:
        """A worker's notes as the run reports them: each worker warns `Insufficient VUs` for its
        own share of a scenario; the run says it once per scenario, with the scenario's total
        (its maxVUs, which the workers' shares add up to), as k6 does."""
        kept = []
        specs = {spec.name: spec for spec in self.scenarios}
        for note in notes:
            name = insufficient_vus_scenario(note)
            if name is None or name not in specs:
                kept.append(note)
            elif name not in self._vus_capped:
                self._vus_capped.add(name)
                kept.append(insufficient_vus_note(name, max_vus(specs[name].executor)))
        return kept

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
