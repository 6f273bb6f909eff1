"""The Sentry tab: both Sentry checks, their evidence, and the keys that run them.

The pane renders the JSON documents the checks store (`report_to_json`, `capture_to_json`), so a
stored result from an earlier session and a fresh one look the same. It never runs a check: it
posts `CompatibilityRequested` / `CaptureRequested` and shows what the app tells it (checking,
a result, an error).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, HorizontalGroup, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Static

from ccplate_tui.ui.messages import SentryCheckKind as CheckKind
from ccplate_tui.ui.sentry_wiring import WiringView, wiring_of

Tone = Literal["success", "warning", "error", "busy", "idle"]
Document = Mapping[str, Any]

VERDICT_BADGES: dict[str, tuple[str, Tone]] = {
    "supported": ("SUPPORTED", "success"),
    "upgrade": ("UPGRADE", "warning"),
    "partial": ("PARTIAL", "warning"),
    "unsupported": ("UNSUPPORTED", "error"),
}
"""The compatibility verdict as the badge shows it, and the theme colour behind it."""

SENTRY_KEYS = ("SENTRY_DSN", "SENTRY_ORG", "SENTRY_PROJECT", "NEXT_PUBLIC_SENTRY_DSN")
"""The keys `.env.example` is checked for, in the order the report lists them."""

OK = "$text-success"
BAD = "$text-error"
MUTED = "$text-muted"


@dataclass(frozen=True)
class CheckView:
    """What one check's card shows: its last result and what is happening now."""

    document: Document | None = None
    """The last result (`report_to_json` / `capture_to_json` shape), or None when never run."""
    stored: bool = False
    """True when `document` was stored by an earlier session (not run since this app started)."""
    checking: str | None = None
    """While a check runs: what it is asking, e.g. the registry URL."""
    error: str | None = None
    """Why the latest attempt did not produce a result (the previous result stays shown)."""


# -- reading the documents (stored files may be old or hand-edited: never trust a shape)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _yes_no(value: object, yes: str, no: str, unknown: str) -> Content:
    if value is True:
        return Content.styled(f"✓ {yes}", OK)
    if value is False:
        return Content.styled(f"✗ {no}", BAD)
    return Content.styled(unknown, MUTED)


# -- the compatibility card


def compat_badge(view: CheckView) -> tuple[str, Tone]:
    if view.checking is not None:
        return "CHECKING…", "busy"
    if view.error is not None:
        return "ERROR", "error"
    if view.document is None:
        return "NOT RUN", "idle"
    return VERDICT_BADGES.get(_text(view.document.get("verdict")), ("UNKNOWN", "idle"))


def compat_headline(view: CheckView) -> str:
    if view.checking is not None:
        return f"Checking… {view.checking}"
    if view.error is not None:
        return f"The compatibility check could not finish: {view.error}"
    if view.document is None:
        return "Does @sentry/nextjs support this app's Next.js? Press c to check."
    return _text(view.document.get("headline")) or "The report has no headline."


def compat_status(view: CheckView) -> str:
    """Where the shown answer came from, and whether it is older than this session."""
    doc = view.document
    if doc is None:
        return ""
    verdict = VERDICT_BADGES.get(_text(doc.get("verdict")), ("UNKNOWN", "idle"))[0]
    if view.checking is not None or view.error is not None:
        earlier = ", stored by an earlier session" if view.stored else ""
        return f"Below: the previous result ({verdict}{earlier})."
    registry = _dict(doc.get("registry"))
    source = _text(doc.get("source"))
    url = _text(registry.get("url"))
    when = _text(registry.get("fetched_at"))
    if source == "registry":
        answer = f"Answer from the registry {url}" if url else "Answer from the registry"
    elif source == "cache":
        answer = f"Answer from the cache of {url}" if url else "Answer from the cache"
    elif source == "node_modules":
        answer = "Answer from the installed package only (no registry, no cache)"
    else:
        answer = "Answer from an unknown source"
    if when and source != "node_modules":
        answer += f" at {when}"
    note = _text(registry.get("note"))
    text = answer + (f" ({note})" if note else "")
    return f"Stored result of an earlier check. {text}" if view.stored else text


def _package_row(name: str, installed: Mapping[str, Any]) -> tuple[str, str, Content]:
    version = _text(installed.get("version"))
    declared = _text(installed.get("declared"))
    where = _text(installed.get("source_path"))
    if installed.get("source") == "missing" or (not version and not declared):
        return name, "—", Content.styled("not installed", BAD)
    if not version:
        return name, "—", Content(f"not installed; package.json declares {declared}")
    return name, version, Content(f"from {where}" if where else "installed")


