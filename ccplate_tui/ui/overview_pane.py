"""The Overview tab: go / no-go for the release, readable on a projector in ten seconds.

A big GO / NO-GO on the theme's success, error or warning colour, the one-line reason, and one
row per success criterion (target, current value, a coloured PASS / FAIL / UNKNOWN). The pane
renders a `Verdict` from `ccplate_tui.release.criteria`; it decides nothing itself.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.visual import VisualType
from textual.widget import Widget
from textual.widgets import Static

from ccplate_tui.release.criteria import Criterion, Verdict, evaluate_release

# 5x5 pixel glyphs; each pixel is drawn two cells wide so letters look square in a terminal.
_GLYPHS: dict[str, tuple[str, ...]] = {
    "G": (" ### ", "#    ", "# ###", "#   #", " ### "),
    "O": (" ### ", "#   #", "#   #", "#   #", " ### "),
    "N": ("#   #", "##  #", "# # #", "#  ##", "#   #"),
    "-": ("   ", "   ", "###", "   ", "   "),
}

STATUS_WORDS = {"pass": "PASS", "fail": "FAIL", "unknown": "UNKNOWN"}
"""What each status reads as; the word carries the meaning for colour-blind eyes too."""

NOT_MEASURED = (
    "Not measured here (see their dashboards): availability 99.9% uptime (Vercel analytics), "
    "database load < 50% CPU at peak (Neon / Convex)."
)
"""The plan's other success criteria, named so their absence is not mistaken for a pass."""


def big_text(word: str) -> tuple[str, ...]:
    """`word` in 5 rows of block characters (only the letters of GO / NO-GO)."""
    rows = []
    for row in range(5):
        parts = [_GLYPHS[ch][row].replace("#", "██").replace(" ", "  ") for ch in word]
        rows.append("  ".join(parts))
    return tuple(rows)


def verdict_word(verdict: Verdict) -> str:
    return "GO" if verdict.go else "NO-GO"


def verdict_tone(verdict: Verdict) -> str:
    """`go`, `fail` (a criterion failed) or `pending` (nothing failed, but not all known yet)."""
    if verdict.go:
        return "go"
    if any(c.status == "fail" for c in verdict.criteria):
        return "fail"
    return "pending"


