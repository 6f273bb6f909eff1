"""Issue 12, items 3-5 and 7: proposals npm accepts, one reading of ranges, Node first, JSON errors.

Projects are real folders whose .npmrc points at the loopback registry fixture (the demo
registry: @sentry/nextjs, its dependencies, Next.js and React; @sentry/cloudflare stops at
11.0.0, so @sentry/nextjs 11.6.0 ... 11.8.0 fail with ETARGET). The real npm proves when it is on
the PATH; the no-npm path runs with a PATH that has no npm. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccplate_tui.cli import main
from ccplate_tui.sentry.demo_registry import document_json, package_names
from ccplate_tui.sentry.install_proof import InstallProver, parse_npm_failure
from ccplate_tui.sentry.npm_pick import npm_pick
from ccplate_tui.sentry.npm_registry import RegistrySource
from ccplate_tui.sentry.packument import (
    PACKAGE,
    Packument,
    VersionInfo,
    fetch_packument,
    parse_packument,
)
from tests.http_fixtures import free_port
from tests.sentry_registry_fixture import RegistryFixture, isolate_project_env

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ccplate-app"
NPM = shutil.which("npm")
needs_npm = pytest.mark.skipif(NPM is None, reason="npm is not on the PATH")
SKIPPED = ["11.8.0", "11.7.0", "11.6.0"]


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryFixture]:
    with RegistryFixture() as fixture:
        yield fixture


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cwd, HOME (npm's cache and user config) and the state folder inside tmp_path."""
    return isolate_project_env(tmp_path, monkeypatch)


@pytest.fixture
def without_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH with no npm on it (the check itself needs no other program)."""
    empty = tmp_path / "bin-without-npm"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def aim(project: Path, registry: RegistryFixture) -> Path:
    (project / ".npmrc").write_text(f"registry={registry.url}\n", encoding="utf-8")
    return project


def plan_state(env: Path, registry: RegistryFixture) -> Path:
    """examples/ccplate-app: next 16.1.4 and @sentry/nextjs 8.55.0 locked."""
    project = env / "plan"
    shutil.copytree(EXAMPLE, project)
    (project / ".env.local").unlink()
    return aim(project, registry)


def package_json_only(env: Path, registry: RegistryFixture, deps: dict[str, str]) -> Path:
    """package.json alone (and the .npmrc aiming at the registry): no lockfile, no
    node_modules, no app code yet."""
    project = env / "declared"
    project.mkdir(parents=True)
    manifest = {"name": "declared", "private": True, "dependencies": deps}
    (project / "package.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return aim(project, registry)


def check(capsys: pytest.CaptureFixture[str], project: Path, *extra: str) -> tuple[int, dict]:
    code = main(["sentry", "check", "--project", str(project), "--json", *extra])
    out, _ = capsys.readouterr()
    return code, json.loads(out)


def npm_accepts(project: Path, command: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run `command` as npm itself would, dry, in a copy of the project's package files."""
    copy = home / f"npm-copy-{time.monotonic_ns()}"
    copy.mkdir(parents=True)
    for name in ("package.json", "package-lock.json", ".npmrc"):
        if (project / name).is_file():
            shutil.copyfile(project / name, copy / name)
    assert NPM is not None
    argv = [NPM, *command.split()[1:], "--dry-run", "--ignore-scripts", "--no-audit", "--no-fund"]
    return subprocess.run(argv, cwd=copy, capture_output=True, text=True, timeout=120)


# --- item 3: the proposal is one npm accepts ----------------------------------------------------


@needs_npm
def test_plan_state_proposes_a_command_npm_accepts(env, registry, capsys) -> None:
    project = plan_state(env, registry)
    code, report = check(capsys, project)
    assert (code, report["verdict"]) == (3, "upgrade")
    assert report["latest_supporting"] == "11.8.0"  # still the newest that declares support
    assert report["install_command"] == "npm install @sentry/nextjs@11.5.0"
    proof = report["install_proof"]
    assert (proof["ok"], proof["method"], proof["command"]) == (
        True,
        "npm",
        report["install_command"],
    )
    assert [s["version"] for s in report["skipped"]] == SKIPPED
    newest = report["skipped"][0]["proof"]
    assert (newest["method"], newest["code"]) == ("npm", "ETARGET")
    assert newest["reason"] == "ETARGET No matching version found for @sentry/cloudflare@11.8.0"
    # 11.7.0 and 11.6.0 were ruled out from @sentry/cloudflare's packument, without a dry-run.
    assert [s["proof"]["method"] for s in report["skipped"][1:]] == ["packuments", "packuments"]
    assert len(report["dry_runs"]) == 2 and all(r["seconds"] < 60 for r in report["dry_runs"])

    # And npm itself, asked independently, agrees on both.
    home = env / "home"
    assert npm_accepts(project, report["install_command"], home).returncode == 0
    refused = npm_accepts(project, "npm install @sentry/nextjs@11.8.0", home)
    assert refused.returncode != 0 and "ETARGET" in refused.stderr


