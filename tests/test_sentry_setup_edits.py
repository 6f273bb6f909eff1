"""The careful edits behind `sentry setup`: each anchors on an exact shape or refuses, and the
writes are atomic, keep line endings, and never overwrite a file changed since it was read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccplate_tui.sentry.project_scan import scan_project
from ccplate_tui.sentry.setup_command import apply_plan
from ccplate_tui.sentry.setup_edits import (
    Unrecognised,
    add_import,
    add_named_import,
    function_body,
    insert_at_end,
    reenable,
)
from ccplate_tui.sentry.setup_plan import Workspace, env_example_edit, plan_setup, set_dependency
from tests.sentry_wiring_fixtures import ccplate_copy

KNOWN = ["if (process.env.NEXT_PUBLIC_SENTRY_DSN) {", "  initSentry();", "}"]


def test_reenable_uncomments_known_lines_and_drops_their_todo() -> None:
    text = (
        "// TODO: Re-enable when @sentry/nextjs supports Next.js 16\n"
        "// if (process.env.NEXT_PUBLIC_SENTRY_DSN) {\n"
        "//   initSentry();\n"
        "// }\n"
        "\n"
        "// Keep this note: the app boots here.\n"
    )
    new, count = reenable(text, "x.ts", KNOWN)
    assert count == 3
    assert new == (
        "if (process.env.NEXT_PUBLIC_SENTRY_DSN) {\n"
        "  initSentry();\n"
        "}\n"
        "\n"
        "// Keep this note: the app boots here.\n"
    )
    assert reenable(new, "x.ts", KNOWN) == (new, 0)


def test_reenable_refuses_commented_sentry_code_it_does_not_know() -> None:
    text = "// if (process.env.NEXT_PUBLIC_SENTRY_DSN) {\n//   initSentry({ debug: true });\n// }\n"
    with pytest.raises(Unrecognised, match=r"line 2: commented-out `initSentry\(\{ debug"):
        reenable(text, "x.ts", KNOWN)
    # Not strict: a block it does not know is simply left as it is.
    assert reenable(text, "x.ts", KNOWN, strict=False) == (text, 0)


def test_reenable_refuses_a_constant_false_switch() -> None:
    text = "const ON = false;\nif (ON) {\n  Sentry.init({});\n}\n"
    with pytest.raises(Unrecognised, match=r"line 3: .* behind if \(ON\)"):
        reenable(text, "x.ts", ["Sentry.init({});"])


def test_reenable_reads_a_block_comment_and_drops_stale_notes() -> None:
    text = (
        'import * as Sentry from "@sentry/nextjs";\n'
        "\n"
        "// Sentry is disabled until the upgrade.\n"
        "\n"
        "/* Sentry.init({\n"
        "  dsn: process.env.NEXT_PUBLIC_SENTRY_DSN,\n"
        "}); */\n"
    )
    known = ["Sentry.init({", "  dsn: process.env.NEXT_PUBLIC_SENTRY_DSN,", "});"]
    new, count = reenable(text, "c.ts", known)
    assert count == 3
    assert new == (
        'import * as Sentry from "@sentry/nextjs";\n'
        "\n"
        "Sentry.init({\n"
        "  dsn: process.env.NEXT_PUBLIC_SENTRY_DSN,\n"
        "});\n"
    )


def test_imports_go_where_a_reader_expects_them() -> None:
    text = '"use client";\n\nimport { useState } from "react";\n\nexport const x = 1;\n'
    local = add_import(text, "a.tsx", 'import { captureError } from "@/lib/sentry";')
    assert local == (
        '"use client";\n\nimport { useState } from "react";\n\n'
        'import { captureError } from "@/lib/sentry";\n\nexport const x = 1;\n'
    )
    package = add_import(local, "a.tsx", 'import * as Sentry from "@sentry/nextjs";')
    assert package.startswith(
        '"use client";\n\nimport * as Sentry from "@sentry/nextjs";\nimport { useState }'
    )
    assert add_import(package, "a.tsx", 'import * as Sentry from "@sentry/nextjs";') == package
    bare = add_import('"use client";\nexport const x = 1;\n', "b.tsx", 'import "x";')
    assert bare == '"use client";\n\nimport "x";\n\nexport const x = 1;\n'
    merged = add_named_import(text, "a.tsx", "useEffect", "react")
    assert 'import { useState, useEffect } from "react";' in merged


def test_function_bodies_are_opened_or_refused() -> None:
    text, body = function_body(
        "export async function register() {}\n",
        "i.ts",
        r"\bexport\s+async\s+function\s+register",
        "register()",
    )
    assert text == "export async function register() {\n}\n"
    assert insert_at_end(text, body, ["  go();"]) == (
        "export async function register() {\n  go();\n}\n"
    )
    with pytest.raises(Unrecognised, match="its closing brace is not on a line of its own"):
        function_body(
            "function register() {\n  go(); }\n", "i.ts", r"\bfunction\s+register", "register()"
        )
    with pytest.raises(Unrecognised, match="no register"):
        function_body("export const x = 1;\n", "i.ts", r"\bfunction\s+register", "register()")


def test_package_json_keeps_its_formatting_or_is_refused() -> None:
    text = (
        '{\n  "dependencies": {\n    "@sentry/nextjs": "^8.55.0",\n    "next": "16.1.4"\n  }\n}\n'
    )
    assert set_dependency(text, "@sentry/nextjs", "11.5.0") == text.replace("^8.55.0", "11.5.0")
    bare = json.dumps({"name": "a", "dependencies": {"next": "16.1.4"}}, indent=2) + "\n"
    added = json.loads(set_dependency(bare, "@sentry/nextjs", "^10.78.0"))
    assert list(added["dependencies"]) == ["@sentry/nextjs", "next"]
    with pytest.raises(Unrecognised, match="not formatted as npm writes it"):
        set_dependency('{"dependencies": {"next": "16.1.4"}}', "@sentry/nextjs", "^10.78.0")
    twice = '{"dependencies": {"@sentry/nextjs": "^8"}, "overrides": {"@sentry/nextjs": "8.1.0"}}'
    with pytest.raises(Unrecognised, match="named 2 times"):
        set_dependency(twice, "@sentry/nextjs", "11.5.0")


def test_env_example_gets_only_the_missing_keys() -> None:
    text = "DATABASE_URL=x\nSENTRY_DSN=https://key@o1.ingest.sentry.io/1\n"
    new = env_example_edit(text, gate=False)
    assert new == (
        text + "\n# Sentry Error Monitoring\nSENTRY_ORG=your-org\nSENTRY_PROJECT=your-project\n"
        "NEXT_PUBLIC_SENTRY_DSN=${SENTRY_DSN}\n"
    )
    assert env_example_edit(new, gate=False) == new
    gated = env_example_edit(new, gate=True)
    assert gated.endswith("SENTRY_ENABLED=false\nNEXT_PUBLIC_SENTRY_ENABLED=${SENTRY_ENABLED}\n")


def test_crlf_files_keep_their_line_endings(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_bytes(b"A=1\r\nB=2\r\n")
    ws = Workspace(tmp_path)
    ws.edit(".env.example", "keys", lambda t: env_example_edit(t, gate=False))
    [change] = ws.changes()
    assert change.after.startswith("A=1\r\nB=2\r\n\r\n# Sentry Error Monitoring\r\n")
    assert "\n" not in change.after.replace("\r\n", "")


def test_a_file_changed_after_planning_is_not_overwritten(tmp_path: Path) -> None:
    app = ccplate_copy(tmp_path / "app")
    plan = plan_setup(scan_project(app), None, problem="offline")
    assert {c.file for c in plan.changes} >= {"src/instrumentation.ts", ".env.example"}
    edited = "// someone else's edit\n"
    (app / "src/instrumentation.ts").write_text(edited)
    written = {w.file: w.error for w in apply_plan(plan)}
    assert written["src/instrumentation.ts"] == "it changed since setup read it: not overwritten"
    assert (app / "src/instrumentation.ts").read_text() == edited
    assert written[".env.example"] is None and "SENTRY_DSN=" in (app / ".env.example").read_text()


def test_only_the_todo_that_disabled_sentry_goes() -> None:
    text = (
        "// TODO: add Sentry tracing to the checkout flow\n"
        "// TODO(sentry): turn Sentry back on after the Next.js upgrade\n"
        "// if (process.env.NEXT_PUBLIC_SENTRY_DSN) {\n"
        "//   initSentry();\n"
        "// }\n"
    )
    new, _ = reenable(text, "x.ts", KNOWN)
    assert new == (
        "// TODO: add Sentry tracing to the checkout flow\n"
        "if (process.env.NEXT_PUBLIC_SENTRY_DSN) {\n"
        "  initSentry();\n"
        "}\n"
    )
