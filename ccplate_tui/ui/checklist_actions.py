"""The Checklist tab's wiring: every change through `checklist.operations`, steps run in workers.

A mixin of CcplateApp, like SentryActions. It performs an action the way the CLI does
(begin_step -> run_step in a worker -> finish_step; record_watch for timers; a timer resumes its
window), reloads the view after every change and whenever the state file changes on disk
(another terminal ticking: its mtime is polled once a second), and keeps the Overview's checklist
criterion current. Refusals (`operations.Refused`) become notifications with their reason.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccplate_tui.checklist import operations as ops
from ccplate_tui.checklist.model import Checklist, Step
from ccplate_tui.checklist.outcome import StepOutcome
from ccplate_tui.checklist.progress import (
    REVOKED_NOUN,
    ChecklistView,
    StepState,
    build_view,
    revoked_what,
)
from ccplate_tui.checklist.runners import RunContext, run_step
from ccplate_tui.checklist.state import ChecklistStore, StateError
from ccplate_tui.config.model import Config
from ccplate_tui.load.live import LiveView
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.run_records import RunRecord, latest_run
from ccplate_tui.masking import mask_secrets
from ccplate_tui.release.criteria import ChecklistProgress, SentryCapture
from ccplate_tui.release.inputs import checklist_progress, progress_of, sentry_status
from ccplate_tui.sentry.last_results import CAPTURE_FILE, COMPATIBILITY_FILE, load_result
from ccplate_tui.ui.checklist_pane import ChecklistPane
from ccplate_tui.ui.messages import (
    ChecklistStepFinished,
    ChecklistStepProgress,
    SentryCheckKind,
)
from ccplate_tui.ui.screens.checklist_prompts import (
    ConfirmRunScreen,
    note_prompt,
    override_prompt,
    revoke_prompt,
    tick_prompt,
)
from ccplate_tui.ui.sentry_actions import Abandoned, run_abandonable
from ccplate_tui.ui.widgets import checklist_text as say

if TYPE_CHECKING:
    from textual.message import Message
    from textual.screen import Screen
    from textual.timer import Timer
    from textual.worker import Worker

    from ccplate_tui.ui.sentry_pane import SentryPane

POLL_EVERY = 1.0
"""Seconds between two looks at the state file's mtime (and the countdowns' redraw)."""
SHUTDOWN_WAIT = 10.0
"""Seconds quitting waits for cancelled steps to record `cancelled` (a command's group gets
a 2 s grace before SIGKILL; a load run reaps its workers). Past that the step reads interrupted
at the next start."""
Stamp = tuple[int, int, int] | None


@dataclass
class StepRun:
    """One step this app runs: the runner's cancel switch and the end of its recording."""

    step_id: str
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    """Set once the outcome is recorded (or recording failed)."""