@needs_npm
def test_the_text_report_says_why_the_newer_ones_were_skipped(env, registry, capsys) -> None:
    project = plan_state(env, registry)
    assert main(["sentry", "check", "--project", str(project)]) == 3
    out = capsys.readouterr().out
    assert "Next command: npm install @sentry/nextjs@11.5.0" in out
    assert (
        "Skipped 11.8.0, 11.7.0 and 11.6.0, newer and supporting Next.js 16.1.4: npm cannot "
        "install them from this registry (ETARGET No matching version found for "
        "@sentry/cloudflare@11.8.0, found by `npm install --dry-run`)"
    ) in out
    assert "(proven: `npm install --dry-run` accepts it)" in out
    assert "npm dry-runs this check: 2 (" in out


def test_without_npm_the_dependency_ranges_are_resolved(env, registry, capsys, without_npm):
    project = plan_state(env, registry)
    code, report = check(capsys, project)
    assert (code, report["install_command"]) == (3, "npm install @sentry/nextjs@11.5.0")
    assert report["install_proof"]["method"] == "packuments"
    assert report["install_proof"]["ok"] is True
    assert [s["version"] for s in report["skipped"]] == SKIPPED
    reason = report["skipped"][0]["proof"]["reason"]
    assert reason == "ETARGET No matching version found for @sentry/cloudflare@11.8.0"
    assert report["dry_runs"] == []


@needs_npm
def test_the_proof_is_cached_like_the_packument(env, registry, capsys) -> None:
    project = plan_state(env, registry)
    first = check(capsys, project)[1]
    assert len(first["dry_runs"]) == 2
    again = check(capsys, project)[1]
    assert again["install_command"] == first["install_command"]
    assert again["dry_runs"] == [] and again["install_proof"]["cached"] is True
    offline = check(capsys, project, "--offline")[1]
    assert offline["source"] == "cache" and offline["install_proof"]["cached"] is True
    assert offline["install_command"] == "npm install @sentry/nextjs@11.5.0"
    # Other package files, another proof: the cached one no longer applies.
    (project / "package.json").write_text(
        (project / "package.json").read_text().replace('"^19.2.3"', '"^19.2.4"', 1)
    )
    changed = check(capsys, project)[1]
    assert changed["dry_runs"] and changed["install_proof"]["cached"] is False


# --- item 4: one reading of ranges --------------------------------------------------------------


@pytest.mark.parametrize("npm_on_path", [True, False])
def test_package_json_only_is_supported_with_exit_0(
    env, registry, capsys, monkeypatch, npm_on_path
) -> None:
    if npm_on_path and NPM is None:
        pytest.skip("npm is not on the PATH")
    if not npm_on_path:
        monkeypatch.setenv("PATH", str(env / "no-npm"))
    deps = {"next": "^16.1.0", "@sentry/nextjs": "^10.0.0"}
    project = package_json_only(env, registry, deps)
    code, report = check(capsys, project)
    assert (code, report["verdict"]) == (0, "supported")
    assert (report["next_version"], report["next_planned"]) == ("16.4.6", True)
    assert report["installed"]["next"]["version"] is None  # read, not installed
    assert (report["sentry_version"], report["sentry_planned"]) == (None, "10.78.0")
    assert report["headline"] == (
        "Sentry supports Next.js 16.4.6: @sentry/nextjs ^10.0.0 (package.json) resolves to "
        "10.78.0, which declares it; not installed yet: npm install"
    )
    assert report["install_command"] == report["next_command"] == "npm install"
    assert report["install_proof"]["ok"] is True
    assert report["install_proof"]["method"] == ("npm" if npm_on_path else "packuments")
    assert report["next_version_note"] == (
        "next is not installed yet: `npm install` would install 16.4.6, the latest for "
        "^16.1.0 (package.json)"
    )
    # No app code yet: nothing to wire, so the wiring does not cap the verdict.
    assert report["wiring"]["verdict_cap"] is None
    assert any("no app code yet" in note for note in report["wiring"]["notes"])


