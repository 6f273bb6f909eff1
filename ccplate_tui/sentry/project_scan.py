"""Read what a Next.js project has installed and how its Sentry wiring looks, without running it.

Everything comes from files: package.json, node_modules manifests, the npm lockfile, .nvmrc,
.env.example and the sources. A broken package.json is fatal (nothing can be said); a broken
lockfile or node_modules manifest only costs that source, with a warning.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ccplate_tui.sentry.wiring_scan import WiringScan, scan_wiring

SENTRY_ENV_KEYS = ("SENTRY_DSN", "SENTRY_ORG", "SENTRY_PROJECT", "NEXT_PUBLIC_SENTRY_DSN")
PackageSource = Literal["node_modules", "package-lock", "package.json", "missing"]

NEXT = "next"
SENTRY_NEXTJS = "@sentry/nextjs"
MAX_SOURCE_BYTES = 1_000_000
"""Larger sources are bundles or generated code, not where a hand-written TODO lives."""

_SOURCE_SUFFIXES = frozenset({".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs"})
_SKIPPED_DIRS = frozenset({"node_modules", ".next", ".git"})
_LOCKFILES = ("npm-shrinkwrap.json", "package-lock.json")
"""npm reads npm-shrinkwrap.json in preference to package-lock.json when both exist."""
_OTHER_LOCKFILES = ("pnpm-lock.yaml", "yarn.lock", "bun.lockb", "bun.lock")
_INSTRUMENTATION = tuple(
    f"{folder}instrumentation.{ext}" for folder in ("src/", "") for ext in ("ts", "js", "mjs")
)
_ERROR_BOUNDARY = "src/components/error-boundary.tsx"
_PROXY = ("src/proxy.ts", "src/proxy.js", "proxy.ts", "proxy.js")

_MARKER = re.compile(r"\b(?:TODO|FIXME)\b")
_SENTRY_WORD = re.compile(r"sentry", re.IGNORECASE)
_ROOT_SENTRY_CONFIG = re.compile(r"^sentry\.[\w-]+\.config\.(?:ts|js|mjs|cjs)$")
_ROOT_MARKER_FILES = re.compile(
    r"^(?:instrumentation(?:-client)?|next\.config)\.(?:ts|js|mjs|cjs)$"
)
_INIT_CALL = re.compile(r"(?<![\w$])(?:initSentry|Sentry\s*\.\s*init)\s*\(")
_REPORT_CALL = re.compile(
    r"(?<![\w$])(?:[A-Za-z_$][\w$]*\s*\.\s*)?(?:captureException|captureError)\s*\("
)
_DEFINITION_BEFORE = re.compile(r"\bfunction\s*\*?\s*(?:[A-Za-z_$][\w$]*\s*\.\s*)?$")
_SENTRY_IMPORT = re.compile(
    r"""(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(["'])([^"']*sentry[^"']*)\1""",
    re.IGNORECASE,
)
_NAMESPACE_IMPORT = re.compile(
    r"""\bimport\s+\*\s+as\s+([A-Za-z_$][\w$]*)\s+from\s*(["'])@sentry/[^"']+\2"""
)
_TURBO_FLAG = re.compile(r"(?<![\w-])--turbo(?:pack)?\b")
_WEBPACK_FLAG = re.compile(r"(?<![\w-])--webpack\b")
_NEXT_COMMAND = re.compile(r"(?<![\w.-])next\s+(?:dev|build)\b")
_MAJOR = re.compile(r"^\s*(?:[~^]|>=?|=)?\s*v?(\d+)")


class ProjectError(Exception):
    """The project cannot be read: message names the file (and line/column for bad JSON) and what was expected."""


@dataclass(frozen=True)
class InstalledPackage:
    name: str
    version: str | None
    """Exact installed version when known (node_modules or lockfile), else None."""
    declared: str | None
    """The range in package.json (dependencies, then devDependencies), if any."""
    source: PackageSource
    source_path: str
    """Relative path of the file `version` (or `declared`) came from; "" when missing."""
    peer_next: str | None = None
    """This package's `peerDependencies.next` (node_modules or lockfile only)."""
    engines_node: str | None = None
    """This package's `engines.node` (node_modules or lockfile only)."""


@dataclass(frozen=True)
class TodoMarker:
    file: str
    """Posix path relative to the project root, e.g. `src/lib/sentry.ts`."""
    line: int
    """1-based."""
    text: str
    """The comment, stripped, e.g. `// TODO: Re-enable when @sentry/nextjs supports Next.js 16`."""


@dataclass(frozen=True)
class ProjectScan:
    root: Path
    name: str | None
    next: InstalledPackage
    sentry: InstalledPackage
    node_version: str | None
    """Exact (`20.18.0`) or a range (`>=20`), as written (a leading `v` dropped)."""
    node_version_source: str | None
    """`.nvmrc`, `.node-version` or `package.json engines.node`."""
    todo_markers: tuple[TodoMarker, ...]
    instrumentation_calls_init: bool | None
    """None when there is no instrumentation file (src/ or root, .ts/.js/.mjs)."""
    env_example: dict[str, bool] | None
    """SENTRY_ENV_KEYS -> has an uncommented assignment; None when there is no .env.example."""
    error_boundary_reports: bool | None
    """None when src/components/error-boundary.tsx is missing."""
    turbopack: bool
    """A next dev/build script uses Turbopack: `--turbopack`/`--turbo`, or next >= 16 without `--webpack`."""
    proxy_ts: bool
    """Next 16's proxy.ts (the renamed middleware.ts) exists, in src/ or the root."""
    warnings: tuple[str, ...] = ()
    """Sources that could not be read and were skipped, in the order met."""
    wiring: WiringScan | None = None
    """Where Sentry is (or was meant to be) wired in, by Next.js's conventions; None for a scan
    not read from files."""


def scan_project(path: Path | str) -> ProjectScan:
    """Scan the Next.js project folder `path`; raises ProjectError when it is not one."""
    root = Path(path).expanduser()
    if not root.exists():
        raise ProjectError(f"{root}: no such directory; expected a Next.js project folder")
    if not root.is_dir():
        raise ProjectError(f"{root}: not a directory; expected a Next.js project folder")
    root = root.resolve()
    manifest_path = root / "package.json"
    if not manifest_path.is_file():
        raise ProjectError(f"{manifest_path}: no such file; expected a Next.js project folder")
    manifest = _read_manifest(manifest_path)
    declared = _declared_ranges(manifest, manifest_path)
    if NEXT not in declared:
        raise ProjectError(
            f"{manifest_path}: not a Next.js project: package.json has no next in "
            "dependencies or devDependencies"
        )

    warnings: list[str] = []
    lock = _read_lockfile(root, warnings)
    next_pkg = _resolve_package(root, NEXT, declared.get(NEXT), lock, warnings)
    sentry_pkg = _resolve_package(root, SENTRY_NEXTJS, declared.get(SENTRY_NEXTJS), lock, warnings)
    node_version, node_source = _node_version(root, manifest)
    name = manifest.get("name")
    return ProjectScan(
        root=root,
        name=name if isinstance(name, str) else None,
        next=next_pkg,
        sentry=sentry_pkg,
        node_version=node_version,
        node_version_source=node_source,
        todo_markers=_todo_markers(root),
        instrumentation_calls_init=_instrumentation_calls_init(root),
        env_example=_env_example(root / ".env.example"),
        error_boundary_reports=_error_boundary_reports(root / _ERROR_BOUNDARY),
        turbopack=_uses_turbopack(manifest, next_pkg),
        proxy_ts=any((root / name).is_file() for name in _PROXY),
        warnings=tuple(warnings),
        wiring=scan_wiring(root),
    )


# --- package.json, node_modules and the lockfile -------------------------------------------


def _load_json(path: Path) -> Any:
    """Parse a JSON file; ValueError carries `path: what went wrong` (line and column for syntax)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = _load_json(path)
    except ValueError as exc:
        raise ProjectError(str(exc)) from exc
    if not isinstance(data, dict):
        raise ProjectError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def _declared_ranges(manifest: dict[str, Any], path: Path) -> dict[str, str]:
    """package name -> range from devDependencies, overridden by dependencies (npm's precedence)."""
    ranges: dict[str, str] = {}
    for section in ("devDependencies", "dependencies"):
        entries = manifest.get(section)
        if entries is None:
            continue
        if not isinstance(entries, dict):
            raise ProjectError(
                f"{path}: {section} must be an object of package name -> version range"
            )
        ranges.update({k: v for k, v in entries.items() if isinstance(v, str)})
    return ranges


@dataclass(frozen=True)
class _Lockfile:
    relpath: str
    data: dict[str, Any]


def _read_lockfile(root: Path, warnings: list[str]) -> _Lockfile | None:
    for name in _LOCKFILES:
        path = root / name
        if not path.is_file():
            continue
        try:
            data = _load_json(path)
        except ValueError as exc:
            warnings.append(f"{exc}; skipped, versions come from other sources")
            continue
        if not isinstance(data, dict):
            warnings.append(f"{path}: expected a JSON object; skipped")
            continue
        return _Lockfile(name, data)
    others = [name for name in _OTHER_LOCKFILES if (root / name).is_file()]
    if others:
        warnings.append(
            f"{', '.join(others)} is not read (npm lockfiles only); installed versions come "
            "from node_modules or package.json ranges"
        )
    return None


def _manifest_fields(entry: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """version, peerDependencies.next and engines.node of a manifest or lockfile entry."""
    version = entry.get("version")
    peers = entry.get("peerDependencies")
    engines = entry.get("engines")
    peer_next = peers.get(NEXT) if isinstance(peers, dict) else None
    engines_node = engines.get("node") if isinstance(engines, dict) else None
    return (
        version.strip() if isinstance(version, str) and version.strip() else None,
        peer_next if isinstance(peer_next, str) else None,
        engines_node if isinstance(engines_node, str) else None,
    )


def _resolve_package(
    root: Path,
    name: str,
    declared: str | None,
    lock: _Lockfile | None,
    warnings: list[str],
) -> InstalledPackage:
    """What npm would install, in order: the lockfile, node_modules, package.json's range.

    The lockfile first because `npm ci` and `npm install` install what it pins; a node_modules
    that disagrees is stale, and is said so.
    """
    relpath = f"node_modules/{name}/package.json"
    installed = _installed_manifest(root / relpath, warnings)
    if lock is not None:
        entry = _lock_entry(lock, name)
        if entry is not None:
            version, peer_next, engines_node = _manifest_fields(entry)
            if version:
                if installed is not None and installed[0] != version:
                    warnings.append(
                        f"{relpath} has {name} {installed[0]} but {lock.relpath} pins {version}: "
                        "node_modules is stale (npm install brings it in line); reading the lockfile"
                    )
                return InstalledPackage(
                    name, version, declared, "package-lock", lock.relpath, peer_next, engines_node
                )
    if installed is not None:
        version, peer_next, engines_node = installed
        return InstalledPackage(
            name, version, declared, "node_modules", relpath, peer_next, engines_node
        )
    if declared is not None:
        return InstalledPackage(name, None, declared, "package.json", "package.json")
    return InstalledPackage(name, None, None, "missing", "")


def _installed_manifest(
    path: Path, warnings: list[str]
) -> tuple[str, str | None, str | None] | None:
    """(version, peerDependencies.next, engines.node) of an installed package, None if unusable."""
    if not path.is_file():
        return None
    try:
        data = _load_json(path)
    except ValueError as exc:
        warnings.append(f"{exc}; skipped")
        return None
    version, peer_next, engines_node = (
        _manifest_fields(data) if isinstance(data, dict) else (None, None, None)
    )
    if not version:
        warnings.append(f"{path}: has no version; skipped")
        return None
    return version, peer_next, engines_node


def _lock_entry(lock: _Lockfile, name: str) -> dict[str, Any] | None:
    """The top-level install of `name`: `packages` (lockfile v2/v3), else `dependencies` (v1)."""
    packages = lock.data.get("packages")
    if isinstance(packages, dict):
        entry = packages.get(f"node_modules/{name}")
        if isinstance(entry, dict) and not entry.get("link"):
            return entry
    dependencies = lock.data.get("dependencies")
    if isinstance(dependencies, dict):
        entry = dependencies.get(name)
        if isinstance(entry, dict):
            return entry
    return None


# --- Node version -------------------------------------------------------------------------


def _node_version(root: Path, manifest: dict[str, Any]) -> tuple[str | None, str | None]:
    for name in (".nvmrc", ".node-version"):
        try:
            text = (root / name).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if line:
                # nvm and friends accept "v22.12.0"; the bare number is what semver compares.
                return (line[1:] if re.match(r"^v\d", line) else line), name
    engines = manifest.get("engines")
    node = engines.get("node") if isinstance(engines, dict) else None
    if isinstance(node, str) and node.strip():
        return node.strip(), "package.json engines.node"
    return None, None


# --- sources --------------------------------------------------------------------------------


def _read_source(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _marker_files(root: Path) -> list[Path]:
    """Sources under src/ (minus dependency and build folders) and the root's Sentry/Next configs."""
    found: list[Path] = []
    src = root / "src"
    if src.is_dir():
        for folder, dirs, files in os.walk(src):
            dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
            found += [Path(folder) / f for f in sorted(files) if Path(f).suffix in _SOURCE_SUFFIXES]
    found += sorted(
        p
        for p in root.iterdir()
        if p.is_file() and (_ROOT_SENTRY_CONFIG.match(p.name) or _ROOT_MARKER_FILES.match(p.name))
    )
    return found


def _todo_markers(root: Path) -> tuple[TodoMarker, ...]:
    markers: list[TodoMarker] = []
    for path in _marker_files(root):
        text = _read_source(path)
        if text is None:
            continue
        relative = path.relative_to(root).as_posix()
        for number, line in enumerate(text.splitlines(), start=1):
            found = _MARKER.search(line)
            if found and _SENTRY_WORD.search(line):
                markers.append(TodoMarker(relative, number, _comment_text(line, found.start())))
    return tuple(sorted(markers, key=lambda m: (m.file, m.line)))


def _comment_text(line: str, marker_at: int) -> str:
    """From the comment opener before the marker to the end (the whole line when there is none)."""
    opener = max(line.rfind("//", 0, marker_at), line.rfind("/*", 0, marker_at))
    text = (line[opener:] if opener >= 0 else line).strip()
    return text if len(text) <= 300 else text[:299] + "…"


def _strip_comments(text: str, *, blank_strings: bool = False) -> str:
    """The source with `//` and `/* */` comments removed, newlines kept (so are line numbers).

    With `blank_strings`, string contents become spaces too, so a call named in a string is not
    a call. Good enough for hand-written TS/JS; regex literals containing `//` are not recognised.
    """
    out: list[str] = []
    i, n = 0, len(text)
    quote: str | None = None
    while i < n:
        ch = text[i]
        if quote is not None:
            if ch == "\\" and i + 1 < n:
                pair = text[i : i + 2]
                out.append("  " if blank_strings and "\n" not in pair else pair)
                i += 2
                continue
            if ch == quote or (ch == "\n" and quote != "`"):
                quote = None
                out.append(ch)
            else:
                out.append(" " if blank_strings and ch != "\n" else ch)
            i += 1
        elif ch in "\"'`":
            quote = ch
            out.append(ch)
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            stop = n if end < 0 else end + 2
            out.append("\n" * text.count("\n", i, stop))
            i = stop
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _calls(code: str, pattern: re.Pattern[str]) -> bool:
    """Whether `code` calls what `pattern` names, not counting `function name(` definitions."""
    return any(
        not _DEFINITION_BEFORE.search(code, 0, match.start()) for match in pattern.finditer(code)
    )


def _calls_sentry_init(text: str) -> bool:
    """Whether the source `text` calls `initSentry(` / `Sentry.init(` outside comments and strings."""
    code = _strip_comments(text, blank_strings=True)
    if _calls(code, _INIT_CALL):
        return True
    # `import * as S from "@sentry/nextjs"` then `S.init(`.
    for match in _NAMESPACE_IMPORT.finditer(_strip_comments(text)):
        if _calls(code, re.compile(rf"(?<![\w$]){re.escape(match.group(1))}\s*\.\s*init\s*\(")):
            return True
    return False


def _instrumentation_calls_init(root: Path) -> bool | None:
    """None without an instrumentation file; True when one of them (really) starts Sentry.

    Besides a direct call, the wizard's layout counts: `register()` importing
    `./sentry.server.config` (or `.edge.config`) whose own code calls `Sentry.init(`.
    """
    files = [root / name for name in _INSTRUMENTATION if (root / name).is_file()]
    if not files:
        return None
    for path in files:
        text = _read_source(path) or ""
        if _calls_sentry_init(text):
            return True
        for match in _SENTRY_IMPORT.finditer(_strip_comments(text)):
            target = _relative_module(path.parent, match.group(2))
            if target is not None and _calls_sentry_init(_read_source(target) or ""):
                return True
    return False


def _relative_module(folder: Path, specifier: str) -> Path | None:
    if not specifier.startswith("."):
        return None
    base = folder / specifier
    candidates = [base] + [base.with_name(base.name + ext) for ext in sorted(_SOURCE_SUFFIXES)]
    return next((c for c in candidates if c.is_file()), None)


def _error_boundary_reports(path: Path) -> bool | None:
    """None when missing; True for a live capture call with a live import from a Sentry module.

    The import matters: a local `captureError` that only logs is not reporting.
    """
    if not path.is_file():
        return None
    text = _read_source(path) or ""
    return bool(_SENTRY_IMPORT.search(_strip_comments(text))) and _calls(
        _strip_comments(text, blank_strings=True), _REPORT_CALL
    )


# --- .env.example, Turbopack ------------------------------------------------------------------


def _env_example(path: Path) -> dict[str, bool] | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    assigned = {
        match.group(1)
        for match in re.finditer(
            r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=", text, re.MULTILINE
        )
    }
    return {key: key in assigned for key in SENTRY_ENV_KEYS}


def _major(version_or_range: str | None) -> int | None:
    """The lowest major a version or range names (`^16.1.4` -> 16, `^15 || ^16` -> 15)."""
    if not version_or_range:
        return None
    majors = [int(m.group(1)) for part in version_or_range.split("||") if (m := _MAJOR.match(part))]
    return min(majors) if majors else None


def _uses_turbopack(manifest: dict[str, Any], next_pkg: InstalledPackage) -> bool:
    scripts = manifest.get("scripts")
    commands = [
        s for s in (scripts.values() if isinstance(scripts, dict) else ()) if isinstance(s, str)
    ]
    if any(_TURBO_FLAG.search(s) for s in commands):
        return True
    major = _major(next_pkg.version or next_pkg.declared)
    if major is None or major < 16:
        return False
    # Next 16 builds and serves with Turbopack unless the script opts out with --webpack.
    next_runs = [s for s in commands if _NEXT_COMMAND.search(s)]
    return not next_runs or any(not _WEBPACK_FLAG.search(s) for s in next_runs)
