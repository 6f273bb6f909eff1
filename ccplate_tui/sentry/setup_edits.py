"""Careful text edits for `sentry setup`: each anchors on an exact shape of the file, or refuses.

Setup rewrites hand-written source files, so it only makes edits it can place precisely:
uncommenting lines that are exactly the code it knows (under their TODO marker), adding an
import, appending an export, inserting into a function body whose braces it can find, replacing
a TODO line inside that body. Anything else raises Unrecognised with the line and the reason,
and the caller leaves the whole file alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ccplate_tui.sentry.js_source import JsSource, statement_start
from ccplate_tui.sentry.wiring_scan import disabled_calls

_MARKER = re.compile(r"\b(?:TODO|FIXME)\b")
_STALE_MARKER = re.compile(
    r"re-?enable|disabled|back on|turn\b.*\bon\b|uncomment|\b(?:when|once)\b.*\bsupport",
    re.IGNORECASE,
)
"""A TODO that says why Sentry is off (and goes when it is back on), not any Sentry TODO."""
_STALE_PROSE = re.compile(r"\bdisabled\b|commented out|re-?enable", re.IGNORECASE)
_SENTRY = re.compile(r"sentry", re.IGNORECASE)
_LINE_COMMENT = re.compile(r"^(\s*)//+ ?(.*)$")
_IMPORT_LINE = re.compile(r"^import\b")
_DIRECTIVE = re.compile(r"""^\s*["']use (?:client|server|strict)["'];?\s*$""")
_SPEC = re.compile(r"""\bfrom\s*["']([^"']+)["']""")


class Unrecognised(Exception):
    """The file is not in a shape an edit can anchor on; the message says where and why."""


@dataclass(frozen=True)
class _Entry:
    """One line of a comment: its index, what stands before the comment, and its content."""

    index: int
    indent: str
    content: str


def lines_of(text: str) -> list[str]:
    """The lines of `text` without their newlines (a final newline adds no empty line)."""
    if not text:
        return []
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")


def join(lines: Sequence[str]) -> str:
    return "\n".join(lines) + "\n" if lines else ""


def _comment_entries(lines: list[str]) -> list[_Entry]:
    """Every whole-line comment, `//` lines and `/* ... */` blocks, one entry per line."""
    entries: list[_Entry] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        found = _LINE_COMMENT.match(line)
        if found:
            entries.append(_Entry(i, found.group(1), found.group(2)))
            i += 1
            continue
        stripped = line.lstrip()
        if stripped.startswith("/*"):
            end = next((j for j in range(i, len(lines)) if "*/" in lines[j]), None)
            tail = lines[end].split("*/", 1)[1] if end is not None else "x"
            if end is None or tail.strip():
                i += 1
                continue
            indent = line[: len(line) - len(stripped)]
            body = [stripped[2:], *lines[i + 1 : end + 1]]
            body[-1] = body[-1].rsplit("*/", 1)[0]
            if len(body) > 2 and all(re.match(r"^\s*\*(?!/)", b) for b in body[1:-1]):
                body[1:-1] = [re.sub(r"^\s*\* ?", "", b) for b in body[1:-1]]
            body[0] = body[0].removeprefix(" ")
            entries += [
                _Entry(i + k, indent if k == 0 else "", text.rstrip())
                for k, text in enumerate(body)
            ]
            i = end + 1
            continue
        i += 1
    return entries


def _blocks(entries: list[_Entry]) -> list[list[_Entry]]:
    blocks: list[list[_Entry]] = []
    for entry in entries:
        if blocks and blocks[-1][-1].index == entry.index - 1:
            blocks[-1].append(entry)
        else:
            blocks.append([entry])
    return blocks


def _contiguous_in(run: list[str], known: list[str]) -> bool:
    return any(known[i : i + len(run)] == run for i in range(len(known) - len(run) + 1))


def check_guards(text: str, rel: str) -> None:
    """Unrecognised when a Sentry call is behind `if (false)` or a `const X = false` switch:
    that switch is the project's own decision, not a comment setup can lift."""
    guarded = [d for d in disabled_calls(JsSource(rel, text)) if d.how.startswith("behind")]
    if guarded:
        d = guarded[0]
        raise Unrecognised(
            f"line {d.line}: `{d.text}` is switched off {d.how}: that switch is the project's "
            "own; turn it on by hand, then run setup again"
        )


def reenable(
    text: str,
    rel: str,
    known: Sequence[str],
    rewrite: Callable[[str], str] | None = None,
    *,
    strict: bool = True,
) -> tuple[str, int]:
    """Uncomment the commented-out lines of `text` that are exactly `known` code (a contiguous
    run of it, block by block), drop the TODO markers and stale notes that disabled them;
    `rewrite` is applied to each line re-enabled.

    Returns (new text, lines re-enabled). Raises Unrecognised for commented-out Sentry code that
    is not `known` (setup would not know what it re-enables), or for a call behind `if (false)`.
    Not `strict`, only the blocks that are `known` are touched; every other comment stays.
    """
    check_guards(text, rel)
    off = disabled_calls(JsSource(rel, text))
    commented = {d.line - 1 for d in off if d.how.startswith("commented out")}
    known_code = [k.strip() for k in known if k.strip()]
    lines = lines_of(text)
    drop: set[int] = set()
    replace: dict[int, str] = {}
    for block in _blocks(_comment_entries(lines)):
        todos = [
            e
            for e in block
            if _MARKER.search(e.content)
            and not any(d.line - 1 == e.index and d.how != "named in a TODO" for d in off)
        ]
        markers = [
            e for e in todos if _STALE_MARKER.search(e.content) and _SENTRY.search(e.content)
        ]
        rest = [e for e in block if e not in todos]  # another TODO stays as the comment it is
        code = [e for e in rest if e.content.strip()]
        is_code = bool(code) and (
            code[0].content.strip() in known_code or any(e.index in commented for e in code)
        )
        run = [e.content.strip() for e in code]
        if not strict and not (is_code and _contiguous_in(run, known_code)):
            continue
        if is_code:
            if not _contiguous_in(run, known_code):
                bad = next(
                    (
                        e
                        for e in code
                        if e.content.strip() not in known_code and e.index in commented
                    ),
                    next((e for e in code if e.content.strip() not in known_code), code[0]),
                )
                raise Unrecognised(
                    f"line {bad.index + 1}: commented-out `{bad.content.strip()}` is not code "
                    "setup knows how to re-enable"
                )
            for e in rest:
                line = (e.indent + e.content).rstrip()
                replace[e.index] = rewrite(line) if rewrite else line
            drop.update(e.index for e in markers)
        elif (
            code
            and _SENTRY.search(" ".join(e.content for e in code))
            and any(_STALE_PROSE.search(e.content) for e in code)
        ):
            drop.update(e.index for e in [*rest, *markers])  # "Sentry is disabled" goes stale
        else:
            drop.update(e.index for e in markers)
    if not replace and not drop:
        return text, 0
    return join(drop_lines(lines, drop, replace)), len(replace)


def drop_lines(
    lines: list[str], drop: set[int], replace: dict[int, str] | None = None
) -> list[str]:
    """`lines` without `drop` (and with `replace`), never doubling a blank line, nor leaving one
    at the top, where lines went away."""
    replace = replace or {}
    out: list[str] = []
    pending = False
    for index, line in enumerate(lines):
        if index in drop:
            pending = True
            continue
        line = replace.get(index, line)
        if pending and not line.strip() and (not out or not out[-1].strip()):
            continue
        if line.strip():
            pending = False
        out.append(line)
    return out


def has_live(text: str, rel: str, pattern: str) -> bool:
    """Whether `pattern` matches the live code (comments and string contents blanked)."""
    return re.search(pattern, JsSource(rel, text).code) is not None


def has_live_strings(text: str, rel: str, pattern: str) -> bool:
    """Whether `pattern` matches the code with strings kept (comments blanked)."""
    return re.search(pattern, JsSource(rel, text).code_strings) is not None


def sentry_alias(text: str, rel: str) -> str | None:
    found = re.search(
        r"""\bimport\s+\*\s+as\s+([A-Za-z_$][\w$]*)\s+from\s*["']@sentry/nextjs["']""",
        JsSource(rel, text).code_strings,
    )
    return found.group(1) if found else None


def _import_end(lines: list[str], start: int) -> int:
    """The last line of the import statement starting at `start` (imports may span lines)."""
    for j in range(start, len(lines)):
        if _SPEC.search(lines[j]) or re.search(r"""^import\s*["']""", lines[j]):
            return j
    return start


def add_import(text: str, rel: str, statement: str) -> str:
    """Add an import statement: a package before the first import, a local module (`@/`, `.`)
    after the last one; nothing when the same statement is already live."""
    code = JsSource(rel, text).code_strings
    if statement.rstrip(";") in code:
        return text
    lines = lines_of(text)
    live = lines_of(code)
    imports = [i for i, line in enumerate(live) if _IMPORT_LINE.match(line)]
    spec = _SPEC.search(statement)
    local = bool(spec and spec.group(1).startswith(("@/", ".", "~/")))
    if imports and local:
        end = _import_end(lines, imports[-1])
        last_spec = _SPEC.search(lines[end])
        gap = [""] if last_spec and not last_spec.group(1).startswith(("@/", ".", "~/")) else []
        return join([*lines[: end + 1], *gap, statement, *lines[end + 1 :]])
    if imports:
        first = imports[0]
        first_spec = _SPEC.search(lines[_import_end(lines, first)])
        gap = [""] if first_spec and first_spec.group(1).startswith(("@/", ".", "~/")) else []
        return join([*lines[:first], statement, *gap, *lines[first:]])
    at = 0
    while at < len(lines) and (_DIRECTIVE.match(lines[at]) or not lines[at].strip()):
        at += 1
    head = lines[:at]
    if head and head[-1].strip():
        head.append("")
    rest = lines[at:]
    return join([*head, statement, *([""] if rest and rest[0].strip() else []), *rest])


def add_named_import(text: str, rel: str, name: str, module: str) -> str:
    """Import `name` from `module`, into an existing one-line `import { ... } from "module"`."""
    src = JsSource(rel, text)
    if re.search(
        rf"\bimport\b[^;]*\b{re.escape(name)}\b[^;]*from\s*[\"']{re.escape(module)}[\"']",
        src.code_strings,
    ):
        return text
    lines = lines_of(text)
    pattern = re.compile(
        rf"""^(import\s+(?:[\w$]+\s*,\s*)?\{{)([^}}]*)(\}}\s*from\s*["']{re.escape(module)}["'];?\s*)$"""
    )
    for i, line in enumerate(lines):
        found = pattern.match(line)
        if found and lines_of(src.code_strings)[i].startswith("import"):
            names = found.group(2).strip().rstrip(",")
            lines[i] = f"{found.group(1)} {names}, {name} {found.group(3)}"
            return join(lines)
    return add_import(text, rel, f'import {{ {name} }} from "{module}";')


def append_block(text: str, block: Sequence[str]) -> str:
    """`block` at the end of the file, after one blank line."""
    lines = lines_of(text)
    while lines and not lines[-1].strip():
        lines.pop()
    return join([*lines, *([""] if lines else []), *block])


def _brace_after(src: JsSource, offset: int) -> int | None:
    """The offset of the `{` opening the body whose parameter list starts at `offset` (`(`)."""
    depth = 0
    for i in range(offset, len(src.code)):
        ch = src.code[i]
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == ")" and depth == 0:
            body = re.match(r"\s*(?::\s*[^{;=]+?)?\s*(?:=>\s*)?\{", src.code[i + 1 :])
            return i + body.end() if body else None
    return None


@dataclass(frozen=True)
class Body:
    """A function body found in the text: its lines (0-based) and parameter list."""

    open_line: int
    close_line: int
    params: str
    indent: str
    """The indentation of the line that opens it."""


def _open_empty_body(text: str, rel: str, header: str) -> str:
    """`function f() {}` on one line becomes `{` and `}` on two, so a block can go between."""
    src = JsSource(rel, text)
    found = re.search(header + r"\s*\(", src.code)
    brace = _brace_after(src, found.end() - 1) if found else None
    close = next((end for start, end in src.blocks() if start == brace), None)
    if brace is None or close is None or src.line_of(brace) != src.line_of(close):
        return text
    if src.code[brace + 1 : close].strip():
        return text
    lines = lines_of(text)
    index = src.line_of(brace) - 1
    start = text.rfind("\n", 0, brace) + 1
    line = lines[index]
    lines[index : index + 1] = [
        line[: brace - start + 1].rstrip(),
        indent_of(line) + line[close - start :],
    ]
    return join(lines)


def function_body(text: str, rel: str, header: str, what: str) -> tuple[str, Body]:
    """The body of the function whose header (a regex ending before its `(`) matches first,
    with the text (an empty one-line body `{}` is opened onto two lines first).

    Raises Unrecognised when there is none, or when its braces do not open and close a line
    of their own (an edit could not be placed precisely).
    """
    text = _open_empty_body(text, rel, header)
    src = JsSource(rel, text)
    found = re.search(header + r"\s*\(", src.code)
    if found is None:
        raise Unrecognised(f"no {what} found")
    paren = found.end() - 1
    brace = _brace_after(src, paren)
    close = next((end for start, end in src.blocks() if start == brace), None) if brace else None
    lines = lines_of(text)
    where = f"{what} (`{quote(lines[src.line_of(found.start()) - 1])}`)"
    if brace is None or close is None:
        raise Unrecognised(f"{where} has no body setup can read")
    open_line, close_line = src.line_of(brace) - 1, src.line_of(close) - 1
    line_end = src.code.find("\n", brace)
    after_brace = src.code[brace + 1 : line_end if line_end >= 0 else len(src.code)]
    if close_line == open_line or after_brace.strip():
        raise Unrecognised(f"{where}: its body starts on the same line")
    if not re.match(r"^\s*\}\s*[;,)]*\s*$", lines[close_line]):
        raise Unrecognised(f"{where}: its closing brace is not on a line of its own")
    params = src.code_strings[paren + 1 : src.code.rfind(")", paren, brace)]
    indent = re.match(r"\s*", lines[open_line]).group(0)  # type: ignore[union-attr]
    return text, Body(open_line, close_line, params, indent)


def insert_at_start(text: str, body: Body, block: Sequence[str], *, gap: bool = False) -> str:
    """`block` (already indented) as the first lines of the body."""
    lines = lines_of(text)
    after = lines[body.open_line + 1] if body.open_line + 1 < len(lines) else ""
    tail = [""] if gap and after.strip() and body.open_line + 1 != body.close_line else []
    return join([*lines[: body.open_line + 1], *block, *tail, *lines[body.open_line + 1 :]])


def insert_at_end(text: str, body: Body, block: Sequence[str]) -> str:
    """`block` (already indented) as the last lines of the body, after a blank line."""
    lines = lines_of(text)
    before = lines[body.close_line - 1]
    gap = [""] if body.close_line - 1 > body.open_line and before.strip() else []
    return join([*lines[: body.close_line], *gap, *block, *lines[body.close_line :]])


def body_indent(text: str, body: Body) -> str:
    """The indentation of the body's first non-blank line, else the opener's plus two spaces."""
    for line in lines_of(text)[body.open_line + 1 : body.close_line]:
        if line.strip():
            return re.match(r"\s*", line).group(0)  # type: ignore[union-attr]
    return body.indent + "  "


def param_names(params: str) -> list[str]:
    """`error: Error, errorInfo: ErrorInfo` -> ["error", "errorInfo"] (plain names only)."""
    names = []
    depth = 0
    part = ""
    for ch in params + ",":
        depth += {"(": 1, "{": 1, "[": 1, "<": 1, ")": -1, "}": -1, "]": -1, ">": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            found = re.match(r"\s*([A-Za-z_$][\w$]*)\s*(?:[?:=]|$)", part)
            names.append(found.group(1) if found else "")
            part = ""
        else:
            part += ch
    return [n for n in names if n] if all(names) else []


def replace_line(text: str, index: int, new: str) -> str:
    lines = lines_of(text)
    lines[index] = new
    return join(lines)


def marker_in(text: str, start: int, end: int, names: str) -> int | None:
    """The 0-based index of a whole-line TODO comment naming one of `names` (a regex) between
    lines `start` and `end`."""
    for i, line in enumerate(lines_of(text)[start:end], start):
        found = _LINE_COMMENT.match(line)
        if found and _MARKER.search(found.group(2)) and re.search(names, found.group(2)):
            return i
    return None


def line_offset(text: str, index: int) -> int:
    """The offset where 0-based line `index` starts."""
    return sum(len(line) + 1 for line in lines_of(text)[:index])


def inside_call(text: str, rel: str, index: int, callee: str) -> bool:
    """Whether line `index` lies in a block opened by a call of `callee` (`useEffect(() => {`)."""
    src = JsSource(rel, text)
    offset = line_offset(text, index)
    for start in src.enclosing(offset):
        header = src.code_strings[statement_start(src, start) : start]
        if re.search(rf"(?<![\w$.]){re.escape(callee)}\s*\(", header):
            return True
    return False


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def quote(line: str, limit: int = 60) -> str:
    """A source line for a message: stripped, and cut at `limit` characters."""
    line = line.strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"