@pytest.mark.parametrize("npm_on_path", [True, False])
def test_the_declared_version_is_never_proposed(
    env, registry, capsys, monkeypatch, npm_on_path
) -> None:
    if npm_on_path and NPM is None:
        pytest.skip("npm is not on the PATH")
    if not npm_on_path:
        monkeypatch.setenv("PATH", str(env / "no-npm"))
    deps = {
        "next": "14.2.35",
        "@sentry/nextjs": "11.8.0",
        "react": "^18.2.0",
        "react-dom": "^18.2.0",
    }
    project = package_json_only(env, registry, deps)
    code, report = check(capsys, project)
    assert (code, report["verdict"]) == (3, "upgrade")
    assert (report["next_version"], report["sentry_planned"]) == ("14.2.35", "11.8.0")
    assert report["install_command"] == "npm install @sentry/nextjs@11.5.0"
    assert "11.8.0" not in report["next_command"]
    assert [s["version"] for s in report["skipped"]] == SKIPPED
    declared = report["skipped"][0]["proof"]
    assert declared["command"] == "npm install"  # the project as declared was tried first
    assert "@sentry/cloudflare@11.8.0" in declared["reason"]
    assert (
        "package.json declares 11.8.0, which npm cannot install from this registry"
        in (report["headline"])
    )
    if npm_on_path:
        assert npm_accepts(project, report["install_command"], env / "home").returncode == 0


# --- item 5: Node -------------------------------------------------------------------------------


def test_a_node_below_what_next_needs_is_said_first(env, registry, capsys, without_npm):
    project = plan_state(env, registry)
    (project / ".nvmrc").write_text("18.20.0\n")
    code, report = check(capsys, project)
    assert code == 3
    first = (
        "next 16.1.4 needs Node >=20.9.0; this project pins Node 18.20.0 (.nvmrc): upgrade "
        "Node first, to 20.19.0 or later (@sentry/nextjs 11.5.0 needs Node "
        ">=20.19.0 <22.0.0 || >=22.12.0 <23.0.0 || >=23.2.0)"
    )
    assert report["advice"][0] == f"Node: {first}"
    assert report["engines_conflict"] == first
    assert report["headline"].startswith("Upgrade Node first (next 16.1.4 needs Node >=20.9.0;")
    # Not "10.78.0 for Node 18": Node 18 cannot run next 16 at all.
    assert report["recommended"] == "11.5.0"
    assert report["next_engines_node"] == ">=20.9.0"


def test_engines_range_below_next_is_said_first_too(env, registry, capsys, without_npm):
    project = plan_state(env, registry)
    (project / ".nvmrc").unlink()
    manifest = json.loads((project / "package.json").read_text())
    manifest["engines"] = {"node": ">=18"}
    (project / "package.json").write_text(json.dumps(manifest))
    report = check(capsys, project)[1]
    assert report["advice"][0].startswith(
        "Node: next 16.1.4 needs Node >=20.9.0; this project allows Node >=18 "
        "(package.json engines.node), i.e. from 18.0.0: upgrade Node first"
    )


# --- item 7: --json errors are JSON too ---------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "exit_code", "words"),
    [
        (["check", "--project", "/nonexistent/app"], 2, "no such directory"),
        (["check", "--project", ".", "--timeout", "0"], 2, "--timeout"),
        (["verify", "--dsn", "not a dsn"], 2, "https://"),
        (["verify"], 2, "no DSN"),
    ],
)
def test_json_errors_are_a_json_object_on_stdout(env, capsys, argv, exit_code, words) -> None:
    code = main(["sentry", *argv, "--json"])
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert code == exit_code == document["exit"]
    assert set(document) == {"error", "exit"} and words in document["error"]
    assert words in err  # the human-readable line stays on stderr


def test_json_error_when_no_source_answers(env, registry, capsys) -> None:
    project = plan_state(env, registry)
    (project / "package-lock.json").unlink()
    (project / ".npmrc").write_text(f"registry=http://127.0.0.1:{free_port()}/\n")
    code = main(["sentry", "check", "--project", str(project), "--json", "--timeout", "5"])
    document = json.loads(capsys.readouterr().out)
    assert code == document["exit"] == 1 and "registry" in document["error"]


