"""CcplateApp's run history: recording its runs, the baseline beside a run, replaying a recorded
run, and watching a k6 NDJSON file (`ccplate-tui watch k6 FILE`).

The engine thread records (the recorder is an engine observer); baselines, replays and the watch
are read in thread workers that post messages; the handlers here update the Load pane.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message

from ccplate_tui.config.model import Config
from ccplate_tui.history.baselines import baseline_runs, resolve_baseline_details
from ccplate_tui.history.capture import record_run_capture
from ccplate_tui.history.legacy import open_history
from ccplate_tui.history.overlay import BaselineOverlay, baseline_overlay
from ccplate_tui.history.recorder import HistoryRecorder
from ccplate_tui.history.replay import replay
from ccplate_tui.k6.watch import K6Watch
from ccplate_tui.load.engine import RunPlan, UnknownScenario, resolve_plan
from ccplate_tui.load.live import LiveView, build_live_view
from ccplate_tui.load.results import RunResult
from ccplate_tui.ui.messages import LoadViewUpdated, RunFailed, RunFinished
from ccplate_tui.ui.screens.history_screen import HistoryScreen

if TYPE_CHECKING:
    from ccplate_tui.ui.load_pane import LoadPane

WATCH_STOP_WAIT = 5.0
"""Seconds to wait for the watch thread after asking it to stop (it polls the file)."""


@dataclass(frozen=True)
class Replay:
    """A recorded run on show: its views, one per stored interval, and where the scrubber is."""

    run_id: str
    names: tuple[str, ...]
    views: tuple[LiveView, ...]
    index: int

    @property
    def label(self) -> str:
        return f"replay of {self.run_id} · {self.index + 1}/{len(self.views)}"


@dataclass
class BaselineLoaded(Message):
    """The baseline run to draw beside the run on show (None: there is none)."""

    overlay: BaselineOverlay | None
    names: tuple[str, ...]


@dataclass
class ReplayLoaded(Message):
    """A recorded run read back as views, ready to scrub; or `error` saying why it cannot be."""

    run_id: str
    names: tuple[str, ...]
    views: tuple[LiveView, ...]
    overlay: BaselineOverlay | None
    error: str | None = None


def plan_for(config: Config, names: Sequence[str]) -> RunPlan:
    """The current config's plan for `names`; an empty plan when it no longer has them."""
    try:
        return resolve_plan(config, tuple(names))
    except UnknownScenario:
        return RunPlan((), ())


def replay_views(
    state_dir: Path, config: Config, run_id: str
) -> tuple[tuple[str, ...], tuple[LiveView, ...], BaselineOverlay | None]:
    """(names, one LiveView per stored interval, the baseline overlay) of run `run_id`.

    Thresholds are the current config's for the run's names (as `history recheck` judges).
    Raises OSError (HistoryError) for an unreadable history and LookupError for an unknown run.
    """
    store = open_history(state_dir, create=False)
    if store is None:
        raise LookupError(f"no run history in {state_dir}")
    with store:
        run = store.run(run_id)
        if run is None:
            raise LookupError(f"no run {run_id} in the history")
        if not run.interval_count:
            raise LookupError(f"run {run.id} has no recorded intervals (only its outcome)")
        plan = plan_for(config, run.names)
        details = resolve_baseline_details(store, config, plan)
        baselines = {d.key: d.value for d in details if d.value is not None}
        views = tuple(
            build_live_view(update, plan.scenarios)
            for update in replay(store, run.id, plan.thresholds, baselines)
        )
        overlay = baseline_overlay(store, run.all_names)
        if overlay is not None and overlay.run_id == run.id:
            overlay = None  # the baseline itself: nothing to compare with
        return run.all_names, views, overlay


