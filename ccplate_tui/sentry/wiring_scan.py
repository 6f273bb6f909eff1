"""Find, in a Next.js project's files, every place Sentry is (or was meant to be) wired in.

Next.js's conventions decide what runs: `instrumentation.*` (server and edge `register()`,
`onRequestError`), `instrumentation-client.*` or `sentry.client.config.*` (the browser),
`app/global-error.*`, `pages/_error.*`, error boundaries, `withSentryConfig` in `next.config.*`.
The Sentry wizard's layout (`sentry.server.config.ts` imported from `register()`) and CCPLATE's
helper module (`initSentry()` / `captureError()` from `src/lib/sentry.ts`) are both followed.
A Sentry call in a comment, named only by a TODO, or behind `if (false)` is a DisabledCall with
file:line, so a report can say "disabled" instead of "missing". Versions are not judged here
(wiring.py does that).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ccplate_tui.sentry.js_source import (
    EDGE,
    MAX_SOURCE_BYTES,
    NODE,
    SOURCE_SUFFIXES,
    JsSource,
    false_guard,
    first_file,
    in_function,
    read_source,
    resolve_module,
    runtimes_at,
)

Layout = Literal["ccplate", "wizard"]
MAX_FILES = 5000
"""A walk stops here: past it the project is a monorepo or a build, not one app's sources."""

_SKIPPED_DIRS = frozenset(
    {"node_modules", "out", "build", "dist", "coverage", "public", "storybook-static", "__tests__"}
)
_TEST_FILE = re.compile(r"\.(?:test|spec|stories)\.[cm]?[jt]sx?$")
_ROUTE_SUFFIXES = (".tsx", ".jsx", ".js", ".ts")
_CONFIG_SUFFIXES = (".ts", ".js", ".mjs", ".cjs")
_CALL_NAMES = (
    "initSentry|captureError|captureException|captureRequestError|"
    "captureUnderscoreErrorException|withSentryConfig"
)
_TODO_NAME = re.compile(rf"\b(?:Sentry\s*\.\s*\w+|{_CALL_NAMES}|onRequestError)\b")
_MARKER = re.compile(r"\b(?:TODO|FIXME)\b")
_SENTRY_WORD = re.compile(r"sentry", re.IGNORECASE)
_RELEVANT = re.compile(
    r"sentry|componentDidCatch|getDerivedStateFromError|react-error-boundary|"
    r"capture(?:Exception|Error)|onRequestError",
    re.IGNORECASE,
)
_DEFINITION_BEFORE = re.compile(r"\bfunction\s*\*?\s*$")
_CODE_PREFIX = re.compile(
    r"^(?:\s*(?:await|return|export|default|const|let|var|void|async)\b)*"
    r"\s*(?:[\w$.]+\s*=\s*)?(?:if\s*\(.*\)\s*)?$"
)
_EXPORT_HOOK = re.compile(
    r"\bexport\s+(?:(?:const|let|var)\s+|(?:async\s+)?function\s*\*?\s*)onRequestError\b"
    r"|\bexport\s*\{[^}]*\bonRequestError\b[^}]*\}"
)


@dataclass(frozen=True)
class SourceLine:
    """A place in the project: posix path from the root, 1-based line, the line stripped."""

    file: str
    line: int
    text: str


@dataclass(frozen=True)
class DisabledCall:
    """A Sentry call that does not run: commented out, only named by a TODO, or behind `if (false)`."""

    file: str
    line: int
    call: str
    """What it calls, e.g. `Sentry.init`, `initSentry`, `import("./sentry.server.config")`."""
    how: str
    """`commented out`, `commented out under the TODO at line 1`, `named in a TODO`, `behind if (false)`."""
    text: str


@dataclass(frozen=True)
class InitSite:
    """A Sentry init an entry file (instrumentation, instrumentation-client) reaches."""

    at: SourceLine
    """Where the entry file starts it: the call, or the import of a config module."""
    init: SourceLine | None
    """The `Sentry.init` it reaches; None when the helper module could not be read."""
    runtimes: frozenset[str]
    via: str
    disabled: tuple[DisabledCall, ...] = ()
    """Non-empty when the call is live but the init behind it is disabled (a commented helper)."""


@dataclass(frozen=True)
class Capture:
    """Whether one file reports errors: a live capture, or the disabled ones it has instead."""

    live: SourceLine | None
    disabled: tuple[DisabledCall, ...]
    imports_sentry: bool = False
    """The file already imports @sentry/nextjs as a namespace (`import * as Sentry`)."""
    imports_helper: bool = False
    """The file already imports CCPLATE's `captureError`."""