def version_rows(doc: Document) -> list[tuple[str, str, Content]]:
    """Installed next and @sentry/nextjs against the first / newest supporting and the latest."""
    installed = _dict(doc.get("installed"))
    next_version = _text(doc.get("next_version")) or "this next"
    rows = [_package_row("next", _dict(installed.get("next")))]
    name, version, note = _package_row("@sentry/nextjs", _dict(installed.get("sentry")))
    supports = doc.get("installed_supports")
    if supports is True:
        note = Content.assemble((f"✓ supports {next_version}", OK), " · ", note)
    elif supports is False:
        note = Content.assemble((f"✗ does not support {next_version}", BAD), " · ", note)
    rows.append((name, version, note))
    count = doc.get("supporting_count")
    first = _text(doc.get("first_supporting"))
    newest = _text(doc.get("latest_supporting"))
    if first or newest:
        rows.append(
            ("first supporting", first or "—", Content("the first stable release that does"))
        )
        many = (
            f"{count} stable releases support next {next_version}" if isinstance(count, int) else ""
        )
        rows.append(("newest supporting", newest or "—", Content(many)))
    else:
        rows.append(
            (
                "supporting",
                "none",
                Content.styled(f"no stable release supports {next_version}", BAD),
            )
        )
    pre = _text(doc.get("prerelease_supporting"))
    if pre:
        rows.append(("pre-release", pre, Content("the newest pre-release that does")))
    rows.append(("latest", _text(doc.get("latest")) or "—", Content("dist-tags.latest")))
    recommended = _text(doc.get("recommended"))
    if recommended:
        rows.append(("recommended", recommended, Content("what to install")))
    return rows


def todo_rows(doc: Document) -> list[tuple[str, Content]]:
    """Each TODO marker that disables Sentry, as `file:line` and its comment."""
    rows = []
    for marker in _list(doc.get("todo_markers")):
        m = _dict(marker)
        rows.append(
            (f"{_text(m.get('file'))}:{_text(m.get('line'))}", Content(_text(m.get("text"))))
        )
    return rows


def env_line(doc: Document) -> Content:
    """Which Sentry keys `.env.example` has (✓) and lacks (✗)."""
    env = doc.get("env_example")
    if not isinstance(env, Mapping):
        return Content.styled("no .env.example in the project", BAD)
    present = {_text(k) for k in _list(env.get("present"))}
    missing = {_text(k) for k in _list(env.get("missing"))}
    parts: list[Content | tuple[str, str] | str] = []
    for key in [k for k in SENTRY_KEYS if k in present or k in missing] or sorted(present):
        if parts:
            parts.append(" ")
        parts.append(("✓ " + key, OK) if key in present else ("✗ " + key, BAD))
    if present and not missing:
        parts.append(("  (all present)", MUTED))
    return Content.assemble(*parts)


def wiring_rows(doc: Document) -> list[tuple[str, Content]]:
    """Whether the project is wired to Sentry: env keys, the init call, the error boundary.

    A document with a wiring report shows only the env keys here: WiringView has the rest.
    """
    init = doc.get("instrumentation_calls_init")
    boundary = doc.get("error_boundary_reports")
    if wiring_of(doc) is not None:
        return [(".env.example", env_line(doc))]
    return [
        (".env.example", env_line(doc)),
        (
            "init call",
            _yes_no(
                init,
                "instrumentation calls the Sentry init",
                "instrumentation does not call the Sentry init",
                "no instrumentation file",
            ),
        ),
        (
            "error boundary",
            _yes_no(
                boundary, "reports to Sentry", "does not report to Sentry", "no error boundary"
            ),
        ),
    ]


def warning_lines(doc: Document) -> list[str]:
    """Caveats, engine conflicts and deprecations: the reasons to be careful."""
    lines = [f"⚠ {c}" for c in _list(doc.get("caveats"))]
    if doc.get("engines_conflict"):
        lines.append(f"⚠ {doc['engines_conflict']}")
    lines += [f"⚠ deprecated: {d}" for d in _list(doc.get("deprecated"))]
    lines += [f"⚠ {w}" for w in _list(doc.get("warnings"))]
    return lines


def advice_lines(doc: Document) -> list[str]:
    return [f"{i}. {a}" for i, a in enumerate(_list(doc.get("advice")), 1)]


# -- the capture card


def capture_badge(view: CheckView) -> tuple[str, Tone]:
    if view.checking is not None:
        return "SENDING…", "busy"
    if view.error is not None:
        return "ERROR", "error"
    doc = view.document
    if doc is None:
        return "NOT RUN", "idle"
    if not doc.get("delivered"):
        return "NOT DELIVERED", "error"
    confirmation = doc.get("confirmation")
    if isinstance(confirmation, Mapping) and not confirmation.get("confirmed"):
        return "NOT CONFIRMED", "warning"
    return "DELIVERED", "success"


