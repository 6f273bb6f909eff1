"""End-of-run summary (the headless runner's exact text) and the readable error panel."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import HorizontalGroup, ScrollableContainer
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Button, Label, Static


class SummaryPanel(Widget):
    """The run's summary in a scrollable box, with a button to save it."""

    DEFAULT_CSS = """
    SummaryPanel {
        height: 1fr;
        border: round $border;
        border-title-color: $text-accent;
    }
    SummaryPanel ScrollableContainer {
        height: 1fr;
        padding: 0 1;
    }
    SummaryPanel #summary-text {
        width: auto;
    }
    SummaryPanel HorizontalGroup {
        height: auto;
        padding: 0 1;
    }
    SummaryPanel HorizontalGroup Label {
        padding: 1 0 0 2;
        color: $text-muted;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Summary"
        self.text = ""
        """The summary as shown (plain text, exactly what `render_summary` returned)."""

    def compose(self) -> ComposeResult:
        # Both ways: the TOTAL RESULTS lines are wider than the pane.
        with ScrollableContainer():
            # Plain text: the summary holds brackets that markup would eat.
            yield Static("", id="summary-text", markup=False)
        with HorizontalGroup():
            yield Button("Save summary", id="save-summary", variant="primary")
            yield Label("ctrl+e saves · v switches to the plots")

    def show(self, text: str, title: str, *, savable: bool = True) -> None:
        self.text = text
        self.border_title = title
        self.query_one("#save-summary", Button).disabled = not savable
        hint = "ctrl+e saves · v switches to the plots" if savable else "v switches to the plots"
        self.query_one(HorizontalGroup).query_one(Label).update(hint)
        self.query_one("#summary-text", Static).update(text)
        self.query_one(ScrollableContainer).scroll_home(animate=False)


class ErrorPanel(Widget):
    """A failed run explained in words, never a traceback."""

    DEFAULT_CSS = """
    ErrorPanel {
        height: auto;
        max-height: 1fr;
        border: round $error;
        border-title-color: $text-error;
        padding: 1 2;
    }
    ErrorPanel #error-text {
        width: 1fr;
    }
    ErrorPanel #error-hint {
        color: $text-muted;
        margin-top: 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Run failed"
        self.text = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="error-text", markup=False)
        yield Static(
            Content("Fix the cause, then pick a scenario and press s (Start) to try again."),
            id="error-hint",
        )

    def show(self, text: str) -> None:
        self.text = text
        self.query_one("#error-text", Static).update(text)