@dataclass(frozen=True)
class Boundary:
    file: str
    line: int
    kind: str
    """`class` (componentDidCatch/getDerivedStateFromError), `react-error-boundary`, `error route`."""
    capture: Capture


@dataclass(frozen=True)
class WiringScan:
    """What the files say about Sentry's wiring, before any version is taken into account."""

    layout: Layout
    src_layout: bool
    """app/ or pages/ lives in src/, so Next.js reads instrumentation files from src/ only."""
    typescript: bool
    helper: str | None
    """CCPLATE's helper module (src/lib/sentry.ts), when the project uses that shape."""
    helper_specifier: str
    instrumentation: str | None
    misplaced: tuple[str, ...]
    """instrumentation files where Next.js does not look (root vs src/)."""
    instrumentation_client: str | None
    server_config: str | None
    edge_config: str | None
    client_config: str | None
    next_config: str | None
    app_dir: str | None
    pages_dir: str | None
    global_error: str | None
    pages_error: str | None
    server_inits: tuple[InitSite, ...]
    client_inits: tuple[InitSite, ...]
    config_inits: dict[str, SourceLine]
    """`server` / `edge` / `client` config file -> its live top-level Sentry.init."""
    request_hook: SourceLine | None
    request_capture: SourceLine | None
    global_error_capture: Capture | None
    pages_error_capture: Capture | None
    with_sentry_config: SourceLine | None
    boundaries: tuple[Boundary, ...]
    disabled: tuple[DisabledCall, ...]
    """Every disabled Sentry call in the project's sources, by file and line."""
    sentry_alias: str | None
    """The name instrumentation binds @sentry/nextjs to, when it imports it."""
    truncated: bool = False


class _Project:
    """The project root with its sources read once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._sources: dict[Path, JsSource | None] = {}

    def source(self, path: Path | None) -> JsSource | None:
        if path is None:
            return None
        if path not in self._sources:
            self._sources[path] = read_source(self.root, path)
        return self._sources[path]

    def rel(self, path: Path | None) -> str | None:
        return None if path is None else path.relative_to(self.root).as_posix()


def scan_wiring(root: Path) -> WiringScan:
    """Scan the project at `root` (an existing folder) for its Sentry wiring."""
    project = _Project(root)
    app_dir = _first_dir(root, ("app", "src/app"))
    pages_dir = _first_dir(root, ("pages", "src/pages"))
    src_layout = any(d is not None and d.startswith("src/") for d in (app_dir, pages_dir)) or (
        app_dir is None and pages_dir is None and (root / "src").is_dir()
    )
    # Next.js reads instrumentation files beside app/ or pages/: src/ in a src layout.
    home, other = ("src", "") if src_layout else ("", "src")
    instrumentation = first_file(root, home, "instrumentation", _CONFIG_SUFFIXES)
    client_entry = first_file(root, home, "instrumentation-client", _CONFIG_SUFFIXES)
    misplaced = tuple(
        rel
        for stem in ("instrumentation", "instrumentation-client")
        if (rel := project.rel(first_file(root, other, stem, _CONFIG_SUFFIXES)))
    )
    configs = {
        kind: first_file(root, "", f"sentry.{kind}.config", _CONFIG_SUFFIXES)
        or first_file(root, "src", f"sentry.{kind}.config", _CONFIG_SUFFIXES)
        for kind in ("server", "edge", "client")
    }
    next_config = first_file(root, "", "next.config", _CONFIG_SUFFIXES)
    global_error = first_file(root, app_dir, "global-error", _ROUTE_SUFFIXES) if app_dir else None
    pages_error = first_file(root, pages_dir, "_error", _ROUTE_SUFFIXES) if pages_dir else None

    instr_src = project.source(instrumentation)
    helper, helper_spec = _helper(project, instr_src, instrumentation)
    server_inits = _init_sites(project, instrumentation, configs)
    client_inits = _init_sites(project, client_entry, configs)
    config_inits = {
        kind: line
        for kind, path in configs.items()
        if (line := _top_level_init(project, path)) is not None
    }
    hook = capture = None
    if instr_src is not None:
        found = _EXPORT_HOOK.search(instr_src.code_strings)
        hook = _line(instr_src, found.start()) if found else None
        used = re.search(r"\b(?:captureRequestError|captureException)\b", instr_src.code)
        capture = _line(instr_src, used.start()) if used else None

    sources, truncated = _walk(root)
    boundaries = []
    disabled: list[DisabledCall] = []
    for path in sources:
        src = project.source(path) if _worth_reading(path, root, app_dir) else None
        if src is None:
            continue
        disabled += disabled_calls(src)
        kind_line = _boundary(src, path, root, app_dir)
        if kind_line is not None:
            kind, line = kind_line
            boundaries.append(Boundary(src.relpath, line, kind, _capture(project, path)))
    for path in (instrumentation, client_entry, next_config, *configs.values()):
        src = project.source(path)
        if src is not None and path not in sources:
            disabled += disabled_calls(src)

    wsc = project.source(next_config)
    wsc_match = re.search(r"(?<![\w$.])withSentryConfig\s*\(", wsc.code) if wsc else None
    uses_helper = helper is not None
    return WiringScan(
        layout="ccplate" if uses_helper else "wizard",
        src_layout=src_layout,
        typescript=(root / "tsconfig.json").is_file(),
        helper=helper,
        helper_specifier=helper_spec,
        instrumentation=project.rel(instrumentation),
        misplaced=misplaced,
        instrumentation_client=project.rel(client_entry),
        server_config=project.rel(configs["server"]),
        edge_config=project.rel(configs["edge"]),
        client_config=project.rel(configs["client"]),
        next_config=project.rel(next_config),
        app_dir=app_dir,
        pages_dir=pages_dir,
        global_error=project.rel(global_error),
        pages_error=project.rel(pages_error),
        server_inits=tuple(server_inits),
        client_inits=tuple(client_inits),
        config_inits=config_inits,
        request_hook=hook,
        request_capture=capture,
        global_error_capture=_capture(project, global_error) if global_error else None,
        pages_error_capture=_capture(project, pages_error) if pages_error else None,
        with_sentry_config=_line(wsc, wsc_match.start()) if wsc and wsc_match else None,
        boundaries=tuple(sorted(boundaries, key=lambda b: (b.file, b.line))),
        disabled=tuple(sorted(set(disabled), key=lambda d: (d.file, d.line, d.call))),
        sentry_alias=_sentry_alias(instr_src),
        truncated=truncated,
    )


# --- files -----------------------------------------------------------------------------------


def _first_dir(root: Path, names: tuple[str, ...]) -> str | None:
    return next((name for name in names if (root / name).is_dir()), None)


def _walk(root: Path) -> tuple[list[Path], bool]:
    """The project's own sources (no dependencies, builds, tests or stories), sorted."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(SOURCE_SUFFIXES) and not _TEST_FILE.search(name):
                found.append(Path(folder) / name)
                if len(found) >= MAX_FILES:
                    return found, True
    return found, False


