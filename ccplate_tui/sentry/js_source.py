"""A TS/JS source file read just well enough to tell live Sentry code from commented-out code.

Two masked views keep every offset (so every line number) of the original: `code` has comments
and string contents blanked, `code_strings` only comments. On top of them: the `if` conditions a
call is under, which Next.js runtimes (`NEXT_RUNTIME`) reach it, and constant-false guards.
Regex literals, JSX text with quotes and `${}` nesting inside template literals are not
understood; hand-written Next.js wiring (instrumentation, configs, boundaries) does not need them.
"""

from __future__ import annotations

import bisect
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_SOURCE_BYTES = 1_000_000
"""Larger files are bundles or generated code, not hand-written wiring."""
SOURCE_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs")

_IDENT = r"[A-Za-z_$][\w$]*"
_NAMESPACE_IMPORT = re.compile(
    rf"""\bimport\s+\*\s+as\s+({_IDENT})\s+from\s*(["'])@sentry/[^"']+\2"""
)
_NAMESPACE_BINDING = re.compile(
    rf"""\b(?:const|let|var)\s+({_IDENT})\s*=\s*(?:await\s+import|require)\s*\(\s*(["'])@sentry/[^"']+\2"""
)
_NAMED_IMPORT = re.compile(
    r"""\bimport\s+(?:type\s+)?(?:[\w$]+\s*,\s*)?\{([^}]*)\}\s*from\s*(["'])([^"']+)\2"""
)
_SPECIFIER = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(["'])([^"']+)\1""")
_MARKER = re.compile(r"\b(?:TODO|FIXME)\b")
_RUNTIME_TEST = re.compile(
    r"""NEXT_RUNTIME\s*(===?|!==?)\s*["'](\w+)["']|["'](\w+)["']\s*(===?|!==?)\s*[\w.]*NEXT_RUNTIME"""
)
_EARLY_RETURN = re.compile(r"\bif\s*\(([^{};]*)\)\s*\{?\s*return\b")
_FALSE_CONST = re.compile(r"\bconst\s+([A-Za-z_$][\w$]*)\s*(?::\s*boolean\s*)?=\s*(?:false|0)\s*;?")
_CONSTANT_FALSE = frozenset({"false", "0", "!1", "!true", "null", "undefined"})
NODE, EDGE = "nodejs", "edge"
BOTH = frozenset({NODE, EDGE})


@dataclass(frozen=True)
class Comment:
    start: int
    end: int


@dataclass
class JsSource:
    """One source file: its text, its masked views, its comments and line offsets."""

    relpath: str
    text: str
    code: str = ""
    code_strings: str = ""
    comments: list[Comment] = field(default_factory=list)
    _line_starts: list[int] = field(default_factory=list)
    _blocks: list[tuple[int, int]] | None = None

    def __post_init__(self) -> None:
        self.code, self.code_strings, self.comments = _mask(self.text)
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def line_of(self, offset: int) -> int:
        """The 1-based line holding `offset`."""
        return bisect.bisect_right(self._line_starts, offset)

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""

    def blocks(self) -> list[tuple[int, int]]:
        """Every `{ }` pair of the live code as (open, close) offsets, sorted by open."""
        if self._blocks is None:
            pairs: list[tuple[int, int]] = []
            stack: list[int] = []
            for i, ch in enumerate(self.code):
                if ch == "{":
                    stack.append(i)
                elif ch == "}" and stack:
                    pairs.append((stack.pop(), i))
            self._blocks = sorted(pairs)
        return self._blocks

    def enclosing(self, offset: int) -> list[int]:
        """The open-brace offsets of the blocks around `offset`, outermost first."""
        return [start for start, end in self.blocks() if start < offset < end]

    def sentry_namespaces(self) -> set[str]:
        """Names bound to a whole @sentry/* module (`import * as S`, `await import(...)`), plus
        `Sentry`, the name every guide uses."""
        names = {"Sentry"}
        for pattern in (_NAMESPACE_IMPORT, _NAMESPACE_BINDING):
            names |= {m.group(1) for m in pattern.finditer(self.code_strings)}
        return names

    def named_imports(self, *, live: bool = True) -> dict[str, tuple[str, str]]:
        """local name -> (imported name, module specifier); `live=False` reads comments too."""
        found: dict[str, tuple[str, str]] = {}
        for match in _NAMED_IMPORT.finditer(self.code_strings if live else self.text):
            for part in match.group(1).split(","):
                words = part.replace("type ", "").split(" as ")
                imported = words[0].strip()
                local = words[-1].strip()
                if imported and local:
                    found[local] = (imported, match.group(3))
        return found

    def specifiers(self) -> list[tuple[int, str]]:
        """(offset, module specifier) of every live import, dynamic import and require."""
        return [(m.start(), m.group(2)) for m in _SPECIFIER.finditer(self.code_strings)]

    def todo_lines(self) -> list[int]:
        """Lines with a TODO/FIXME inside a comment."""
        lines = set()
        for comment in self.comments:
            for match in _MARKER.finditer(self.text, comment.start, comment.end):
                lines.add(self.line_of(match.start()))
        return sorted(lines)


def read_source(root: Path, path: Path) -> JsSource | None:
    """The file as a JsSource; None when it is unreadable or too large to be hand-written."""
    if not path.is_relative_to(root):
        return None  # an import that leaves the project (a monorepo sibling): not this app's
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return JsSource(path.relative_to(root).as_posix(), text)


def first_file(root: Path, folder: str, stem: str, suffixes: tuple[str, ...]) -> Path | None:
    """`folder/stem.<suffix>` for the first suffix that exists."""
    for suffix in suffixes:
        path = root / folder / f"{stem}{suffix}"
        if path.is_file():
            return path
    return None


def resolve_module(root: Path, from_file: Path, specifier: str) -> Path | None:
    """The project file an import names: relative, or through tsconfig `paths` (`@/x`)."""
    if specifier.startswith("."):
        bases = [from_file.parent / specifier]
    else:
        bases = [root / target for target in _alias_targets(root, specifier)]
    for base in bases:
        candidates = [base, *(base.with_name(base.name + s) for s in SOURCE_SUFFIXES)]
        candidates += [base / f"index{s}" for s in SOURCE_SUFFIXES]
        found = next((c for c in candidates if c.is_file()), None)
        if found is not None:
            return Path(os.path.normpath(found))
    return None


def _alias_targets(root: Path, specifier: str) -> list[str]:
    """tsconfig/jsconfig `paths` targets for `specifier`; `@/` means `src/` then the root."""
    targets: list[str] = []
    for name in ("tsconfig.json", "jsconfig.json"):
        try:
            config = json.loads((root / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        options = config.get("compilerOptions") if isinstance(config, dict) else None
        paths = options.get("paths") if isinstance(options, dict) else None
        for pattern, values in (paths or {}).items() if isinstance(paths, dict) else ():
            prefix = pattern.rstrip("*")
            if pattern.endswith("*") and specifier.startswith(prefix) and isinstance(values, list):
                rest = specifier[len(prefix) :]
                targets += [str(v).replace("*", rest) for v in values if isinstance(v, str)]
    if specifier.startswith("@/"):
        targets += [f"src/{specifier[2:]}", specifier[2:]]
    return targets


def _mask(text: str) -> tuple[str, str, list[Comment]]:
    """(code, code_strings, comments): see the module docstring."""
    code = list(text)
    code_strings = list(text)
    comments: list[Comment] = []
    i, n = 0, len(text)

    def blank(chars: list[str], start: int, stop: int) -> None:
        for k in range(start, stop):
            if chars[k] != "\n":
                chars[k] = " "

    while i < n:
        ch = text[i]
        if ch in "\"'`":
            j = i + 1
            while j < n:
                c = text[j]
                if c == "\\":
                    j += 2
                    continue
                if c == ch or (c == "\n" and ch != "`"):
                    break
                j += 1
            j = min(j, n)
            blank(code, i + 1, j)
            i = j + 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            stop = n if end < 0 else end
            blank(code, i, stop)
            blank(code_strings, i, stop)
            comments.append(Comment(i, stop))
            i = stop
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            stop = n if end < 0 else end + 2
            blank(code, i, stop)
            blank(code_strings, i, stop)
            comments.append(Comment(i, stop))
            i = stop
        else:
            i += 1
    return "".join(code), "".join(code_strings), comments


# --- conditions: runtimes and constant-false guards -----------------------------------------


def _conditions(src: JsSource, offset: int) -> list[str]:
    """The `if` conditions `offset` is under: enclosing blocks, then its own statement's."""
    conditions = []
    for start in src.enclosing(offset):
        found = re.search(r"\bif\s*\((.*)\)\s*$", _header(src, start), re.DOTALL)
        if found:
            conditions.append(found.group(1).strip())
    inline = src.code_strings[statement_start(src, offset) : offset]
    found = re.search(r"\bif\s*\((.*)\)", inline, re.DOTALL)
    if found:
        conditions.append(found.group(1).strip())
    return conditions


def statement_start(src: JsSource, offset: int) -> int:
    return max(src.code.rfind(ch, 0, offset) for ch in ";{}") + 1


def _header(src: JsSource, brace: int) -> str:
    """What stands before a block's `{`: `if (...)`, `function f()`, `() =>`, `try`..."""
    return src.code_strings[statement_start(src, brace) : brace].strip()


def in_function(src: JsSource, offset: int) -> bool:
    for start in src.enclosing(offset):
        header = _header(src, start)
        if re.search(r"\bfunction\b|=>$", header):
            return True
        control = re.match(r"(?:else\s+)?(?:if|for|while|switch|catch|with)\b", header)
        if header.endswith(")") and not control:
            return True  # a method: `name(args) {`
    return False


def false_guard(src: JsSource, offset: int) -> str | None:
    """The constant-false condition `offset` is under (`false`, `0`, a `const X = false`)."""
    falsy = {m.group(1) for m in _FALSE_CONST.finditer(src.code)}
    for cond in _conditions(src, offset):
        first = re.split(r"&&", cond)[0].strip()
        if first in _CONSTANT_FALSE or first in falsy:
            return cond
    return None


def runtimes_of(condition: str) -> frozenset[str] | None:
    """The runtimes a condition lets through (None when it does not test NEXT_RUNTIME)."""
    if "||" in condition:
        return None
    allowed, seen = set(BOTH), False
    for match in _RUNTIME_TEST.finditer(condition):
        op = match.group(1) or match.group(4)
        value = match.group(2) or match.group(3)
        seen = True
        allowed = allowed & {value} if op.startswith("=") else allowed - {value}
    return frozenset(allowed) if seen else None


def runtimes_at(src: JsSource, offset: int) -> frozenset[str]:
    allowed = set(BOTH)
    for cond in _conditions(src, offset):
        runtimes = runtimes_of(cond)
        if runtimes is not None:
            allowed &= runtimes
    # `if (process.env.NEXT_RUNTIME !== "nodejs") return;` earlier in the enclosing function.
    enclosing = src.enclosing(offset)
    start = enclosing[0] if enclosing else 0
    for match in _EARLY_RETURN.finditer(src.code_strings, start, offset):
        runtimes = runtimes_of(match.group(1))
        if runtimes is not None:
            allowed -= runtimes
    return frozenset(allowed)
