"""`ccplate-tui sentry setup` (issue 12, item 6): the plan's tasks 4.1.2 and 4.1.3 done for the
user, on real copies of examples/ccplate-app and of the wizard's layouts.

The registry is the loopback fixture (the demo registry: @sentry/cloudflare stops at 11.0.0, so
@sentry/nextjs 11.6.0 ... 11.8.0 do not install) and the proof runs without npm on the PATH, by
packuments; `--offline` runs have no registry at all. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccplate_tui.cli import main
from tests.sentry_registry_fixture import RegistryFixture, isolate_project_env
from tests.sentry_wiring_fixtures import ccplate_copy, disabled_project, wizard_project, write

ONREQUEST = "export const onRequestError = Sentry.captureRequestError;"
PATHS = ["server_init", "edge_init", "client_init", "request_errors", "root_layout_errors"]

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
PLAN_HELPER_START = """\
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


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryFixture]:
    with RegistryFixture() as fixture:
        yield fixture


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cwd, HOME and the state folder in tmp; no npm on the PATH; no registry from outside."""
    isolate_project_env(tmp_path, monkeypatch)
    empty = tmp_path / "bin-without-npm"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return tmp_path


def aim(folder: Path, registry: RegistryFixture | None) -> Path:
    """The project's .npmrc at the fixture (or at a closed port), no demo .env.local."""
    url = registry.url if registry is not None else "http://127.0.0.1:9/"
    (folder / ".npmrc").write_text(f"registry={url}\n", encoding="utf-8")
    (folder / ".env.local").unlink(missing_ok=True)
    return folder


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def setup(capsys: pytest.CaptureFixture[str], folder: Path, *flags: str) -> tuple[int, str]:
    code = main(["sentry", "setup", "--project", str(folder), *flags])
    out, err = capsys.readouterr()
    assert err == ""
    return code, out


def setup_json(capsys: pytest.CaptureFixture[str], folder: Path, *flags: str) -> tuple[int, dict]:
    code, out = setup(capsys, folder, "--json", *flags)
    return code, json.loads(out)


def check_json(capsys: pytest.CaptureFixture[str], folder: Path, *flags: str) -> dict:
    main(["sentry", "check", "--project", str(folder), "--json", *flags])
    return json.loads(capsys.readouterr().out)


def statuses(report: dict) -> dict[str, str]:
    return {p["key"]: p["status"] for p in report["wiring"]["paths"]}


# --- the plan-state example ----------------------------------------------------------------------


def test_setup_prints_the_diff_and_changes_nothing(env, registry, capsys) -> None:
    app = aim(ccplate_copy(env / "app"), registry)
    before = files(app)
    code, out = setup(capsys, app)
    assert code == 0
    assert files(app) == before, "without --apply nothing is written"
    assert '-    "@sentry/nextjs": "^8.55.0",\n+    "@sentry/nextjs": "11.5.0",' in out
    assert "--- /dev/null\n+++ b/src/app/global-error.tsx" in out
    assert "--- /dev/null\n+++ b/src/instrumentation-client.ts" in out
    assert "-// TODO: Re-enable when @sentry/nextjs supports Next.js 16\n" in out
    assert "-  //   initSentry();\n" in out and "+    initSentry();\n" in out
    assert f"+{ONREQUEST}" in out
    assert '+    captureError(error, { component: "ErrorBoundary", errorInfo });' in out
    for key in ("SENTRY_DSN=", "SENTRY_ORG=", "SENTRY_PROJECT=", "NEXT_PUBLIC_SENTRY_DSN="):
        assert f"\n+{key}" in out
    assert "Changes (7 files, dry run, nothing written: run again with --apply" in out
    # 11.6.0 and later do not install from this registry, so ^11.5.0 would reach them.
    assert "pinned exactly" in out and "11.5.0 is the newest @sentry/nextjs" in out
    assert out.rstrip().endswith(
        f"Next: run this again with --apply, then `npm install` in the project, and "
        f"`ccplate-tui sentry check --project {app}` to confirm"
    )


