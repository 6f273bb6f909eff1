"""The wiring report from real project folders: which error paths reach Sentry, file:line of
each call (live or disabled), and the exact lines to add, for CCPLATE's layout and the wizard's."""

from __future__ import annotations

import json
from pathlib import Path

from ccplate_tui.sentry.project_scan import scan_project
from ccplate_tui.sentry.wiring import WiringPath, WiringReport, assess_wiring, project_wiring
from ccplate_tui.sentry.wiring_render import render_wiring, wiring_advice, wiring_to_json
from ccplate_tui.sentry.wiring_scan import scan_wiring
from tests.sentry_wiring_fixtures import (
    WIZARD_GLOBAL_ERROR,
    ccplate_copy,
    disabled_project,
    pages_project,
    wizard_project,
    write,
)

ONREQUEST = "export const onRequestError = Sentry.captureRequestError;"


def wiring(root: Path, next_version: str = "16.1.4", sdk: str = "10.78.0") -> WiringReport:
    return assess_wiring(scan_wiring(root.resolve()), next_version, sdk, turbopack=True)


def statuses(report: WiringReport) -> dict[str, str]:
    return {p.key: p.status for p in report.paths}


def path(report: WiringReport, key: str) -> WiringPath:
    return next(p for p in report.paths if p.key == key)


def where(report: WiringReport, key: str) -> tuple[str | None, int | None]:
    found = path(report, key)
    return found.file, found.line


def fix_codes(report: WiringReport, key: str) -> list[tuple[str, str]]:
    return [(f.file, f.code) for f in path(report, key).fix]


# --- (a) the shipped example, in the plan's state -----------------------------------------------


def test_the_plan_state_example_is_disabled_with_file_and_line(tmp_path: Path) -> None:
    project = ccplate_copy(tmp_path / "ccplate")
    report = project_wiring(scan_project(project), "16.1.4", "8.55.0")
    assert report is not None and report.layout == "ccplate"
    assert statuses(report) == {
        "server_init": "disabled",
        "edge_init": "disabled",
        "client_init": "missing",
        "request_errors": "missing",
        "root_layout_errors": "missing",
        "error_boundary": "disabled",
    }
    # The disabled calls, where they are: register()'s initSentry() and the helper's Sentry.init.
    assert where(report, "server_init") == ("src/instrumentation.ts", 6)
    server = path(report, "server_init")
    assert [(d.file, d.line) for d in server.disabled] == [
        ("src/instrumentation.ts", 6),
        ("src/lib/sentry.ts", 8),
    ]
    assert "under the TODO at line 1" in server.detail
    assert where(report, "error_boundary") == ("src/components/error-boundary.tsx", 22)
    # Request errors: the line to add, in the file Next.js reads.
    assert ("src/instrumentation.ts", ONREQUEST) in fix_codes(report, "request_errors")
    assert report.cap is not None and "onRequestError" in report.cap
    # The plan's own shape in the advice: initSentry() in register(), captureError() in the boundary.
    assert ("src/instrumentation.ts", "initSentry();") in fix_codes(report, "server_init")
    boundary_fix = fix_codes(report, "error_boundary")
    assert (
        "src/components/error-boundary.tsx",
        'captureError(error, { component: "ErrorBoundary", errorInfo });',
    ) in boundary_fix
    assert path(report, "client_init").fix[0].file == "src/instrumentation-client.ts"
    assert path(report, "root_layout_errors").fix[0].file == "src/app/global-error.tsx"
    disabled = {(d.file, d.line, d.how) for d in report.disabled}
    assert ("src/lib/sentry.ts", 16, "commented out under the TODO at line 1") in disabled
    assert ("src/components/error-boundary.tsx", 22, "named in a TODO") in disabled


# --- (b), (c) the wizard's layout -----------------------------------------------------------------


