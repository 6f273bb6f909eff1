"""The Checklist tab: the deploy checklist's phases, steps, gates and evidence, and its keys.

The pane renders a `ChecklistView` (the replayed state file) and posts what the operator asks for
(`RunRequested`, `TickRequested`, …); the app's ChecklistActions does it through
`ccplate_tui.checklist.operations`, exactly as the CLI does, and hands the pane the new view.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import PurePath
from typing import ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from ccplate_tui.checklist.progress import ChecklistView, PhaseState, StepState, build_view
from ccplate_tui.config.model import Config
from ccplate_tui.ui.widgets import checklist_text as say
from ccplate_tui.ui.widgets.checklist_widgets import PhaseSection, StepDetail, StepRow

Item = tuple[Literal["phase", "step"], str]
"""What the selection is on: a phase header or a step, by id."""


def next_actionable(view: ChecklistView, after: str, operator: str) -> str | None:
    """The step to walk to once `after` is dealt with (see `ChecklistPane.advance_from`)."""
    states = [state for phase in view.phases if not phase.locked for state in phase.steps]
    order = [step.id for step in view.checklist.steps()]
    start = order.index(after) + 1 if after in order else 0
    rank = {step_id: (i - start) % len(order) for i, step_id in enumerate(order)}
    for state in sorted(states, key=lambda s: rank[s.step.id]):
        if state.step.id == after or state.done or state.status == "running":
            continue
        if state.status == "awaiting_approval" and state.by == operator:
            continue
        return state.step.id
    return None


class PhaseList(VerticalScroll, can_focus=False, inherit_bindings=False):
    """The phases, scrolled; no keys of its own so ↑/↓ move the pane's selection."""

    DEFAULT_CSS = """
    PhaseList {
        width: 1fr;
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    """


