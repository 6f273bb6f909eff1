"""The dashboard: tabs, bindings, themes, the demo target, and the one load run it owns or follows.

The engine runs in a thread worker (its traffic in worker processes); widgets are only touched
from message handlers on the app, never from a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import multiprocessing.resource_tracker
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Header, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.model import Config, TargetSpec
from ccplate_tui.history.fault_notes import FaultNotes
from ccplate_tui.load.capacity import CapacityError
from ccplate_tui.load.engine import LoadRun, RunPlan, UnknownScenario, resolve_plan
from ccplate_tui.load.live import LiveView, build_live_view
from ccplate_tui.load.pool import WorkerFailure
from ccplate_tui.load.reachability import connect_error
from ccplate_tui.load.results import RunResult, stopped_text
from ccplate_tui.load.run_records import RunRecord, latest_run, record_from_result, record_run
from ccplate_tui.load.run_registry import (
    RegistryError,
    RunClaim,
    RunEnded,
    RunInfo,
    RunRegistry,
    default_state_dir,
)
from ccplate_tui.load.summary import render_summary
from ccplate_tui.load.summary_export import summary_export
from ccplate_tui.loopback import RemoteTargetRefused, check_target, is_loopback_url
from ccplate_tui.masking import mask_secrets
from ccplate_tui.release.criteria import evaluate_release
from ccplate_tui.release.inputs import runs_on_record, sentry_wiring
from ccplate_tui.release.plan_measures import plan_measures
from ccplate_tui.target.server import start_target_process, stop_target_process
from ccplate_tui.ui.checklist_actions import ChecklistActions
from ccplate_tui.ui.checklist_pane import ChecklistPane
from ccplate_tui.ui.commands import DashboardCommands
from ccplate_tui.ui.history_actions import HistoryActions
from ccplate_tui.ui.load_pane import LoadPane
from ccplate_tui.ui.messages import (
    DemoTargetChecked,
    FollowedRunEnded,
    LoadViewUpdated,
    RunFailed,
    RunFinished,
    RunStarted,
)
from ccplate_tui.ui.overview_pane import OverviewPane
from ccplate_tui.ui.screens.quit_confirm import QuitConfirmScreen
from ccplate_tui.ui.sentry_actions import SentryActions
from ccplate_tui.ui.sentry_pane import SentryPane
from ccplate_tui.ui.themes import DEFAULT_THEME, ThemeProblem, load_themes, theme_folders
from ccplate_tui.ui.widgets.dashboard_footer import DashboardFooter

DEFAULT_TARGET_URL = TargetSpec().base_url
"""The demo target's address; only a config pointing here gets the target auto-started."""
PROBE_TIMEOUT = 0.5
"""Seconds a TCP connect may take before the demo target counts as not running."""
STOP_WAIT = 30.0
"""Seconds to wait for the engine to reap its workers after a stop (it kills them after ~8 s)."""

_KNOWN_ERRORS = (
    UnknownScenario,
    RemoteTargetRefused,
    WorkerFailure,
    ConfigError,
    RegistryError,
    CapacityError,
)