def test_the_wizard_layout_reaches_sentry_on_every_path(tmp_path: Path) -> None:
    report = wiring(wizard_project(tmp_path / "app"))
    assert report.layout == "wizard"
    assert set(statuses(report).values()) == {"ok"} and report.complete
    assert report.cap is None and report.build.status == "ok"
    assert where(report, "server_init") == ("instrumentation.ts", 5)
    assert where(report, "edge_init") == ("instrumentation.ts", 9)
    assert "sentry.server.config.ts (Sentry.init at line 3)" in path(report, "server_init").detail
    assert where(report, "client_init") == ("instrumentation-client.ts", 3)
    assert where(report, "request_errors") == ("instrumentation.ts", 13)
    assert where(report, "root_layout_errors") == ("app/global-error.tsx", 9)
    # No boundary of its own is not a complaint: global-error.tsx reports render errors.
    boundary = path(report, "error_boundary")
    assert boundary.status == "ok" and "app/global-error.tsx, which reports" in boundary.detail
    assert wiring_advice(report) == [] and report.disabled == ()
    text = "\n".join(render_wiring(report))
    assert "✗" not in text and "initSentry" not in text and "missing" not in text


def test_a_src_layout_is_read_from_src(tmp_path: Path) -> None:
    report = wiring(wizard_project(tmp_path / "app", src=True))
    assert set(statuses(report).values()) == {"ok"}
    assert where(report, "server_init") == ("src/instrumentation.ts", 5)
    assert "imports sentry.server.config.ts" in path(report, "server_init").detail
    assert where(report, "client_init") == ("src/instrumentation-client.ts", 3)
    assert where(report, "root_layout_errors") == ("src/app/global-error.tsx", 9)


def test_instrumentation_beside_src_app_is_not_loaded(tmp_path: Path) -> None:
    project = wizard_project(tmp_path / "app", src=True)
    (project / "src" / "instrumentation.ts").rename(project / "instrumentation.ts")
    report = wiring(project)
    assert statuses(report)["server_init"] == "missing"
    assert statuses(report)["request_errors"] == "missing"
    assert any("instrumentation.ts is not loaded" in note for note in report.notes)
    assert path(report, "request_errors").fix[-1].file == "src/instrumentation.ts"


def test_a_wizard_layout_without_on_request_error_caps_the_verdict(tmp_path: Path) -> None:
    report = wiring(wizard_project(tmp_path / "app", request_hook=False))
    request = path(report, "request_errors")
    assert request.status == "missing" and request.file == "instrumentation.ts"
    # instrumentation.ts already imports Sentry: only the export line is to add.
    assert fix_codes(report, "request_errors") == [("instrumentation.ts", ONREQUEST)]
    assert report.cap is not None
    assert "server components, route handlers and server actions" in report.cap
    advice = wiring_advice(report)
    assert advice == [
        f"Wire request errors (instrumentation.ts): add `{ONREQUEST}` (at the end) to "
        "instrumentation.ts"
    ]


# --- (d) disabled calls ----------------------------------------------------------------------------


def test_commented_out_and_todo_guarded_calls_are_disabled_with_their_lines(
    tmp_path: Path,
) -> None:
    report = wiring(disabled_project(tmp_path / "app"))
    assert set(statuses(report).values()) == {"disabled"}
    assert where(report, "server_init") == ("instrumentation.ts", 8)
    assert path(report, "server_init").disabled[0].how == "behind if (SENTRY_ENABLED)"
    assert where(report, "edge_init") == ("instrumentation.ts", 11)
    assert path(report, "edge_init").disabled[0].how == "commented out under the TODO at line 3"
    assert where(report, "client_init") == ("instrumentation-client.ts", 3)
    assert path(report, "client_init").disabled[0].how == "commented out"
    assert where(report, "request_errors") == ("instrumentation.ts", 15)
    assert where(report, "root_layout_errors") == ("app/global-error.tsx", 7)
    assert path(report, "root_layout_errors").disabled[0].how == "named in a TODO"
    assert where(report, "error_boundary") == ("components/boundary.tsx", 11)
    assert path(report, "error_boundary").disabled[0].how == "behind if (false)"
    assert [(d.file, d.line) for d in report.disabled] == [
        ("app/global-error.tsx", 7),
        ("components/boundary.tsx", 11),
        ("instrumentation-client.ts", 3),
        ("instrumentation.ts", 8),
        ("instrumentation.ts", 11),
        ("instrumentation.ts", 15),
    ]
    assert report.cap is not None  # a disabled onRequestError captures nothing either