def test_json_error_for_a_bad_config_file(env, capsys) -> None:
    config = env / "work" / "scenarios.toml"
    config.write_text('[sentry]\nprojekt = "x"\n')
    code = main(["sentry", "check", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == document["exit"] == 2 and "scenarios.toml" in document["error"]


# --- the prover's bounds ------------------------------------------------------------------------


def _registry_packument(registry: RegistryFixture) -> Packument:
    return fetch_packument(PACKAGE, RegistrySource(registry.url, "test"), timeout=10)


def _fake_npm(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "npm"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return folder


def test_a_hanging_npm_is_timed_out_and_its_group_ended(env, registry) -> None:
    project = plan_state(env, registry)
    pids = env / "pids"
    # npm and a child of its own; both must be gone after the timeout.
    fake = _fake_npm(env / "fake", f"sleep 60 & echo $! >> {pids}\necho $$ >> {pids}\nwait\n")
    env_vars = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    packument = _registry_packument(registry)
    prover = InstallProver(
        project, packument, env / "cache", env=env_vars, dry_run_timeout=1.5, max_dry_runs=2
    )
    info = next(v for v in packument.versions if v.version == "11.5.0")
    started = time.monotonic()
    proof = prover.prove(info)
    assert time.monotonic() - started < 10
    assert (proof.ok, proof.code) == (None, "timeout")
    assert proof.reason == "npm did not finish within 1.5 s"
    time.sleep(0.2)
    assert not [pid for pid in pids.read_text().split() if _running(int(pid))]


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's reaper may be slow to collect it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_dry_runs_are_bounded(env, registry) -> None:
    project = plan_state(env, registry)
    calls = env / "calls"
    answer = env / "eresolve.json"
    detail = 'Could not resolve dependency:\npeer react@"^20" from @sentry/nextjs@11.5.0'
    error = {"code": "ERESOLVE", "summary": "unable to resolve dependency tree", "detail": detail}
    answer.write_text(json.dumps({"error": error}))
    fake = _fake_npm(env / "fake", f"echo run >> {calls}\ncat {answer}\nexit 1\n")
    env_vars = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    packument = _registry_packument(registry)
    prover = InstallProver(project, packument, env / "cache", env=env_vars, max_dry_runs=3)
    candidates = [v for v in reversed(packument.versions) if v.version.startswith("10.7")]
    proofs = [prover.prove(v) for v in candidates]
    assert len(calls.read_text().split()) == 3 == len(prover.dry_runs)
    assert [p.ok for p in proofs[:3]] == [False] * 3
    assert proofs[0].reason.startswith("ERESOLVE unable to resolve dependency tree (peer react@")
    assert all(p.ok is None and "already ran 3 npm dry-runs" in p.reason for p in proofs[3:])


def test_npm_failures_are_read_from_json_or_stderr() -> None:
    etarget = parse_npm_failure(
        '{"error": {"code": "ETARGET", "summary": "No matching version found for '
        '@sentry/cloudflare@11.8.0.", "detail": "In most cases you or one of your dependencies '
        "are requesting a package version that doesn't exist.\"}}",
        "",
    )
    assert (etarget.code, etarget.missing) == ("ETARGET", ("@sentry/cloudflare",))
    assert etarget.reason == "ETARGET No matching version found for @sentry/cloudflare@11.8.0"
    stderr = (
        "npm error code E404\nnpm error 404 Not Found - GET http://127.0.0.1:9/@sentry%2fnope\n"
        "npm error 404  '@sentry/nope@11.8.0' is not in this registry.\n"
        "npm error A complete log of this run can be found in: /x.log\n"
    )
    e404 = parse_npm_failure("", stderr)
    assert (e404.code, e404.missing) == ("E404", ("@sentry/nope",))
    assert "@sentry/nope" in e404.names


# --- the demo registry and npm's pick -----------------------------------------------------------


def test_every_demo_dependency_resolves_except_the_cloudflare_gap() -> None:
    served: dict[str, Packument] = {}
    for name in package_names():
        document = json.loads(document_json(name, abbreviated=True) or b"null")
        latest, versions = parse_packument(document, name)
        served[name] = Packument(name, latest, versions, "registry", None, None, "")
    unresolved: set[str] = set()
    for name, packument in sorted(served.items()):
        for info in packument.versions:
            for dep, spec in info.dependencies:
                assert dep in served, f"{name}@{info.version} needs {dep}, not served"
                if npm_pick(spec, served[dep]) is None:
                    unresolved.add(f"{name}@{info.version} -> {dep}@{spec}")
    assert unresolved == {
        f"@sentry/nextjs@{v} -> @sentry/cloudflare@{v}" for v in ("11.6.0", "11.7.0", "11.8.0")
    }


def _packument(*infos: VersionInfo, latest: str) -> Packument:
    return Packument("x", latest, infos, "registry", None, None, "")


def test_npm_pick_prefers_latest_then_the_highest_live_match() -> None:
    v = [VersionInfo(x, None, None, None) for x in ("1.0.0", "1.2.0", "1.3.0-beta.1", "2.0.0")]
    dep = VersionInfo("1.4.0", None, None, "broken")
    assert npm_pick("^1.0.0", _packument(*v, latest="1.0.0")) == "1.0.0"  # latest wins
    assert npm_pick("^1.0.0", _packument(*v, dep, latest="2.0.0")) == "1.2.0"  # not deprecated
    assert npm_pick("^1.3.0-0", _packument(*v, latest="2.0.0")) == "1.3.0-beta.1"
    assert npm_pick("1.2.0", _packument(*v, latest="2.0.0")) == "1.2.0"
    assert npm_pick("1.1.0", _packument(*v, latest="2.0.0")) is None  # ETARGET
    assert npm_pick("latest", _packument(*v, latest="2.0.0")) == "2.0.0"
    assert npm_pick("^3", _packument(*v, latest="2.0.0")) is None
