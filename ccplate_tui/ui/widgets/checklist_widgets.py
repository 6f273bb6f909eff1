"""The Checklist tab's pieces: a step row, a phase section (a Collapsible), the detail panel.

They render what the pane hands them (a `StepState` / `PhaseState` and the time) and decide
nothing; the wording lives in `checklist_text`.
"""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.events import Click
from textual.message import Message
from textual.visual import VisualType
from textual.widget import Widget
from textual.widgets import Collapsible, Static
from textual.widgets._collapsible import CollapsibleTitle

from ccplate_tui.checklist.progress import ChecklistView, PhaseState, StepState
from ccplate_tui.ui.sentry_pane import FactGrid
from ccplate_tui.ui.widgets import checklist_text as say


class StepRow(Widget):
    """One step: status light, title, kind, status (or countdown), who and when; a long title
    wraps onto a second line rather than being cut."""

    DEFAULT_CSS = """
    StepRow {
        height: auto;
        width: 1fr;
        pointer: pointer;
    }
    StepRow:hover { background: $block-hover-background; }
    StepRow.-selected { background: $block-cursor-blurred-background; }
    ChecklistPane:focus StepRow.-selected {
        background: $block-cursor-background;
        text-style: $block-cursor-text-style;
    }
    """

    class Clicked(Message):
        """The row was clicked: select its step."""

        def __init__(self, step_id: str) -> None:
            super().__init__()
            self.step_id = step_id

    def __init__(self, state: StepState, now: datetime) -> None:
        super().__init__(id=f"step-{state.step.id}", classes="step-row")
        self.state = state
        self.now = now

    def show(self, state: StepState, now: datetime) -> None:
        self.state, self.now = state, now
        self.refresh()

    @property
    def ticking(self) -> bool:
        """True while the row shows a countdown that moves every second."""
        return self.state.timer_started is not None

    def render(self) -> VisualType:
        return say.step_row(self.state, self.size.width or 80, self.now)

    def on_click(self, event: Click) -> None:
        event.stop()
        self.post_message(self.Clicked(self.state.step.id))


class PhaseSection(Collapsible):
    """A phase: its title with progress and gate, a lock line when closed, and its step rows."""

    DEFAULT_CSS = """
    PhaseSection {
        border-top: none;
        padding: 0;
        margin-bottom: 1;
        background: $surface;
    }
    PhaseSection > Contents { padding: 0 0 0 2; }
    PhaseSection > CollapsibleTitle { width: 1fr; }
    PhaseSection.-selected > CollapsibleTitle {
        background: $block-cursor-blurred-background;
    }
    ChecklistPane:focus PhaseSection.-selected > CollapsibleTitle {
        background: $block-cursor-background;
    }
    PhaseSection.-locked > CollapsibleTitle { color: $text-muted; }
    PhaseSection .gate { height: auto; }
    """

    class TitleClicked(Message):
        """The phase's title was clicked (it folds or unfolds): select the phase."""

        def __init__(self, phase_id: str) -> None:
            super().__init__()
            self.phase_id = phase_id

    def __init__(self, state: PhaseState, number: int, now: datetime) -> None:
        self.number = number
        self.state = state
        self.view: ChecklistView | None = None
        self.rows = [StepRow(s, now) for s in state.steps]
        gate = Static("", markup=False, classes="gate")
        super().__init__(gate, *self.rows, title="", collapsed=False, id=f"phase-{state.phase.id}")
        self.gate = gate
        self._title.can_focus = False  # the pane holds the focus; its keys move the selection
        self._draw(now)

    @property
    def phase_id(self) -> str:
        return self.state.phase.id

    def _on_collapsible_title_toggle(self, event: CollapsibleTitle.Toggle) -> None:
        super()._on_collapsible_title_toggle(event)
        self.post_message(self.TitleClicked(self.phase_id))

    def show(self, state: PhaseState, now: datetime, view: ChecklistView | None = None) -> None:
        self.state = state
        self.view = view
        self._draw(now)
        for row, step in zip(self.rows, state.steps, strict=True):
            row.show(step, now)

    def _draw(self, now: datetime) -> None:
        self._title.label = say.phase_label(self.state, self.number)
        line = say.gate_line(self.state, self.view)
        self.gate.update(line or "")
        self.gate.display = line is not None
        self.set_class(self.state.locked, "-locked")

    def title_widget(self) -> CollapsibleTitle:
        return self._title