def test_prose_that_names_a_call_is_not_a_disabled_call(tmp_path: Path) -> None:
    project = wizard_project(tmp_path / "app")
    write(
        project,
        "lib/notes.ts",
        "// We call Sentry.init() from instrumentation, see the docs\n"
        "/* initSentry() is CCPLATE's name for it */\nexport {};\n",
    )
    assert wiring(project).disabled == ()


# --- (e) the Pages Router ----------------------------------------------------------------------


def test_the_pages_router_error_page(tmp_path: Path) -> None:
    report = wiring(pages_project(tmp_path / "app"))
    assert "root_layout_errors" not in statuses(report)
    assert statuses(report)["pages_error"] == "ok"
    assert where(report, "pages_error") == ("pages/_error.jsx", 7)
    assert "pages/_error.jsx, which reports" in path(report, "error_boundary").detail

    silent = wiring(pages_project(tmp_path / "silent", capture=False))
    assert statuses(silent)["pages_error"] == "missing"
    assert fix_codes(silent, "pages_error") == [
        ("pages/_error.jsx", "await Sentry.captureUnderscoreErrorException(contextData);")
    ]


# --- versions decide what is needed --------------------------------------------------------------


def test_next_14_needs_no_request_hook_and_reads_the_client_config(tmp_path: Path) -> None:
    project = wizard_project(tmp_path / "app", request_hook=False)
    report = wiring(project, "14.2.35", "8.55.0")
    assert statuses(report)["request_errors"] == "not_needed" and report.cap is None
    # Next.js 14 does not load instrumentation-client.ts: the wizard's older file is the place.
    client = path(report, "client_init")
    assert client.status == "missing" and "read from 15.3" in client.detail
    assert client.fix[0].file == "sentry.client.config.ts"
    (project / "instrumentation-client.ts").rename(project / "sentry.client.config.ts")
    assert statuses(wiring(project, "14.2.35", "8.55.0"))["client_init"] == "ok"


def test_sentry_client_config_is_not_loaded_under_turbopack_on_next_16(tmp_path: Path) -> None:
    project = wizard_project(tmp_path / "app")
    (project / "instrumentation-client.ts").rename(project / "sentry.client.config.ts")
    client = path(wiring(project), "client_init")
    assert client.status == "missing" and "Turbopack does not load" in client.detail
    webpack = assess_wiring(scan_wiring(project), "16.1.4", "10.78.0", turbopack=False)
    assert path(webpack, "client_init").status == "ok"


def test_an_sdk_before_8_28_has_no_capture_request_error(tmp_path: Path) -> None:
    report = wiring(wizard_project(tmp_path / "app"), "15.1.0", "8.20.0")
    request = path(report, "request_errors")
    assert request.status == "missing" and "8.28.0" in request.detail
    assert report.cap is not None


# --- other accepted shapes -------------------------------------------------------------------------

PLAN_SENTRY_TS = """\
import * as Sentry from "@sentry/nextjs";

export function initSentry() {
  Sentry.init({
    dsn: process.env.NEXT_PUBLIC_SENTRY_DSN,
    environment: process.env.NODE_ENV,
    tracesSampleRate: 1.0,
  });
}

export function captureError(error: Error, context?: Record<string, unknown>) {
  Sentry.captureException(error, { extra: context });
}
"""
PLAN_INSTRUMENTATION = """\
import * as Sentry from "@sentry/nextjs";

import { initSentry } from "@/lib/sentry";

export async function register() {
  if (process.env.NEXT_PUBLIC_SENTRY_DSN) {
    initSentry();
  }
}

export const onRequestError = Sentry.captureRequestError;
"""


def test_the_plans_helpers_are_an_accepted_shape(tmp_path: Path) -> None:
    project = ccplate_copy(tmp_path / "ccplate")
    write(project, "src/lib/sentry.ts", PLAN_SENTRY_TS)
    write(project, "src/instrumentation.ts", PLAN_INSTRUMENTATION)
    write(
        project,
        "src/instrumentation-client.ts",
        'import { initSentry } from "@/lib/sentry";\n\ninitSentry();\n',
    )
    boundary = project / "src/components/error-boundary.tsx"
    text = boundary.read_text().replace(
        '    // TODO: report to Sentry (captureError from "@/lib/sentry") once it is re-enabled\n',
        '    captureError(error, { component: "ErrorBoundary", errorInfo });\n',
    )
    boundary.write_text('import { captureError } from "@/lib/sentry";\n' + text)
    write(project, "src/app/global-error.tsx", WIZARD_GLOBAL_ERROR)
    report = wiring(project)
    assert report.layout == "ccplate" and report.complete, statuses(report)
    server = path(report, "server_init")
    assert where(report, "server_init") == ("src/instrumentation.ts", 7)
    assert "initSentry() from src/lib/sentry.ts" in server.detail
    assert "src/lib/sentry.ts:4" in server.detail
    assert statuses(report)["edge_init"] == "ok"  # register() runs in both runtimes
    assert where(report, "error_boundary") == ("src/components/error-boundary.tsx", 23)