class BigWord(Widget):
    """GO or NO-GO in large block letters, falling back to plain bold text when too narrow."""

    DEFAULT_CSS = """
    BigWord {
        width: 1fr;
        height: 5;
        content-align: center middle;
        text-style: bold;
    }
    """

    def __init__(self, word: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.word = word

    def set_word(self, word: str) -> None:
        if word != self.word:
            self.word = word
            self.refresh()

    def render(self) -> VisualType:
        rows = big_text(self.word)
        if self.size.width < len(rows[0]):
            return Content(self.word)
        return Content("\n".join(rows))


class CriterionRow(Horizontal):
    """One criterion: name, target, current value, and a coloured status block."""

    DEFAULT_CSS = """
    CriterionRow {
        height: 3;
    }
    CriterionRow:odd {
        background: $boost;
    }
    CriterionRow > Static {
        width: 1fr;
        height: 100%;
        padding: 0 1;
        content-align: left middle;
    }
    CriterionRow > .name { text-style: bold; }
    CriterionRow > .value { text-style: bold; }
    CriterionRow > .status {
        width: 16;
        content-align: center middle;
        text-style: bold;
        color: auto 95%;
    }
    CriterionRow > .status.-pass { background: $success; }
    CriterionRow > .status.-fail { background: $error; }
    CriterionRow > .status.-unknown { background: $warning; }
    """

    def __init__(self, criterion: Criterion) -> None:
        super().__init__()
        self.criterion = criterion

    def compose(self) -> ComposeResult:
        c = self.criterion
        yield Static(c.name, markup=False, classes="name")
        yield Static(c.target, markup=False, classes="target")
        yield Static(c.value, markup=False, classes="value")
        yield Static(STATUS_WORDS[c.status], classes=f"status -{c.status}")

    def show(self, criterion: Criterion) -> None:
        """Update in place (same criterion, new value or status)."""
        if criterion == self.criterion:
            return
        self.criterion = criterion
        cells = list(self.query_children(Static))
        for cell, text in zip(
            cells, (criterion.name, criterion.target, criterion.value), strict=False
        ):
            cell.update(Content(text))
        status = cells[3]
        status.update(STATUS_WORDS[criterion.status])
        status.set_classes(f"status -{criterion.status}")


class CriteriaTable(Vertical):
    """The success criteria, one row each, under a header."""

    DEFAULT_CSS = """
    CriteriaTable {
        height: auto;
        border: round $border;
        border-title-color: $text-accent;
        border-title-style: bold;
        padding: 0 1;
    }
    CriteriaTable > #criteria-header { height: 1; }
    CriteriaTable > #criteria-header > Static {
        width: 1fr;
        padding: 0 1;
        color: $text-muted;
        text-style: bold;
    }
    CriteriaTable > #criteria-header > .status { width: 16; content-align: center top; }
    """

    def __init__(self, criteria: tuple[Criterion, ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.criteria = criteria
        self.border_title = "Success criteria (hardening plan)"

    def compose(self) -> ComposeResult:
        with Horizontal(id="criteria-header"):
            for title in ("criterion", "target", "current"):
                yield Static(title)
            yield Static("status", classes="status")
        for criterion in self.criteria:
            yield CriterionRow(criterion)

    def show(self, criteria: tuple[Criterion, ...]) -> None:
        """Update rows in place; rebuild only when the set of criteria changes."""
        same_rows = [c.name for c in criteria] == [c.name for c in self.criteria]
        self.criteria = criteria
        if not same_rows:
            self.refresh(recompose=True)
            return
        for row, criterion in zip(self.query_children(CriterionRow), criteria, strict=False):
            row.show(criterion)


class OverviewPane(VerticalScroll):
    """The presenter's screen: the release verdict and the success criteria behind it."""

    DEFAULT_CSS = """
    OverviewPane {
        height: 1fr;
        padding: 0 1;
    }
    OverviewPane > #verdict {
        height: auto;
        padding: 1 2;
        margin: 1 0;
        color: auto 95%;
    }
    OverviewPane > #verdict.-go { background: $success; }
    OverviewPane > #verdict.-fail { background: $error; }
    OverviewPane > #verdict.-pending { background: $warning; }
    OverviewPane > #verdict > #headline {
        width: 1fr;
        margin-top: 1;
        text-align: center;
        text-style: bold;
    }
    OverviewPane > #reasons {
        height: auto;
        margin-top: 1;
        padding: 0 1;
        border: round $error;
        border-title-color: $text-error;
        border-title-style: bold;
    }
    OverviewPane > #reasons.-pending {
        border: round $warning;
        border-title-color: $text-warning;
    }
    OverviewPane > #not-measured {
        height: auto;
        margin-top: 1;
        padding: 0 1;
        color: $text-muted;
    }
    """

    def __init__(self, *, id: str | None = "overview") -> None:
        super().__init__(id=id)
        self.verdict: Verdict = evaluate_release(None)
        """The verdict on screen; the honest pre-run state until the app shows another."""

    def compose(self) -> ComposeResult:
        v = self.verdict
        with Vertical(id="verdict"):
            yield BigWord(verdict_word(v), id="verdict-word")
            yield Static(v.headline, markup=False, id="headline")
        yield CriteriaTable(v.criteria, id="criteria")
        reasons = Static("", markup=False, id="reasons")
        reasons.border_title = "Why not GO"
        yield reasons
        yield Static(NOT_MEASURED, markup=False, id="not-measured")

    def on_mount(self) -> None:
        # A verdict shown while the children were being composed is drawn here.
        self._draw(self.verdict)

    def show_verdict(self, verdict: Verdict) -> None:
        """Show a new verdict (called by the app on every interval and at the end of a run)."""
        if verdict == self.verdict:
            return
        self.verdict = verdict
        if self.is_mounted:
            self._draw(verdict)

    def _draw(self, verdict: Verdict) -> None:
        tone = verdict_tone(verdict)
        self.query_one("#verdict", Vertical).set_classes(f"-{tone}")
        self.query_one("#verdict-word", BigWord).set_word(verdict_word(verdict))
        self.query_one("#headline", Static).update(Content(verdict.headline))
        self.query_one("#criteria", CriteriaTable).show(verdict.criteria)
        reasons = self.query_one("#reasons", Static)
        reasons.update(Content("\n".join(f"• {reason}" for reason in verdict.reasons)))
        reasons.set_class(tone == "pending", "-pending")
        reasons.display = not verdict.go