class ChecklistPane(Vertical, can_focus=True):
    """The Checklist tab. The app calls `show_view`, `set_live` and `tick`; the pane posts
    the operator's intents with the selected step or phase."""

    DEFAULT_CSS = """
    ChecklistPane {
        height: 1fr;
        padding: 0 1;
    }
    ChecklistPane > #checklist-header { height: auto; margin-bottom: 1; }
    ChecklistPane > .banner {
        height: auto;
        padding: 0 1;
        margin-bottom: 1;
        text-style: bold;
    }
    ChecklistPane > #checklist-problem {
        color: $text-error;
        background: $error-muted;
        border-left: thick $error;
    }
    ChecklistPane > #checklist-changed {
        color: $text-warning;
        background: $warning-muted;
        border-left: thick $warning;
    }
    ChecklistPane > #checklist-empty { color: $text-muted; padding: 1 0; }
    ChecklistPane > #checklist-body { height: 1fr; }
    /* Narrow: the steps across the whole width (titles whole), the detail below them. */
    Screen.-narrow ChecklistPane > #checklist-body { layout: vertical; }
    Screen.-narrow ChecklistPane StepDetail { width: 1fr; max-width: 100%; height: 45%; }
    """
    SCOPED_CSS = False  # its narrow rules start at `Screen.-narrow`

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run", "Run", tooltip="Run the selected automated step (shown first)"),
        Binding("t", "tick", "Tick", tooltip="Tick the selected manual step, with a note"),
        Binding("n", "note", "Note", tooltip="Add a note to the selected step"),
        Binding("a", "approve", "Approve", tooltip="Sign off a step someone else did"),
        Binding(
            "u",
            "revoke",
            "Revoke",
            tooltip="Undo the selected step's latest tick, pass or sign-off (a reason is needed)",
        ),
        Binding("o", "override", "Override", tooltip="Open a locked phase (a reason is needed)"),
        Binding("c", "cancel", "Cancel", tooltip="Cancel the running step"),
        Binding("escape", "cancel(True)", "Cancel", show=False),
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("left", "fold(True)", "Fold", show=False),
        Binding("right", "fold(False)", "Unfold", show=False),
        Binding("enter,space", "toggle", "Fold", show=False),
        Binding("pageup", "scroll_detail(-1)", show=False),
        Binding("pagedown", "scroll_detail(1)", show=False),
    ]

    class StepRequest(Message):
        """Base of the step intents: the step the operator acts on."""

        def __init__(self, step_id: str) -> None:
            super().__init__()
            self.step_id = step_id

    class RunRequested(StepRequest):
        """Run this automated step (the app shows what runs first)."""

    class TickRequested(StepRequest):
        """Tick this manual step (the app asks for an optional note)."""

    class NoteRequested(StepRequest):
        """Add a note to this step (the app asks for it)."""

    class ApproveRequested(StepRequest):
        """Sign off this step as the operator."""

    class RevokeRequested(StepRequest):
        """Revoke this step's latest tick, pass or sign-off (the app asks for the reason)."""

    class CancelRequested(StepRequest):
        """Cancel this step's run; `quiet`: say nothing when it is not running (escape)."""

        def __init__(self, step_id: str, quiet: bool = False) -> None:
            super().__init__(step_id)
            self.quiet = quiet

    class OverrideRequested(Message):
        """Open this locked phase (the app asks for the reason)."""

        def __init__(self, phase_id: str) -> None:
            super().__init__()
            self.phase_id = phase_id

    def __init__(self, config: Config, *, operator: str = "", id: str | None = "checklist") -> None:
        super().__init__(id=id)
        self.config = config
        self.checklist = config.checklist
        self.operator = operator
        """Who acts in this app (`--as`), shown in the header and used to word sign-offs."""
        self.now = datetime.now(UTC)
        """The time countdowns are drawn at (`tick` moves it)."""
        self.view: ChecklistView | None = (
            build_view(self.checklist, (), now=self.now) if self.checklist else None
        )
        self.selected: Item | None = None
        self.live: dict[str, str] = {}
        """The latest progress line of each step running in this app."""
        self._ready = False

    # -- layout

    def compose(self) -> ComposeResult:
        if self.view is None:
            name = PurePath(self.config.path).name
            yield Static(
                f"No deploy checklist: {name} has no [checklist] table. Define its phases and "
                "steps there ([[checklist.phases]] with [[checklist.phases.steps]]) to walk it "
                "here and with `ccplate-tui checklist`.",
                markup=False,
                id="checklist-empty",
            )
            return
        yield Static("", markup=False, id="checklist-header")
        yield Static("", markup=False, id="checklist-problem", classes="banner")
        yield Static("", markup=False, id="checklist-changed", classes="banner")
        with Horizontal(id="checklist-body"):
            with PhaseList(id="checklist-phases"):
                for number, phase in enumerate(self.view.phases, start=1):
                    yield PhaseSection(phase, number, self.now)
            yield StepDetail(id="checklist-detail")

    def on_mount(self) -> None:
        self._ready = True  # (`is_mounted` turns true only after this handler)
        if self.view is not None:
            self.show_view(self.view, self.now)

    # -- what the app calls

    def show_view(self, view: ChecklistView, now: datetime | None = None) -> None:
        """Draw the checklist as `view` leaves it (after any change, here or elsewhere)."""
        self.view = view
        if now is not None:
            self.now = now
        if not self._ready or self.checklist is None:
            return
        with self.app.batch_update():
            self.query_one("#checklist-header", Static).update(say.header_text(view, self.operator))
            problem = self.query_one("#checklist-problem", Static)
            problem.update(
                Content(f"⚠ State file: {view.problem}") if view.problem else Content("")
            )
            problem.display = bool(view.problem)
            changed = self.query_one("#checklist-changed", Static)
            warning = say.warnings_text(view)
            changed.update(warning or Content(""))
            changed.display = warning is not None
            for section, phase in zip(self.query(PhaseSection), view.phases, strict=True):
                section.show(phase, self.now, view)
            if self.selected is None:
                self.selected = ("step", self._first_open_step(view))
            self._draw_selection()

    def set_operator(self, name: str) -> None:
        self.operator = name
        if self.view is not None:
            self.show_view(self.view)

    def set_live(self, step_id: str, line: str | None) -> None:
        """The running step's latest progress line (None when it ended)."""
        if line is None:
            self.live.pop(step_id, None)
        else:
            self.live[step_id] = line
        if self.selected == ("step", step_id):
            self._draw_detail()

    def tick(self, now: datetime) -> None:
        """Move the countdowns to `now` (called once a second; only timer rows repaint)."""
        self.now = now
        if self.view is None or not self._ready:
            return
        for row in self.query(StepRow):
            if row.ticking:
                row.show(row.state, now)
        item = self.selected
        if item is not None and item[0] == "step" and self.view.step(item[1]).timer_started:
            self._draw_detail()

    @property
    def selected_step(self) -> str | None:
        return self.selected[1] if self.selected and self.selected[0] == "step" else None

    @property
    def selected_phase(self) -> str | None:
        """The selected phase, or the selected step's phase."""
        if self.selected is None or self.view is None:
            return None
        if self.selected[0] == "phase":
            return self.selected[1]
        return self.view.checklist.step(self.selected[1]).phase

    def select(self, item: Item) -> None:
        self.selected = item
        self._draw_selection()

    def advance_from(self, step_id: str) -> str | None:
        """After `step_id` completed: if the cursor is still on it, move it to the next
        actionable step and return that id (None when the cursor stays).

        Next actionable: the first step after it in walking order (then from the top) that is
        not done, not in a locked phase, not running and not waiting for the operator's own
        sign-off, which only someone else can give. A cursor the operator moved elsewhere
        while a step ran stays where they put it.
        """
        if self.view is None or self.selected != ("step", step_id):
            return None
        target = next_actionable(self.view, step_id, self.operator)
        if target is None:
            return None
        section = self.section(self.view.checklist.step(target).phase)
        section.collapsed = False
        self.select(("step", target))
        self._scroll_to_selection()
        return target

    def detail_text(self) -> str:
        return self.query_one(StepDetail).text()

    def row(self, step_id: str) -> StepRow:
        return self.query_one(f"#step-{step_id}", StepRow)

    def section(self, phase_id: str) -> PhaseSection:
        return self.query_one(f"#phase-{phase_id}", PhaseSection)

    # -- selection

    @staticmethod
    def _first_open_step(view: ChecklistView) -> str:
        """Where to pick up: the first step not done in an open phase (else the first step)."""
        for phase in view.phases:
            if phase.locked:
                break
            for state in phase.steps:
                if not state.done:
                    return state.step.id
        return view.phases[0].steps[0].step.id if view.phases[0].steps else ""

    def _items(self) -> list[Item]:
        items: list[Item] = []
        for section in self.query(PhaseSection):
            items.append(("phase", section.phase_id))
            if not section.collapsed:
                items += [("step", row.state.step.id) for row in section.rows]
        return items

    def _draw_selection(self) -> None:
        if self.view is None or not self._ready:
            return
        items = self._items()
        if self.selected not in items:
            # A step in a folded phase: its phase; anything unknown: the first phase.
            phase = None
            with contextlib.suppress(KeyError):
                phase = self.selected_phase
            fallback = items[0] if items else None
            self.selected = ("phase", phase) if ("phase", phase) in items else fallback
        for section in self.query(PhaseSection):
            section.set_class(self.selected == ("phase", section.phase_id), "-selected")
            for row in section.rows:
                row.set_class(self.selected == ("step", row.state.step.id), "-selected")
        self._draw_detail()

    def _draw_detail(self) -> None:
        if self.view is None or self.selected is None:
            return
        detail = self.query_one(StepDetail)
        kind, ident = self.selected
        if kind == "phase":
            detail.show_phase(self.view.phase(ident))
        else:
            detail.show_step(
                self.view.step(ident),
                now=self.now,
                operator=self.operator,
                live=self.live.get(ident),
                config_path=self.config.path,
            )

    def _scroll_to_selection(self) -> None:
        if self.selected is None:
            return
        kind, ident = self.selected
        target = self.section(ident).title_widget() if kind == "phase" else self.row(ident)
        target.scroll_visible(animate=False)

    def action_move(self, delta: int) -> None:
        items = self._items()
        if not items:
            return
        index = items.index(self.selected) if self.selected in items else 0
        self.selected = items[max(0, min(len(items) - 1, index + delta))]
        self._draw_selection()
        self._scroll_to_selection()

    def action_fold(self, fold: bool) -> None:
        phase = self.selected_phase
        if phase is None:
            return
        self.section(phase).collapsed = fold
        if fold:
            self.selected = ("phase", phase)
        self._draw_selection()

    def action_toggle(self) -> None:
        if self.selected is not None and self.selected[0] == "phase":
            section = self.section(self.selected[1])
            section.collapsed = not section.collapsed

    def action_scroll_detail(self, direction: int) -> None:
        detail = self.query_one(StepDetail)
        if direction < 0:
            detail.scroll_page_up()
        else:
            detail.scroll_page_down()

    @on(StepRow.Clicked)
    def _row_clicked(self, event: StepRow.Clicked) -> None:
        self.focus()
        self.select(("step", event.step_id))

    @on(PhaseSection.TitleClicked)
    def _phase_clicked(self, event: PhaseSection.TitleClicked) -> None:
        self.focus()
        self.select(("phase", event.phase_id))

    # -- intents

    def _step_or_say(self, action: str) -> StepState | None:
        if self.view is None:
            self.notify("no [checklist] in the config: nothing to " + action, severity="warning")
            return None
        step_id = self.selected_step
        if step_id is None:
            self.notify(f"select a step (↑/↓) to {action}", severity="warning")
            return None
        return self.view.step(step_id)

    def action_run(self) -> None:
        if state := self._step_or_say("run"):
            self.post_message(self.RunRequested(state.step.id))

    def action_tick(self) -> None:
        if state := self._step_or_say("tick"):
            self.post_message(self.TickRequested(state.step.id))

    def action_note(self) -> None:
        if state := self._step_or_say("note"):
            self.post_message(self.NoteRequested(state.step.id))

    def action_approve(self) -> None:
        if state := self._step_or_say("approve"):
            self.post_message(self.ApproveRequested(state.step.id))

    def action_revoke(self) -> None:
        if state := self._step_or_say("revoke"):
            self.post_message(self.RevokeRequested(state.step.id))

    def action_cancel(self, quiet: bool = False) -> None:
        if self.view is None:
            return
        step_id = self.selected_step
        if step_id is None or self.view.step(step_id).status != "running":
            # The one step running is what "cancel" means when the selection moved on.
            running = list(self.live) or [s.step.id for s in self.view.running()]
            step_id = running[0] if len(running) == 1 else None
            if step_id is None:
                if not quiet:
                    several = f": select one of {', '.join(running)}" if running else ""
                    what = "several steps are running" if running else "no step is running"
                    self.notify(what + several, severity="warning")
                return
        self.post_message(self.CancelRequested(step_id, quiet=quiet))

    def action_override(self) -> None:
        if self.view is None:
            self.notify("no [checklist] in the config: nothing to override", severity="warning")
            return
        phase = self.selected_phase
        if phase is not None:
            self.post_message(self.OverrideRequested(phase))

    def phase_state(self, phase_id: str) -> PhaseState | None:
        return self.view.phase(phase_id) if self.view is not None else None