def test_apply_wires_every_path_and_a_second_apply_changes_nothing(env, registry, capsys) -> None:
    app = aim(ccplate_copy(env / "app"), registry)
    os.chmod(app / "src/lib/sentry.ts", 0o600)
    os.chmod(app / "src/instrumentation.ts", 0o640)
    code, out = setup(capsys, app, "--apply")
    assert code == 0 and "Changes (7 files, written):" in out
    assert (app / "src/instrumentation.ts").read_text() == PLAN_INSTRUMENTATION
    helper = (app / "src/lib/sentry.ts").read_text()
    assert helper.startswith(PLAN_HELPER_START) and "export {};" not in helper
    assert "export function addBreadcrumb(" in helper and "TODO" not in helper
    assert json.loads((app / "package.json").read_text())["dependencies"]["@sentry/nextjs"] == (
        "11.5.0"
    )
    # Modes kept; new files get the usual 0666 less the umask; no temp file left behind.
    assert stat.S_IMODE((app / "src/lib/sentry.ts").stat().st_mode) == 0o600
    assert stat.S_IMODE((app / "src/instrumentation.ts").stat().st_mode) == 0o640
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((app / "src/app/global-error.tsx").stat().st_mode) == 0o666 & ~mask
    assert not [p for p in app.rglob("*.tmp")]

    report = check_json(capsys, app)
    assert all(status == "ok" for status in statuses(report).values()), statuses(report)
    assert report["wiring"]["complete"] is True and report["wiring"]["verdict_cap"] is None
    assert report["todo_markers"] == [] and report["env_example"]["missing"] == []
    # npm install has not run: the lockfile still has 8.55.0, so the verdict still says upgrade.
    assert report["verdict"] == "upgrade" and report["recommended"] == "11.5.0"

    after = files(app)
    code, out = setup(capsys, app, "--apply")
    assert code == 0 and "Nothing to do: every change setup makes is already in place." in out
    assert files(app) == after


def test_offline_without_a_proof_leaves_package_json_alone(env, capsys) -> None:
    app = aim(ccplate_copy(env / "app"), None)
    manifest = (app / "package.json").read_bytes()
    code, report = setup_json(capsys, app, "--offline", "--apply")
    assert code == 0
    assert report["version"]["proven"] is False and report["version"]["target"] is None
    assert "could not be proven, so package.json is left as it is" in report["version"]["note"]
    assert report["install_command"] is None
    assert "package.json" not in {c["file"] for c in report["changes"]}
    assert (app / "package.json").read_bytes() == manifest
    assert statuses(check_json(capsys, app, "--offline")) == dict.fromkeys(
        [*PATHS, "error_boundary"], "ok"
    )


def test_the_json_output_has_the_changes(env, registry, capsys) -> None:
    app = aim(ccplate_copy(env / "app"), registry)
    code, report = setup_json(capsys, app)
    assert code == 0 and report["exit"] == 0
    assert set(report) == {
        "project",
        "applied",
        "nothing_to_do",
        "layout",
        "next_version",
        "sdk_version",
        "changes",
        "left_alone",
        "version",
        "feature_flag",
        "notes",
        "install_command",
        "check_command",
        "exit",
    }
    assert (report["applied"], report["nothing_to_do"], report["layout"]) == (
        False,
        False,
        "ccplate",
    )
    changes = {c["file"]: c for c in report["changes"]}
    assert report["changes"][0]["file"] == "package.json"
    assert set(changes) == {
        "package.json",
        ".env.example",
        "src/app/global-error.tsx",
        "src/components/error-boundary.tsx",
        "src/instrumentation-client.ts",
        "src/instrumentation.ts",
        "src/lib/sentry.ts",
    }
    for change in changes.values():
        assert set(change) == {"file", "action", "diff", "reasons", "written", "error"}
        assert change["written"] is False and change["reasons"]
    assert changes["src/app/global-error.tsx"]["action"] == "create"
    assert changes["src/instrumentation.ts"]["diff"].startswith(
        "--- a/src/instrumentation.ts\n+++ b/src/instrumentation.ts\n"
    )
    assert report["version"] == {
        "package": "@sentry/nextjs",
        "declared": "^8.55.0",
        "target": "11.5.0",
        "spec": "11.5.0",
        "proven": True,
        "note": report["version"]["note"],
    }
    assert report["install_command"] == "npm install" and report["feature_flag"] is None
    assert report["check_command"] == f"ccplate-tui sentry check --project {app}"


# --- the wizard's layouts ----------------------------------------------------------------------


