"""Which error paths of a Next.js app reach Sentry, for its Next.js and @sentry/nextjs versions.

A peer range that admits Next.js says nothing about whether errors are captured: that is decided
by the wiring. Each path (server, edge and client init, request errors, root-layout errors, the
Pages Router's `_error`, error boundaries) is judged from a WiringScan against the versions, and
every path that does not reach Sentry comes with the exact lines to add, in the project's own
shape (CCPLATE's `initSentry()` helpers, or the Sentry wizard's files).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from ccplate_tui.sentry.js_source import EDGE, NODE
from ccplate_tui.sentry.npm_semver import compare_versions
from ccplate_tui.sentry.project_scan import ProjectScan
from ccplate_tui.sentry.wiring_scan import (
    Boundary,
    Capture,
    DisabledCall,
    InitSite,
    SourceLine,
    WiringScan,
)

Status = Literal["ok", "missing", "disabled", "not_needed"]

REQUEST_HOOK_NEXT = "15.0.0-0"
"""Next.js calls `onRequestError` from 15 (its release candidates included)."""
REQUEST_HOOK_SDK = "8.28.0"
"""`Sentry.captureRequestError` exists from @sentry/nextjs 8.28.0."""
CLIENT_FILE_NEXT = "15.3.0"
"""Next.js loads `instrumentation-client.*` from 15.3; before, withSentryConfig injects
`sentry.client.config.*`."""
IMPORT_SENTRY = 'import * as Sentry from "@sentry/nextjs";'
HELPER_INIT = (
    "Sentry.init({ dsn: process.env.NEXT_PUBLIC_SENTRY_DSN, environment: process.env.NODE_ENV, "
    "tracesSampleRate: 1.0 });"
)
MARKS: dict[Status, str] = {"ok": "✓", "missing": "✗", "disabled": "✗ disabled", "not_needed": "–"}


@dataclass(frozen=True)
class FixLine:
    """One exact line to add: where (file, and a place in it) and the code."""

    file: str
    place: str
    """`at the top`, `in register()`, `at the end`, `new file`, ..."""
    code: str


@dataclass(frozen=True)
class WiringPath:
    key: str
    label: str
    status: Status
    file: str | None
    line: int | None
    """The live call, the disabled call, or (with no line) the file concerned."""
    detail: str
    fix: tuple[FixLine, ...] = ()
    disabled: tuple[DisabledCall, ...] = ()


@dataclass(frozen=True)
class WiringReport:
    layout: str
    next_version: str | None
    sdk_version: str | None
    paths: tuple[WiringPath, ...]
    build: WiringPath
    """withSentryConfig in next.config: not an error path, but source maps and (Next.js < 15,
    SDK 7) the wrapping some paths rely on."""
    disabled: tuple[DisabledCall, ...]
    cap: str | None
    """Why the compatibility verdict can be at best partial (request errors on Next.js >= 15)."""
    notes: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return all(p.status in ("ok", "not_needed") for p in self.paths)


class _Context:
    def __init__(
        self, scan: WiringScan, next_version: str | None, sdk: str | None, turbopack: bool
    ):
        self.scan = scan
        self.next = next_version
        self.sdk = sdk
        self.turbopack = turbopack
        self.home = "src/" if scan.src_layout else ""
        self.ext = "ts" if scan.typescript else "js"
        self.jsx = "tsx" if scan.typescript else "jsx"
        self.ccplate = scan.layout == "ccplate"

    def at_least(self, version: str | None, floor: str) -> bool | None:
        return None if not version else compare_versions(version, floor) >= 0

    @property
    def instrumentation(self) -> str:
        return self.scan.instrumentation or f"{self.home}instrumentation.{self.ext}"

    def place(self, existing: str | bool | None, place: str) -> str:
        """`place` in a file that exists (a path or True), else `new file`."""
        return place if existing else "new file"


def project_wiring(
    scan: ProjectScan, next_version: str | None, sdk_version: str | None
) -> WiringReport | None:
    """The wiring of a scanned project (None when the scan was not read from files)."""
    if scan.wiring is None:
        return None
    return assess_wiring(scan.wiring, next_version, sdk_version, turbopack=scan.turbopack)


def assess_wiring(
    scan: WiringScan, next_version: str | None, sdk_version: str | None, *, turbopack: bool
) -> WiringReport:
    """Judge every error path of the scanned project for these versions."""
    c = _Context(scan, next_version, sdk_version, turbopack)
    paths = [_runtime_path(c, NODE), _runtime_path(c, EDGE), _client_path(c), _request_path(c)]
    routers = []
    if scan.app_dir or not scan.pages_dir:
        routers.append(_global_error_path(c))
    if scan.pages_dir:
        routers.append(_pages_error_path(c))
    paths += routers
    paths.append(_boundary_path(c, routers))
    request = paths[3]
    cap = None
    # A project with no app code yet (package.json alone) has nothing to wire: it is not capped.
    code = (scan.app_dir, scan.pages_dir, scan.instrumentation, scan.instrumentation_client)
    has_code = any(code) or any(
        (scan.server_config, scan.edge_config, scan.client_config, scan.helper)
    )
    if (
        has_code
        and request.status not in ("ok", "not_needed")
        and c.at_least(next_version, REQUEST_HOOK_NEXT)
    ):
        cap = (
            f"errors thrown in server components, route handlers and server actions do not reach "
            f"Sentry on Next.js {next_version}: {request.detail}"
        )
    notes = [
        f"{m} is not loaded: in this layout Next.js reads instrumentation files from "
        f"{c.home or 'the project root'}"
        for m in scan.misplaced
    ]
    if not has_code:
        notes.append(
            "no app code yet (no app/ or pages/ folder, no instrumentation): wire the paths "
            "below as you add it"
        )
    if scan.truncated:
        notes.append(
            "the project has too many source files: error boundaries were looked for in part of them"
        )
    return WiringReport(
        scan.layout,
        next_version,
        sdk_version,
        tuple(paths),
        _build_path(c),
        scan.disabled,
        cap,
        tuple(notes),
    )


# --- the paths ---------------------------------------------------------------------------------


def describe(call: DisabledCall) -> str:
    """`initSentry(); commented out under the TODO at line 1`, `captureError named in a TODO`."""
    if call.how == "named in a TODO":
        return f"{call.call} only named in a TODO"
    return f"`{call.text}` {call.how}"


def _is_init(call: DisabledCall, kind: str) -> bool:
    if call.call.startswith(("import(", "require(")):
        named = [k for k in ("server", "edge", "client") if f"{k}.config" in call.call]
        return not named or kind in named
    return call.call.endswith(".init") or call.call == "initSentry"


def _site_detail(site: InitSite) -> str:
    at = f"{site.at.file}:{site.at.line}"
    if site.via.startswith("import of") and site.init is not None:
        return f"{at} imports {site.init.file} (Sentry.init at line {site.init.line})"
    if site.via == "Sentry.init":
        return f"Sentry.init at {at}"
    if site.init is not None:
        return f"{site.via} at {at} (Sentry.init at {site.init.file}:{site.init.line})"
    return f"{site.via} at {at}"


def _init_path(
    c: _Context,
    key: str,
    label: str,
    sites: list[InitSite],
    files: set[str | None],
    kind: str,
    fix: tuple[FixLine, ...],
) -> WiringPath:
    live = [s for s in sites if not s.disabled]
    if live:
        return WiringPath(key, label, "ok", live[0].at.file, live[0].at.line, _site_detail(live[0]))
    off = [d for d in c.scan.disabled if d.file in files and _is_init(d, kind)]
    off += [d for s in sites for d in s.disabled if d not in off]
    if off:
        first = off[0]
        detail = describe(first)
        return WiringPath(key, label, "disabled", first.file, first.line, detail, fix, tuple(off))
    return WiringPath(key, label, "missing", None, None, "", fix)


def _runtime_path(c: _Context, runtime: str) -> WiringPath:
    kind = "server" if runtime == NODE else "edge"
    key, label = f"{kind}_init", f"{kind} init"
    name = "Node.js" if runtime == NODE else "edge"
    config = c.scan.server_config if kind == "server" else c.scan.edge_config
    config_init = c.scan.config_inits.get(kind)
    sdk_major = int(c.sdk.split(".")[0]) if c.sdk and c.sdk[0].isdigit() else None
    if sdk_major is not None and sdk_major < 8 and config_init and c.scan.with_sentry_config:
        detail = (
            f"Sentry.init at {config_init.file}:{config_init.line}, injected by withSentryConfig "
            f"(@sentry/nextjs {c.sdk} predates the instrumentation hook)"
        )
        return WiringPath(key, label, "ok", config_init.file, config_init.line, detail)
    sites = [s for s in c.scan.server_inits if runtime in s.runtimes]
    files = {c.scan.instrumentation, config, c.scan.helper, *c.scan.misplaced}
    path = _init_path(c, key, label, sites, files, kind, _runtime_fix(c, runtime, config_init))
    if path.status != "missing":
        return path
    if c.scan.instrumentation is None:
        detail = f"no {c.home}instrumentation.{c.ext}: nothing starts Sentry on the server"
        if c.scan.misplaced:
            detail += f" ({', '.join(c.scan.misplaced)} is in the wrong folder)"
    else:
        detail = f"{c.scan.instrumentation} does not start Sentry in the {name} runtime"
        if config_init is not None:
            detail += f"; {config_init.file} has Sentry.init but is not imported"
    return WiringPath(key, label, "missing", c.scan.instrumentation, None, detail, path.fix)


def _helper_lines(c: _Context, file: str, place: str) -> tuple[FixLine, ...]:
    exists = file in _existing(c)
    importing = f'import {{ initSentry }} from "{c.scan.helper_specifier}";'
    lines = [FixLine(file, c.place(exists, "at the top"), importing)]
    lines.append(FixLine(file, c.place(exists, place), "initSentry();"))
    helper = c.scan.helper or "src/lib/sentry.ts"
    if any(d.file == helper and d.call.endswith(".init") for d in c.scan.disabled):
        lines.append(FixLine(helper, "in initSentry()", HELPER_INIT))
    return tuple(lines)


def _existing(c: _Context) -> set[str]:
    s = c.scan
    files = (s.instrumentation, s.instrumentation_client, s.server_config, s.edge_config)
    files += (s.client_config, s.next_config, s.global_error, s.pages_error, s.helper)
    return {f for f in files if f}


def _init_lines(c: _Context, file: str, exists: bool, dsn: str) -> tuple[FixLine, ...]:
    """The namespace import and a `Sentry.init` reading the DSN from `dsn`."""
    init = f"Sentry.init({{ dsn: process.env.{dsn} }});"
    return (
        FixLine(file, c.place(exists, "at the top"), IMPORT_SENTRY),
        FixLine(file, c.place(exists, ""), init),
    )


def _with_import(file: str, imported: bool, line: FixLine) -> tuple[FixLine, ...]:
    """`line`, after the @sentry/nextjs namespace import when the file lacks it."""
    return (line,) if imported else (FixLine(file, "at the top", IMPORT_SENTRY), line)


def _runtime_fix(c: _Context, runtime: str, config_init: SourceLine | None) -> tuple[FixLine, ...]:
    instr = c.instrumentation
    if c.ccplate:
        return _helper_lines(c, instr, "in register()")
    kind = "server" if runtime == NODE else "edge"
    config = (c.scan.server_config if kind == "server" else c.scan.edge_config) or (
        f"sentry.{kind}.config.{c.ext}"
    )
    lines = (
        [] if config_init else list(_init_lines(c, config, config in _existing(c), "SENTRY_DSN"))
    )
    spec = os.path.relpath(os.path.splitext(config)[0], os.path.dirname(instr) or ".")
    spec = spec if spec.startswith(".") else f"./{spec}"
    lines.append(
        FixLine(
            instr,
            c.place(c.scan.instrumentation, "in register()"),
            f'if (process.env.NEXT_RUNTIME === "{runtime}") await import("{spec}");',
        )
    )
    return tuple(lines)


def _client_path(c: _Context) -> WiringPath:
    s = c.scan
    modern = c.next is None or bool(c.at_least(c.next, CLIENT_FILE_NEXT))
    config = s.config_inits.get("client")
    sites = list(s.client_inits)
    live = [site for site in sites if not site.disabled]
    entry = s.instrumentation_client or f"{c.home}instrumentation-client.{c.ext}"
    public = "NEXT_PUBLIC_SENTRY_DSN"
    if modern:
        exists = bool(s.instrumentation_client)
        fix = _helper_lines(c, entry, "") if c.ccplate else _init_lines(c, entry, exists, public)
    else:
        file = s.client_config or f"sentry.client.config.{c.ext}"
        fix = _init_lines(c, file, bool(s.client_config), public)
        fix += () if s.with_sentry_config else _build_fix(c)
    key, label = "client_init", "client init"
    if live and modern:
        return _init_path(c, key, label, live, set(), "client", ())
    if config is not None:
        where = (key, label)
        if not s.with_sentry_config:
            detail = (
                f"{config.file} has Sentry.init, but only withSentryConfig in next.config loads it"
            )
            return WiringPath(*where, "missing", config.file, config.line, detail, fix)
        if modern and c.turbopack:
            detail = (
                f"Turbopack does not load {config.file}: move its Sentry.init to {entry} "
                "(read by Next.js from 15.3)"
            )
            return WiringPath(*where, "missing", config.file, config.line, detail, fix)
        detail = f"Sentry.init at {config.file}:{config.line}, loaded by withSentryConfig"
        if modern:
            detail += f" (on Next.js >= 15.3, {entry} is the place for it)"
        return WiringPath(*where, "ok", config.file, config.line, detail)
    if live:
        detail = (
            f"Next.js {c.next} does not load {live[0].at.file} (read from 15.3): put the client "
            f"Sentry.init in sentry.client.config.{c.ext}, loaded by withSentryConfig"
        )
        return WiringPath(key, label, "missing", live[0].at.file, live[0].at.line, detail, fix)
    path = _init_path(
        c, key, label, sites, {s.instrumentation_client, s.client_config}, "client", fix
    )
    if path.status == "missing":
        where = entry if modern else f"sentry.client.config.{c.ext}"
        path = WiringPath(
            key, label, "missing", None, None, f"no {where}: the browser never starts Sentry", fix
        )
    return path


def _request_path(c: _Context) -> WiringPath:
    s = c.scan
    key, label = "request_errors", "request errors"
    if c.at_least(c.next, REQUEST_HOOK_NEXT) is False:
        detail = (
            f"Next.js {c.next} has no onRequestError hook (from 15): withSentryConfig's "
            "wrapping reports server errors"
        )
        return WiringPath(key, label, "not_needed", None, None, detail)
    instr = c.instrumentation
    lines = (
        []
        if s.sentry_alias
        else [FixLine(instr, c.place(s.instrumentation, "at the top"), IMPORT_SENTRY)]
    )
    lines.append(
        FixLine(
            instr,
            c.place(s.instrumentation, "at the end"),
            f"export const onRequestError = {s.sentry_alias or 'Sentry'}.captureRequestError;",
        )
    )
    fix = tuple(lines)
    hook, capture = s.request_hook, s.request_capture
    if hook is not None and capture is not None:
        if c.at_least(c.sdk, REQUEST_HOOK_SDK) is False:
            detail = (
                f"onRequestError needs Sentry.captureRequestError, which @sentry/nextjs has from "
                f"{REQUEST_HOOK_SDK}; this app has {c.sdk}: upgrade"
            )
            return WiringPath(key, label, "missing", hook.file, hook.line, detail)
        return WiringPath(key, label, "ok", hook.file, hook.line, hook.text)
    if hook is not None:
        detail = (
            f"onRequestError at {hook.file}:{hook.line} does not call Sentry.captureRequestError"
        )
        return WiringPath(key, label, "missing", hook.file, hook.line, detail, fix)
    files = {s.instrumentation, *s.misplaced}
    off = tuple(
        d
        for d in s.disabled
        if d.file in files and ("onRequestError" in d.call or "captureRequestError" in d.call)
    )
    if off:
        detail = describe(off[0])
        return WiringPath(key, label, "disabled", off[0].file, off[0].line, detail, fix, off)
    detail = (
        f"{s.instrumentation} exports no onRequestError"
        if s.instrumentation
        else "no instrumentation file, so no onRequestError"
    )
    if c.at_least(c.sdk, REQUEST_HOOK_SDK) is False:
        detail += (
            f" (Sentry.captureRequestError needs @sentry/nextjs {REQUEST_HOOK_SDK} or later; "
            f"this app has {c.sdk})"
        )
    return WiringPath(key, label, "missing", s.instrumentation, None, detail, fix)


def _capture_path(
    key: str,
    label: str,
    file: str | None,
    capture: Capture | None,
    missing: str,
    fix: tuple[FixLine, ...],
) -> WiringPath:
    if file is not None and capture is not None and capture.live is not None:
        return WiringPath(key, label, "ok", file, capture.live.line, capture.live.text)
    if file is not None and capture is not None and capture.disabled:
        first = capture.disabled[0]
        detail = describe(first)
        return WiringPath(
            key, label, "disabled", first.file, first.line, detail, fix, capture.disabled
        )
    if file is not None:
        return WiringPath(
            key, label, "missing", file, None, f"{file} does not report to Sentry", fix
        )
    return WiringPath(key, label, "missing", None, None, missing, fix)


def _global_error_path(c: _Context) -> WiringPath:
    s = c.scan
    file = s.global_error or f"{s.app_dir or c.home + 'app'}/global-error.{c.jsx}"
    props = (
        "{ error }: { error: Error & { digest?: string } }" if c.scan.typescript else "{ error }"
    )
    if s.global_error is None:
        fix = tuple(
            FixLine(file, "new file", code)
            for code in (
                '"use client";',
                IMPORT_SENTRY,
                'import { useEffect } from "react";',
                f"export default function GlobalError({props}) {{",
                "  useEffect(() => { Sentry.captureException(error); }, [error]);",
                "  return <html><body><h1>Something went wrong</h1></body></html>;",
                "}",
            )
        )
    else:
        imported = s.global_error_capture is not None and s.global_error_capture.imports_sentry
        capture = "useEffect(() => { Sentry.captureException(error); }, [error]);"
        fix = _with_import(file, imported, FixLine(file, "in GlobalError", capture))
    missing = f"no {file}: errors in the root layout reach no one"
    return _capture_path(
        "root_layout_errors",
        "root-layout errors",
        s.global_error,
        s.global_error_capture,
        missing,
        fix,
    )


def _pages_error_path(c: _Context) -> WiringPath:
    s = c.scan
    file = s.pages_error or f"{s.pages_dir}/_error.{c.jsx}"
    capture_line = "await Sentry.captureUnderscoreErrorException(contextData);"
    if s.pages_error is None:
        fix = tuple(
            FixLine(file, "new file", code)
            for code in (
                IMPORT_SENTRY,
                'import Error from "next/error";',
                "const CustomError = (props) => <Error statusCode={props.statusCode} />;",
                "CustomError.getInitialProps = async (contextData) => {",
                f"  {capture_line}",
                "  return Error.getInitialProps(contextData);",
                "};",
                "export default CustomError;",
            )
        )
    else:
        imported = s.pages_error_capture is not None and s.pages_error_capture.imports_sentry
        fix = _with_import(file, imported, FixLine(file, "in getInitialProps", capture_line))
    missing = f"no {file}: Pages Router errors reach no one"
    return _capture_path(
        "pages_error", "pages _error", s.pages_error, s.pages_error_capture, missing, fix
    )


def _boundary_fix(c: _Context, boundary: Boundary) -> tuple[FixLine, ...]:
    file = boundary.file
    place = {
        "class": f"in componentDidCatch (line {boundary.line})",
        "react-error-boundary": "on <ErrorBoundary>",
        "error route": "in the component",
    }[boundary.kind]
    if c.ccplate:
        code = {
            "class": 'captureError(error, { component: "ErrorBoundary", errorInfo });',
            "react-error-boundary": "onError={(error) => captureError(error)}",
            "error route": "useEffect(() => { captureError(error); }, [error]);",
        }[boundary.kind]
        lines = (
            []
            if boundary.capture.imports_helper
            else [
                FixLine(
                    file,
                    "at the top",
                    f'import {{ captureError }} from "{c.scan.helper_specifier}";',
                )
            ]
        )
        lines.append(FixLine(file, place, code))
        helper = c.scan.helper or "src/lib/sentry.ts"
        if any(d.file == helper and "captureException" in d.call for d in c.scan.disabled):
            lines.append(
                FixLine(
                    helper,
                    "in captureError()",
                    "Sentry.captureException(error, { extra: context });",
                )
            )
        return tuple(lines)
    code = {
        "class": "Sentry.captureException(error);",
        "react-error-boundary": "onError={(error) => Sentry.captureException(error)}",
        "error route": "useEffect(() => { Sentry.captureException(error); }, [error]);",
    }[boundary.kind]
    lines = [] if boundary.capture.imports_sentry else [FixLine(file, "at the top", IMPORT_SENTRY)]
    return (*lines, FixLine(file, place, code))


def _boundary_path(c: _Context, routers: list[WiringPath]) -> WiringPath:
    key, label = "error_boundary", "error boundary"
    boundaries = c.scan.boundaries
    if not boundaries:
        reporting = [p for p in routers if p.status == "ok"]
        if reporting:
            detail = f"no error boundary of its own: render errors reach {reporting[0].file}, which reports"
            return WiringPath(key, label, "ok", None, None, detail)
        return WiringPath(key, label, "not_needed", None, None, "no error boundary of its own")
    silent = [b for b in boundaries if b.capture.live is None and not b.capture.disabled]
    off = [b for b in boundaries if b.capture.live is None and b.capture.disabled]
    good = [b for b in boundaries if b.capture.live is not None]
    if not silent and not off:
        first = good[0].capture.live
        assert first is not None
        names = ", ".join(f"{b.file}:{b.line}" for b in good)
        return WiringPath(key, label, "ok", first.file, first.line, f"reports: {names}")
    target = (silent or off)[0]
    fix = _boundary_fix(c, target)
    others = [b for b in silent + off if b is not target]
    more = f"; also {', '.join(f'{b.file}:{b.line}' for b in others)}" if others else ""
    if silent:
        detail = f"{target.file}:{target.line} ({target.kind}) does not report to Sentry{more}"
        return WiringPath(key, label, "missing", target.file, target.line, detail, fix)
    calls = tuple(d for b in off for d in b.capture.disabled)
    detail = f"{describe(calls[0])}{more}"
    return WiringPath(key, label, "disabled", calls[0].file, calls[0].line, detail, fix, calls)


def _build_fix(c: _Context) -> tuple[FixLine, ...]:
    file = c.scan.next_config or "next.config.mjs"
    options = "{ org: process.env.SENTRY_ORG, project: process.env.SENTRY_PROJECT, silent: !process.env.CI }"
    if file.endswith((".js", ".cjs")):
        return (
            FixLine(file, "at the top", 'const { withSentryConfig } = require("@sentry/nextjs");'),
            FixLine(
                file, "as the export", f"module.exports = withSentryConfig(nextConfig, {options});"
            ),
        )
    return (
        FixLine(file, "at the top", 'import { withSentryConfig } from "@sentry/nextjs";'),
        FixLine(file, "as the export", f"export default withSentryConfig(nextConfig, {options});"),
    )


def _build_path(c: _Context) -> WiringPath:
    found = c.scan.with_sentry_config
    key, label = "build_config", "next.config"
    if found is not None:
        return WiringPath(
            key, label, "ok", found.file, found.line, "withSentryConfig: source maps are uploaded"
        )
    off = tuple(d for d in c.scan.disabled if d.call == "withSentryConfig")
    if off:
        detail = describe(off[0])
        return WiringPath(
            key, label, "disabled", off[0].file, off[0].line, detail, _build_fix(c), off
        )
    detail = (
        f"{c.scan.next_config or 'next.config'} has no withSentryConfig: no source maps are "
        "uploaded, so stack traces stay minified (optional)"
    )
    return WiringPath(key, label, "missing", c.scan.next_config, None, detail, _build_fix(c))