class HistoryActions:
    """The history side of CcplateApp (see the module docstring)."""

    if TYPE_CHECKING:  # provided by CcplateApp / App
        config: Config
        state_dir: Path
        time_scale: float
        sub_title: str
        load_pane: LoadPane

        def post_message(self, message: Message) -> bool: ...
        def call_from_thread(self, callback: Any, *args: Any, **kwargs: Any) -> Any: ...
        def _say(self, text: str, **options: object) -> None: ...
        def _subtitle(self) -> str: ...
        def show_tab(self, tab_id: str) -> None: ...
        def push_screen(self, screen: Any, callback: Any = None) -> Any: ...
        def refresh_bindings(self) -> None: ...
        @property
        def run_active(self) -> bool: ...

    HISTORY_BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "history", "History", tooltip="Recorded runs: open one to scrub through it"),
        Binding("left_square_bracket,left", "replay_step(-1)", "Back", show=False),
        Binding("right_square_bracket,right", "replay_step(1)", "Forward", show=False),
        Binding("home", "replay_jump(0)", "First", show=False),
        Binding("end", "replay_jump(-1)", "Last", show=False),
        Binding("escape", "close_replay", "Leave replay", show=False),
    ]
    """Added to CcplateApp.BINDINGS; the replay keys only act during a replay."""

    def _history_init(self, watch: Path | None, watch_plan: RunPlan | None) -> None:
        self.replay: Replay | None = None
        """The recorded run being scrubbed through, if any."""
        self.watch_path = watch
        """The k6 NDJSON file this app watches (`watch k6 FILE`); None for a normal dashboard."""
        self.watch_plan = watch_plan
        """The plan judging the watched stream (--config); None: the stream's own thresholds."""
        self.recorder: HistoryRecorder | None = None
        """The history recorder of the run this app owns, while it runs."""
        self._history_broken = False
        self._watch: K6Watch | None = None
        self._watch_done = threading.Event()
        self._watch_done.set()

    def engine_label(self) -> str:
        """The header's engine part: built-in, k6 (watching FILE), or the replayed run."""
        if self.replay is not None:
            return f"replay of {self.replay.run_id}"
        if self.watch_path is not None:
            return f"engine: k6 (watching {self.watch_path})"
        return f"engine: {getattr(self, 'engine', 'built-in')}"

    def _update_subtitle(self) -> None:
        self.sub_title = self._subtitle()

    # -- recording the run this app owns (engine thread) ---------------------------------------

    def _begin_history(
        self, plan: RunPlan, names: Sequence[str]
    ) -> tuple[HistoryRecorder | None, dict[str, float]]:
        """Open the history, resolve the plan's baselines and begin recording; with a damaged
        or unwritable history, a notification and (None, {}): the run goes on unrecorded."""
        self._history_broken = False
        store = None
        try:
            store = open_history(self.state_dir)
            assert store is not None  # create=True
            if store.moved_aside is not None:  # a damaged history, never written into
                self.call_from_thread(
                    self._say, store.moved_aside.message, severity="warning", timeout=15
                )
            details = resolve_baseline_details(store, self.config, plan)
            recorder = HistoryRecorder(
                store,
                self.config,
                plan,
                names,
                engine=getattr(self, "engine", "built-in"),
                time_scale=self.time_scale,
                baseline_for=baseline_runs(details),
            )
        except OSError as exc:  # HistoryError is one
            if store is not None:
                store.close()
            self._history_broken = True
            self.call_from_thread(
                self._say,
                f"the run history is unavailable, so this run is not recorded: {exc}",
                severity="warning",
                timeout=10,
            )
            return None, {}
        self.recorder = recorder
        return recorder, {d.key: d.value for d in details if d.value is not None}

    def _finish_history(self, result: RunResult) -> bool:
        """Record how the run ended; True when nothing else should record it (recorded, or the
        history is broken and was reported)."""
        recorder = self.recorder
        if recorder is None:
            return self._history_broken
        finished = recorder.finish(result)
        for note in recorder.end_notes():  # what the history lacks and why
            self.call_from_thread(self._say, note, severity="warning", timeout=15)
        if not finished:
            return False
        errors = result.totals.server_errors()
        if errors > 0:
            self.call_from_thread(
                self._say, f"counting Sentry events for {errors:,d} server errors…", timeout=5
            )
            count = record_run_capture(
                recorder.store, recorder.run_id, result, time_scale=self.time_scale
            )
            if count is not None:
                self.call_from_thread(self._say, f"error capture: {count.text()}", timeout=10)
        return True

    def _end_history(self, reason: str) -> None:
        """After the run, however it ended: a run without a result is ended as an error."""
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return
        if not recorder.finished:
            recorder.abandon(reason or "the run failed")
        recorder.store.close()

    def _annotate_stop(self, abort: bool, text: str) -> None:
        """Note a stop or abort of the running run in its history, as `text` says who did it."""
        recorder = self.recorder
        if recorder is not None:
            recorder.annotate("abort" if abort else "stop", text)

    # -- the baseline beside a run -------------------------------------------------------------

    @work(thread=True, exclusive=True, group="baseline", exit_on_error=False, name="baseline")
    def _load_baseline(self, names: tuple[str, ...]) -> None:
        """Read the baseline run of the first of `names` that has one, for the Load pane."""
        try:
            store = open_history(self.state_dir, create=False)
            if store is None:
                self.post_message(BaselineLoaded(None, names))
                return
            with store:
                overlay = baseline_overlay(store, names)
        except OSError:
            overlay = None  # the recording side reports a broken history
        self.post_message(BaselineLoaded(overlay, names))

    def on_baseline_loaded(self, message: BaselineLoaded) -> None:
        if self.replay is None:
            self.load_pane.set_baseline(message.overlay)

    # -- the history screen and replays --------------------------------------------------------

    def action_history(self) -> None:
        """Show the recorded runs; the chosen one opens on the Load tab."""
        self.push_screen(HistoryScreen(self.state_dir), callback=self._history_chosen)

    def _history_chosen(self, run_id: str | None) -> None:
        if run_id is None:
            return
        if self.run_active or self.watch_path is not None:
            self._say("a run is on show: open a recorded run once it has ended", severity="warning")
            return
        self._say(f"reading run {run_id}…")
        self._load_replay(run_id)

    def open_replay(self, run_id: str) -> None:
        """Open recorded run `run_id` on the Load tab, at its last interval."""
        self._history_chosen(run_id)

    @work(thread=True, exclusive=True, group="replay", exit_on_error=False, name="replay")
    def _load_replay(self, run_id: str) -> None:
        try:
            names, views, overlay = replay_views(self.state_dir, self.config, run_id)
        except (OSError, LookupError) as exc:
            text = exc.args[0] if isinstance(exc, LookupError) and exc.args else str(exc)
            self.post_message(ReplayLoaded(run_id, (), (), None, f"cannot open {run_id}: {text}"))
            return
        self.post_message(ReplayLoaded(run_id, names, views, overlay))

    def on_replay_loaded(self, message: ReplayLoaded) -> None:
        if message.error is not None or not message.views:
            self._say(message.error or f"run {message.run_id} has no intervals", severity="error")
            return
        if self.run_active:  # a run started while reading: it has the pane
            return
        self.replay = Replay(message.run_id, message.names, message.views, len(message.views) - 1)
        self.show_tab("load-tab")
        self.load_pane.set_baseline(message.overlay)
        self._show_replay()
        self._update_subtitle()
        self.refresh_bindings()

    def _show_replay(self) -> None:
        replay_ = self.replay
        if replay_ is not None:
            self.load_pane.show_replay(replay_.label, replay_.views, replay_.index, replay_.names)

    def action_replay_step(self, delta: int) -> None:
        """One interval back (-1) or forward (1) in the replay."""
        if self.replay is None:
            return
        index = min(max(self.replay.index + delta, 0), len(self.replay.views) - 1)
        self._replay_to(index)

    def action_replay_jump(self, index: int) -> None:
        """To the first (0) or last (-1) interval of the replay."""
        if self.replay is None:
            return
        self._replay_to(index % len(self.replay.views))

    def _replay_to(self, index: int) -> None:
        assert self.replay is not None
        if index != self.replay.index:
            self.replay = Replay(self.replay.run_id, self.replay.names, self.replay.views, index)
            self._show_replay()

    def action_close_replay(self) -> None:
        """Leave the replay (the recorded run stays on show until a run starts)."""
        self.close_replay()

    def close_replay(self) -> None:
        if self.replay is None:
            return
        self.replay = None
        self.load_pane.end_replay()
        self._update_subtitle()
        self.refresh_bindings()

    def _history_check_action(self, action: str) -> bool | None:
        """For App.check_action: the replay keys act only during a replay (None: not ours)."""
        if action in ("replay_step", "replay_jump", "close_replay"):
            return self.replay is not None
        return None

    # -- watching a k6 NDJSON file -------------------------------------------------------------

    def _start_watch(self) -> None:
        """On mount in watch mode: the Load tab, locked, following the file."""
        assert self.watch_path is not None
        pane = self.load_pane
        self.show_tab("load-tab")
        pane.set_locked(f"watching {self.watch_path}: the k6 writing it starts and stops runs")
        plan = self.watch_plan
        names = tuple(s.name for s in plan.scenarios) if plan is not None else ()
        pane.set_running(True, names)
        if names:
            self._load_baseline(names)
        self._watch_done.clear()
        self._watch_k6()

    @work(thread=True, exclusive=True, group="watch", exit_on_error=False, name="k6-watch")
    def _watch_k6(self) -> None:
        assert self.watch_path is not None
        plan = self.watch_plan
        try:
            watch = K6Watch(
                self.watch_path, config=self.config if plan is not None else None, plan=plan
            )
            self._watch = watch
            scenarios = plan.scenarios if plan is not None else ()

            def observe(update: Any) -> None:
                self.post_message(LoadViewUpdated(build_live_view(update, scenarios)))

            watch.observers.append(observe)
            result = watch.run()
        except Exception as exc:  # a malformed line or an unreadable file: say it, stay up
            self.post_message(RunFailed(f"watching {self.watch_path} failed: {exc}"))
        else:
            self.post_message(RunFinished(result))
        finally:
            self._watch_done.set()

    def _watch_refusal(self) -> bool:
        """True (after saying why) when runs cannot be started or stopped here."""
        if self.watch_path is None:
            return False
        self._say(
            f"watching {self.watch_path}: runs are started and stopped by the k6 writing it",
            severity="warning",
        )
        return True

    def _history_unmount(self) -> None:
        """Stop watching (the k6 being watched is not ours and goes on)."""
        watch = self._watch
        if watch is not None:
            watch.stop("stopped")
        self._watch_done.wait(WATCH_STOP_WAIT)
