"""The source edits of `sentry setup`: one handler per error path the wiring report finds not
reaching Sentry, in the project's own layout.

CCPLATE's layout gets the plan's code (task 4.1.2's `src/lib/sentry.ts` and `register()`, task
4.1.3's `captureError` in the error boundary); the standard layout gets the Sentry wizard's
files. Every edit goes through the Workspace, which leaves a file alone when an edit cannot be
anchored in it; an edit that would call into a file left alone is not made either.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from ccplate_tui.sentry import setup_templates as tpl
from ccplate_tui.sentry.js_source import EDGE, NODE, JsSource, in_function
from ccplate_tui.sentry.setup_edits import (
    Unrecognised,
    add_import,
    add_named_import,
    append_block,
    body_indent,
    check_guards,
    drop_lines,
    function_body,
    has_live,
    has_live_strings,
    indent_of,
    insert_at_end,
    insert_at_start,
    inside_call,
    join,
    lines_of,
    marker_in,
    param_names,
    quote,
    reenable,
    replace_line,
    sentry_alias,
)
from ccplate_tui.sentry.wiring import WiringReport
from ccplate_tui.sentry.wiring_scan import Boundary, WiringScan

if TYPE_CHECKING:
    from ccplate_tui.sentry.setup_plan import Workspace

_REGISTER = r"\bexport\s+(?:async\s+)?function\s+register"
_HOOK = r"\bexport\s+(?:const|let|var|(?:async\s+)?function)\s+onRequestError\b"
_INIT = r"(?<![\w$.])Sentry\s*\.\s*init\s*\("
_CAPTURE = r"(?<![\w$.])Sentry\s*\.\s*captureException\s*\("
_HELPER_CAPTURE = r"(?<![\w$.])captureError\s*\("
_HELPER_INIT = r"(?<![\w$.])initSentry\s*\("
_MARKER_NAMES = r"capture(?:Exception|Error)|[Ss]entry"


class WiringEdits:
    """Plans the source edits for every error path that does not reach Sentry."""

    def __init__(
        self, ws: Workspace, scan: WiringScan, wiring: WiringReport, *, gate: bool, modern: bool
    ) -> None:
        self.ws = ws
        self.scan = scan
        self.wiring = wiring
        self.gate = gate
        self.modern = modern
        self.ccplate = scan.layout == "ccplate"
        self.ts = scan.typescript
        self.ext = "ts" if scan.typescript else "js"
        self.jsx = "tsx" if scan.typescript else "jsx"
        self.home = "src/" if scan.src_layout else ""
        self.spec = scan.helper_specifier
        self.notes: list[str] = []
        self.paths = {p.key: p for p in wiring.paths}

    def _bad(self, key: str) -> bool:
        path = self.paths.get(key)
        return path is not None and path.status in ("missing", "disabled")

    def run(self) -> None:
        helper_ok = True
        silent = [b for b in self.scan.boundaries if b.capture.live is None]
        if self.ccplate and (
            self._bad("server_init") or self._bad("edge_init") or self._bad("client_init") or silent
        ):
            helper_ok = self._helper()
        need_init = self._bad("server_init") or self._bad("edge_init")
        request = self.paths.get("request_errors")
        need_hook = self._bad("request_errors") and request is not None and bool(request.fix)
        if self._bad("request_errors") and request is not None and not request.fix:
            self.notes.append(f"request errors: {request.detail}")
        if need_init or need_hook:
            self._instrumentation(need_init, need_hook, helper_ok)
        if self._bad("client_init"):
            self._client(helper_ok)
        if self._bad("root_layout_errors"):
            self._global_error()
        if self._bad("pages_error"):
            self._pages_error()
        for boundary in silent:
            self._boundary(boundary, helper_ok)

    # --- CCPLATE's helper module -------------------------------------------------------------

    @property
    def helper_path(self) -> str:
        helper = self.scan.helper or self.spec
        if helper.startswith("@/"):
            return f"{self.home}{helper[2:]}.{self.ext}"
        if helper.startswith("."):
            base = os.path.dirname(self.scan.instrumentation or f"{self.home}x")
            return f"{os.path.normpath(os.path.join(base, helper))}.{self.ext}"
        return helper

    def _helper(self) -> bool:
        rel = self.helper_path
        typescript = rel.endswith((".ts", ".tsx"))
        if not self.ws.exists(rel):
            return self.ws.create(
                rel, tpl.helper_template(typescript), "the plan's Sentry helpers (task 4.1.2)"
            )
        before = self.ws.current(rel) or ""
        if not self.ws.edit(rel, "", lambda t: _helper_text(t, rel, typescript)):
            return False
        after = self.ws.texts.get(rel)
        if after is not None:
            names = [n for n in tpl.HELPER_FUNCTIONS if _defines(after, rel, n)]
            new = [n for n in names if not _defines(before, rel, n)]
            back = [f"{n}()" for n in new if re.search(rf"\bfunction\s+{n}\b", before)]
            added = [f"{n}()" for n in new if f"{n}()" not in back]
            if back or not added:
                what = ", ".join(back) or "the Sentry calls"
                self.ws.note(rel, f"re-enable {what} as the plan writes them (task 4.1.2)")
            if added:
                self.ws.note(rel, f"add {', '.join(added)} from the plan")
        return True

    def _helper_missing(self, what: str) -> None:
        self.notes.append(
            f"{what} not wired: it would call {self.helper_path}, which setup left alone"
        )

    # --- instrumentation: server and edge init, onRequestError ---------------------------------

    def _instrumentation(self, need_init: bool, need_hook: bool, helper_ok: bool) -> None:
        s = self.scan
        rel = s.instrumentation or f"{self.home}instrumentation.{self.ext}"
        if need_hook and s.request_hook is not None and s.request_capture is None:
            self.ws.refuse(
                rel,
                f"its onRequestError (line {s.request_hook.line}) is the project's own code and "
                "does not call Sentry.captureRequestError: call it there by hand",
            )
            return
        if need_init and self.ccplate and not helper_ok:
            self._helper_missing("server and edge init")
            need_init = False
        configs = self._wizard_configs(rel) if need_init and not self.ccplate else []
        if self.ccplate:
            known = tpl.plan_instrumentation_known(self.spec)
        else:
            known = tpl.wizard_instrumentation_known(
                _specifier(rel, s.server_config or f"sentry.server.config.{self.ext}"),
                _specifier(rel, s.edge_config or f"sentry.edge.config.{self.ext}"),
            )
        ungated = tpl.dsn_condition(False, client=False)
        gated = tpl.dsn_condition(True, client=False)

        def gate_line(line: str) -> str:
            return line.replace(ungated, gated) if self.gate else line

        def change(text: str) -> str:
            if not need_init:
                check_guards(text, rel)
                hook = [tpl.ON_REQUEST_ERROR.format(alias="Sentry")]
                text, _ = reenable(text, rel, hook, strict=False)
            else:
                text, _ = reenable(text, rel, known, gate_line)
            if need_init and self.ccplate:
                text = self._plan_register(text, rel)
            for runtime, spec in configs:
                text = self._wizard_register(text, rel, runtime, spec)
            return self._hook(text, rel) if need_hook else text

        reasons = []
        if need_init:
            reasons.append(
                "re-enable initSentry() in register() (task 4.1.2)"
                if self.ccplate
                else "start Sentry in register() for the Node.js and edge runtimes"
            )
        if need_hook:
            reasons.append(
                "export onRequestError = Sentry.captureRequestError: errors thrown in server "
                "components, route handlers and server actions (Next.js >= 15)"
            )
        if self.ws.edit(rel, reasons[0], change):
            for reason in reasons[1:]:
                self.ws.note(rel, reason)

    def _plan_register(self, text: str, rel: str) -> str:
        if has_live(text, rel, _HELPER_INIT):
            return text
        text = _into_register(
            text, rel, lambda indent: tpl.plan_register_block(self.gate, indent), needs_async=False
        )
        return add_import(text, rel, f'import {{ initSentry }} from "{self.spec}";')

    def _wizard_configs(self, instrumentation: str) -> list[tuple[str, str]]:
        """(runtime, import specifier) of each config file register() must import; the config
        gets its Sentry.init first (skipped when that file is left alone)."""
        out = []
        for kind, runtime in (("server", NODE), ("edge", EDGE)):
            if not self._bad(f"{kind}_init"):
                continue
            config = getattr(self.scan, f"{kind}_config") or f"sentry.{kind}.config.{self.ext}"
            ok = kind in self.scan.config_inits or self._init_file(
                config,
                "SENTRY_DSN",
                tpl.SERVER_GATE,
                f"Sentry.init for the {'Node.js' if kind == 'server' else 'edge'} runtime",
            )
            if ok:
                out.append((runtime, _specifier(instrumentation, config)))
        return out

    def _wizard_register(self, text: str, rel: str, runtime: str, spec: str) -> str:
        imported = rf"""import\(\s*["']{re.escape(spec)}(?:\.[cm]?[jt]s)?["']\s*\)"""
        if has_live_strings(text, rel, imported):
            return text
        return _into_register(
            text, rel, lambda indent: tpl.runtime_block(runtime, spec, indent), needs_async=True
        )

    def _hook(self, text: str, rel: str) -> str:
        alias = sentry_alias(text, rel)
        if not has_live(text, rel, _HOOK):
            text = append_block(text, [tpl.ON_REQUEST_ERROR.format(alias=alias or "Sentry")])
        if alias is None:
            text = add_import(text, rel, tpl.IMPORT_SENTRY)
        return text

    # --- a file that starts Sentry (wizard configs, client entry) ------------------------------

    def _init_file(
        self, rel: str, dsn: str, gate_expr: str, reason: str, *, top_level: bool = True
    ) -> bool:
        """A file that starts Sentry: created, or its init re-enabled or appended (a config
        file's init must run at its top level: Next.js only imports it)."""
        gate = gate_expr if self.gate else None
        if not self.ws.exists(rel):
            return self.ws.create(rel, tpl.wizard_init_file(dsn, gate), reason)

        def change(text: str) -> str:
            before = has_live(text, rel, _INIT)
            text, count = reenable(text, rel, tpl.wizard_init_known(dsn))
            if count and gate and not before:
                text = _wrap_init(text, rel, gate)
            nested = _nested_init(text, rel)
            if top_level and nested is not None:
                raise Unrecognised(
                    f"its Sentry.init (`{nested}`) runs inside a function, not when Next.js "
                    "loads the file"
                )
            if not has_live(text, rel, _INIT):
                text = append_block(text, tpl.init_block(dsn, gate))
            if sentry_alias(text, rel) is None:
                text = add_import(text, rel, tpl.IMPORT_SENTRY)
            return text

        return self.ws.edit(rel, reason, change)

    # --- client init ---------------------------------------------------------------------------

    def _client(self, helper_ok: bool) -> None:
        s = self.scan
        reason = "start Sentry in the browser (Next.js >= 15.3 loads instrumentation-client)"
        if not self.modern:
            rel = s.client_config or f"sentry.client.config.{self.ext}"
            reason = "start Sentry in the browser (withSentryConfig loads sentry.client.config)"
            if self._init_file(rel, "NEXT_PUBLIC_SENTRY_DSN", tpl.CLIENT_GATE, reason) and (
                s.with_sentry_config is None
            ):
                self._wrap_next_config()
            return
        rel = s.instrumentation_client or f"{self.home}instrumentation-client.{self.ext}"
        if self.ccplate and not helper_ok:
            self._helper_missing("client init")
            return
        if not self.ccplate:
            self._init_file(rel, "NEXT_PUBLIC_SENTRY_DSN", tpl.CLIENT_GATE, reason, top_level=False)
        else:
            ungated = tpl.dsn_condition(False, client=True)
            gated = tpl.dsn_condition(True, client=True)
            known = [*tpl.plan_client(self.spec, False).splitlines(), gated]

            def change(text: str) -> str:
                text, _ = reenable(
                    text, rel, known, lambda ln: ln.replace(ungated, gated) if self.gate else ln
                )
                if has_live(text, rel, _HELPER_INIT):
                    return text
                text = add_import(text, rel, f'import {{ initSentry }} from "{self.spec}";')
                condition = tpl.dsn_condition(self.gate, client=True)
                return append_block(text, [condition, "  initSentry();", "}"])

            self.ws.edit(rel, reason, change)
        if s.client_config and "client" in s.config_inits:
            self.notes.append(
                f"{s.client_config}: Next.js >= 15.3 (and Turbopack) starts the browser from "
                f"{rel}; move any options set there into it, then delete {s.client_config}"
            )

    def _wrap_next_config(self) -> None:
        rel = self.scan.next_config or "next.config.mjs"
        options = tpl.SENTRY_CONFIG_OPTIONS

        def change(text: str) -> str:
            if not text:
                text = "const nextConfig = {};\n\nexport default nextConfig;\n"
            lines = lines_of(text)
            for i, line in enumerate(lines):
                esm = re.match(r"^export\s+default\s+([A-Za-z_$][\w$]*)\s*;?\s*$", line)
                cjs = re.match(r"^module\.exports\s*=\s*([A-Za-z_$][\w$]*)\s*;?\s*$", line)
                if esm or cjs:
                    head = "export default" if esm else "module.exports ="
                    name = (esm or cjs).group(1)  # type: ignore[union-attr]
                    lines[i : i + 1] = [f"{head} withSentryConfig({name}, {{", *options, "});"]
                    statement = (
                        'import { withSentryConfig } from "@sentry/nextjs";'
                        if esm
                        else 'const { withSentryConfig } = require("@sentry/nextjs");'
                    )
                    return add_import(join(lines), rel, statement)
            raise Unrecognised(
                "its export is not `export default <name>;` or `module.exports = <name>;`: wrap "
                "it in withSentryConfig by hand"
            )

        self.ws.edit(
            rel, "withSentryConfig: it loads sentry.client.config before Next.js 15.3", change
        )

    # --- root-layout errors, pages/_error, error boundaries -------------------------------------

    def _global_error(self) -> None:
        s = self.scan
        reason = (
            "report root-layout errors (Next.js renders app/global-error when the layout throws)"
        )
        if s.global_error is None:
            rel = f"{s.app_dir or self.home + 'app'}/global-error.{self.jsx}"
            self.ws.create(rel, tpl.global_error(self.ts), reason)
            return
        rel = s.global_error
        self.ws.edit(rel, reason, lambda t: self._in_component(t, rel, helper=False))

    def _pages_error(self) -> None:
        s = self.scan
        reason = "report Pages Router errors (pages/_error)"
        if s.pages_error is None:
            self.ws.create(f"{s.pages_dir}/_error.jsx", tpl.pages_error(), reason)
            return
        rel = s.pages_error

        def change(text: str) -> str:
            check_guards(text, rel)
            header = r"\.getInitialProps\s*=\s*async"
            text, body = function_body(text, rel, header, "an async getInitialProps")
            names = param_names(body.params)
            if not names:
                line = quote(lines_of(text)[body.open_line])
                raise Unrecognised(f"getInitialProps (`{line}`) names no context")
            call = f"await Sentry.captureUnderscoreErrorException({names[0]});"
            text = insert_at_start(text, body, [body_indent(text, body) + call])
            return self._capture_imports(text, rel, False)

        self.ws.edit(rel, reason, change)

    def _boundary(self, boundary: Boundary, helper_ok: bool) -> None:
        rel = boundary.file
        if self.ccplate and not helper_ok:
            self._helper_missing(f"the error boundary {rel}")
            return
        if boundary.kind == "react-error-boundary":
            call = "captureError(error)" if self.ccplate else "Sentry.captureException(error)"
            self.ws.refuse(
                rel,
                f"it uses react-error-boundary (line {boundary.line}): add "
                f"`onError={{(error) => {call}}}` to its <ErrorBoundary> by hand",
            )
            return
        if boundary.kind == "class":
            what = (
                "captureError() in componentDidCatch (task 4.1.3)"
                if self.ccplate
                else ("Sentry.captureException in componentDidCatch")
            )
            self.ws.edit(rel, f"report caught errors: {what}", lambda t: self._did_catch(t, rel))
            return
        self.ws.edit(
            rel,
            "report the route's errors (error.tsx)",
            lambda t: self._in_component(t, rel, helper=self.ccplate),
        )

    def _capture_imports(self, text: str, rel: str, helper: bool) -> str:
        if helper:
            return add_import(text, rel, f'import {{ captureError }} from "{self.spec}";')
        if sentry_alias(text, rel) is None:
            return add_import(text, rel, tpl.IMPORT_SENTRY)
        return text

    def _did_catch(self, text: str, rel: str) -> str:
        check_guards(text, rel)
        live = _HELPER_CAPTURE if self.ccplate else _CAPTURE
        try:
            text, body = function_body(text, rel, r"\bcomponentDidCatch", "componentDidCatch()")
        except Unrecognised as exc:
            raise Unrecognised(
                f"{exc}: add componentDidCatch(error) that reports, by hand"
            ) from exc
        names = param_names(body.params)
        if not names:
            line = quote(lines_of(text)[body.open_line])
            raise Unrecognised(f"componentDidCatch (`{line}`) names no error")
        error, info = names[0], names[1] if len(names) > 1 else None
        if self.ccplate:
            cls = re.findall(
                r"\bclass\s+([A-Za-z_$][\w$]*)", join(lines_of(text)[: body.open_line])
            )
            extra = (
                ""
                if info is None
                else ", errorInfo"
                if info == "errorInfo"
                else f", errorInfo: {info}"
            )
            name = cls[-1] if cls else "ErrorBoundary"
            call = f'captureError({error}, {{ component: "{name}"{extra} }});'
        else:
            call = f"Sentry.captureException({error});"
        marker = marker_in(text, body.open_line + 1, body.close_line, _MARKER_NAMES)
        if marker is not None:
            text = replace_line(text, marker, indent_of(lines_of(text)[marker]) + call)
        else:
            text, _ = reenable(text, rel, [call])
            if not has_live(text, rel, live):
                text = insert_at_start(text, body, [body_indent(text, body) + call])
        return self._capture_imports(text, rel, self.ccplate)

    def _in_component(self, text: str, rel: str, *, helper: bool) -> str:
        """A capture in `useEffect` of a component taking `{ error }` (global-error, error.tsx)."""
        check_guards(text, rel)
        live = _HELPER_CAPTURE if helper else _CAPTURE
        call = "captureError(error);" if helper else "Sentry.captureException(error);"
        if has_live(text, rel, live):
            return self._capture_imports(text, rel, helper)
        text, body = function_body(
            text, rel, r"\bexport\s+default\s+function\s*[A-Za-z_$]?[\w$]*", "its default export"
        )
        if not re.search(r"[{,]\s*error\s*[,}]", body.params):
            line = quote(lines_of(text)[body.open_line])
            raise Unrecognised(f"its component (`{line}`) does not take `{{ error }}` as props")
        effect = False
        marker = marker_in(text, body.open_line + 1, body.close_line, _MARKER_NAMES)
        if marker is not None:
            indent = indent_of(lines_of(text)[marker])
            if inside_call(text, rel, marker, "useEffect"):
                text = replace_line(text, marker, indent + call)
            else:
                lines = lines_of(text)
                lines[marker : marker + 1] = tpl.capture_effect(call, indent)
                text, effect = join(lines), True
        else:
            text, _ = reenable(text, rel, [call, *tpl.capture_effect(call, "")])
            if not has_live(text, rel, live):
                block = tpl.capture_effect(call, body_indent(text, body))
                text, effect = insert_at_start(text, body, block, gap=True), True
        if effect:
            text = add_named_import(text, rel, "useEffect", "react")
        return self._capture_imports(text, rel, helper)


# --- helpers -------------------------------------------------------------------------------------


def _helper_text(text: str, rel: str, typescript: bool) -> str:
    """CCPLATE's helper module re-enabled as the plan writes it: its commented-out code
    uncommented, the `export {}` placeholder dropped, the plan's missing functions appended."""
    if has_live(text, rel, _INIT) and has_live(text, rel, _CAPTURE):
        return text
    text, _ = reenable(text, rel, tpl.helper_template(typescript).splitlines())
    lines = lines_of(text)
    placeholder = {i for i, ln in enumerate(lines) if ln.strip() == "export {};"}
    if placeholder and has_live(text, rel, r"\bexport\s+(?:async\s+)?(?:function|const)\b"):
        text = join(drop_lines(lines, placeholder))
    for name, unit in tpl.helper_units(typescript).items():
        if not _defines(text, rel, name):
            text = append_block(text, unit)
    if sentry_alias(text, rel) is None:
        text = add_import(text, rel, tpl.IMPORT_SENTRY)
    if not (has_live(text, rel, _INIT) and has_live(text, rel, _CAPTURE)):
        raise Unrecognised(
            "its initSentry() / captureError() are the project's own and do not call "
            "Sentry.init / Sentry.captureException: add them by hand"
        )
    return text


def _defines(text: str, rel: str, name: str) -> bool:
    return has_live(text, rel, rf"\b(?:function\s+{name}|(?:const|let|var)\s+{name}\s*=)")


def _specifier(from_file: str, target: str) -> str:
    """The relative import specifier of `target` (no extension) from `from_file`."""
    spec = os.path.relpath(os.path.splitext(target)[0], os.path.dirname(from_file) or ".")
    return spec if spec.startswith(".") else f"./{spec}"


def _nested_init(text: str, rel: str) -> str | None:
    """The line of a live Sentry.init that runs only inside a function, when there is no other."""
    src = JsSource(rel, text)
    calls = list(re.finditer(_INIT, src.code))
    if not calls or any(not in_function(src, m.start()) for m in calls):
        return None
    return quote(src.line_text(src.line_of(calls[0].start())))


def _into_register(
    text: str, rel: str, block_for: Callable[[str], list[str]], *, needs_async: bool
) -> str:
    """`block_for(indent)` at the end of register()'s body, or a new register() with it."""
    if not has_live(text, rel, _REGISTER + r"\s*\("):
        if has_live(text, rel, r"\bregister\b"):
            raise Unrecognised(
                "its register is not `export async function register()`: setup cannot add to it"
            )
        return append_block(text, ["export async function register() {", *block_for("  "), "}"])
    if needs_async and not has_live(text, rel, r"\bexport\s+async\s+function\s+register\b"):
        raise Unrecognised("its register() is not async, so it cannot await the config import")
    text, body = function_body(text, rel, _REGISTER, "register()")
    return insert_at_end(text, body, block_for(body_indent(text, body)))


def _wrap_init(text: str, rel: str, gate: str) -> str:
    """The top-level `Sentry.init({...});` statement wrapped in `if (gate) { ... }`."""
    lines = lines_of(text)
    start = next(
        (i for i, ln in enumerate(lines) if re.match(r"^Sentry\s*\.\s*init\s*\(", ln)), None
    )
    end = next((i for i in range(start or 0, len(lines)) if lines[i].startswith("})")), None)
    if start is None or end is None:
        raise Unrecognised("its Sentry.init is not a top-level `Sentry.init({ ... });` to gate")
    body = [f"  {ln}" if ln else ln for ln in lines[start : end + 1]]
    lines[start : end + 1] = [f"if ({gate}) {{", *body, "}"]
    return join(lines)
