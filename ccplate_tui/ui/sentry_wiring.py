"""The Sentry tab's wiring view: which error paths of the app reach Sentry, and what to add.

It renders the `wiring` object of the compatibility document (`wiring_to_json`): one line per
path (server, edge and client init, request errors, root-layout errors, `_error`, the error
boundary, next.config) with ✓/✗/disabled, file:line and, under a path that fails, the exact
lines to add. Stored documents may be old or hand-edited, so no shape is trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

OK = "$text-success"
BAD = "$text-error"
WARN = "$text-warning"
MUTED = "$text-muted"
CODE = "$text-accent"

MARKS: dict[str, tuple[str, str]] = {
    "ok": ("✓", OK),
    "missing": ("✗", BAD),
    "disabled": ("✗ disabled", BAD),
    "not_needed": ("–", MUTED),
}
LAYOUTS = {
    "ccplate": "CCPLATE layout: initSentry() / captureError() helpers",
    "wizard": "standard layout (the Sentry wizard's files)",
}


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def wiring_of(doc: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The document's wiring object, None when it has none (an older stored result)."""
    wiring = doc.get("wiring") if isinstance(doc, Mapping) else None
    return wiring if isinstance(wiring, Mapping) else None


def wiring_title(wiring: Mapping[str, Any]) -> str:
    next_version = _text(wiring.get("next_version")) or "unknown"
    sdk = _text(wiring.get("sdk_version")) or "not installed"
    layout = LAYOUTS.get(_text(wiring.get("layout")), _text(wiring.get("layout")))
    return f"Error paths to Sentry (Next.js {next_version}, @sentry/nextjs {sdk}) · {layout}"


def _where(path: Mapping[str, Any]) -> str:
    file, line = _text(path.get("file")), path.get("line")
    return f"{file}:{line}" if file and isinstance(line, int) else file