def test_an_early_return_restricts_the_runtime(tmp_path: Path) -> None:
    project = wizard_project(tmp_path / "app")
    write(
        project,
        "instrumentation.ts",
        'import * as Sentry from "@sentry/nextjs";\n\nexport async function register() {\n'
        '  if (process.env.NEXT_RUNTIME !== "nodejs") return;\n'
        "  Sentry.init({ dsn: process.env.SENTRY_DSN });\n}\n\n"
        "export const onRequestError = Sentry.captureRequestError;\n",
    )
    report = wiring(project)
    assert where(report, "server_init") == ("instrumentation.ts", 5)
    edge = path(report, "edge_init")
    assert edge.status == "missing" and "edge runtime" in edge.detail
    assert edge.fix[-1].code == (
        'if (process.env.NEXT_RUNTIME === "edge") await import("./sentry.edge.config");'
    )


def test_error_boundaries_wherever_they_are(tmp_path: Path) -> None:
    project = wizard_project(tmp_path / "app")
    write(
        project,
        "components/providers.tsx",
        '"use client";\nimport { ErrorBoundary } from "react-error-boundary";\n\n'
        "export function Providers({ children }) {\n"
        "  return <ErrorBoundary fallback={<p>oops</p>}>{children}</ErrorBoundary>;\n}\n",
    )
    write(
        project,
        "app/dashboard/error.tsx",
        '"use client";\nexport default function E() {\n  return null;\n}\n',
    )
    report = wiring(project)
    boundary = path(report, "error_boundary")
    assert boundary.status == "missing"
    assert (boundary.file, boundary.line) == ("app/dashboard/error.tsx", 1)
    assert "components/providers.tsx:2" in boundary.detail
    assert boundary.fix[-1].code == "useEffect(() => { Sentry.captureException(error); }, [error]);"
    # Reporting from both makes the path good again.
    write(
        project,
        "components/providers.tsx",
        '"use client";\nimport * as Sentry from "@sentry/nextjs";\n'
        'import { ErrorBoundary } from "react-error-boundary";\n\n'
        "export function Providers({ children }) {\n  return (\n"
        "    <ErrorBoundary fallback={<p>oops</p>} onError={(e) => Sentry.captureException(e)}>\n"
        "      {children}\n    </ErrorBoundary>\n  );\n}\n",
    )
    write(
        project,
        "app/dashboard/error.tsx",
        '"use client";\nimport * as Sentry from "@sentry/nextjs";\nimport { useEffect } from "react";\n'
        "export default function E({ error }) {\n"
        "  useEffect(() => { Sentry.captureException(error); }, [error]);\n  return null;\n}\n",
    )
    assert path(wiring(project), "error_boundary").status == "ok"


def test_the_json_shape(tmp_path: Path) -> None:
    report = wiring(disabled_project(tmp_path / "app"))
    data = json.loads(json.dumps(wiring_to_json(report)))
    assert set(data) == {
        "layout",
        "next_version",
        "sdk_version",
        "complete",
        "paths",
        "build",
        "disabled_calls",
        "verdict_cap",
        "notes",
    }
    request = next(p for p in data["paths"] if p["key"] == "request_errors")
    assert request["status"] == "disabled" and (request["file"], request["line"]) == (
        "instrumentation.ts",
        15,
    )
    assert request["fix"] == [
        {"file": "instrumentation.ts", "place": "at the end", "code": ONREQUEST}
    ]
    assert request["disabled"][0]["how"] == "commented out under the TODO at line 3"
    assert data["complete"] is False and data["build"]["status"] == "ok"