class ChecklistActions:
    """CcplateApp's checklist: the view, the operations behind the pane's keys, the runs."""

    if TYPE_CHECKING:  # provided by CcplateApp / App / SentryActions
        config: Config
        state_dir: Path
        engine_workers: int | None
        sentry_capture: SentryCapture | None
        _verdict_inputs: tuple[LiveView | RunResult | RunRecord | None, bool | None]

        @property
        def sentry_pane(self) -> SentryPane: ...
        def _show_verdict(
            self, load: LiveView | RunResult | RunRecord | None, running: bool | None = None
        ) -> None: ...

        def query_one(self, selector: Any, expect_type: Any = None) -> Any: ...
        def post_message(self, message: Message) -> bool: ...
        def push_screen(self, screen: Screen[Any], callback: Any = None) -> Any: ...
        def set_interval(self, interval: float, callback: Any) -> Timer: ...
        def run_worker(self, work: Any, **options: Any) -> Worker[Any]: ...
        def _say(self, text: str, **options: object) -> None: ...
        def refresh_verdict(self) -> None: ...

    def _checklist_init(self, operator: str | None) -> None:
        self.operator: str = ops.operator_name(operator)
        """Who acts in this app (`--as NAME`, else the OS user)."""
        self.checklist: Checklist | None = self.config.checklist
        self.checklist_store: ChecklistStore | None = (
            ChecklistStore(self.state_dir) if self.checklist is not None else None
        )
        self.checklist_view: ChecklistView | None = None
        self.checklist_progress: ChecklistProgress | None = None
        """The checklist as the verdict sees it: read at start and after every change."""
        self.checklist_problem: str | None = None
        """The state file's last problem: a recovery is reported by one load only, so it is
        kept and shown for the rest of the session."""
        self.checklist_runs: dict[str, StepRun] = {}
        """Steps running in this app, by id."""
        self._checklist_stamp: Stamp = None

    @property
    def checklist_pane(self) -> ChecklistPane:
        return self.query_one("#checklist", ChecklistPane)

    def _checklist_mount(self) -> None:
        """Read the state file once (before the first verdict), then poll it once a second."""
        self.checklist_pane.set_operator(self.operator)
        self.reload_checklist(verdict=False)
        if self.checklist is not None:
            self.set_interval(POLL_EVERY, self._checklist_poll)

    # -- reading the state

    def _state_stamp(self) -> Stamp:
        if self.checklist_store is None:
            return None
        try:
            st = os.stat(self.checklist_store.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def reload_checklist(self, *, verdict: bool = True) -> None:
        """Replay the state file into the pane and the verdict (after any change)."""
        store, checklist = self.checklist_store, self.checklist
        if store is None or checklist is None:
            return
        # The stamp first: a write landing between it and the load only costs one more reload.
        self._checklist_stamp = self._state_stamp()
        try:
            loaded = store.load()
        except StateError as exc:  # unreadable (permissions, I/O): keep showing the last view
            self.checklist_problem = str(exc)
            previous = self.checklist_view or build_view(checklist, ())
            view = replace(previous, problem=self.checklist_problem)
        else:
            if loaded.problem:
                self.checklist_problem = loaded.problem
            view = build_view(checklist, loaded.events, problem=self.checklist_problem)
        self.checklist_view = view
        before = self.checklist_progress
        try:
            self.checklist_progress = checklist_progress(checklist, self.state_dir)
        except StateError:
            self.checklist_progress = progress_of(view)
        self.checklist_pane.show_view(view, datetime.now(UTC))
        if verdict and self.checklist_progress != before:
            self.refresh_verdict()

    def _checklist_poll(self) -> None:
        """Once a second: reload when the file changed on disk or a step runs elsewhere (its
        process may have died: it then reads interrupted); move the countdowns."""
        view = self.checklist_view
        elsewhere = view is not None and any(
            s.step.id not in self.checklist_runs for s in view.running()
        )
        if elsewhere or self._state_stamp() != self._checklist_stamp:
            self.reload_checklist()
        self.checklist_pane.tick(datetime.now(UTC))

    # -- helpers

    def _refused(self, exc: Exception) -> None:
        self._say(str(exc), title="refused", severity="error", timeout=10)

    def _checklist_state(self, step_id: str) -> StepState | None:
        view = self.checklist_view
        if view is None:
            return None
        try:
            return view.step(step_id)
        except KeyError as exc:
            self._refused(ops.Refused(exc.args[0]))
            return None

    def _locked_reason(self, state: StepState) -> str | None:
        """Why the step's phase is closed, in the tab's words (the operation says it too)."""
        assert self.checklist_view is not None
        phase = self.checklist_view.phase_of(state.step.id)
        if not phase.locked:
            return None
        return (
            f"phase {phase.phase.id} is locked until the blocking steps before it are done "
            f"(waiting for {say.blockers(phase)}). Press o to override it (a reason is recorded)"
        )

    # -- run and cancel

    def on_checklist_pane_run_requested(self, message: ChecklistPane.RunRequested) -> None:
        state = self._checklist_state(message.step_id)
        if state is None:
            return
        step = state.step
        if not step.automated:
            self._refused(ops.Refused(f"{step.id} is a manual step: tick it (t)"))
            return
        if step.id in self.checklist_runs:
            self._say(f"{step.id} is already running here (c cancels it)", severity="warning")
            return
        if (locked := self._locked_reason(state)) is not None:
            self._refused(ops.Refused(locked))
            return
        if step.kind == "command":
            question = say.run_question(step, self.config.path)
            self.push_screen(
                ConfirmRunScreen(question, say.describe_action(step, self.config.path)),
                callback=lambda yes: self._confirmed(step.id, yes),
            )
            return
        self.start_step(step.id)

    def _confirmed(self, step_id: str, yes: bool) -> None:
        if yes:
            self.start_step(step_id)
        else:  # said, so an Enter on the focused Cancel is never a silent no-op
            self._say(f"{step_id} not run: cancelled in the dialog", severity="warning")

    def start_step(self, step_id: str) -> bool:
        """Record the start and run the step in a worker; False (and why) when refused."""
        store, checklist = self.checklist_store, self.checklist
        state = self._checklist_state(step_id)
        if store is None or checklist is None or state is None:
            return False
        step = state.step
        try:
            ops.begin_step(store, checklist, step.id, self.operator)
        except (ops.Refused, StateError) as exc:
            self._refused(exc)
            self.reload_checklist()
            return False
        run = StepRun(step.id)
        self.checklist_runs[step.id] = run
        self.checklist_pane.set_live(step.id, "starting…")
        self.reload_checklist()
        what = say.describe_action(step, self.config.path)[0]
        self._say(f"running {step.id}: {what}")
        self.run_worker(
            lambda: self._step_worker(state, run),
            thread=True,
            group=f"checklist-{step.id}",
            name=f"checklist-{step.id}",
            exit_on_error=False,
        )
        return True

    def _step_worker(self, state: StepState, run: StepRun) -> None:
        """The worker: the run itself is in a daemon thread, so quitting never waits for a
        runner that ignores its cancel (see run_abandonable); cancelling the worker cancels
        the step, which then records `cancelled`."""
        try:
            run_abandonable(lambda: self._execute(state, run), name=f"checklist-{state.step.id}")
        except Abandoned:
            run.cancel.set()

    def _execute(self, state: StepState, run: StepRun) -> None:
        """Run the step (as `state` was before its start was recorded) and record its outcome
        (in a thread: no widget is touched here)."""
        step = state.step
        store, checklist = self.checklist_store, self.checklist
        assert store is not None and checklist is not None
        error: str | None = None
        try:

            def on_watch(evidence: Mapping[str, Any]) -> None:
                ops.record_watch(store, checklist, step.id, self.operator, evidence)

            def progress(line: str) -> None:
                self.post_message(ChecklistStepProgress(step.id, mask_secrets(line)))

            ctx = RunContext.for_step(
                state,
                self.config,
                self.state_dir,
                on_watch=on_watch,
                load_workers=self.engine_workers,
            )
            try:
                outcome = run_step(step, ctx, run.cancel, progress)
            except Exception as exc:  # a runner bug must still end the step, not leave it open
                text = mask_secrets(f"the runner failed: {type(exc).__name__}: {exc}")
                outcome = StepOutcome("failed", text, {"reason": text})
            try:
                ops.finish_step(store, checklist, step.id, self.operator, outcome)
            except (ops.Refused, StateError, ValueError) as exc:
                error = f"{step.id}: the result could not be recorded: {exc}"
            self.post_message(
                ChecklistStepFinished(step.id, outcome.result, outcome.summary, error)
            )
        finally:
            run.done.set()

    def on_checklist_step_progress(self, message: ChecklistStepProgress) -> None:
        if message.step_id in self.checklist_runs:
            self.checklist_pane.set_live(message.step_id, message.line)

    def on_checklist_step_finished(self, message: ChecklistStepFinished) -> None:
        self.checklist_runs.pop(message.step_id, None)
        self.checklist_pane.set_live(message.step_id, None)
        self.reload_checklist()
        if message.result == "passed" and message.error is None:
            # A failed or cancelled step keeps the cursor, with its output in view.
            self.checklist_pane.advance_from(message.step_id)
        if self.checklist is not None:
            self._after_step(self.checklist.step(message.step_id))
        if message.error is not None:
            self._say(message.error, severity="error", timeout=10)
            return
        severity = {"passed": "information", "cancelled": "warning"}.get(message.result, "error")
        self._say(f"{message.step_id} {message.result}: {message.summary}", severity=severity)

    def _after_step(self, step: Step) -> None:
        """A sentry step stored a check's result and a load step may have recorded a run: the
        Sentry tab and the verdict read them again (a run of this app's own stays judged)."""
        if step.kind == "sentry":
            self.sentry_capture = sentry_status(self.state_dir)
            kind: SentryCheckKind = step.sentry_check
            if not self.sentry_pane.is_checking(kind):
                name = CAPTURE_FILE if kind == "capture" else COMPATIBILITY_FILE
                self.sentry_pane.show_result(kind, load_result(self.state_dir, name))
            self.refresh_verdict()
        elif step.kind == "load" and not isinstance(self._verdict_inputs[0], LiveView | RunResult):
            self._show_verdict(latest_run(self.state_dir))

    def on_checklist_pane_cancel_requested(self, message: ChecklistPane.CancelRequested) -> None:
        run = self.checklist_runs.get(message.step_id)
        if run is not None:
            run.cancel.set()
            self.checklist_pane.set_live(message.step_id, "cancelling…")
            self._say(f"cancelling {message.step_id}…", severity="warning")
            return
        state = self._checklist_state(message.step_id)
        if state is not None and state.status == "running":
            started = next((e for e in reversed(state.history) if e.action == "started"), None)
            pid = f" (pid {started.pid})" if started and started.pid else ""
            self._refused(
                ops.Refused(
                    f"{state.step.id} runs in another process{pid}, started by {state.by}: "
                    "cancel it there"
                )
            )
        elif not message.quiet:
            self._say(f"{message.step_id} is not running", severity="warning")

    def cancel_checklist_steps(self, timeout: float = SHUTDOWN_WAIT) -> bool:
        """Cancel every step running here and wait (bounded) until each recorded its end."""
        runs = list(self.checklist_runs.values())
        for run in runs:
            run.cancel.set()
        deadline = time.monotonic() + timeout
        return all(run.done.wait(max(0.0, deadline - time.monotonic())) for run in runs)

    # -- tick, note, approve, override

    def on_checklist_pane_tick_requested(self, message: ChecklistPane.TickRequested) -> None:
        state = self._checklist_state(message.step_id)
        if state is None:
            return
        step = state.step
        if step.automated:
            self._refused(ops.Refused(f"{step.id} is a {step.kind} step: run it (r)"))
            return
        if (locked := self._locked_reason(state)) is not None:
            self._refused(ops.Refused(locked))
            return
        if state.status in ("passed", "awaiting_approval"):
            self._refused(ops.Refused(f"{step.id} is already ticked (by {state.by})"))
            return
        self.push_screen(
            tick_prompt(step.title, step.help), callback=lambda note: self._tick(step.id, note)
        )

    def _tick(self, step_id: str, note: str | None) -> None:
        if note is None or self.checklist_store is None or self.checklist is None:
            return
        try:
            after = ops.tick(self.checklist_store, self.checklist, step_id, self.operator, note)
        except (ops.Refused, StateError) as exc:
            self._refused(exc)
        else:
            extra = ""
            if after.status == "awaiting_approval":
                extra = ": it needs a sign-off by someone else"
            self._say(f"{step_id} ticked by {self.operator}{extra}")
            self.reload_checklist()
            self.checklist_pane.advance_from(step_id)
            return
        self.reload_checklist()

    def on_checklist_pane_note_requested(self, message: ChecklistPane.NoteRequested) -> None:
        state = self._checklist_state(message.step_id)
        if state is None:
            return
        self.push_screen(
            note_prompt(state.step.title), callback=lambda note: self._note(state.step.id, note)
        )

    def _note(self, step_id: str, note: str | None) -> None:
        if not note or self.checklist_store is None or self.checklist is None:
            return
        try:
            ops.add_note(self.checklist_store, self.checklist, step_id, self.operator, note)
        except (ops.Refused, StateError) as exc:
            self._refused(exc)
        else:
            self._say(f"note added to {step_id}")
        self.reload_checklist()

    def on_checklist_pane_approve_requested(self, message: ChecklistPane.ApproveRequested) -> None:
        if self.checklist_store is None or self.checklist is None:
            return
        try:
            ops.approve(self.checklist_store, self.checklist, message.step_id, self.operator)
        except (ops.Refused, StateError) as exc:
            self._refused(exc)
            self.reload_checklist()
        else:
            self._say(f"{message.step_id} signed off by {self.operator}")
            self.reload_checklist()
            self.checklist_pane.advance_from(message.step_id)

    def on_checklist_pane_revoke_requested(self, message: ChecklistPane.RevokeRequested) -> None:
        state = self._checklist_state(message.step_id)
        if state is None:
            return
        try:
            target = ops.revocable(state)  # refused before asking: running, nothing to revoke
        except ops.Refused as exc:
            self._refused(exc)
            return
        what = f"the {REVOKED_NOUN.get(target.action, target.action)} by {target.who}"
        self.push_screen(
            revoke_prompt(state.step.title, what),
            callback=lambda reason: self._revoke(state.step.id, reason),
        )

    def _revoke(self, step_id: str, reason: str | None) -> None:
        if not reason or self.checklist_store is None or self.checklist is None:
            return
        try:
            after = ops.revoke(self.checklist_store, self.checklist, step_id, self.operator, reason)
        except (ops.Refused, StateError) as exc:
            self._refused(exc)
        else:
            what = revoked_what(after.revoked) if after.revoked else "its result"
            now = after.status.replace("_", " ")
            self._say(f"{step_id}: {self.operator} revoked {what}; now {now}", severity="warning")
        self.reload_checklist()

    def on_checklist_pane_override_requested(
        self, message: ChecklistPane.OverrideRequested
    ) -> None:
        view = self.checklist_view
        if view is None:
            return
        phase = view.phase(message.phase_id)
        if not phase.locked:
            self._say(f"phase {phase.phase.id} is not locked: nothing to override")
            return
        self.push_screen(
            override_prompt(phase.phase.title, say.blockers(phase, 12)),
            callback=lambda reason: self._override(phase.phase.id, reason),
        )

    def _override(self, phase_id: str, reason: str | None) -> None:
        if not reason or self.checklist_store is None or self.checklist is None:
            return
        try:
            ops.override(self.checklist_store, self.checklist, phase_id, self.operator, reason)
        except (ops.Refused, StateError) as exc:
            self._refused(exc)
        else:
            self._say(f"phase {phase_id} opened by {self.operator}; the reason is recorded")
        self.reload_checklist()