def _worth_reading(path: Path, root: Path, app_dir: str | None) -> bool:
    """Whether a source can hold Sentry calls or an error boundary (most files cannot: skipping
    them keeps a large app's scan fast)."""
    if app_dir and path.stem == "error" and path.is_relative_to(root / app_dir):
        return True
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return False
        return bool(_RELEVANT.search(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def _line(src: JsSource, offset: int) -> SourceLine:
    line = src.line_of(offset)
    return SourceLine(src.relpath, line, src.line_text(line))


def _sentry_alias(src: JsSource | None) -> str | None:
    if src is None:
        return None
    found = re.search(
        r"""\bimport\s+\*\s+as\s+([A-Za-z_$][\w$]*)\s+from\s*["']@sentry/nextjs["']""",
        src.code_strings,
    )
    return found.group(1) if found else None


def _helper(
    project: _Project, instr: JsSource | None, instr_path: Path | None
) -> tuple[str | None, str]:
    """CCPLATE's helper module: what instrumentation imports initSentry from (even in a comment),
    else src/lib/sentry.* or lib/sentry.* when it defines initSentry."""
    if instr is not None and instr_path is not None:
        for local, (_, spec) in instr.named_imports(live=False).items():
            if local == "initSentry":
                target = resolve_module(project.root, instr_path, spec)
                return (project.rel(target) if target else None) or spec, spec
    for folder, spec in (("src/lib", "@/lib/sentry"), ("lib", "@/lib/sentry")):
        path = first_file(project.root, folder, "sentry", SOURCE_SUFFIXES)
        src = project.source(path)
        if src is not None and "initSentry" in src.text:
            return src.relpath, spec
    return None, "@/lib/sentry"


# --- live and disabled calls -------------------------------------------------------------------


def _call_pattern(member: str, bare: str | None, namespaces: set[str]) -> re.Pattern[str]:
    """Calls of `member` through a Sentry namespace (`Sentry.init(`), or of `bare` names."""
    spaces = "|".join(re.escape(n) for n in sorted(namespaces))
    bare_part = f"|(?:{bare})" if bare else ""
    return re.compile(rf"(?<![\w$.])(?:(?:{spaces})\s*\.\s*(?:{member}){bare_part})\s*\(")


def _live_calls(src: JsSource, names: str, *, bare: bool = True) -> list[re.Match[str]]:
    """Live calls of `names` (through a Sentry namespace, or bare), minus definitions and calls
    behind a constant-false condition."""
    pattern = _call_pattern(names, names if bare else None, src.sentry_namespaces())
    return [
        m
        for m in pattern.finditer(src.code)
        if not _DEFINITION_BEFORE.search(src.code, 0, m.start()) and not false_guard(src, m.start())
    ]


def disabled_calls(src: JsSource) -> list[DisabledCall]:
    """The Sentry calls of one file that do not run, with how each is disabled."""
    namespaces = src.sentry_namespaces() | {
        m.group(1)
        for m in re.finditer(
            r"import\s+\*\s+as\s+([A-Za-z_$][\w$]*)\s+from\s*[\"']@sentry/", src.text
        )
    }
    calls = _call_pattern(r"\w+", _CALL_NAMES, namespaces)
    other = re.compile(
        r"\bonRequestError\s*=(?!=)|\b(?:import|require)\s*\(\s*[\"'][^\"']*sentry[^\"']*[\"']\s*\)",
        re.IGNORECASE,
    )
    todos = [n for n in src.todo_lines() if _SENTRY_WORD.search(src.line_text(n))]
    found: list[DisabledCall] = []
    for comment in src.comments:
        segment = src.text[comment.start : comment.end]
        offset = comment.start
        for raw in segment.split("\n"):
            content = re.sub(r"^\s*(?://+|/\*+|\*+(?!/))\s*", "", raw).removesuffix("*/").strip()
            line = src.line_of(offset)
            offset += len(raw) + 1
            if _MARKER.search(content):
                named = _TODO_NAME.search(content)
                if named:
                    name = re.sub(r"\s+", "", named.group(0))
                    found.append(DisabledCall(src.relpath, line, name, "named in a TODO", content))
                continue
            match = calls.search(content) or other.search(content)
            if match is None or _DEFINITION_BEFORE.search(content, 0, match.start()):
                continue
            if not (_CODE_PREFIX.match(content[: match.start()]) and _code_after(content, match)):
                continue  # prose that mentions a call, not code
            todo = next((n for n in reversed(todos) if n <= line), None)
            how = f"commented out under the TODO at line {todo}" if todo else "commented out"
            found.append(DisabledCall(src.relpath, line, _call_name(match.group(0)), how, content))
    live = [*calls.finditer(src.code), *other.finditer(src.code_strings)]
    for match in live:
        cond = false_guard(src, match.start())
        if cond is not None and not _DEFINITION_BEFORE.search(src.code, 0, match.start()):
            line = src.line_of(match.start())
            found.append(
                DisabledCall(
                    src.relpath,
                    line,
                    _call_name(match.group(0)),
                    f"behind if ({cond})",
                    src.line_text(line),
                )
            )
    return found


def _code_after(content: str, match: re.Match[str]) -> bool:
    """Whether what follows the call (or `onRequestError =`) in a comment reads as code."""
    if not match.group(0).endswith("("):
        return bool(re.match(r"^[\s\w$.]*;?\s*$", content[match.end() :]))
    depth = 0
    for i in range(match.end() - 1, len(content)):
        depth += {"(": 1, ")": -1}.get(content[i], 0)
        if depth == 0:
            rest = content[i + 1 :].strip()
            return not rest or rest[0] in ";,){}.]?:&|" or rest.startswith("=>")
    return True  # the call goes on past the line: `Sentry.init({`


def _call_name(matched: str) -> str:
    text = re.sub(r"\s+", "", matched).rstrip("(")
    return text.rstrip("=") if text.startswith("onRequestError") else text


# --- inits, captures, boundaries ---------------------------------------------------------------


def _top_level_init(project: _Project, path: Path | None) -> SourceLine | None:
    """A live Sentry.init that runs when the module is imported (not inside a function)."""
    src = project.source(path)
    if src is None:
        return None
    for match in _live_calls(src, "init", bare=False):
        if not in_function(src, match.start()):
            return _line(src, match.start())
    return None


def _any_init(project: _Project, path: Path | None) -> SourceLine | None:
    src = project.source(path)
    calls = _live_calls(src, "init", bare=False) if src else []
    return _line(src, calls[0].start()) if src and calls else None


def _init_sites(
    project: _Project, entry: Path | None, configs: dict[str, Path | None]
) -> list[InitSite]:
    """Every live Sentry init `entry` reaches: direct, through a helper, or a config import."""
    src = project.source(entry)
    if src is None or entry is None:
        return []
    sites = [
        InitSite(
            _line(src, m.start()),
            _line(src, m.start()),
            runtimes_at(src, m.start()),
            "Sentry.init",
        )
        for m in _live_calls(src, "init", bare=False)
    ]
    for local, (_, spec) in src.named_imports().items():
        if spec.startswith("@sentry/"):
            continue
        for match in _live_calls(src, re.escape(local)):
            if "." in match.group(0):
                continue
            target = resolve_module(project.root, entry, spec)
            helper = project.source(target)
            at = _line(src, match.start())
            runtimes = runtimes_at(src, match.start())
            if helper is None:
                if _SENTRY_WORD.search(local + spec):
                    sites.append(InitSite(at, None, runtimes, f"{local}() from {spec} (not read)"))
                continue
            init = _any_init(project, target)
            via = f"{local}() from {helper.relpath}"
            if init is not None:
                sites.append(InitSite(at, init, runtimes, via))
            else:
                off = tuple(d for d in disabled_calls(helper) if d.call.endswith(".init"))
                if off:
                    sites.append(InitSite(at, None, runtimes, via, off))
    kinds = {path: kind for kind, path in configs.items() if path is not None}
    for offset, spec in src.specifiers():
        if spec.startswith("@sentry/") or spec in {s for _, s in src.named_imports().values()}:
            continue
        target = resolve_module(project.root, entry, spec)
        init = _top_level_init(project, target)
        if target is None or init is None or false_guard(src, offset):
            continue
        runtimes = runtimes_at(src, offset)
        kind = kinds.get(target)
        if kind in ("server", "edge"):
            runtimes &= {NODE} if kind == "server" else {EDGE}
        sites.append(
            InitSite(_line(src, offset), init, frozenset(runtimes), f"import of {init.file}")
        )
    return sites


def _capture(project: _Project, path: Path | None) -> Capture:
    """Whether the file reports errors: a Sentry capture, or a helper's that really captures."""
    src = project.source(path)
    if src is None or path is None:
        return Capture(None, ())
    imports = src.named_imports()
    flags = {
        "imports_sentry": _sentry_alias(src) is not None,
        "imports_helper": "captureError" in imports,
    }
    direct = _live_calls(
        src, "captureException|captureUnderscoreErrorException|withErrorBoundary", bare=False
    )
    if direct:
        return Capture(_line(src, direct[0].start()), (), **flags)
    component = re.search(r"<\s*(?:Sentry\s*\.\s*)?ErrorBoundary\b", src.code)
    if component and (
        "Sentry" in component.group(0)
        or imports.get("ErrorBoundary", ("", ""))[1].startswith("@sentry/")
    ):
        return Capture(_line(src, component.start()), (), **flags)
    disabled: list[DisabledCall] = [
        d for d in disabled_calls(src) if re.search(r"capture", d.call, re.IGNORECASE)
    ]
    for local, (imported, spec) in imports.items():
        if not re.search(r"capture", imported, re.IGNORECASE):
            continue
        calls = [m for m in _live_calls(src, re.escape(local)) if "." not in m.group(0)]
        if not calls:
            continue
        at = _line(src, calls[0].start())
        if spec.startswith("@sentry/"):
            return Capture(at, (), **flags)
        target = resolve_module(project.root, path, spec)
        helper = project.source(target)
        if helper is None:
            if _SENTRY_WORD.search(spec):
                return Capture(at, (), **flags)
            continue
        if _live_calls(helper, "captureException", bare=False):
            return Capture(at, (), **flags)
        disabled += [d for d in disabled_calls(helper) if "captureException" in d.call]
    return Capture(None, tuple(disabled), **flags)


def _boundary(src: JsSource, path: Path, root: Path, app_dir: str | None) -> tuple[str, int] | None:
    """(kind, line) when the file defines an error boundary; None otherwise."""
    lifecycle = re.search(r"\bcomponentDidCatch\s*\(", src.code) or re.search(
        r"\bgetDerivedStateFromError\s*\(", src.code
    )
    if lifecycle:
        return "class", src.line_of(lifecycle.start())
    for offset, spec in src.specifiers():
        if spec == "react-error-boundary":
            return "react-error-boundary", src.line_of(offset)
    rel = path.relative_to(root).as_posix()
    if app_dir and rel.startswith(app_dir + "/") and path.stem == "error":
        return "error route", 1
    return None