def test_a_wizard_layout_without_on_request_error_gets_only_that(env, registry, capsys) -> None:
    app = aim(wizard_project(env / "wizard", request_hook=False), registry)
    before = files(app)
    code, report = setup_json(capsys, app, "--apply")
    assert code == 0
    [change] = report["changes"]
    assert (change["file"], change["action"], change["written"]) == (
        "instrumentation.ts",
        "modify",
        True,
    )
    added = [ln for ln in change["diff"].splitlines() if ln.startswith("+") and ln[1:2] != "+"]
    assert added == ["+", f"+{ONREQUEST}"]
    assert {k for k, v in files(app).items() if before.get(k) != v} == {"instrumentation.ts"}
    assert report["version"]["target"] is None and report["left_alone"] == []
    check = check_json(capsys, app)
    assert check["verdict"] == "supported" and check["wiring"]["complete"] is True


def test_a_bare_wizard_layout_gets_the_wizards_files(env, capsys) -> None:
    app = aim(wizard_project(env / "bare"), None)
    for name in ("instrumentation.ts", "instrumentation-client.ts", "app/global-error.tsx"):
        (app / name).unlink()
    for name in ("sentry.server.config.ts", "sentry.edge.config.ts"):
        (app / name).unlink()
    code, report = setup_json(capsys, app, "--offline", "--apply")
    assert code == 0
    assert {c["file"]: c["action"] for c in report["changes"]} == {
        "app/global-error.tsx": "create",
        "instrumentation-client.ts": "create",
        "instrumentation.ts": "create",
        "sentry.edge.config.ts": "create",
        "sentry.server.config.ts": "create",
    }
    text = (app / "instrumentation.ts").read_text()
    assert 'await import("./sentry.server.config");' in text and text.endswith(ONREQUEST + "\n")
    assert "initSentry" not in "".join(c["diff"] for c in report["changes"])
    assert statuses(check_json(capsys, app, "--offline")) == dict.fromkeys(
        [*PATHS, "error_boundary"], "ok"
    )


# --- content setup does not recognise ----------------------------------------------------------


def test_files_it_does_not_recognise_are_left_alone_and_named(env, capsys) -> None:
    app = aim(disabled_project(env / "disabled"), None)
    before = files(app)
    code, out = setup(capsys, app, "--offline", "--apply")
    assert code == 1
    left = out.split("Left alone (setup does not recognise their content):\n", 1)[1]
    assert (
        "  components/boundary.tsx: line 11: `Sentry.captureException(error);` is switched off"
        in (left)
    )
    assert (
        '  instrumentation.ts: line 8: `await import("./sentry.server.config");` is switched'
        in (left)
    )
    assert "behind if (SENTRY_ENABLED)" in left
    assert f"      add (at the end): {ONREQUEST}" in left
    after = files(app)
    for name in ("instrumentation.ts", "components/boundary.tsx"):
        assert after[name] == before[name], f"{name} was left alone"
    # What it does recognise is still done: the commented client init, the TODO in global-error.
    assert b"/*" not in after["instrumentation-client.ts"]
    assert b"    Sentry.captureException(error);\n" in after["app/global-error.tsx"]
    code, out = setup(capsys, app, "--offline", "--apply")
    assert code == 1 and "Nothing setup can change is left to do" in out
    assert files(app) == after


def test_a_helper_unlike_the_plans_is_left_alone_with_what_calls_it(env, capsys) -> None:
    app = aim(ccplate_copy(env / "app"), None)
    helper = app / "src/lib/sentry.ts"
    helper.write_text(helper.read_text().replace("tracesSampleRate: 1.0", "tracesSampleRate: 0.2"))
    instrumentation = (app / "src/instrumentation.ts").read_text()
    code, report = setup_json(capsys, app, "--offline", "--apply")
    assert code == 1 and report["exit"] == 1
    [left] = report["left_alone"]
    assert left["file"] == "src/lib/sentry.ts"
    assert "line 11: commented-out `tracesSampleRate: 0.2,`" in left["reason"]
    assert {
        "file": "src/lib/sentry.ts",
        "place": "in captureError()",
        "code": ("Sentry.captureException(error, { extra: context });"),
    } in left["fix"]
    # Nothing that would call the helper's initSentry()/captureError() is wired...
    assert "initSentry" not in (app / "src/instrumentation.ts").read_text().replace(
        instrumentation, ""
    )
    assert not (app / "src/instrumentation-client.ts").exists()
    assert any("src/lib/sentry.ts, which setup left alone" in n for n in report["notes"])
    # ...while onRequestError, global-error and .env.example do not need it.
    assert (app / "src/instrumentation.ts").read_text().endswith(ONREQUEST + "\n")
    assert (app / "src/app/global-error.tsx").is_file()


