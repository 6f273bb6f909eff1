"""The Overview tab: go / no-go for the release, readable on a projector in ten seconds.

A big GO / GO (REHEARSAL) / NO-GO on the theme's success, error or warning colour, the one-line
reason, and one row per criterion (target, current value, the evidence it rests on — run id,
start, duration, time scale — and a coloured PASS / FAIL / UNKNOWN / NOT MEASURED). A run still
going or cut short is shown under the table, beside the complete run the criteria judge. The pane
renders a `Verdict` from `ccplate_tui.release.criteria`; it decides nothing itself.

The layout follows the screen's breakpoint classes (`CcplateApp.HORIZONTAL_BREAKPOINTS`): under
`-narrow` each row keeps its name, value and status and the targets and evidence move to a box
under the table; under `-short` the verdict is one bold line; under `-wide` (and not `-short`) the
verdict is drawn at twice the size and the evidence column gets the room to show in full.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.geometry import Size
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

STATUS_WORDS = {
    "pass": "PASS",
    "fail": "FAIL",
    "unknown": "UNKNOWN",
    "not_measured": "NOT MEASURED",
}
"""What each status reads as; the word carries the meaning for colour-blind eyes too."""


def status_class(status: str) -> str:
    """The CSS class of a status cell: `-pass`, `-not-measured`."""
    return "-" + status.replace("_", "-")


def big_text(word: str, scale: int = 1) -> tuple[str, ...]:
    """`word` in 5 * `scale` rows of block characters (only the letters of GO / NO-GO); a
    qualifier in brackets (`GO (REHEARSAL)`) is left to the caller."""
    word = word.split(" (")[0]
    on, off = "██" * scale, "  " * scale
    rows = []
    for row in range(5):
        parts = [_GLYPHS[ch][row].replace("#", on).replace(" ", off) for ch in word]
        rows += ["  ".join(parts) if scale == 1 else off.join(parts)] * scale
    return tuple(rows)


def verdict_word(verdict: Verdict) -> str:
    return verdict.word


def verdict_tone(verdict: Verdict) -> str:
    """`go`, `rehearsal` (all pass on rehearsal evidence), `fail` (a criterion failed) or
    `pending` (nothing failed, but not all known or measured yet)."""
    if verdict.go:
        return "go"
    if verdict.rehearsal:
        return "rehearsal"
    if any(c.status == "fail" for c in verdict.criteria):
        return "fail"
    return "pending"


class BigWord(Widget):
    """GO or NO-GO in large block letters, falling back to plain bold text when too narrow.

    The size follows the screen's breakpoint classes: plain text under `-short` (the rows
    matter more on a small terminal), double size under `-wide`, else the 5-row letters.
    """

    DEFAULT_CSS = """
    BigWord {
        width: 1fr;
        height: auto;
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
            self.refresh(layout=True)

    def scale(self, width: int) -> int:
        """2 for double-size letters, 1 for the 5-row ones, 0 for plain text."""
        classes = self.screen.classes if self.is_attached else frozenset()
        if "-short" in classes:
            return 0
        for scale in (2, 1) if "-wide" in classes else (1,):
            if width >= len(big_text(self.word, scale)[0]):
                return scale
        return 0

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        # Not cached by width (as Widget's is): the scale also follows the screen's classes.
        scale = self.scale(width)
        return 5 * scale + (" (" in self.word) if scale else 1

    def render(self) -> VisualType:
        scale = self.scale(self.size.width)
        if not scale:
            return Content(self.word)
        rows = big_text(self.word, scale)
        _, bracket, qualifier = self.word.partition(" (")
        suffix = f"\n{f'({qualifier}'.center(len(rows[0])).rstrip()}" if bracket else ""
        return Content("\n".join(rows) + suffix)


def evidence_text(criterion: Criterion) -> str:
    """What the row's value rests on, or for a NOT MEASURED row what would measure it."""
    if criterion.evidence.source != "none":
        return criterion.evidence.text()
    if criterion.status == "not_measured" and criterion.reason:
        return criterion.reason.split(": ", 1)[-1]
    return "—"


CRITERIA_GRID = """
    .criteria-grid {
        layout: grid;
        grid-size: 5;
        grid-columns: 18 1fr 1fr 2fr 16;
        grid-rows: auto;
        height: auto;
    }
    Screen.-wide .criteria-grid { grid-columns: 22 1fr 1fr 3fr 18; }
    /* Narrow: name, value and status only; the targets and evidence move under the table. */
    Screen.-narrow .criteria-grid { grid-size: 3; grid-columns: 18 1fr 14; }
    Screen.-narrow .criteria-grid > .target, Screen.-narrow .criteria-grid > .evidence {
        display: none;
    }
"""
"""The columns the header and every row share, by breakpoint class."""


class CriterionRow(Widget):
    """One criterion: name, target, current value, evidence, and a coloured status block.

    Every cell wraps and the row grows to fit, so no value or evidence is ever cut off.
    """

    SCOPED_CSS = False  # its rules start at `Screen.-narrow` and the like

    DEFAULT_CSS = (
        CRITERIA_GRID
        + """
    CriterionRow:odd {
        background: $boost;
    }
    CriterionRow > Static {
        height: 100%;
        min-height: 2;
        padding: 0 1;
        content-align: left middle;
    }
    Screen.-wide CriterionRow > Static { min-height: 3; }
    Screen.-short CriterionRow > Static { min-height: 1; }
    CriterionRow > .name { text-style: bold; }
    CriterionRow > .value { text-style: bold; }
    CriterionRow > .evidence { color: $text-muted; }
    CriterionRow > .status {
        content-align: center middle;
        text-style: bold;
        color: auto 95%;
    }
    CriterionRow > .status.-pass { background: $success; }
    CriterionRow > .status.-fail { background: $error; }
    CriterionRow > .status.-unknown { background: $warning; }
    CriterionRow > .status.-not-measured { background: $warning; text-style: bold italic; }
    """
    )

    def __init__(self, criterion: Criterion) -> None:
        super().__init__(classes="criteria-grid")
        self.criterion = criterion

    def compose(self) -> ComposeResult:
        c = self.criterion
        yield Static(c.name, markup=False, classes="name")
        yield Static(c.target, markup=False, classes="target")
        yield Static(c.value, markup=False, classes="value")
        yield Static(evidence_text(c), markup=False, classes="evidence")
        yield Static(STATUS_WORDS[c.status], classes=f"status {status_class(c.status)}")

    def show(self, criterion: Criterion) -> None:
        """Update in place (same criterion, new value or status)."""
        if criterion == self.criterion:
            return
        self.criterion = criterion
        cells = list(self.query_children(Static))
        texts = (criterion.name, criterion.target, criterion.value, evidence_text(criterion))
        for cell, text in zip(cells, texts, strict=False):
            cell.update(Content(text))
        status = cells[4]
        status.update(STATUS_WORDS[criterion.status])
        status.set_classes(f"status {status_class(criterion.status)}")


class CriteriaTable(Vertical):
    """The success criteria, one row each, under a header."""

    SCOPED_CSS = False  # its rules start at `Screen.-narrow` and the like

    DEFAULT_CSS = """
    CriteriaTable {
        height: auto;
        border: round $border;
        border-title-color: $text-accent;
        border-title-style: bold;
        padding: 0 1;
    }
    CriteriaTable > #criteria-header > Static {
        padding: 0 1;
        color: $text-muted;
        text-style: bold;
    }
    CriteriaTable > #criteria-header > .status { content-align: center top; }
    """

    def __init__(self, criteria: tuple[Criterion, ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.criteria = criteria
        self.border_title = "Success criteria (hardening plan) and release checks"

    def compose(self) -> ComposeResult:
        with Widget(id="criteria-header", classes="criteria-grid"):
            for title in ("criterion", "target", "current", "evidence", "status"):
                yield Static(title, classes=title.replace("current", "value"))
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


def evidence_lines(criteria: tuple[Criterion, ...]) -> Content:
    """Each criterion's target and evidence, for the box that holds them on a narrow screen."""
    parts: list[Content] = []
    for c in criteria:
        parts.append(Content.assemble((c.name, "bold"), f" (target {c.target}): "))
        parts.append(Content(evidence_text(c) + "\n"))
    return Content("").join(parts).rstrip("\n") if parts else Content("")


class OverviewPane(VerticalScroll):
    """The presenter's screen: the release verdict and the success criteria behind it."""

    SCOPED_CSS = False  # its rules start at `Screen.-narrow` and the like

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
    OverviewPane > #verdict.-rehearsal { background: $warning; }
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
    OverviewPane > #latest-run {
        height: auto;
        padding: 0 1;
        text-style: bold;
        color: $text-warning;
    }
    OverviewPane > #evidence {
        display: none;
        height: auto;
        padding: 0 1;
        border: round $border;
        border-title-color: $text-accent;
        border-title-style: bold;
    }
    /* Small terminals: a one-line verdict leaves the rows room. */
    Screen.-short OverviewPane > #verdict { padding: 0 1; margin: 0 0 1 0; }
    Screen.-short OverviewPane > #verdict > #headline { margin-top: 0; }
    Screen.-narrow OverviewPane > #evidence { display: block; }
    /* Projectors: a taller, bordered verdict. */
    Screen.-wide OverviewPane > #verdict {
        padding: 1 4 2 4;
        border: outer $foreground 40%;
    }
    Screen.-wide.-short OverviewPane > #verdict { padding: 0 1; }
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
        yield Static("", markup=False, id="latest-run")
        reasons = Static("", markup=False, id="reasons")
        reasons.border_title = "Why not GO"
        yield reasons
        evidence = Static("", id="evidence")
        evidence.border_title = "Targets and evidence"
        yield evidence

    def on_mount(self) -> None:
        # A verdict shown while the children were being composed is drawn here.
        self._draw(self.verdict)

    def on_resize(self) -> None:
        # The letters' size follows the screen's breakpoint classes, which a change of height
        # alone can flip without resizing the word itself.
        self.query_one("#verdict-word", BigWord).refresh(layout=True)

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
        self.query_one("#evidence", Static).update(evidence_lines(verdict.criteria))
        reasons = self.query_one("#reasons", Static)
        reasons.update(Content("\n".join(f"• {reason}" for reason in verdict.reasons)))
        reasons.set_class(tone in ("pending", "rehearsal"), "-pending")
        reasons.border_title = "Why only a rehearsal" if verdict.rehearsal else "Why not GO"
        reasons.display = not verdict.go
        latest = self.query_one("#latest-run", Static)
        if verdict.latest is not None:
            latest.update(Content(f"Latest run, not judged: {verdict.latest.text()}"))
        latest.display = verdict.latest is not None