def target_answers(base_url: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """True when something accepts a TCP connection at the URL's host and port."""
    return connect_error(base_url, timeout) is None


def is_default_target(base_url: str) -> bool:
    """True for the demo target's default address (a trailing slash does not matter)."""
    return base_url.rstrip("/") == DEFAULT_TARGET_URL


def target_down_message(base_url: str) -> str:
    """Why a run did not start when nothing answers at the target, and what to do."""
    text = f"nothing answers at {base_url}: the target is down, so the run was not started."
    if is_default_target(base_url):
        return text + " Start it with `ccplate-tui target`, or restart the dashboard to start it."
    if is_loopback_url(base_url):
        return text + " Start the app (or `ccplate-tui target --port N`) and try again."
    return text + " Check that the app is up and reachable from here."


GC_THRESHOLDS = (10_000, 10, 50)
"""With Python's (700, 10, 10) a full collection froze the UI 150-250 ms every ~1.5 s of a
full-speed run (Textual keeps many frame objects in caches); with these and `gc.freeze()` of
the start-up objects the longest stall was ~70 ms (benchmarks/ui_latency.py)."""


Judged = LiveView | RunResult | RunRecord | None
"""What the verdict judges the load on: this app's live or finished run, or a recorded one."""


def registry_owner() -> str:
    """Who this app is to other viewers of a run: a browser tab under textual-serve or a terminal."""
    return "browser" if "web_driver" in os.environ.get("TEXTUAL_DRIVER", "") else "terminal"


def dashboard_name() -> str:
    """This dashboard as a run's stop cause names it: `the dashboard (browser, pid 4242)`."""
    return f"the dashboard ({registry_owner()}, pid {os.getpid()})"


EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Signals that end a terminal dashboard the way ctrl+q does (its run stopped and recorded);
under `serve` the web driver handles them and says which one it was. (Ctrl+C is a key here.)"""


def closing_cause(reason: str | None) -> str:
    """The stop cause of a run whose dashboard closes without ctrl+q: `reason` is the driver's
    or a signal's (`SIGTERM`, `the browser tab closed`), None when unknown."""
    name = dashboard_name()
    if reason is None:
        return f"aborted as {name} closed"
    if reason.startswith("SIG"):
        return f"aborted by {reason} to {name}"
    return f"aborted as {name} closed: {reason}"


class CcplateApp(HistoryActions, ChecklistActions, SentryActions, App[int]):
    """The ccplate-tui dashboard (the history's, the Sentry checks' and the checklist's wiring
    are mixins)."""

    CSS_PATH = "app.tcss"
    TITLE = "ccplate-tui"
    COMMANDS = App.COMMANDS | {DashboardCommands}
    TAB_TITLES: ClassVar[dict[str, str]] = {
        "overview-tab": "Overview",
        "load-tab": "Load",
        "sentry-tab": "Sentry",
        "checklist-tab": "Checklist",
    }
    """TabPane ids and titles, in tab order."""
    # Responsive layout: each screen gets one width class and one height class, for the tabs'
    # CSS (`Screen.-narrow ...`): -narrow under 100 columns, -wide from 160; -short under 30 rows.
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [
        (0, "-narrow"),
        (100, "-medium"),
        (160, "-wide"),
    ]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-short"), (30, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show_tab('overview-tab')", "Overview", tooltip="Show the Overview tab"),
        Binding("2", "show_tab('load-tab')", "Load", tooltip="Show the Load tab"),
        Binding("3", "show_tab('sentry-tab')", "Sentry", tooltip="Show the Sentry tab"),
        Binding("4", "show_tab('checklist-tab')", "Checklist", tooltip="Show the Checklist tab"),
        # Start/stop from any tab; not in the footer, where the Load tab shows its own s / x.
        Binding("ctrl+r", "start_selected", "Start", show=False, tooltip="Start the selected run"),
        Binding("ctrl+x", "stop_run", "Stop", show=False, tooltip="Stop the active load run"),
        # priority: dialogs (modal screens) stop the app's other keys; a screenshot still works
        Binding(
            "ctrl+s", "screenshot", "Screenshot", tooltip="Save an SVG screenshot", priority=True
        ),
        Binding("ctrl+q", "quit", "Quit", tooltip="Quit (asks during a run)", priority=True),
        *HistoryActions.HISTORY_BINDINGS,
    ]

    def __init__(
        self,
        config: Config,
        *,
        theme: str | None = None,
        run: tuple[str, ...] = (),
        workers: int | None = None,
        state_dir: Path | None = None,
        auto_start_target: bool = True,
        time_scale: float = 1.0,
        operator: str | None = None,
        watch: Path | None = None,
        watch_plan: RunPlan | None = None,
        engine: str = "built-in",
    ) -> None:
        """`watch`: follow this k6 NDJSON file instead of running load (judged by `watch_plan`,
        else by the thresholds the stream declares). `engine`: `built-in`, or `k6` to run the
        exported scenario with the local k6 binary (same snapshots, same panes)."""
        super().__init__()
        self.engine = engine
        # multiprocessing starts its resource tracker on first use with `sys.stderr.fileno()`;
        # inside a running app that is -1 and the engine's spawn fails ("bad value(s) in
        # fds_to_keep"), so start it now, while stderr is the real one.
        multiprocessing.resource_tracker.ensure_running()
        self.config = config
        """The validated scenarios.toml."""
        self.engine_workers = workers
        self.time_scale = time_scale
        """The `--time-scale` already applied to `config`; kept for the run records."""
        """Engine worker processes per run (None: one per core)."""
        self.initial_run = run
        """Scenario or suite names to start on mount (`--run`)."""
        self.state_dir = state_dir or default_state_dir(config.path)
        """Where the run registry, screenshots and saved summaries live."""
        self.registry = RunRegistry(self.state_dir)
        self.auto_start_target = auto_start_target
        self.target_process: subprocess.Popen[str] | None = None
        """The demo target this app started (stopped on exit), else None."""
        self.demo_target_url: str | None = None
        self.startup_problems: list[str] = []
        """Theme and option problems, shown as notifications once the app is up."""
        self.last_result: RunResult | None = None
        self.last_view: LiveView | None = None
        self.following: RunInfo | None = None
        """Another process's run this app is showing, while it lasts."""
        self.last_screenshot: Path | None = None
        self.last_summary: Path | None = None
        self._target_checked = threading.Event()
        self._run_lock = threading.Lock()
        self._load_run: LoadRun | None = None
        self._run_names: tuple[str, ...] = ()
        self._stop_requested = False
        self._stop_aborts = False
        self._stop_cause: str | None = None
        """Who or what stopped this app's run (`stopped from the dashboard (terminal, pid 42)`)."""
        self._exit_reason: str | None = None
        """The signal that is ending this app (its handler's), for the run's stop cause."""
        self._caught_signals: list[int] = []
        self._owns_run = False
        self._run_done = threading.Event()
        """Clear while the engine thread runs; set once it has reaped everything."""
        self._run_done.set()
        self._follow_stop = threading.Event()
        self._follow_done = threading.Event()
        self._follow_done.set()
        self._gc_before: tuple[int, ...] | None = None
        self._verdict_inputs: tuple[Judged, bool | None] = (None, None)
        """The load run the Overview verdict was last judged on (and its `running`)."""
        self._last_complete: RunRecord | None = None
        """The newest run that finished as planned: judged while a later one runs or was cut short."""
        self._verdict_run_id: str | None = None
        """The history id of this app's latest run (its recorder is gone when the run ends)."""
        self._sentry_init()
        self._history_init(watch, watch_plan)
        self._checklist_init(operator)  # who acts: `--as NAME`, else the OS user
        # Themes go in before the first CSS parse (see textual-notes: theme registration).
        self._register_themes(theme)
        self.sub_title = self._subtitle()

    def _say(self, text: str, **options: object) -> None:
        """A notification of plain text: paths and error messages hold brackets, not markup."""
        self.notify(text, markup=False, **options)  # type: ignore[arg-type]

    # -- themes

    def _register_themes(self, wanted: str | None) -> None:
        loaded = load_themes(theme_folders(self.config.path))
        self.theme_problems: tuple[ThemeProblem, ...] = loaded.problems
        for problem in loaded.problems:
            self.startup_problems.append(f"theme skipped: {problem}")
        for theme in loaded.themes.values():
            self.register_theme(theme)
        fallback = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        if wanted and wanted not in self.available_themes:
            known = ", ".join(sorted(self.available_themes))
            self.startup_problems.append(
                f"unknown theme {wanted!r}; using {fallback} (known: {known})"
            )
            wanted = None
        self.theme = wanted or fallback

    def set_theme(self, name: str) -> None:
        """Switch to a registered theme; an unknown name is a notification, not an error."""
        if name not in self.available_themes:
            self._say(f"unknown theme {name!r}", severity="error")
            return
        self.theme = name

    # -- layout

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="overview-tab", id="tabs"):
            with TabPane(self.TAB_TITLES["overview-tab"], id="overview-tab"):
                yield OverviewPane(id="overview")
            with TabPane(self.TAB_TITLES["load-tab"], id="load-tab"):
                yield LoadPane(self.config, id="load")
            with TabPane(self.TAB_TITLES["sentry-tab"], id="sentry-tab"):
                yield SentryPane(id="sentry")
            with TabPane(self.TAB_TITLES["checklist-tab"], id="checklist-tab"):
                yield ChecklistPane(self.config, operator=self.operator, id="checklist")
        yield DashboardFooter()  # compact, tab keys first, on a narrow terminal

    @property
    def load_pane(self) -> LoadPane:
        return self.query_one("#load", LoadPane)

    @property
    def overview_pane(self) -> OverviewPane:
        return self.query_one("#overview", OverviewPane)

    def on_mount(self) -> None:
        for problem in self.startup_problems:
            self._say(problem, severity="warning", timeout=10)
        self.load_pane.set_visible(False)
        self._checklist_mount()  # the checklist's state before the first verdict
        # No run in this app yet: judge the latest recorded one, as `ccplate-tui verdict` does.
        self._last_complete = runs_on_record(self.state_dir).last_complete
        self._show_verdict(latest_run(self.state_dir))
        self._check_demo_target()
        self._sentry_mount()  # stored results now; the check after the demo-target check
        if self.watch_path is not None:
            self._start_watch()
        # A run started elsewhere (another terminal, a browser tab) is shown, not duplicated.
        self._attach_to_current_run()
        self.set_interval(1.0, self._attach_to_current_run)
        self._catch_exit_signals()
        if self.initial_run:
            self.show_tab("load-tab")
            self.start_run(self.initial_run)
        self.call_after_refresh(self._tune_gc)

    def _tune_gc(self) -> None:
        # See GC_THRESHOLDS; restored in on_unmount (tests run many apps in one process).
        self._gc_before = gc.get_threshold()
        gc.collect()
        gc.freeze()  # the widgets, styles and modules of start-up are never garbage
        gc.set_threshold(*GC_THRESHOLDS)

    def _subtitle(self) -> str:
        parts = [mask_secrets(self.config.target.base_url), self.engine_label()]
        if self.demo_target_url:
            parts.append(f"demo target started on {self.demo_target_url}")
        return " · ".join(parts)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        mine = self._history_check_action(action)
        return super().check_action(action, parameters) if mine is None else mine

    def show_tab(self, tab_id: str) -> None:
        """Switch to a tab by its pane id (`overview-tab`, `load-tab`, ...)."""
        self.query_one("#tabs", TabbedContent).active = tab_id

    action_show_tab = show_tab

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # Plots in a hidden tab are not redrawn; the Load pane redraws once when shown again.
        shown = event.pane.id == "load-tab"
        self.load_pane.set_visible(shown)
        if shown:  # the pane's own keys (s start, x stop, v view) work right away
            self.load_pane.focus_scenarios()
        elif event.pane.id == "sentry-tab":  # and c check, o offline, v send a test error
            self.sentry_pane.focus()
        elif event.pane.id == "checklist-tab":  # r run, t tick, n note, a approve, o override
            self.checklist_pane.focus()

    # -- the release verdict

    def _show_verdict(self, load: Judged, running: bool | None = None) -> None:
        """Judge the release on `load`, the latest Sentry checks and the checklist, and remember
        `load` so a Sentry check or a checklist change can judge it again."""
        self._verdict_inputs = (load, running)
        if self.recorder is not None:
            self._verdict_run_id = self.recorder.run_id
        run_id = None if isinstance(load, RunRecord) else self._verdict_run_id
        if isinstance(load, RunResult) and load.stopped is None and running is not True:
            load = record_from_result(
                load, self._run_names, run_id=run_id, time_scale=self.time_scale
            )
        if isinstance(load, RunRecord) and load.stopped is None and running is not True:
            self._last_complete = load
        verdict = evaluate_release(
            load,
            sentry=self.sentry_capture,
            checklist=self.checklist_progress,
            running=running,
            run_id=run_id,
            time_scale=self.time_scale,
            last_complete=self._last_complete,
            wiring=sentry_wiring(self.state_dir),
            measures=plan_measures(self.state_dir, self._last_complete, self.config.checklist),
        )
        self.overview_pane.show_verdict(verdict)

    def refresh_verdict(self) -> None:
        """Judge again on the same load run (after a Sentry check or a checklist change)."""
        self._show_verdict(*self._verdict_inputs)

    # -- the demo target

    @work(thread=True, exclusive=True, group="target", exit_on_error=False)
    def _check_demo_target(self) -> None:
        """Start the demo target when the config wants the default one and nothing answers."""
        try:
            base_url = self.config.target.base_url
            if not (self.auto_start_target and is_default_target(base_url)):
                return
            if target_answers(base_url):
                return
            port = urlsplit(base_url).port or 8787
            try:
                proc, url = start_target_process(port=port)
            except Exception as exc:
                self.post_message(
                    DemoTargetChecked(None, f"could not start the demo target: {exc}")
                )
                return
            self.target_process = proc
            self.post_message(DemoTargetChecked(url))
        finally:
            self._target_checked.set()

    def on_demo_target_checked(self, message: DemoTargetChecked) -> None:
        if message.error:
            self._say(message.error, severity="error", timeout=10)
        if message.url:
            self.demo_target_url = message.url
            self.sub_title = self._subtitle()
            self._say(f"demo target started on {message.url}")

    def stop_demo_target(self) -> None:
        """Stop the demo target this app started (idempotent)."""
        proc, self.target_process = self.target_process, None
        if proc is not None:
            stop_target_process(proc)

    # -- starting and stopping runs

    @property
    def run_active(self) -> bool:
        """True from starting a run until the app has handled its end (RunFinished/RunFailed)."""
        return self._owns_run

    def action_start_selected(self) -> None:
        names = tuple(getattr(self.load_pane, "selected_names", ()) or ())
        if not names:
            self._say("select a scenario on the Load tab first", severity="warning")
            return
        self.start_run(names)

    def on_load_pane_start_requested(self, message: LoadPane.StartRequested) -> None:
        self.start_run(tuple(message.names))

    def on_load_pane_stop_requested(self, message: LoadPane.StopRequested) -> None:
        self.stop_run()

    def on_load_pane_abort_requested(self, message: LoadPane.AbortRequested) -> None:
        self.abort_run()

    def on_load_pane_save_summary_requested(self, message: LoadPane.SaveSummaryRequested) -> None:
        self.save_summary()

    def start_run(self, names: tuple[str, ...]) -> None:
        """Claim the state folder's run and start the engine, or follow the run that holds it."""
        names = tuple(names)
        if self._watch_refusal():
            return
        if self.run_active or not self._run_done.is_set():
            # (The second: the last run's thread is in its final microseconds after reporting.)
            self._say(
                f"a run of {', '.join(self._run_names)} is already active", severity="warning"
            )
            return
        if self.following is not None:
            self._tell_whose_run(self.following)
            return
        try:
            plan = resolve_plan(self.config, names)
        except UnknownScenario as exc:
            self.post_message(RunFailed(str(exc)))
            return
        try:
            claim = self.registry.claim(names, registry_owner())
        except RegistryError as exc:
            self.post_message(RunFailed(str(exc)))
            return
        if claim is None:
            info = self.registry.current()
            if info is not None:
                self._follow(info)
                return
            claim = self.registry.claim(names, registry_owner())  # the owner just finished
            if claim is None:
                self.post_message(RunFailed("another process holds the run; try again"))
                return
        for note in claim.notes:
            self._say(note, severity="warning")
        self._run_names = names
        self._stop_requested = False
        self._stop_aborts = False
        self._stop_cause = None
        self._run_done.clear()
        self._owns_run = True
        self.last_result = None
        self.close_replay()
        self.load_pane.set_running(True, names)
        self._load_baseline(tuple(dict.fromkeys([*names, *(s.name for s in plan.scenarios)])))
        self._run_load(plan, claim)

    def abort_run(self) -> None:
        """Abort the run this app owns: running iterations are interrupted at once."""
        self.stop_run(abort=True)

    action_abort_run = abort_run

    def stop_run(self, abort: bool = False) -> None:
        """Stop the run this app owns (running iterations get their gracefulStop; `abort`
        interrupts them); a followed run can only be stopped where it runs."""
        if self._watch_refusal():
            return
        if self.following is not None and not self.run_active:
            # Not ours to stop: the pane keeps showing it running, with where to stop it.
            text = self._tell_whose_run(self.following, stopping=True)
            self.load_pane.refuse_stop(text)
            return
        if not self.run_active:
            self._say("no run is active", severity="warning")
            return
        cause = f"{'aborted' if abort else 'stopped'} from {dashboard_name()}"
        self._annotate_stop(abort, cause)
        self._request_stop(abort, cause)
        self.load_pane.set_stopping()
        verb = "aborting" if abort else "stopping"
        self._say(f"{verb} {', '.join(self._run_names)}")

    action_stop_run = stop_run

    def _request_stop(self, abort: bool = False, cause: str | None = None) -> None:
        """Stop the owned run; the first `cause` stands, except that an abort after a graceful
        stop replaces it (running iterations were interrupted after all)."""
        with self._run_lock:
            if cause is not None and (
                self._stop_cause is None or (abort and not self._stop_aborts)
            ):
                self._stop_cause = cause
            self._stop_requested = True
            self._stop_aborts = self._stop_aborts or abort
            run = self._load_run
        # Before the pool has spawned every worker a stop would miss the late ones; the
        # observer repeats it at the first interval instead.
        pool = getattr(run, "pool", None)  # k6 has no pool: it can be stopped at any time
        if run is not None and (pool is None or pool.run_start is not None):
            run.stop(graceful=not self._stop_aborts, cause=self._stop_cause)

    def _new_run(self, plan: RunPlan, baselines: dict[str, float]) -> LoadRun:
        """The engine for a run: the built-in one, or k6 running the exported scenario."""
        if self.engine == "k6":
            from ccplate_tui.k6.runner import K6Run

            return K6Run(self.config, plan, baselines=baselines)  # type: ignore[return-value]
        return LoadRun(self.config, plan, workers=self.engine_workers, baselines=baselines)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False, name="load-run")
    def _run_load(self, plan: RunPlan, claim: RunClaim) -> None:
        """The engine's coordinator: blocking `LoadRun.run()` in this thread, results as messages."""
        summary, ok, stopped = "", False, ""
        final: RunFinished | RunFailed | None = None
        try:
            self._target_checked.wait(STOP_WAIT + 10)  # a starting demo target gets ready first
            base_url = self.config.target.base_url
            # Remote targets are refused before anything is recorded (LoadRun checks again).
            check_target(base_url, allow_remote=self.config.target.allow_remote)
            if not target_answers(base_url, timeout=2.0):
                summary = target_down_message(base_url)
                final = RunFailed(summary)
                return
            recorder, baselines = self._begin_history(plan, self._run_names)
            run = self._new_run(plan, baselines)
            if recorder is not None:
                run.observers.append(recorder)  # first: the interval is stored before it is shown
                run.observers.append(
                    FaultNotes(
                        recorder,
                        self.config.target.base_url,
                        started_demo=self.target_process is not None,
                    )
                )

            def observe(update: object) -> None:
                view = build_live_view(update, plan.scenarios)  # type: ignore[arg-type]
                with contextlib.suppress(OSError, RuntimeError):
                    claim.publish(view)  # followers are best effort; this run goes on
                if self._stop_requested:
                    run.stop(graceful=not self._stop_aborts, cause=self._stop_cause)
                self.post_message(LoadViewUpdated(view))

            run.observers.append(observe)
            with self._run_lock:
                if self._stop_requested:
                    summary = "the run was stopped before it started"
                    final = RunFailed(summary)
                    return
                self._load_run = run
            self.post_message(RunStarted(tuple(s.name for s in plan.scenarios)))
            result = run.run()
            summary = render_summary(result)
            ok = not result.thresholds_failed and result.stopped is None
            stopped = stopped_text(result)
            self._record_run(result, claim)
            final = RunFinished(result)
        except _KNOWN_ERRORS as exc:
            summary = str(exc)
            final = RunFailed(summary)
        except Exception as exc:  # the app must survive anything the engine raises
            summary = f"the run failed: {type(exc).__name__}: {exc}"
            final = RunFailed(summary)
        finally:
            # The folder is free before the app hears of the end: a next run can claim it.
            with contextlib.suppress(Exception):
                claim.finish(summary, ok, stopped)
            with contextlib.suppress(Exception):
                claim.release()
            with self._run_lock:
                self._load_run = None
            with contextlib.suppress(Exception):
                self._end_history(summary)
            if final is not None:
                self.post_message(final)
            self._run_done.set()

    def _record_run(self, result: RunResult, claim: RunClaim) -> None:
        """Leave the run's record for the verdict, the checklist's load steps and the history."""
        if self._finish_history(result):
            return
        try:
            run_id = self.recorder.run_id if self.recorder is not None else claim.info.run_id
            record = record_from_result(
                result, self._run_names, run_id=run_id, time_scale=self.time_scale
            )
            record_run(self.state_dir, record)
        except Exception as exc:  # a full disk must not turn a finished run into a failed one
            self.call_from_thread(
                self._say,
                f"could not record the run in {self.state_dir}: {exc}",
                severity="warning",
            )

    def on_load_view_updated(self, message: LoadViewUpdated) -> None:
        self.last_view = message.view
        with self.batch_update():
            self.load_pane.show_view(message.view)
            self._show_verdict(message.view)

    def on_run_finished(self, message: RunFinished) -> None:
        self._owns_run = False
        self.last_result = message.result
        with self.batch_update():
            self.load_pane.set_running(False)
            self.load_pane.show_result(message.result)
            self._show_verdict(message.result)
        outcome = message.result.stop_cause or message.result.stopped or "finished"
        failed = message.result.thresholds_failed
        self._say(
            f"run {outcome}" + (": thresholds crossed" if failed else ""),
            severity="warning" if failed or message.result.stopped else "information",
        )

    def on_run_failed(self, message: RunFailed) -> None:
        self._owns_run = False
        self.load_pane.set_running(False)
        self.load_pane.show_error(message.text)
        self._say(message.text, title="load run failed", severity="error", timeout=10)

    # -- following another process's run

    def _attach_to_current_run(self) -> None:
        if self.run_active or self.following is not None or self.watch_path is not None:
            return
        try:
            info = self.registry.current()
        except RegistryError:
            return  # start_run reports an unusable state folder when it matters
        if info is not None and info.pid != os.getpid():
            self._follow(info)

    def _follow(self, info: RunInfo) -> None:
        self.following = info
        self._follow_stop.clear()
        self._follow_done.clear()
        self.load_pane.set_running(True, info.names, owner=f"{info.owner} (pid {info.pid})")
        self._tell_whose_run(info)
        self._follow_run(info)

    def _tell_whose_run(self, info: RunInfo, stopping: bool = False) -> str:
        """Say whose run `info` is (and, for a refused stop, where to stop it); returns the text."""
        what = ", ".join(info.names) or "all scenarios"
        text = f"the run of {what} belongs to {info.owner} (pid {info.pid}); "
        text += "stop it there" if stopping else "showing it here"
        self._say(text, severity="warning" if stopping else "information")
        return text

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False, name="follow-run")
    def _follow_run(self, info: RunInfo) -> None:
        try:
            for item in self.registry.follow(info, stop=self._follow_stop):
                if isinstance(item, RunEnded):
                    self.post_message(FollowedRunEnded(item))
                    return
                self.post_message(LoadViewUpdated(item))
            self.post_message(FollowedRunEnded(RunEnded(info.run_id, False, "", reason="stopped")))
        except Exception as exc:
            text = f"lost the run of {info.owner}: {exc}"
            self.post_message(FollowedRunEnded(RunEnded(info.run_id, False, "", True, text)))
        finally:
            self._follow_done.set()

    def on_followed_run_ended(self, message: FollowedRunEnded) -> None:
        info, self.following = self.following, None
        ended = message.ended
        self.load_pane.set_running(False)
        if ended.summary:  # the owner's summary (or its error): there is no RunResult here
            self.load_pane.show_summary_text(ended.summary, ok=ended.ok, stopped=ended.stopped)
        elif ended.lost or not ended.ok:
            self.load_pane.show_error(ended.reason or "the run ended without a result")
        if self.last_view is not None:
            self._show_verdict(self.last_view, running=False)
        owner = info.owner if info else "another process"
        how = f": {ended.stopped}" if ended.stopped else ""
        self._say(
            f"the run of {owner} ended{how}" + ("" if ended.ok else " (not ok)"),
            severity="information" if ended.ok else "warning",
        )

    # -- exports

    def action_screenshot(self) -> None:
        """Save an SVG of the screen into the state folder and say where."""
        folder = self.state_dir / "screenshots"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = self.save_screenshot(path=str(folder))
        except OSError as exc:
            self._say(f"could not save the screenshot: {exc}", severity="error")
            return
        self.last_screenshot = Path(path)
        self._say(f"screenshot saved to {path}", title="screenshot")

    def save_summary(self) -> None:
        """Write the last run's summary text and its k6 JSON export into the state folder."""
        result = self.last_result
        if result is None:
            self._say("no finished run to save yet", severity="warning")
            return
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(result.started_at))
        base = self.state_dir / "summaries" / f"{'+'.join(result.scenario_names) or 'run'}-{stamp}"
        try:
            base.parent.mkdir(parents=True, exist_ok=True)
            base.with_suffix(".txt").write_text(render_summary(result) + "\n", encoding="utf-8")
            base.with_suffix(".json").write_text(
                json.dumps(summary_export(result), indent=2) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            self._say(f"could not save the summary: {exc}", severity="error")
            return
        self.last_summary = base.with_suffix(".txt")
        self._say(f"summary saved to {base}.txt (and .json)", title="summary")

    # -- quitting

    async def action_quit(self) -> None:
        """Quit; while this app's run is active, ask first and stop it on yes."""
        if not self.run_active:
            self.exit(0)
            return
        if isinstance(self.screen, QuitConfirmScreen):
            return
        what = ", ".join(self._run_names)
        self.push_screen(
            QuitConfirmScreen(f"A load run of {what} is active. Stop it and quit?"),
            callback=self._quit_answered,
        )

    def _quit_answered(self, yes: bool | None) -> None:
        if not yes:
            return
        self._say("stopping the run and its workers…")
        # A worker, so the UI keeps drawing while the engine reaps its processes.
        self.run_worker(self._stop_then_exit(), group="quit", exclusive=True)

    async def _stop_then_exit(self) -> None:
        await self.stop_and_wait()
        self.exit(0)

    async def stop_and_wait(self, timeout: float = STOP_WAIT, cause: str | None = None) -> bool:
        """Stop the owned run (saying `cause`, by default that this dashboard quit) and any
        follower; True when the engine thread ended in time."""
        self._follow_stop.set()
        if not self._run_done.is_set():
            cause = cause or f"stopped on quitting {dashboard_name()}"
            self._annotate_stop(False, cause)
            self._request_stop(cause=cause)
        done = await asyncio.to_thread(self._run_done.wait, timeout)
        await asyncio.to_thread(self._follow_done.wait, 2.0)
        return done

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The workers catch their own errors; this is the net for a bug in the app's code.
        if event.state == WorkerState.ERROR:
            self._say(f"{event.worker.name} failed: {event.worker.error}", severity="error")

    def _catch_exit_signals(self) -> None:
        """End a terminal dashboard on SIGTERM or SIGHUP as ctrl+q would, without asking: by
        default they would kill it before its run was stopped and recorded."""
        if self.is_web:  # the web driver catches them itself (and keeps which one it was)
            return
        loop = asyncio.get_running_loop()
        for sig in EXIT_SIGNALS:
            # Not the main thread, or no signals here: the default stays.
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                loop.add_signal_handler(sig, self._exit_on_signal, sig)
                self._caught_signals.append(sig)

    def _exit_on_signal(self, sig: int) -> None:
        if self._exit_reason is None:
            self._exit_reason = signal.Signals(sig).name
        self.exit(128 + sig, return_code=128 + sig)

    def _closing_cause(self) -> str:
        """Why the run stops as this app closes: a signal, or the served tab's reason."""
        # DashboardWebDriver (under `serve`) keeps the reason it asked the app to exit for.
        reason = self._exit_reason or getattr(self._driver, "exit_reason", None)
        return closing_cause(reason if isinstance(reason, str) else None)

    def on_unmount(self) -> None:
        # However the app ends (quit, ctrl+c, a test leaving run_test), no run keeps going,
        # no worker process and no demo target is left behind.
        self._follow_stop.set()
        self._history_unmount()
        self.cancel_checklist_steps()  # each records `cancelled` before the app is gone
        if not self._run_done.is_set():
            # Closing without ctrl+q (a signal, a closed tab): abort, so the run is ended and
            # recorded well before the served app's own exit deadline.
            cause = self._closing_cause()
            self._annotate_stop(True, cause)
            self._request_stop(abort=True, cause=cause)
            self._run_done.wait(STOP_WAIT)
        loop = asyncio.get_running_loop()
        for sig in self._caught_signals:
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)
        self.stop_demo_target()
        if self._gc_before is not None:
            gc.set_threshold(*self._gc_before)
            gc.unfreeze()