def _fix_groups(fixes: list[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """Consecutive fix lines with the same file and place: (heading, code lines)."""
    groups: list[tuple[str, list[str]]] = []
    for fix in fixes:
        file, place = _text(fix.get("file")), _text(fix.get("place"))
        heading = (
            f"new file {file}" if place == "new file" else file + (f", {place}" if place else "")
        )
        if groups and groups[-1][0] == heading:
            groups[-1][1].append(_text(fix.get("code")))
        else:
            groups.append((heading, [_text(fix.get("code"))]))
    return groups


def path_cells(
    path: Mapping[str, Any],
    *,
    optional: bool = False,
    same_as: Mapping[str, Any] | None = None,
) -> tuple[str, Content, Content]:
    """One path as (label, mark, body): file:line and detail, then, for a path that fails, the
    disabled calls behind it and the lines to add."""
    status = _text(path.get("status"))
    mark, style = MARKS.get(status, ("?", MUTED))
    if optional and status != "ok":
        mark, style = "·", MUTED
    where = _where(path)
    detail = _text(path.get("detail"))
    parts: list[Content | tuple[str, str] | str] = []
    if where and where not in detail:
        parts += [(where, "bold"), "  "]
    parts.append(detail)
    for extra in map(_dict, _list(path.get("disabled"))[1:]):
        also = f"also {_text(extra.get('file'))}:{_text(extra.get('line'))}"
        parts.append((f"\n{also}  `{_text(extra.get('text'))}` {_text(extra.get('how'))}", MUTED))
    if status in ("missing", "disabled") and same_as is not None:
        parts.append((f"\nsame lines as {_text(same_as.get('label'))}", MUTED))
    elif status in ("missing", "disabled"):
        for heading, codes in _fix_groups([_dict(f) for f in _list(path.get("fix"))]):
            parts.append((f"\n{heading}:", MUTED))
            parts += [(f"\n  {code}", CODE) for code in codes]
    label = _text(path.get("label"))
    return label, Content.styled(mark, f"bold {style}"), Content.assemble(*parts)


def wiring_rows(doc: Mapping[str, Any] | None) -> list[tuple[str, tuple[str, Content, Content]]]:
    """(path key, its cells) for every path and next.config, in report order."""
    wiring = wiring_of(doc)
    if wiring is None:
        return []
    rows = []
    previous: Mapping[str, Any] = {}
    for path in map(_dict, _list(wiring.get("paths"))):
        same = bool(path.get("fix")) and path.get("fix") == previous.get("fix")
        rows.append((_text(path.get("key")), path_cells(path, same_as=previous if same else None)))
        previous = path
    build = _dict(wiring.get("build"))
    if build:
        rows.append((_text(build.get("key")) or "build_config", path_cells(build, optional=True)))
    return rows


def disabled_lines(doc: Mapping[str, Any] | None) -> list[str]:
    """Every disabled Sentry call, `file:line  code  (how)`."""
    wiring = wiring_of(doc) or {}
    return [
        f"{_text(d.get('file'))}:{_text(d.get('line'))}  {_text(d.get('text'))}  "
        f"({_text(d.get('how'))})"
        for d in map(_dict, _list(wiring.get("disabled_calls")))
    ]


class PathRow(Horizontal):
    """One error path: label, mark, and what was found or what to add."""

    def __init__(self, key: str, cells: tuple[str, Content, Content]) -> None:
        super().__init__(classes=f"path {key}")
        self.key = key
        self.cells = cells

    def compose(self) -> ComposeResult:
        label, mark, body = self.cells
        yield Static(label, markup=False, classes="label")
        yield Static(mark, classes="mark")
        yield Static(body, classes="body")

    def show(self, cells: tuple[str, Content, Content]) -> None:
        self.cells = cells
        if self.is_mounted:
            for static, value in zip(self.query_children(Static), cells, strict=False):
                static.update(value if isinstance(value, Content) else Content(value))

    def text(self) -> str:
        label, mark, body = self.cells
        return f"{label:<19}{mark!s:<11}{body}"


class WiringView(Vertical):
    """The wiring report: a title, one PathRow per path, the verdict cap, disabled calls."""

    DEFAULT_CSS = """
    WiringView { height: auto; }
    WiringView > #wiring-title { margin-top: 1; text-style: bold; color: $text-accent; }
    WiringView > #wiring-paths { height: auto; }
    WiringView PathRow { height: auto; }
    WiringView PathRow > .label { width: 19; text-style: bold; }
    WiringView PathRow > .mark { width: 11; }
    WiringView PathRow > .body { width: 1fr; }
    WiringView > #wiring-cap { color: $text-warning; }
    WiringView > #wiring-disabled { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.document: Mapping[str, Any] | None = None
        self.keys: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("", markup=False, id="wiring-title")
        yield Vertical(id="wiring-paths")
        yield Static("", markup=False, id="wiring-cap")
        yield Static("", markup=False, id="wiring-disabled")

    def on_mount(self) -> None:
        self._draw()

    def show(self, doc: Mapping[str, Any] | None) -> None:
        """Render the document's wiring; hidden when the document has none."""
        self.document = doc
        if self.is_mounted and self.query("#wiring-paths"):
            self._draw()

    def _draw(self) -> None:
        wiring = wiring_of(self.document)
        self.display = wiring is not None
        if wiring is None:
            return
        self.query_one("#wiring-title", Static).update(Content(wiring_title(wiring)))
        rows = wiring_rows(self.document)
        keys = [key for key, _ in rows]
        paths = self.query_one("#wiring-paths", Vertical)
        if keys != self.keys:
            self.keys = keys
            paths.remove_children()
            paths.mount_all(PathRow(key, cells) for key, cells in rows)
        else:
            for row, (_, cells) in zip(paths.query_children(PathRow), rows, strict=False):
                row.show(cells)
        cap = _text(wiring.get("verdict_cap"))
        cap_line = self.query_one("#wiring-cap", Static)
        cap_line.update(Content(f"⚠ at best partial: {cap}" if cap else ""))
        cap_line.display = bool(cap)
        disabled = disabled_lines(self.document)
        notes = [f"note: {_text(n)}" for n in _list(wiring.get("notes"))]
        heading = [f"Disabled Sentry calls ({len(disabled)}):"] if disabled else []
        box = self.query_one("#wiring-disabled", Static)
        box.update(Content("\n".join([*heading, *(f"  {d}" for d in disabled), *notes])))
        box.display = bool(disabled or notes)

    def lines(self) -> dict[str, str]:
        """Each path's row as plain text, by its key (for tests and screen readers)."""
        return {row.key: row.text() for row in self.query(PathRow)}

    def text(self) -> str:
        """Everything the view shows, as plain text."""
        title = str(self.query_one("#wiring-title", Static).render())
        extra = [
            str(s.render())
            for s in (
                self.query_one("#wiring-cap", Static),
                self.query_one("#wiring-disabled", Static),
            )
            if s.display
        ]
        return "\n".join([title, *self.lines().values(), *extra])
