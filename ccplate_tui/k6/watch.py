"""`watch k6 FILE`: follow an NDJSON file another k6 is writing, with LoadRun's shape.

`K6Watch` has the same `observers` / `run()` / `stop()` / `stopped` as `LoadRun` and `K6Run`,
so whatever drives a run (the dashboard's worker, the headless printer, the history recorder)
can drive a watch: it starts nothing and sends no traffic, it only reads the file.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ccplate_tui.config.model import Config, OptionsSpec, TargetSpec
from ccplate_tui.k6.ndjson_reader import K6RunEnded, follow_k6_ndjson
from ccplate_tui.load.engine import Observer, RunPlan
from ccplate_tui.load.results import RunResult

ENGINE_NAME = "k6"


def bare_config(path: Path, interval: float = 1.0) -> Config:
    """A config with no scenarios, for a watch without --config (results need one)."""
    return Config(
        path=str(path),
        target=TargetSpec(base_url="http://127.0.0.1"),
        options=OptionsSpec(interval=interval),
        scenarios={},
    )


class K6Watch:
    """Follows one k6 NDJSON file until stopped or, with `idle_end`, until it stops growing.

    With a `plan` the run is judged by its thresholds and progress shows its scenarios' plans;
    without one, by the thresholds the stream declares (k6 omits those set on submetrics).
    """

    engine = ENGINE_NAME

    def __init__(
        self,
        path: str | Path,
        *,
        config: Config | None = None,
        plan: RunPlan | None = None,
        interval: float | None = None,
        idle_end: float | None = None,
        observers: list[Observer] | None = None,
    ) -> None:
        if interval is not None and interval <= 0:
            raise ValueError(f"interval must be greater than 0, got {interval}")
        self.path = Path(path)
        self.interval = interval or (config.options.interval if config else 1.0)
        self.config = config or bare_config(self.path, self.interval)
        self.plan = plan or RunPlan((), ())
        self._stream_thresholds = plan is None
        self.idle_end = idle_end
        self.observers = list(observers or [])
        self.stopped: str | None = None
        self._stop = threading.Event()

    def stop(self, reason: str = "interrupted", *, graceful: bool = False) -> None:
        """Stop watching (thread-safe): what was written so far is read, then `run` returns.
        The k6 being watched is not ours and goes on."""
        if self.stopped is None:
            self.stopped = reason
        self._stop.set()

    def run(self) -> RunResult:
        """Follow the file, publishing a RunUpdate per interval; the result covers what was read.

        Raises K6NdjsonError for a line that is not k6 NDJSON."""
        end: K6RunEnded | None = None
        for item in follow_k6_ndjson(
            self.path,
            self.interval,
            self._stop,
            thresholds=None if self._stream_thresholds else self.plan.thresholds,
            scenarios=self.plan.scenarios,
            idle_end=self.idle_end,
        ):
            if isinstance(item, K6RunEnded):
                end = item
                break
            for observer in self.observers:
                observer(item)
        assert end is not None
        names = tuple(p.name for p in end.progress) or tuple(s.name for s in self.plan.scenarios)
        return RunResult(
            config=self.config,
            scenario_names=names,
            totals=end.totals,
            duration=end.elapsed,
            thresholds=end.thresholds,
            progress=end.progress,
            started_at=end.started_at,
            stopped=None if end.reason == "idle" else self.stopped,
            notes=list(end.notes),
        )
