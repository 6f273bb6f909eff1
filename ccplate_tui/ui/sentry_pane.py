"""The Sentry tab: both Sentry checks, their evidence, and the keys that run them.

The pane renders the JSON documents the checks store (`report_to_json`, `capture_to_json`), so a
stored result from an earlier session and a fresh one look the same. It never runs a check: it
posts `CompatibilityRequested` / `CaptureRequested` and shows what the app tells it (checking,
a result, an error).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, HorizontalGroup, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Static

from ccplate_tui.ui.messages import SentryCheckKind as CheckKind
from ccplate_tui.ui.sentry_text import (
    MUTED,
    CheckView,
    Document,
    Tone,
    advice_lines,
    as_text,
    capture_badge,
    capture_headline,
    capture_notes,
    capture_rows,
    capture_status,
    compat_badge,
    compat_headline,
    compat_status,
    todo_rows,
    version_rows,
    warning_lines,
    wiring_rows,
)
from ccplate_tui.ui.sentry_wiring import WiringView

# -- widgets


class VerdictBar(Horizontal):
    """A coloured badge (SUPPORTED, UPGRADE, DELIVERED, ...) and the one-line headline."""

    DEFAULT_CSS = """
    VerdictBar {
        height: auto;
    }
    VerdictBar > .badge {
        width: 17;
        height: 3;
        content-align: center middle;
        text-style: bold;
        color: auto 95%;
        background: $panel;
    }
    VerdictBar > .badge.-success { background: $success; }
    VerdictBar > .badge.-warning { background: $warning; }
    VerdictBar > .badge.-error { background: $error; }
    VerdictBar > .badge.-busy { background: $primary; }
    VerdictBar > .headline {
        width: 1fr;
        height: auto;
        min-height: 3;
        padding: 0 1;
        content-align: left middle;
        text-style: bold;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("", classes="badge")
        yield Static("", markup=False, classes="headline")

    def show(self, word: str, tone: Tone, headline: str) -> None:
        badge = self.query_one(".badge", Static)
        badge.update(word)
        badge.set_classes(f"badge -{tone}")
        self.query_one(".headline", Static).update(Content(headline))

    @property
    def word(self) -> str:
        return str(self.query_one(".badge", Static).render())

    @property
    def headline(self) -> str:
        return str(self.query_one(".headline", Static).render())


class FactGrid(Widget):
    """Rows of cells in fixed columns (set by CSS), rebuilt when the row count changes."""

    DEFAULT_CSS = """
    FactGrid {
        layout: grid;
        grid-size: 2;
        grid-columns: 13 1fr;
        grid-rows: auto;
        grid-gutter: 0 1;
        height: auto;
    }
    FactGrid > .label { color: $text-muted; }
    """

    def __init__(self, columns: int = 2, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns = columns
        self.rows: list[tuple[str | Content, ...]] = []

    def show(self, rows: Sequence[tuple[str | Content, ...]]) -> None:
        rows = [tuple(row) for row in rows]
        same_shape = len(rows) == len(self.rows)
        self.rows = rows
        if not same_shape:
            self.remove_children()
            self.mount_all(self._cells())
            return
        for cell, value in zip(self.query_children(Static), self._values(), strict=False):
            cell.update(value if isinstance(value, Content) else Content(value))

    def _values(self) -> list[str | Content]:
        return [value for row in self.rows for value in row[: self.columns]]

    def _cells(self) -> list[Static]:
        cells = []
        for index, value in enumerate(self._values()):
            text = value if isinstance(value, Content) else Content(value)
            cells.append(Static(text, classes="label" if index % self.columns == 0 else "value"))
        return cells

    def text(self) -> str:
        """The rows as plain text, one line each (for tests and screen readers)."""
        return "\n".join("  ".join(str(v) for v in row) for row in self.rows)


class CheckCard(Vertical):
    """A titled box for one check: verdict bar, status line, body, and its buttons."""

    DEFAULT_CSS = """
    CheckCard {
        height: auto;
        padding: 0 1;
        border: round $border;
        border-title-color: $text-accent;
        border-title-style: bold;
    }
    CheckCard > .status { color: $text-muted; }
    CheckCard > .status.-busy { color: $text-primary; text-style: bold; }
    CheckCard > .status.-error { color: $text-error; }
    CheckCard .section {
        margin-top: 1;
        text-style: bold;
        color: $text-accent;
    }
    CheckCard .next-command {
        width: auto;
        padding: 0 1;
        background: $boost;
        color: $text-primary;
        text-style: bold;
    }
    CheckCard .notes { height: auto; }
    CheckCard .buttons { height: auto; }
    CheckCard .buttons Button { margin-right: 2; }
    """

    def __init__(self, title: str, short_title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.long_title = title
        """The border title when the card is wide enough for it, else `short_title`."""
        self.short_title = short_title
        self.border_title = title

    def on_resize(self) -> None:
        # A border title is never wrapped, only cut: a narrow card drops the question.
        fits = self.outer_size.width >= len(self.long_title) + 6  # corners, rules, spaces
        self.border_title = self.long_title if fits else self.short_title


class CompatibilityCard(CheckCard):
    """The compatibility check: verdict, versions, TODO markers, env keys, the next command."""

    DEFAULT_CSS = """
    CompatibilityCard #compat-versions { grid-size: 3; grid-columns: 19 10 1fr; }
    CompatibilityCard #compat-todos { grid-columns: auto 1fr; grid-gutter: 0 2; }
    CompatibilityCard #compat-wiring { grid-columns: 14 1fr; }
    """

    def __init__(self, view: CheckView | None = None) -> None:
        super().__init__(
            "Compatibility · does @sentry/nextjs support this app's Next.js?",
            "Compatibility",
            id="compat-card",
        )
        self.view = view or CheckView()

    def compose(self) -> ComposeResult:
        yield VerdictBar(id="compat-verdict")
        yield Static("", markup=False, classes="status", id="compat-status")
        with HorizontalGroup(classes="buttons"):
            yield Button("Check compatibility (c)", id="compat-run", compact=True)
            yield Button("Offline check (o)", id="compat-offline", compact=True)
        with Vertical(id="compat-body", classes="notes"):
            yield Static("Next command", classes="section")
            yield Static("", markup=False, classes="next-command", id="compat-next")
            yield Static("Versions", classes="section", id="compat-versions-title")
            yield FactGrid(3, id="compat-versions")
            yield Static(
                "TODO markers that disable Sentry", classes="section", id="compat-todos-title"
            )
            yield FactGrid(2, id="compat-todos")
            yield Static("Project wiring", classes="section")
            yield FactGrid(2, id="compat-wiring")
            yield WiringView(id="compat-paths")
            yield Static("", markup=False, id="compat-warnings")
            yield Static("What to do", classes="section", id="compat-advice-title")
            yield Static("", markup=False, id="compat-advice")

    def on_mount(self) -> None:
        self._draw(self.view)

    def show(self, view: CheckView) -> None:
        self.view = view
        if self.is_mounted:
            self._draw(view)

    def _draw(self, view: CheckView) -> None:
        word, tone = compat_badge(view)
        self.query_one(VerdictBar).show(word, tone, compat_headline(view))
        status = self.query_one("#compat-status", Static)
        status.update(Content(compat_status(view)))
        status.set_class(view.checking is not None, "-busy")
        status.set_class(view.error is not None, "-error")
        doc = view.document
        body = self.query_one("#compat-body")
        body.display = doc is not None
        for button in self.query(Button):
            button.disabled = view.checking is not None
        if doc is None:
            return
        self.query_one("#compat-next", Static).update(
            Content(as_text(doc.get("next_command")) or "—")
        )
        header = ("", "version", Content.styled("where / what", MUTED))
        self.query_one("#compat-versions", FactGrid).show([header, *version_rows(doc)])
        next_version = as_text(doc.get("next_version")) or "next"
        self.query_one("#compat-versions-title", Static).update(
            f"Versions: @sentry/nextjs for next {next_version}"
        )
        todos = todo_rows(doc)
        self.query_one("#compat-todos-title", Static).update(
            f"TODO markers that disable Sentry ({len(todos)})"
            if todos
            else "TODO markers that disable Sentry: none"
        )
        self.query_one("#compat-todos", FactGrid).show(todos)
        self.query_one("#compat-wiring", FactGrid).show(wiring_rows(doc))
        self.query_one(WiringView).show(doc)
        warnings = warning_lines(doc)
        self.query_one("#compat-warnings", Static).update(Content("\n".join(warnings)))
        self.query_one("#compat-warnings").display = bool(warnings)
        advice = advice_lines(doc)
        self.query_one("#compat-advice", Static).update(Content("\n".join(advice)))
        self.query_one("#compat-advice-title").display = bool(advice)
        self.query_one("#compat-advice").display = bool(advice)


class CaptureCard(CheckCard):
    """The capture check: delivered or not, and its evidence."""

    def __init__(self, view: CheckView | None = None) -> None:
        super().__init__(
            "Capture · does Sentry really receive our errors?", "Capture", id="capture-card"
        )
        self.view = view or CheckView()

    def compose(self) -> ComposeResult:
        yield VerdictBar(id="capture-verdict")
        yield Static("", markup=False, classes="status", id="capture-status")
        with HorizontalGroup(classes="buttons"):
            yield Button("Send test error (v)", id="capture-run", compact=True)
        with Vertical(id="capture-body", classes="notes"):
            yield Static("Evidence", classes="section")
            yield FactGrid(2, id="capture-evidence")
            yield Static("", markup=False, id="capture-notes")

    def on_mount(self) -> None:
        self._draw(self.view)

    def show(self, view: CheckView) -> None:
        self.view = view
        if self.is_mounted:
            self._draw(view)

    def _draw(self, view: CheckView) -> None:
        word, tone = capture_badge(view)
        self.query_one(VerdictBar).show(word, tone, capture_headline(view))
        status = self.query_one("#capture-status", Static)
        status.update(Content(capture_status(view)))
        status.set_class(view.checking is not None, "-busy")
        status.set_class(view.error is not None, "-error")
        self.query_one("#capture-run", Button).disabled = view.checking is not None
        doc = view.document
        self.query_one("#capture-body").display = doc is not None
        if doc is None:
            return
        self.query_one("#capture-evidence", FactGrid).show(capture_rows(doc))
        self.query_one("#capture-notes", Static).update(Content("\n".join(capture_notes(doc))))


class SentryPane(VerticalScroll):
    """The Sentry tab. The app calls `show_result`, `set_checking`, `show_error` and
    `set_project`; the pane posts `CompatibilityRequested` and `CaptureRequested`."""

    DEFAULT_CSS = """
    SentryPane {
        height: 1fr;
        padding: 0 1;
    }
    SentryPane > #sentry-project {
        color: $text-muted;
        padding: 0 1;
    }
    SentryPane > #sentry-columns { height: auto; }
    SentryPane #compat-card { width: 3fr; }
    SentryPane #capture-card { width: 2fr; }
    /* Narrow: the cards one above the other, each the full width; TODO markers as file, then
       comment. Short: one-line badges, so a verdict and its headline take two rows, not four. */
    Screen.-narrow SentryPane > #sentry-columns { layout: vertical; }
    Screen.-narrow SentryPane #compat-card, Screen.-narrow SentryPane #capture-card {
        width: 1fr;
    }
    Screen.-narrow SentryPane #compat-todos { grid-size: 1; grid-columns: 1fr; }
    Screen.-narrow SentryPane #compat-todos > .value { padding-left: 2; }
    Screen.-short SentryPane VerdictBar > .badge { height: 1; }
    Screen.-short SentryPane VerdictBar > .headline { min-height: 1; }
    """

    SCOPED_CSS = False  # its rules start at `Screen.-narrow` and the like

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "check", "Check compatibility", tooltip="Ask the registry and decide"),
        Binding("o", "check_offline", "Offline check", tooltip="Decide from the cache only"),
        Binding("v", "verify", "Send test error", tooltip="Send a test error to the DSN"),
    ]

    class CompatibilityRequested(Message):
        """The user asked to run the compatibility check (`offline`: no registry)."""

        def __init__(self, offline: bool = False) -> None:
            super().__init__()
            self.offline = offline

    class CaptureRequested(Message):
        """The user asked to send a test error to the DSN."""

    def __init__(self, *, id: str | None = "sentry") -> None:
        super().__init__(id=id)
        self.views: dict[CheckKind, CheckView] = {
            "compatibility": CheckView(),
            "capture": CheckView(),
        }
        """What each card shows; the app's calls update these."""
        self.project = ""

    def compose(self) -> ComposeResult:
        project = Static(self.project, markup=False, id="sentry-project")
        project.display = bool(self.project)
        yield project
        with Horizontal(id="sentry-columns"):
            yield CompatibilityCard(self.views["compatibility"])
            yield CaptureCard(self.views["capture"])

    # -- what the app calls

    def set_project(self, text: str) -> None:
        """The line above the cards: which Next.js project (and where that choice came from)."""
        self.project = text
        if self.is_mounted:
            line = self.query_one("#sentry-project", Static)
            line.update(Content(text))
            line.display = bool(text)

    def show_result(
        self, kind: CheckKind, document: Document | None, *, stored: bool = False
    ) -> None:
        """A check's result document (`stored`: from an earlier session); None keeps NOT RUN."""
        self._set(kind, CheckView(document, stored))

    def set_checking(self, kind: CheckKind, asking: str) -> None:
        """A check is running; `asking` says what it waits for (shown until the answer)."""
        self._set(kind, replace(self.views[kind], checking=asking, error=None))

    def show_error(self, kind: CheckKind, text: str) -> None:
        """The check ended without a result; the previous result stays below the error."""
        self._set(kind, replace(self.views[kind], checking=None, error=text))

    def is_checking(self, kind: CheckKind) -> bool:
        return self.views[kind].checking is not None

    def _set(self, kind: CheckKind, view: CheckView) -> None:
        self.views[kind] = view
        # Before compose the cards do not exist yet; they are built from `self.views`.
        cards = self.query(CompatibilityCard if kind == "compatibility" else CaptureCard)
        for card in cards:
            card.show(view)

    # -- intents

    def action_check(self) -> None:
        self.post_message(self.CompatibilityRequested())

    def action_check_offline(self) -> None:
        self.post_message(self.CompatibilityRequested(offline=True))

    def action_verify(self) -> None:
        self.post_message(self.CaptureRequested())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "compat-run":
            self.action_check()
        elif event.button.id == "compat-offline":
            self.action_check_offline()
        elif event.button.id == "capture-run":
            self.action_verify()
