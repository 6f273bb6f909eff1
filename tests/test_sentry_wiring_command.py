"""`ccplate-tui sentry check` reports the wiring (text and `--json`) for real project folders,
against the loopback registry fixture: the plan-state example and the wizard's layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccplate_tui.cli import main
from tests.sentry_registry_fixture import RegistryFixture, isolate_project_env
from tests.sentry_wiring_fixtures import ccplate_copy, wizard_project

ONREQUEST = "export const onRequestError = Sentry.captureRequestError;"


@pytest.fixture
def registry():
    with RegistryFixture() as fixture:
        yield fixture


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cwd, HOME and the state folder in tmp; no registry or Sentry setting from outside."""
    return isolate_project_env(tmp_path, monkeypatch)


def project(folder: Path, registry: RegistryFixture) -> Path:
    (folder / ".npmrc").write_text(f"registry={registry.url}\n", encoding="utf-8")
    (folder / ".env.local").unlink(missing_ok=True)
    return folder


def check(capsys: pytest.CaptureFixture[str], folder: Path, *flags: str) -> tuple[int, str]:
    code = main(["sentry", "check", "--project", str(folder), *flags])
    out, err = capsys.readouterr()
    assert err == ""
    return code, out


def section(text: str) -> list[str]:
    """The wiring section of the text report."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Error paths to Sentry"))
    end = lines.index("What to do:", start)
    return lines[start:end]


def row(lines: list[str], label: str) -> str:
    return next(line for line in lines if line.startswith(f"  {label} "))


def test_the_plan_state_shows_request_errors_missing_with_the_line_to_add(
    isolated, registry, capsys
) -> None:
    app = project(ccplate_copy(isolated / "ccplate"), registry)
    code, out = check(capsys, app)
    assert code == 3 and out.startswith("Sentry compatibility: UPGRADE")
    lines = section(out)
    assert "CCPLATE layout" in lines[0] and "Next.js 16.1.4, @sentry/nextjs 8.55.0" in lines[0]
    assert row(lines, "request errors").split()[2] == "✗"
    assert f"add to src/instrumentation.ts, at the end:  {ONREQUEST}" in out
    server = row(lines, "server init")
    assert "✗ disabled  src/instrumentation.ts:6  `initSentry();` commented out" in server
    assert "also src/lib/sentry.ts:8" in out
    assert "✗ disabled  src/components/error-boundary.tsx:22" in row(lines, "error boundary")
    assert "    src/lib/sentry.ts:16  Sentry.captureException(error, { extra: context });" in out
    # The old CCPLATE-only lines are gone: the wiring section says it for any layout.
    assert "error boundary reports to Sentry" not in out
    assert f"`{ONREQUEST}` (at the end) to src/instrumentation.ts" in out


def test_the_plan_state_json_carries_the_wiring(isolated, registry, capsys) -> None:
    app = project(ccplate_copy(isolated / "ccplate"), registry)
    code, out = check(capsys, app, "--json")
    report = json.loads(out)
    assert code == 3 and report["verdict"] == "upgrade"
    wiring = report["wiring"]
    paths = {p["key"]: p for p in wiring["paths"]}
    assert [p["key"] for p in wiring["paths"]] == [
        "server_init",
        "edge_init",
        "client_init",
        "request_errors",
        "root_layout_errors",
        "error_boundary",
    ]
    request = paths["request_errors"]
    assert request["status"] == "missing" and request["file"] == "src/instrumentation.ts"
    assert {"file": "src/instrumentation.ts", "place": "at the end", "code": ONREQUEST} in request[
        "fix"
    ]
    assert (paths["server_init"]["status"], paths["server_init"]["line"]) == ("disabled", 6)
    calls = {(d["file"], d["line"]) for d in wiring["disabled_calls"]}
    assert {("src/instrumentation.ts", 6), ("src/lib/sentry.ts", 8)} <= calls
    assert wiring["complete"] is False and wiring["layout"] == "ccplate"
    # The legacy keys stay for older readers (the release verdict reads the first one).
    assert report["instrumentation_calls_init"] is False


def test_the_wizard_layout_is_supported_with_every_path_wired(isolated, registry, capsys) -> None:
    app = project(wizard_project(isolated / "wizard"), registry)
    code, out = check(capsys, app)
    assert code == 0 and out.startswith("Sentry compatibility: SUPPORTED"), out
    lines = section(out)
    assert "standard layout" in lines[0]
    labels = [
        "server init",
        "edge init",
        "client init",
        "request errors",
        "root-layout errors",
        "error boundary",
        "next.config",
    ]
    assert [row(lines, label).split()[len(label.split())] for label in labels] == ["✓"] * 7
    assert "✗" not in "\n".join(lines)
    assert "initSentry" not in out and "file missing" not in out
    code, out = check(capsys, app, "--json")
    wiring = json.loads(out)["wiring"]
    assert code == 0 and wiring["complete"] is True and wiring["verdict_cap"] is None


def test_no_on_request_error_makes_a_supported_app_partial(isolated, registry, capsys) -> None:
    app = project(wizard_project(isolated / "wizard", request_hook=False), registry)
    code, out = check(capsys, app, "--json")
    report = json.loads(out)
    assert (code, report["verdict"]) == (3, "partial")
    reason = report["wiring"]["verdict_cap"]
    assert "server components, route handlers and server actions" in reason
    assert reason in report["caveats"] and reason in report["headline"]
    assert any(ONREQUEST in step for step in report["advice"])
