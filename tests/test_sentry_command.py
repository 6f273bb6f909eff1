"""`ccplate-tui sentry check` and `sentry verify` end to end: the real CLI against a copy of the
example project, the loopback registry fixture and the loopback Sentry ingest fixture."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ccplate_tui.cli import main
from ccplate_tui.release.inputs import sentry_status
from ccplate_tui.sentry.last_results import CAPTURE_FILE, COMPATIBILITY_FILE, load_result
from tests.http_fixtures import free_port
from tests.sentry_ingest_fixture import API_TOKEN, DEMO_KEY, SentryIngestFixture
from tests.sentry_registry_fixture import RegistryFixture

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ccplate-app"


@pytest.fixture
def registry():
    with RegistryFixture() as fixture:
        yield fixture


@pytest.fixture
def ingest():
    with SentryIngestFixture() as fixture:
        yield fixture


@pytest.fixture
def app_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: RegistryFixture) -> Path:
    """The example project, its .npmrc aimed at the registry fixture; cwd and HOME isolated."""
    project = tmp_path / "app"
    shutil.copytree(EXAMPLE, project)
    (project / ".npmrc").write_text(f"registry={registry.url}\n", encoding="utf-8")
    (project / ".env.local").unlink()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CCPLATE_TUI_STATE_DIR", str(tmp_path / "state"))
    for name in ("NPM_CONFIG_REGISTRY", "npm_config_registry", "SENTRY_DSN", "SENTRY_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name in ("SENTRY_ORG", "SENTRY_PROJECT", "SENTRY_URL"):
        monkeypatch.delenv(name, raising=False)
    return project


def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["sentry", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def set_lock_version(project: Path, package: str, version: str, peer: str | None = None) -> None:
    lock_path = project / "package-lock.json"
    lock = json.loads(lock_path.read_text())
    entry = lock["packages"][f"node_modules/{package}"]
    entry["version"] = version
    if peer is not None:
        entry["peerDependencies"] = {"next": peer}
    lock_path.write_text(json.dumps(lock, indent=2))


# --- sentry check ---------------------------------------------------------------------------


def test_check_reports_upgrade_with_the_exact_command(app_dir, capsys, tmp_path) -> None:
    code, out, err = run(capsys, "check", "--project", str(app_dir))
    assert (code, err) == (3, "")
    assert "Sentry compatibility: UPGRADE" in out
    # 11.8.0 is the newest supporting, but it needs @sentry/cloudflare 11.8.0, which the registry
    # lacks (as do 11.7.0 and 11.6.0): the proposal is the newest npm can install.
    assert "Next command: npm install @sentry/nextjs@11.5.0" in out
    assert "Skipped 11.8.0, 11.7.0 and 11.6.0" in out
    assert "src/lib/sentry.ts:1" in out and "src/instrumentation.ts:1" in out
    stored = load_result(state(tmp_path), COMPATIBILITY_FILE)
    assert stored is not None and stored["verdict"] == "upgrade"


def test_check_json_has_the_contract_keys(app_dir, capsys, registry) -> None:
    code, out, _ = run(capsys, "check", "--project", str(app_dir), "--json")
    report = json.loads(out)
    assert code == 3
    assert report["verdict"] == "upgrade"
    assert report["installed"]["next"]["version"] == "16.1.4"
    assert report["installed"]["next"]["source"] == "package-lock"
    assert report["installed"]["sentry"]["version"] == "8.55.0"
    assert (report["first_supporting"], report["latest_supporting"], report["latest"]) == (
        "10.20.0",
        "11.8.0",
        "11.8.0",
    )
    assert report["install_command"] == "npm install @sentry/nextjs@11.5.0"
    assert report["install_proof"]["ok"] is True
    assert [s["version"] for s in report["skipped"]] == ["11.8.0", "11.7.0", "11.6.0"]
    assert all(set(m) >= {"file", "line", "text"} for m in report["todo_markers"])
    files = {(m["file"], m["line"]) for m in report["todo_markers"]}
    assert ("src/lib/sentry.ts", 1) in files and ("src/instrumentation.ts", 1) in files
    assert report["env_example"]["missing"] == [
        "SENTRY_DSN",
        "SENTRY_ORG",
        "SENTRY_PROJECT",
        "NEXT_PUBLIC_SENTRY_DSN",
    ]
    assert report["source"] == "registry"
    assert registry.requests[0].path == "/@sentry%2fnextjs"  # then the proof's dependencies


@pytest.mark.parametrize(
    ("sentry", "peer", "next_version", "code", "verdict"),
    [
        # Supported by its peer range, but the example has no onRequestError: at best partial.
        ("10.20.0", "^13.2.0 || ^14.0 || ^15.0.0-rc.0 || ^16.0.0-0", "16.1.4", 3, "partial"),
        ("10.19.0", "^13.2.0 || ^14.0 || ^15.0.0-rc.0", "16.1.4", 3, "upgrade"),
        ("10.78.0", None, "16.5.0-canary.38", 4, "unsupported"),
        ("10.78.0", None, "17.0.0", 4, "unsupported"),
    ],
)
def test_check_exit_code_per_verdict(
    app_dir, capsys, sentry, peer, next_version, code, verdict
) -> None:
    set_lock_version(app_dir, "@sentry/nextjs", sentry, peer)
    set_lock_version(app_dir, "next", next_version)
    got, out, _ = run(capsys, "check", "--project", str(app_dir), "--json")
    assert (got, json.loads(out)["verdict"]) == (code, verdict)


def test_check_offline_and_registry_down_answer_from_the_cache(
    app_dir, capsys, registry, tmp_path
) -> None:
    assert run(capsys, "check", "--project", str(app_dir))[0] == 3
    asked = len(registry.requests)
    code, out, _ = run(capsys, "check", "--project", str(app_dir), "--offline", "--json")
    report = json.loads(out)
    assert (code, report["source"], report["latest"]) == (3, "cache", "11.8.0")
    assert len(registry.requests) == asked, "--offline never asks the registry"

    registry.stop()  # the same registry, now down
    code, out, _ = run(capsys, "check", "--project", str(app_dir))
    assert code == 3
    assert "registry not reached" in out
    assert "11.8.0" in out


def test_check_without_registry_or_cache_is_a_clear_error(app_dir, capsys) -> None:
    (app_dir / ".npmrc").write_text(f"registry=http://127.0.0.1:{free_port()}/\n")
    code, out, err = run(capsys, "check", "--project", str(app_dir), "--timeout", "5", "--json")
    # The lockfile names the installed version's peer range: that alone still answers, honestly.
    report = json.loads(out)
    assert (code, report["source"], report["verdict"]) == (3, "node_modules", "upgrade")
    assert report["install_command"] is None and report["latest"] is None
    assert "registry was not consulted" in report["headline"]
    (app_dir / "package-lock.json").unlink()
    code, out, err = run(capsys, "check", "--project", str(app_dir), "--timeout", "5")
    assert code == 1 and out == ""
    assert err.startswith("ccplate-tui sentry check: ")
    assert "registry" in err and "cache" in err


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda p: (p / "package.json").unlink(), "package.json: no such file"),
        (lambda p: (p / "package.json").write_text('{"name": "x",\n  "dependencies": {'), "line 2"),
        (lambda p: shutil.rmtree(p), "no such directory"),
    ],
)
def test_check_bad_project_exits_2(app_dir, capsys, damage, expected) -> None:
    damage(app_dir)
    code, out, err = run(capsys, "check", "--project", str(app_dir))
    assert (code, out) == (2, "")
    assert expected in err


def test_check_uses_the_config_sentry_project(app_dir, capsys, tmp_path) -> None:
    config = tmp_path / "work" / "scenarios.toml"
    config.write_text(
        '[sentry]\nproject = "../app"\n[scenarios.a]\nexecutor = "constant-vus"\nvus = 1\n'
        'duration = "1s"\n[[scenarios.a.requests]]\npath = "/"\n'
    )
    code, out, _ = run(capsys, "check", "--json")
    assert code == 3 and json.loads(out)["installed"]["next"]["version"] == "16.1.4"
    config.write_text(config.read_text().replace("project =", "projekt ="))
    code, out, err = run(capsys, "check")
    assert code == 2 and "sentry.projekt: unknown key" in err


# --- sentry verify --------------------------------------------------------------------------


def test_verify_delivers_and_the_ingest_really_has_the_event(app_dir, capsys, ingest) -> None:
    code, out, err = run(capsys, "verify", "--dsn", ingest.dsn(), "--json")
    result = json.loads(out)
    assert (code, err) == (0, "")
    assert result["delivered"] is True and result["status"] == 200
    stored = ingest.store.get(result["event_id"])
    assert stored is not None and stored.event["tags"]["ccplate_check"] == result["event_id"]
    assert DEMO_KEY not in out


def test_verify_reads_the_dsn_from_the_project_env_file(app_dir, capsys, ingest, tmp_path):
    (app_dir / ".env.local").write_text(f"SENTRY_DSN={ingest.dsn()}\n")
    config = tmp_path / "work" / "scenarios.toml"
    config.write_text(
        '[sentry]\nproject = "../app"\n[scenarios.a]\nexecutor = "constant-vus"\nvus = 1\n'
        'duration = "1s"\n[[scenarios.a.requests]]\npath = "/"\n'
    )
    code, out, _ = run(capsys, "verify")
    assert code == 0
    assert "DSN from .env.local SENTRY_DSN" in out
    assert DEMO_KEY not in out and DEMO_KEY[:2] + "…" + DEMO_KEY[-2:] in out


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("403", "region"),
        ("404", "20.6"),
        ("429", "Retry-After"),
        ("413", "too large"),
    ],
)
def test_verify_failures_exit_1_with_the_reason(app_dir, capsys, ingest, mode, words) -> None:
    ingest.ingest_mode = mode
    code, out, err = run(capsys, "verify", "--dsn", ingest.dsn())
    assert code == 1
    assert "NOT DELIVERED" in out.upper() or "not delivered" in out
    assert words.lower() in out.lower()
    assert DEMO_KEY not in out + err


def test_verify_connection_refused(app_dir, capsys) -> None:
    dsn = f"http://{DEMO_KEY}@127.0.0.1:{free_port()}/__sentry/1"
    code, out, _ = run(capsys, "verify", "--dsn", dsn, "--timeout", "5")
    assert code == 1 and "connection refused" in out and DEMO_KEY not in out


def test_verify_with_token_confirms_through_the_api(app_dir, capsys, ingest, monkeypatch):
    monkeypatch.setenv("SENTRY_AUTH_TOKEN", API_TOKEN)
    code, out, err = run(
        capsys, "verify", "--dsn", ingest.dsn(), "--org", "acme", "--project", "web", "--json"
    )
    result = json.loads(out)
    assert (code, err) == (0, "")
    assert result["confirmation"]["confirmed"] is True
    assert "/organizations/acme/issues/" in result["confirmation"]["issue_url"]
    assert API_TOKEN not in out


def test_verify_with_a_rejected_token_is_not_a_pass(app_dir, capsys, ingest, monkeypatch):
    ingest.api_always = 401
    code, out, _ = run(
        capsys,
        "verify", "--dsn", ingest.dsn(), "--api-token", API_TOKEN, "--org", "acme",
        "--project", "web",
    )  # fmt: skip
    assert code == 1
    assert "project:read" in out and API_TOKEN not in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--dsn", f"https://{DEMO_KEY}@o1.ingest.sentry.io/abc"], "numeric project id"),
        (["--dsn", "not a dsn"], "https://"),
        ([], "no DSN"),
        (["--dsn", "http://k@127.0.0.1:9/1", "--api-token", "t"], "--org and --project"),
        (["--dsn", "http://k@127.0.0.1:9/1", "--timeout", "0"], "--timeout"),
    ],
)
def test_verify_bad_input_exits_2_before_sending(app_dir, capsys, argv, expected) -> None:
    code, out, err = run(capsys, "verify", *argv)
    assert (code, out) == (2, "")
    assert expected in err and DEMO_KEY not in err


# --- what the verdict sees -------------------------------------------------------------------


def test_the_release_verdict_reads_both_checks(app_dir, capsys, ingest, tmp_path) -> None:
    assert sentry_status(state(tmp_path)) is None
    run(capsys, "verify", "--dsn", ingest.dsn())
    status = sentry_status(state(tmp_path))
    assert status is not None and status.delivered and status.app == "unknown"
    run(capsys, "check", "--project", str(app_dir))
    status = sentry_status(state(tmp_path))
    assert status is not None and status.app == "problem"
    assert "upgrade to 11.5.0" in status.app_detail
    assert load_result(state(tmp_path), CAPTURE_FILE)["delivered"] is True


def test_the_installed_command_runs_check(app_dir, tmp_path) -> None:
    exe = Path(sys.executable).with_name("ccplate-tui")
    done = subprocess.run(
        [str(exe), "sentry", "check", "--project", str(app_dir), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path / "work",
    )
    assert done.returncode == 3, done.stderr
    assert json.loads(done.stdout)["install_command"] == "npm install @sentry/nextjs@11.5.0"