class StepDetail(VerticalScroll, can_focus=False):
    """The selected step's evidence (output tail, HTTP answer, event id, load run, timer
    rounds), its notes and its history; or the selected phase's gate."""

    DEFAULT_CSS = """
    StepDetail {
        width: 40%;
        min-width: 40;
        max-width: 72;
        height: 1fr;
        padding: 0 1;
        border: round $border;
        border-title-color: $text-accent;
        border-title-style: bold;
        scrollbar-size-vertical: 1;
    }
    StepDetail > Static { height: auto; }
    StepDetail > #detail-title { text-style: bold; }
    StepDetail > #detail-meta { color: $text-muted; }
    StepDetail > #detail-live { color: $text-primary; text-style: bold; }
    StepDetail > #detail-warning { color: $text-warning; text-style: bold; }
    StepDetail > #detail-help { color: $text-muted; text-style: italic; }
    StepDetail > .section {
        margin-top: 1;
        text-style: bold;
        color: $text-accent;
    }
    StepDetail > #detail-output {
        background: $boost;
        padding: 0 1;
    }
    StepDetail > FactGrid { grid-columns: 12 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", markup=False, id="detail-title")
        yield Static("", markup=False, id="detail-meta")
        yield Static("", markup=False, id="detail-status")
        yield Static("", markup=False, id="detail-warning")
        yield Static("", markup=False, id="detail-approval")
        yield Static("", markup=False, id="detail-live")
        yield Static("", markup=False, id="detail-help")
        yield Static("What it does", classes="section", id="detail-action-title")
        yield Static("", markup=False, id="detail-action")
        yield Static("Evidence", classes="section", id="detail-evidence-title")
        yield FactGrid(2, id="detail-evidence")
        yield Static("", classes="section", id="detail-output-title")
        yield Static("", markup=False, id="detail-output")
        yield Static("Notes", classes="section", id="detail-notes-title")
        yield Static("", markup=False, id="detail-notes")
        yield Static("History", classes="section", id="detail-history-title")
        yield Static("", markup=False, id="detail-history")

    def _set(self, name: str, content: Content | str | None, *, title: str | None = None) -> None:
        """Fill one part (and its section title); an empty part is hidden with its title."""
        shown = content is not None and bool(str(content).strip())
        widget = self.query_one(f"#detail-{name}", Static)
        widget.update(content if shown else "")  # type: ignore[arg-type]
        widget.display = shown
        for heading in self.query(f"#detail-{name}-title"):
            heading.display = shown
            if title is not None and isinstance(heading, Static):
                heading.update(title)

    def show_step(
        self,
        state: StepState,
        *,
        now: datetime,
        operator: str,
        live: str | None,
        config_path: str = "",
    ) -> None:
        """Everything known about one step."""
        step = state.step
        self.border_title = "Step"
        self._set("title", step.title)
        required = "required" if step.required else "optional"
        self._set("meta", f"{step.id} · {step.kind} · {required}")
        status = Content.assemble(say.light(state.status), " ", say.status_text(state, now))
        if state.by:
            verb = "started by" if state.status == "running" else "by"
            status = status + Content.styled(f"  {verb} {state.by} at {say.when(state.at)}", "")
        self._set("status", status)
        self._set("warning", say.status_warning(state))
        self._set("approval", say.approval_text(state, operator))
        lines = [say.timer_line(state, now), live if state.status == "running" else None]
        self._set("live", "\n".join(line for line in lines if line) or None)
        self._set("help", step.help or None)
        self._set("action", "\n".join(say.describe_action(step, config_path)))
        grid = self.query_one("#detail-evidence", FactGrid)
        rows = say.evidence_rows(state.evidence)
        grid.show(rows)
        grid.display = bool(rows)
        self.query_one("#detail-evidence-title").display = bool(rows)
        tail = say.output_tail(state.evidence)
        if tail is None:
            self._set("output", None)
        else:
            self._set("output", tail[1], title=tail[0])
        self._set("notes", "\n".join(say.notes(state)) or None)
        history = [say.history_line(e) for e in reversed(state.history[-30:])]
        self._set("history", Content("\n").join(history) if history else None)

    def show_phase(self, state: PhaseState) -> None:
        """A phase: its gate, progress, and what holds it or who opened it."""
        phase = state.phase
        self.border_title = "Phase"
        self._set("title", phase.title)
        self._set("meta", f"{phase.id} · {phase.gate} · {len(phase.steps)} steps")
        progress = Content.assemble(
            say.progress_bar(state.done, state.total, 20),
            f" {state.done} of {state.total} required steps done",
        )
        self._set("status", progress)
        self._set("approval", say.gate_line(state))
        self._set("warning", None)
        self._set("live", None)
        help_text = (
            "An advisory phase: guidance that holds nothing up."
            if phase.gate == "advisory"
            else "A blocking phase: the next phase opens when its required steps are done."
        )
        self._set("help", help_text)
        self._set("action", None)
        self.query_one("#detail-evidence", FactGrid).display = False
        self.query_one("#detail-evidence-title").display = False
        for name in ("output", "notes", "history"):
            self._set(name, None)

    def text(self) -> str:
        """What the panel shows, as plain text (for tests)."""
        parts = []
        for widget in self.query(Static):
            if widget.display and widget.parent is self:
                parts.append(str(widget.render()))
        grid = self.query_one("#detail-evidence", FactGrid)
        if grid.display:
            parts.append(grid.text())
        return "\n".join(parts)