def test_custom_register_code_is_not_edited(env, capsys) -> None:
    app = aim(ccplate_copy(env / "app"), None)
    custom = 'export async function register() { await import("./otel"); }\n'
    write(app, "src/instrumentation.ts", custom)
    code, report = setup_json(capsys, app, "--offline", "--apply")
    assert code == 1
    [left] = report["left_alone"]
    assert left["file"] == "src/instrumentation.ts"
    assert left["reason"] == (
        'register() (`export async function register() { await import("./otel"); }`): its '
        "body starts on the same line"
    )
    assert (app / "src/instrumentation.ts").read_text() == custom


# --- the decision matrix's "partial" row -------------------------------------------------------


def test_partial_support_gates_init_behind_sentry_enabled(env, capsys) -> None:
    app = aim(ccplate_copy(env / "app"), None)
    manifest = json.loads((app / "package.json").read_text())
    manifest["dependencies"]["next"] = "15.3.0"
    manifest["scripts"]["dev"] = "next dev --turbopack"
    (app / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    lock = json.loads((app / "package-lock.json").read_text())
    lock["packages"]["node_modules/next"]["version"] = "15.3.0"
    (app / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n")
    code, out = setup(capsys, app, "--offline", "--apply")
    assert code == 0
    assert "setup chose SENTRY_ENABLED" in out and "partial because: Turbopack builds" in out
    assert 'process.env.NEXT_PUBLIC_SENTRY_DSN && process.env.SENTRY_ENABLED === "true"' in (
        (app / "src/instrumentation.ts").read_text()
    )
    assert 'process.env.NEXT_PUBLIC_SENTRY_ENABLED === "true"' in (
        (app / "src/instrumentation-client.ts").read_text()
    )
    env_example = (app / ".env.example").read_text()
    assert "\nSENTRY_ENABLED=false\nNEXT_PUBLIC_SENTRY_ENABLED=${SENTRY_ENABLED}\n" in env_example
    assert statuses(check_json(capsys, app, "--offline"))["server_init"] == "ok"
    code, report = setup_json(capsys, app, "--offline", "--apply")
    assert (code, report["changes"]) == (0, [])
    assert report["feature_flag"]["name"] == "SENTRY_ENABLED"


# --- bad usage ---------------------------------------------------------------------------------


def test_a_bad_project_exits_2_naming_the_path(env, capsys) -> None:
    missing = env / "no-such-app"
    assert main(["sentry", "setup", "--project", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and str(missing) in err and "no such directory" in err
    assert main(["sentry", "setup", "--project", str(missing), "--json"]) == 2
    out, _ = capsys.readouterr()
    error = json.loads(out)
    assert error["exit"] == 2 and str(missing) in error["error"]
    broken = env / "broken"
    shutil.copytree(ccplate_copy(env / "app"), broken)
    (broken / "package.json").write_text('{"name": ', encoding="utf-8")
    assert main(["sentry", "setup", "--project", str(broken), "--json"]) == 2
    out, _ = capsys.readouterr()
    assert json.loads(out)["error"].startswith(f"{broken / 'package.json'}: invalid JSON")


def test_no_supporting_sdk_changes_nothing(env, registry, capsys) -> None:
    app = aim(wizard_project(env / "next17", next_version="17.0.0", request_hook=False), registry)
    before = files(app)
    code = main(["sentry", "setup", "--project", str(app), "--json", "--apply"])
    out, err = capsys.readouterr()
    error = json.loads(out)
    assert err.startswith("ccplate-tui sentry setup: No @sentry/nextjs version")
    assert (code, error["exit"]) == (1, 1)
    assert "No @sentry/nextjs version declares support for Next.js 17.0.0" in error["error"]
    assert "Setup changes nothing" in error["error"]
    assert files(app) == before