def capture_headline(view: CheckView) -> str:
    if view.checking is not None:
        return f"Sending a test error… {view.checking}"
    if view.error is not None:
        return f"The capture check could not run: {view.error}"
    doc = view.document
    if doc is None:
        return "Does Sentry really receive our errors? Press v to send a test error."
    status = doc.get("status")
    confirmation = doc.get("confirmation")
    if doc.get("delivered"):
        if isinstance(confirmation, Mapping):
            if confirmation.get("confirmed"):
                return "Sentry received the test error and shows it in the project"
            return "Delivered (HTTP 200), but the event was not found through Sentry's API"
        return "Sentry's ingest accepted the test error (HTTP 200 naming its event id)"
    if status is None:
        return "Not delivered: no answer from the ingest"
    return f"Not delivered: the ingest answered HTTP {status}"


def capture_status(view: CheckView) -> str:
    doc = view.document
    if doc is None:
        return ""
    if view.checking is not None or view.error is not None:
        word = capture_badge(replace(view, checking=None, error=None))[0]
        earlier = ", stored by an earlier session" if view.stored else ""
        return f"Below: the previous result ({word}{earlier})."
    sent = _text(doc.get("sent_at"))
    text = f"Sent at {sent}" + (f" with {doc['sdk']}" if doc.get("sdk") else "")
    return f"Stored result of an earlier check. {text}" if view.stored else text


def capture_rows(doc: Document) -> list[tuple[str, Content]]:
    """The evidence: event id, the ingest's answer, where it went, and the API lookup."""
    answer = _dict(doc.get("answer"))
    status = doc.get("status", answer.get("status"))
    body = " ".join(_text(answer.get("body")).split())
    if status is None:
        got = Content.assemble(("no HTTP answer", BAD), f"  {_text(answer.get('error'))}".rstrip())
    else:
        style = OK if status == 200 else BAD
        short = body[:120] + ("…" if len(body) > 120 else "")
        got = Content.assemble((f"HTTP {status}", f"bold {style}"), f"  {short}".rstrip())
    rows = [
        ("Event id", Content.styled(_text(doc.get("event_id")), "bold")),
        ("Ingest", got),
        ("Envelope", Content(_text(doc.get("envelope_url")))),
        ("DSN", Content(_text(doc.get("dsn")))),
    ]
    retry = answer.get("retry_after")
    if isinstance(retry, (int, float)):
        rows.append(("Retry-After", Content(f"{retry:g} s")))
    elif retry is not None:
        rows.append(("Retry-After", Content(_text(retry))))
    if answer.get("rate_limits"):
        rows.append(("Rate limits", Content(_text(answer["rate_limits"]))))
    confirmation = doc.get("confirmation")
    if isinstance(confirmation, Mapping):
        attempts = confirmation.get("attempts")
        tries = f" after {attempts} lookup{'s' if attempts != 1 else ''}" if attempts else ""
        if confirmation.get("confirmed"):
            found = Content.assemble(("confirmed", f"bold {OK}"), tries)
            when = _text(confirmation.get("date_received"))
            rows.append(("In Sentry", found + (f", received {when}" if when else "")))
            if confirmation.get("issue_url"):
                rows.append(("Issue", Content(_text(confirmation["issue_url"]))))
        else:
            last = confirmation.get("last_status")
            rows.append(
                (
                    "In Sentry",
                    Content.assemble(
                        ("not found", f"bold {BAD}"),
                        tries + (f" (last answer {last})" if last is not None else ""),
                    ),
                )
            )
    elif doc.get("delivered"):
        rows.append(
            (
                "In Sentry",
                Content.styled(
                    "not looked up: set SENTRY_AUTH_TOKEN (project:read), SENTRY_ORG and "
                    "SENTRY_PROJECT to confirm through the API",
                    MUTED,
                ),
            )
        )
    return rows


def capture_notes(doc: Document) -> list[str]:
    """The explanations: what happened and what to do."""
    notes = [f"→ {doc['explanation']}"] if doc.get("explanation") else []
    confirmation = doc.get("confirmation")
    if isinstance(confirmation, Mapping) and confirmation.get("explanation"):
        notes.append(f"→ {confirmation['explanation']}")
    return notes


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


class CompatibilityCard(CheckCard):
    """The compatibility check: verdict, versions, TODO markers, env keys, the next command."""

    DEFAULT_CSS = """
    CompatibilityCard #compat-versions { grid-size: 3; grid-columns: 19 10 1fr; }
    CompatibilityCard #compat-todos { grid-columns: auto 1fr; grid-gutter: 0 2; }
    CompatibilityCard #compat-todos > .value { text-wrap: nowrap; text-overflow: ellipsis; }
    CompatibilityCard #compat-wiring { grid-columns: 14 1fr; }
    """

    def __init__(self, view: CheckView | None = None) -> None:
        super().__init__(id="compat-card")
        self.border_title = "Compatibility · does @sentry/nextjs support this app's Next.js?"
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
            Content(_text(doc.get("next_command")) or "—")
        )
        header = ("", "version", Content.styled("where / what", MUTED))
        self.query_one("#compat-versions", FactGrid).show([header, *version_rows(doc)])
        next_version = _text(doc.get("next_version")) or "next"
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
        super().__init__(id="capture-card")
        self.border_title = "Capture · does Sentry really receive our errors?"
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
    """

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
