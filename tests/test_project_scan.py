"""The project scan reads real project folders: versions, Node, TODOs and the Sentry wiring."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ccplate_tui.sentry.project_scan import (
    SENTRY_ENV_KEYS,
    InstalledPackage,
    ProjectError,
    ProjectScan,
    TodoMarker,
    scan_project,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ccplate-app"
SENTRY_PEER_8 = "^13.2.0 || ^14.0 || ^15.0.0-rc.0"
SENTRY_PEER_10 = "^13.2.0 || ^14.0 || ^15.0.0-rc.0 || ^16.0.0-0"
TODO = "// TODO: Re-enable when @sentry/nextjs supports Next.js 16"


def _write(root: Path, relpath: str, content: str | dict[str, Any]) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(content, indent=2) if isinstance(content, dict) else content
    path.write_text(text, encoding="utf-8")
    return path


def _project(
    tmp_path: Path,
    *,
    dependencies: dict[str, str] | None = None,
    dev: dict[str, str] | None = None,
    scripts: dict[str, str] | None = None,
    engines_node: str | None = None,
) -> Path:
    root = tmp_path / "app"
    manifest: dict[str, Any] = {
        "name": "ccplate",
        "version": "0.1.0",
        "dependencies": dependencies
        if dependencies is not None
        else {"next": "^16.1.4", "@sentry/nextjs": "^10.20.0"},
    }
    if dev is not None:
        manifest["devDependencies"] = dev
    if scripts is not None:
        manifest["scripts"] = scripts
    if engines_node is not None:
        manifest["engines"] = {"node": engines_node}
    _write(root, "package.json", manifest)
    return root


def _lock_v3(next_version: str = "16.1.4", sentry_version: str | None = "10.20.0") -> dict:
    packages: dict[str, Any] = {
        "": {"name": "ccplate", "dependencies": {"next": "^16.1.4"}},
        "node_modules/next": {"version": next_version, "engines": {"node": ">=20.9.0"}},
    }
    if sentry_version:
        packages["node_modules/@sentry/nextjs"] = {
            "version": sentry_version,
            "peerDependencies": {"next": SENTRY_PEER_10},
            "engines": {"node": ">=18"},
        }
    return {"name": "ccplate", "lockfileVersion": 3, "requires": True, "packages": packages}


# --- versions -------------------------------------------------------------------------------


def test_the_lockfile_is_the_first_source_and_a_disagreeing_node_modules_is_stale(
    tmp_path: Path,
) -> None:
    """What npm would install: the lockfile pins it; node_modules is only what ran last."""
    root = _project(tmp_path)
    _write(root, "package-lock.json", _lock_v3("16.1.0", "10.19.0"))
    _write(root, "node_modules/next/package.json", {"name": "next", "version": "16.1.4"})
    _write(
        root,
        "node_modules/@sentry/nextjs/package.json",
        {"name": "@sentry/nextjs", "version": "10.19.0", "peerDependencies": {"next": "*"}},
    )
    scan = scan_project(root)
    assert (scan.next.version, scan.next.source) == ("16.1.0", "package-lock")
    assert (scan.sentry.version, scan.sentry.source) == ("10.19.0", "package-lock")
    assert scan.sentry.peer_next == SENTRY_PEER_10, "the lockfile's entry is read, not node_modules"
    assert scan.warnings == (
        "node_modules/next/package.json has next 16.1.4 but package-lock.json pins 16.1.0: "
        "node_modules is stale (npm install brings it in line); reading the lockfile",
    )


def test_node_modules_when_there_is_no_lockfile(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write(root, "node_modules/next/package.json", {"name": "next", "version": "16.1.4"})
    _write(
        root,
        "node_modules/@sentry/nextjs/package.json",
        {
            "name": "@sentry/nextjs",
            "version": "10.78.0",
            "peerDependencies": {"next": SENTRY_PEER_10},
            "engines": {"node": ">=18"},
        },
    )
    scan = scan_project(root)
    assert scan.next == InstalledPackage(
        "next", "16.1.4", "^16.1.4", "node_modules", "node_modules/next/package.json"
    )
    assert scan.sentry == InstalledPackage(
        "@sentry/nextjs",
        "10.78.0",
        "^10.20.0",
        "node_modules",
        "node_modules/@sentry/nextjs/package.json",
        peer_next=SENTRY_PEER_10,
        engines_node=">=18",
    )
    assert scan.warnings == ()


def test_package_lock_v3_when_nothing_is_installed(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write(root, "package-lock.json", _lock_v3())
    scan = scan_project(str(root))
    assert scan.root == root.resolve()
    assert (scan.next.version, scan.next.source, scan.next.source_path) == (
        "16.1.4",
        "package-lock",
        "package-lock.json",
    )
    assert scan.sentry.version == "10.20.0" and scan.sentry.source == "package-lock"
    assert (scan.sentry.peer_next, scan.sentry.engines_node) == (SENTRY_PEER_10, ">=18")


def test_lockfile_v2_and_shrinkwrap_precedence(tmp_path: Path) -> None:
    root = _project(tmp_path)
    lock = _lock_v3("16.0.0", "10.20.0")
    lock["lockfileVersion"] = 2
    lock["dependencies"] = {"next": {"version": "15.0.0"}}  # v2 also carries the v1 view
    _write(root, "package-lock.json", lock)
    scan = scan_project(root)
    assert scan.next.version == "16.0.0", "v2's packages section wins over its dependencies"
    _write(root, "npm-shrinkwrap.json", _lock_v3("16.1.4", "11.8.0"))
    scan = scan_project(root)
    assert (scan.next.version, scan.next.source_path) == ("16.1.4", "npm-shrinkwrap.json")
    assert scan.sentry.version == "11.8.0"


def test_lockfile_v1(tmp_path: Path) -> None:
    root = _project(tmp_path, dependencies={"next": "^13.5.0", "@sentry/nextjs": "^7.120.0"})
    _write(
        root,
        "package-lock.json",
        {
            "lockfileVersion": 1,
            "dependencies": {
                "next": {"version": "13.5.11", "integrity": "sha512-x"},
                "@sentry/nextjs": {"version": "7.120.4", "requires": {"@sentry/core": "7.120.4"}},
            },
        },
    )
    scan = scan_project(root)
    assert (scan.next.version, scan.next.source) == ("13.5.11", "package-lock")
    assert (scan.sentry.version, scan.sentry.source) == ("7.120.4", "package-lock")
    assert scan.sentry.peer_next is None, "a v1 lockfile does not record peers"


def test_package_json_range_only_and_sentry_missing(tmp_path: Path) -> None:
    root = _project(tmp_path, dependencies={"react": "^19.0.0"}, dev={"next": "~16.1.0"})
    scan = scan_project(root)
    assert scan.next == InstalledPackage("next", None, "~16.1.0", "package.json", "package.json")
    assert scan.sentry == InstalledPackage("@sentry/nextjs", None, None, "missing", "")


def test_dependencies_win_over_dev_dependencies(tmp_path: Path) -> None:
    root = _project(tmp_path, dependencies={"next": "16.1.4"}, dev={"next": "^15.0.0"})
    assert scan_project(root).next.declared == "16.1.4"


def test_a_lockfile_entry_without_a_version_or_a_workspace_link_falls_through(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path)
    lock = _lock_v3()
    lock["packages"]["node_modules/next"] = {"resolved": "packages/next", "link": True}
    del lock["packages"]["node_modules/@sentry/nextjs"]["version"]
    _write(root, "package-lock.json", lock)
    scan = scan_project(root)
    assert (scan.next.source, scan.next.version) == ("package.json", None)
    assert (scan.sentry.source, scan.sentry.declared) == ("package.json", "^10.20.0")


def test_a_corrupt_lockfile_falls_through_with_a_warning(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write(root, "package-lock.json", '{\n  "lockfileVersion": 3,\n  "packages": {,\n')
    scan = scan_project(root)
    assert scan.next.source == "package.json" and scan.next.declared == "^16.1.4"
    assert len(scan.warnings) == 1
    assert "package-lock.json: invalid JSON at line 3, column 16" in scan.warnings[0]


def test_a_corrupt_node_modules_manifest_falls_through_to_the_lockfile(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write(root, "package-lock.json", _lock_v3())
    _write(root, "node_modules/next/package.json", '{"name": "next", "version": ')
    _write(root, "node_modules/@sentry/nextjs/package.json", {"name": "@sentry/nextjs"})
    scan = scan_project(root)
    assert (scan.next.version, scan.next.source) == ("16.1.4", "package-lock")
    assert (scan.sentry.version, scan.sentry.source) == ("10.20.0", "package-lock")
    assert any("node_modules/next/package.json: invalid JSON at line 1" in w for w in scan.warnings)
    assert any("@sentry/nextjs/package.json: has no version" in w for w in scan.warnings)


def test_a_lockfile_of_another_package_manager_is_named(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write(root, "pnpm-lock.yaml", "lockfileVersion: '9.0'\n")
    scan = scan_project(root)
    assert scan.next.source == "package.json"
    assert scan.warnings and "pnpm-lock.yaml is not read" in scan.warnings[0]


# --- what is not a Next.js project ------------------------------------------------------------


def test_corrupt_package_json_names_file_line_and_column(tmp_path: Path) -> None:
    root = tmp_path / "app"
    _write(root, "package.json", '{\n  "name": "ccplate",\n  "dependencies": {\n    "next" "16"\n')
    with pytest.raises(ProjectError) as caught:
        scan_project(root)
    message = str(caught.value)
    assert str(root / "package.json") in message
    assert "line 4, column 12" in message and "Expecting ':' delimiter" in message


def test_package_json_that_is_not_an_object_or_not_utf8(tmp_path: Path) -> None:
    root = tmp_path / "app"
    _write(root, "package.json", "[1, 2]")
    with pytest.raises(ProjectError, match="expected a JSON object, found list"):
        scan_project(root)
    (root / "package.json").write_bytes(b'{"name": "\xff"}')
    with pytest.raises(ProjectError, match="not UTF-8"):
        scan_project(root)
    _write(root, "package.json", {"dependencies": ["next"]})
    with pytest.raises(ProjectError, match="dependencies must be an object"):
        scan_project(root)


def test_missing_package_json(tmp_path: Path) -> None:
    with pytest.raises(ProjectError) as caught:
        scan_project(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path.resolve() / 'package.json'}: no such file; expected a Next.js project folder"
    )


def test_path_that_is_not_a_directory(tmp_path: Path) -> None:
    file = _write(tmp_path, "package.json", {"dependencies": {"next": "16.1.4"}})
    with pytest.raises(ProjectError, match=r"not a directory; expected a Next\.js project folder"):
        scan_project(file)
    with pytest.raises(ProjectError, match="no such directory"):
        scan_project(tmp_path / "nowhere")


def test_package_json_without_next(tmp_path: Path) -> None:
    root = _project(tmp_path, dependencies={"react": "^19.0.0"}, dev={"vite": "^6.0.0"})
    with pytest.raises(ProjectError, match=r"not a Next\.js project: package\.json has no next in"):
        scan_project(root)


# --- Node --------------------------------------------------------------------------------------


def test_nvmrc_wins_over_engines_node(tmp_path: Path) -> None:
    root = _project(tmp_path, engines_node=">=20.19.0")
    scan = scan_project(root)
    assert (scan.node_version, scan.node_version_source) == (
        ">=20.19.0",
        "package.json engines.node",
    )
    _write(root, ".node-version", "20.18.0\n")
    assert scan_project(root).node_version_source == ".node-version"
    _write(root, ".nvmrc", "# pinned for CI\n\nv22.12.0\n")
    scan = scan_project(root)
    assert (scan.node_version, scan.node_version_source) == ("22.12.0", ".nvmrc")


def test_no_node_version_anywhere(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write(root, ".nvmrc", "\n# nothing pinned\n")
    scan = scan_project(root)
    assert (scan.node_version, scan.node_version_source) == (None, None)


# --- TODO markers ------------------------------------------------------------------------------


def test_todo_markers_with_lines_in_src_and_root_configs(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write(root, "src/lib/sentry.ts", f'{TODO}\n// import * as Sentry from "@sentry/nextjs";\n')
    _write(
        root,
        "src/instrumentation.ts",
        f"export async function register() {{\n  {TODO}\n}}\n",
    )
    _write(
        root,
        "src/app/x.tsx",
        "export default function X() {\n"
        "  // TODO: tidy this page up later\n"
        "  const todo = 'sentry';\n"
        "  return null; /* FIXME: wrap with Sentry.withErrorBoundary */\n"
        "}\n",
    )
    _write(root, "src/styles/site.css", "/* TODO: sentry banner colours */\n")
    _write(root, "sentry.server.config.ts", "// FIXME(sentry): sample rate\n")
    _write(root, "README.md", "TODO: document Sentry\n")
    # Dependencies and build output are never scanned, even inside src/.
    _write(root, "src/node_modules/pkg/index.js", "// TODO sentry\n")
    _write(root, "src/.next/server/app.js", "// TODO sentry\n")
    _write(root, "node_modules/@sentry/nextjs/build/index.js", "// TODO sentry\n")

    assert scan_project(root).todo_markers == (
        TodoMarker("sentry.server.config.ts", 1, "// FIXME(sentry): sample rate"),
        TodoMarker("src/app/x.tsx", 4, "/* FIXME: wrap with Sentry.withErrorBoundary */"),
        TodoMarker("src/instrumentation.ts", 2, TODO),
        TodoMarker("src/lib/sentry.ts", 1, TODO),
    )


def test_large_and_undecodable_sources_do_not_break_the_scan(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write(root, "src/big.js", f"{TODO}\n" + "x" * 1_100_000)
    (root / "src" / "latin1.ts").write_bytes(b"// TODO sentry caf\xe9\n")
    markers = scan_project(root).todo_markers
    assert [(m.file, m.line) for m in markers] == [("src/latin1.ts", 1)]
    assert markers[0].text.startswith("// TODO sentry caf")


def test_no_src_folder_means_no_markers(tmp_path: Path) -> None:
    assert scan_project(_project(tmp_path)).todo_markers == ()


# --- instrumentation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            f"{TODO}\n// import {{ initSentry }} from '@/lib/sentry';\n"
            "export async function register() {\n  // initSentry();\n}\n",
            False,
        ),
        (
            "export async function register() {\n  /* if (dsn) {\n    initSentry();\n  } */\n}\n",
            False,
        ),
        ("const note = 'call initSentry() here';\nexport async function register() {}\n", False),
        (
            "import { initSentry } from '@/lib/sentry';\n"
            "export async function register() {\n"
            "  if (process.env.NEXT_PUBLIC_SENTRY_DSN) {\n    initSentry();\n  }\n}\n",
            True,
        ),
        (
            "import * as Sentry from '@sentry/nextjs';\n"
            "export function register() { Sentry.init({ dsn: process.env.SENTRY_DSN }); }\n",
            True,
        ),
        (
            "import * as S from '@sentry/nextjs';\nexport function register() { S.init({}); }\n",
            True,
        ),
        ("export function initSentry() {}\nexport async function register() {}\n", False),
    ],
    ids=[
        "line-comments",
        "block-comment",
        "string-is-not-a-call",
        "init-call",
        "sentry-init",
        "namespace",
        "definition-only",
    ],
)
def test_instrumentation_calls_init(tmp_path: Path, source: str, expected: bool) -> None:
    root = _project(tmp_path)
    _write(root, "src/instrumentation.ts", source)
    assert scan_project(root).instrumentation_calls_init is expected


def test_instrumentation_missing_or_at_the_root(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert scan_project(root).instrumentation_calls_init is None
    _write(root, "instrumentation.ts", "export function register() {}\n")
    assert scan_project(root).instrumentation_calls_init is False


def test_instrumentation_importing_the_wizard_server_config(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write(
        root,
        "instrumentation.ts",
        "export async function register() {\n"
        "  if (process.env.NEXT_RUNTIME === 'nodejs') {\n"
        "    await import('./sentry.server.config');\n  }\n}\n",
    )
    config = _write(
        root,
        "sentry.server.config.ts",
        "import * as Sentry from '@sentry/nextjs';\n// Sentry.init({ dsn: 'x' });\n",
    )
    assert scan_project(root).instrumentation_calls_init is False
    config.write_text("import * as Sentry from '@sentry/nextjs';\nSentry.init({ dsn: 'x' });\n")
    assert scan_project(root).instrumentation_calls_init is True


# --- .env.example ------------------------------------------------------------------------------


def test_env_example_all_some_commented_and_missing(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert scan_project(root).env_example is None
    _write(
        root,
        ".env.example",
        "# Sentry Error Monitoring\nSENTRY_DSN=https://your-sentry-dsn-here\n"
        "SENTRY_ORG=your-org\nexport SENTRY_PROJECT = your-project\n"
        "NEXT_PUBLIC_SENTRY_DSN=${SENTRY_DSN}\n",
    )
    assert scan_project(root).env_example == dict.fromkeys(SENTRY_ENV_KEYS, True)
    _write(
        root,
        ".env.example",
        "DATABASE_URL=postgres://localhost/db\nSENTRY_DSN=\n# SENTRY_ORG=your-org\n"
        "  #SENTRY_PROJECT=p\nMY_SENTRY_PROJECT=x\n",
    )
    assert scan_project(root).env_example == {
        "SENTRY_DSN": True,
        "SENTRY_ORG": False,
        "SENTRY_PROJECT": False,
        "NEXT_PUBLIC_SENTRY_DSN": False,
    }


# --- error boundary ----------------------------------------------------------------------------

BOUNDARY_HEAD = '"use client";\nimport { Component } from "react";\n'


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            BOUNDARY_HEAD + 'import { captureError } from "@/lib/sentry";\n'
            "export class B extends Component {\n  componentDidCatch(error, info) {\n"
            '    captureError(error, { component: "ErrorBoundary", errorInfo: info });\n  }\n}\n',
            True,
        ),
        (
            BOUNDARY_HEAD + 'import * as Sentry from "@sentry/nextjs";\n'
            "export class B extends Component {\n"
            "  componentDidCatch(error) { Sentry.captureException(error); }\n}\n",
            True,
        ),
        (
            BOUNDARY_HEAD
            + "export class B extends Component {\n  componentDidCatch(error, info) {\n"
            "    // TODO: report to Sentry\n    // captureError(error);\n"
            '    console.error("ErrorBoundary", error, info);\n  }\n}\n',
            False,
        ),
        (
            BOUNDARY_HEAD + "function captureError(e) { console.error(e); }\n"
            "export class B extends Component {\n"
            "  componentDidCatch(error) { captureError(error); }\n}\n",
            False,
        ),
        (
            BOUNDARY_HEAD + '// import { captureError } from "@/lib/sentry";\n'
            "export class B extends Component {\n"
            "  componentDidCatch(error) { captureError(error); }\n}\n",
            False,
        ),
    ],
    ids=["captureError", "captureException", "console-only", "local-helper", "import-commented"],
)
def test_error_boundary_reports(tmp_path: Path, source: str, expected: bool) -> None:
    root = _project(tmp_path)
    _write(root, "src/components/error-boundary.tsx", source)
    assert scan_project(root).error_boundary_reports is expected


def test_error_boundary_missing(tmp_path: Path) -> None:
    assert scan_project(_project(tmp_path)).error_boundary_reports is None


# --- Turbopack and proxy.ts --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("next_range", "scripts", "expected"),
    [
        ("^15.3.0", {"dev": "next dev --turbopack", "build": "next build"}, True),
        ("^15.3.0", {"dev": "next dev --turbo"}, True),
        ("^15.3.0", {"dev": "next dev", "build": "next build"}, False),
        ("^16.1.4", {"dev": "next dev", "build": "next build"}, True),
        ("^16.1.4", {"dev": "next dev --webpack", "build": "next build --webpack"}, False),
        ("^16.1.4", {"dev": "next dev --webpack", "build": "next build"}, True),
        ("^16.1.4", {}, True),
        ("^15.0.0 || ^16.0.0", {"build": "next build"}, False),
        ("latest", {"build": "next build"}, False),
    ],
)
def test_turbopack_detection(
    tmp_path: Path, next_range: str, scripts: dict[str, str], expected: bool
) -> None:
    root = _project(tmp_path, dependencies={"next": next_range}, scripts=scripts)
    assert scan_project(root).turbopack is expected


def test_installed_next_16_decides_turbopack_over_an_older_range(tmp_path: Path) -> None:
    root = _project(tmp_path, dependencies={"next": ">=15"}, scripts={"build": "next build"})
    assert scan_project(root).turbopack is False
    _write(root, "node_modules/next/package.json", {"name": "next", "version": "16.0.0"})
    assert scan_project(root).turbopack is True


@pytest.mark.parametrize("relpath", ["src/proxy.ts", "proxy.ts", "proxy.js"])
def test_proxy_ts(tmp_path: Path, relpath: str) -> None:
    root = _project(tmp_path)
    _write(root, "src/middleware.ts", "export function middleware() {}\n")
    assert scan_project(root).proxy_ts is False
    _write(root, relpath, "export function proxy() {}\n")
    assert scan_project(root).proxy_ts is True


# --- the shipped CCPLATE stand-in --------------------------------------------------------------


def test_the_ccplate_example_is_in_the_plans_state() -> None:
    scan = scan_project(EXAMPLE)
    assert isinstance(scan, ProjectScan) and scan.name == "ccplate"
    assert (scan.next.version, scan.next.declared, scan.next.source) == (
        "16.1.4",
        "16.1.4",
        "package-lock",
    )
    assert scan.sentry == InstalledPackage(
        "@sentry/nextjs",
        "8.55.0",
        "^8.55.0",
        "package-lock",
        "package-lock.json",
        peer_next=SENTRY_PEER_8,
        engines_node=">=14.18",
    )
    assert (scan.node_version, scan.node_version_source) == ("22.12.0", ".nvmrc")
    todo = {(m.file, m.line): m.text for m in scan.todo_markers}
    assert todo[("src/lib/sentry.ts", 1)] == TODO
    assert todo[("src/instrumentation.ts", 1)] == TODO
    assert scan.instrumentation_calls_init is False
    assert scan.env_example == dict.fromkeys(SENTRY_ENV_KEYS, False)
    assert scan.error_boundary_reports is False
    assert scan.turbopack is True and scan.proxy_ts is False
    assert scan.warnings == ()
    assert not (EXAMPLE / "node_modules").exists()


def test_the_ccplate_example_points_only_at_the_local_demo_target() -> None:
    npmrc = (EXAMPLE / ".npmrc").read_text()
    assert "registry=http://127.0.0.1:8787/__npm/" in npmrc.splitlines()
    env = (EXAMPLE / ".env.local").read_text()
    assert "SENTRY_DSN=http://0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d@127.0.0.1:8787/__sentry/1" in env
    lock = json.loads((EXAMPLE / "package-lock.json").read_text())
    assert lock["lockfileVersion"] == 3 and "" in lock["packages"]
    assert set(lock["packages"]) == {
        "",
        "node_modules/next",
        "node_modules/@sentry/nextjs",
        "node_modules/react",
        "node_modules/react-dom",
    }
    # Only the demo target (and placeholders) may appear as hosts: nothing points off-machine.
    hosts = {
        (path.name, match.group(1))
        for path in EXAMPLE.rglob("*")
        if path.is_file()
        for match in re.finditer(r"[a-z]+://(?:[^/\s\"'@]*@)?([^/:\s\"']+)", path.read_text())
    }
    assert {host for _, host in hosts} == {"127.0.0.1", "localhost", "your-deployment.convex.cloud"}
    assert (".npmrc", "127.0.0.1") in hosts and (".env.local", "127.0.0.1") in hosts
