"""Decide whether this app's Next.js is supported by @sentry/nextjs, and what to do about it.

The decision follows the hardening plan's matrix (supported / upgrade / partial / unsupported)
using npm's own peer-range semantics, so the verdict matches what `npm install` would accept.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from functools import cmp_to_key
from typing import Any, Literal

from ccplate_tui.sentry.dsn import mask_dsns
from ccplate_tui.sentry.npm_semver import (
    compare_versions,
    is_prerelease,
    lowest_in_range,
    npm_satisfies,
    parse_version,
)
from ccplate_tui.sentry.packument import Packument, VersionInfo
from ccplate_tui.sentry.project_scan import SENTRY_ENV_KEYS, InstalledPackage, ProjectScan

CompatVerdict = Literal["supported", "upgrade", "partial", "unsupported"]
EXIT_FOR_VERDICT: dict[CompatVerdict, int] = {
    "supported": 0,
    "upgrade": 3,
    "partial": 3,
    "unsupported": 4,
}

VERIFY_COMMAND = "ccplate-tui sentry verify"
# Reference §1.6: the SDK releases that close the Turbopack gaps.
TURBOPACK_SDK_FLOOR = "10.13.0"
TURBOPACK_NEXT_FLOOR = "15.4.1"
PROXY_CAVEAT = (
    "proxy.ts was not instrumented under Turbopack builds in @sentry/nextjs 10.59.0 "
    "(sentry-javascript #21713): confirm proxy captures"
)
FEATURE_FLAG_ADVICE = (
    "Enable Sentry behind feature flags: error capture first; tracing, session replay and "
    "source-map upload later, one at a time, re-running `ccplate-tui sentry verify` after each"
)


@dataclass(frozen=True)
class CompatReport:
    """The compatibility verdict for one project, with every fact it rests on."""

    verdict: CompatVerdict
    headline: str
    scan: ProjectScan
    packument: Packument
    next_version: str | None
    next_version_note: str
    sentry_version: str | None
    installed_supports: bool | None
    first_supporting: str | None
    latest_supporting: str | None
    latest: str | None
    supporting_count: int
    prerelease_supporting: str | None
    recommended: str | None
    install_command: str | None
    engines_conflict: str | None
    deprecated: tuple[str, ...]
    caveats: tuple[str, ...]
    advice: tuple[str, ...]
    next_command: str


@dataclass(frozen=True)
class _Node:
    """The project's Node as far as engines checks go."""

    written: str | None  # as the project writes it
    source: str | None
    check_as: str | None  # the exact version engines are checked against (lowest of a range)
    exact: bool

    def describe(self) -> str:
        where = f" ({self.source})" if self.source else ""
        if self.exact:
            return f"this project pins Node {self.written}{where}"
        return f"this project allows Node {self.written}{where}, i.e. from {self.check_as}"


def _sorted(versions: list[VersionInfo]) -> list[VersionInfo]:
    valid = [v for v in versions if parse_version(v.version)]
    return sorted(valid, key=cmp_to_key(lambda a, b: compare_versions(a.version, b.version)))


def _admits(info: VersionInfo | None, next_version: str) -> bool:
    # A version without a `next` peer declares nothing (6.3.x), so it does not count as support.
    return bool(info and info.peer_next and npm_satisfies(next_version, info.peer_next))


def _engines_ok(info: VersionInfo, node: _Node) -> bool:
    if not info.engines_node or node.check_as is None:
        return True
    return npm_satisfies(node.check_as, info.engines_node)


def _project_node(scan: ProjectScan) -> _Node:
    written = (scan.node_version or "").strip() or None
    if written is None:
        return _Node(None, None, None, False)
    exact = parse_version(written)
    if exact:
        return _Node(written, scan.node_version_source, exact, True)
    return _Node(written, scan.node_version_source, lowest_in_range(written), False)


def _next_version(pkg: InstalledPackage) -> tuple[str | None, str]:
    exact = parse_version(pkg.version) if pkg.version else None
    if exact:
        return exact, ""
    declared = pkg.declared
    where = pkg.source_path or "package.json"
    if declared:
        lowest = lowest_in_range(declared)
        if lowest:
            return lowest, (
                f"next is not installed: using {lowest}, the lowest version {declared} "
                f"({where}) allows"
            )
        return None, (
            f"next is not installed and {where} declares {declared!r}, which names no version "
            "range: run `npm install` and check again"
        )
    return None, "next is not installed and no version of it is declared"


def _pick(
    candidates: list[VersionInfo], node: _Node
) -> tuple[VersionInfo | None, VersionInfo | None]:
    """The newest usable candidate, and the newer one it was chosen over for Node's sake.

    Deprecated versions are only used when nothing else is left; when no candidate runs on the
    project's Node, the newest one is returned with itself as the conflict.
    """
    live = [v for v in candidates if not v.deprecated] or candidates
    if not live:
        return None, None
    newest = live[-1]
    for info in reversed(live):
        if _engines_ok(info, node):
            return info, (None if info is newest else newest)
    return newest, newest


def _install(package: str, version: str | None) -> str | None:
    return f"npm install {package}@{version}" if version else None


def _newer(a: str | None, b: str | None) -> bool:
    return bool(a and b and compare_versions(a, b) > 0)


def _next_major_supported(stable: list[VersionInfo]) -> int | None:
    """The highest Next.js major the newest stable @sentry/nextjs declares."""
    if not stable:
        return None
    peer = stable[-1].peer_next
    if not peer:
        return None
    majors = [m for m in range(0, 100) if npm_satisfies(f"{m}.0.0", peer)]
    return majors[-1] if majors else None


def assess(scan: ProjectScan, packument: Packument) -> CompatReport:
    """Apply the plan's decision matrix to a project scan and the @sentry/nextjs packument."""
    package = packument.name or "@sentry/nextjs"
    registry_known = packument.origin != "node_modules"
    versions = _sorted(list(packument.versions))
    by_version = {v.version: v for v in versions}
    node = _project_node(scan)
    next_version, next_note = _next_version(scan.next)

    sentry_pkg = scan.sentry
    sentry_version = parse_version(sentry_pkg.version) if sentry_pkg.version else None
    installed_info = by_version.get(sentry_version) if sentry_version else None
    if sentry_version and installed_info is None and sentry_pkg.peer_next is not None:
        # The registry may not list a private or unpublished build; its own manifest still says.
        installed_info = VersionInfo(
            sentry_version, sentry_pkg.peer_next, sentry_pkg.engines_node, None
        )

    deprecated: list[str] = []
    caveats: list[str] = []
    advice: list[str] = []
    engines_conflict: str | None = None

    if installed_info and installed_info.deprecated:
        message = f"@sentry/nextjs {sentry_version} (installed) is deprecated: {installed_info.deprecated}"
        deprecated.append(message)

    if next_version is None:
        return _undecidable(scan, packument, next_note, sentry_version, deprecated, node)

    supporting = [v for v in versions if _admits(v, next_version)]
    stable = [v for v in supporting if not is_prerelease(v.version)]
    pre = [v for v in supporting if is_prerelease(v.version)]
    all_stable = [v for v in versions if not is_prerelease(v.version)]
    installed_supports: bool | None = None
    if sentry_version and installed_info is not None:
        installed_supports = _admits(installed_info, next_version)

    first_supporting = stable[0].version if stable and registry_known else None
    latest_supporting = stable[-1].version if stable and registry_known else None
    prerelease_supporting = pre[-1].version if pre and not stable else None
    latest = packument.latest if registry_known else None

    # What to install: the newest stable (else prerelease) support that runs on the project's Node.
    chosen, passed_over = _pick(stable or pre, node)
    if passed_over is not None and node.check_as is not None:
        if chosen is passed_over:
            engines_conflict = (
                f"@sentry/nextjs {chosen.version} needs Node {chosen.engines_node}; "
                f"{node.describe()}, and no version that supports Next.js {next_version} runs on "
                "it: upgrade Node first"
            )
        elif chosen is not None:
            engines_conflict = (
                f"@sentry/nextjs {passed_over.version} needs Node {passed_over.engines_node}; "
                f"{node.describe()}, so {chosen.version} is recommended (move Node into that "
                f"range to use {passed_over.version})"
            )

    if installed_supports:
        assert installed_info is not None and sentry_version is not None
        recommended: str | None = sentry_version
        if chosen is not None and _newer(chosen.version, sentry_version):
            recommended = chosen.version
        elif not _engines_ok(installed_info, node):
            engines_conflict = (
                f"@sentry/nextjs {sentry_version} (installed) needs Node "
                f"{installed_info.engines_node}; {node.describe()}"
            )
            # Declared support for next, but not for the Node it runs on: not a clean pass.
            caveats.append(
                f"the installed @sentry/nextjs {sentry_version} does not declare support for the "
                f"project's Node ({engines_conflict})"
            )
    else:
        recommended = chosen.version if chosen is not None else None
    install_command = (
        _install(package, recommended) if recommended and recommended != sentry_version else None
    )
    recommended_info = by_version.get(recommended) if recommended else None
    if recommended_info and recommended_info.deprecated and recommended != sentry_version:
        deprecated.append(
            f"@sentry/nextjs {recommended} (recommended: nothing newer fits) is deprecated: "
            f"{recommended_info.deprecated}"
        )

    # The partial-support signals (reference §1.6), judged against the SDK the app will run.
    effective = sentry_version if installed_supports else recommended
    if is_prerelease(next_version):
        caveats.append(
            f"next {next_version} is a pre-release: @sentry/nextjs declares support for it only "
            "through its range's pre-release floor; re-verify after every next upgrade"
        )
    if scan.turbopack and compare_versions(next_version, TURBOPACK_NEXT_FLOOR) < 0:
        caveats.append(
            f"Turbopack builds with next {next_version}: full Sentry support needs next "
            f">= {TURBOPACK_NEXT_FLOOR} (the afterProductionCompile hook); the SDK warns on older"
        )
    if scan.turbopack and effective and compare_versions(effective, TURBOPACK_SDK_FLOOR) < 0:
        caveats.append(
            f"Turbopack production builds are supported from @sentry/nextjs {TURBOPACK_SDK_FLOOR}; "
            f"{effective} is older"
        )
    if scan.proxy_ts and scan.turbopack:
        caveats.append(PROXY_CAVEAT)
    if installed_info and installed_info.deprecated:
        caveats.append(f"the installed @sentry/nextjs {sentry_version} is deprecated")
    upgrade_fixes_caveat = bool(installed_info and installed_info.deprecated) or bool(
        scan.turbopack
        and sentry_version
        and compare_versions(sentry_version, TURBOPACK_SDK_FLOOR) < 0
        and recommended
        and compare_versions(recommended, TURBOPACK_SDK_FLOOR) >= 0
    )

    verdict: CompatVerdict
    nv = f"Next.js {next_version}"
    if not registry_known and not installed_supports:
        verdict = "upgrade"
        recommended = None
        install_command = None
        first_supporting = latest_supporting = prerelease_supporting = None
        what = (
            f"@sentry/nextjs {sentry_version} (installed) does not declare support for {nv}"
            if installed_supports is False
            else f"whether the installed @sentry/nextjs supports {nv} is unknown"
        )
        headline = (
            f"{what}; the registry was not consulted, so which version does is unknown: "
            "check again with the registry reachable"
        )
        next_command = _recheck_command(scan)
        advice.append(
            f"Run `{next_command}` with the npm registry reachable to find the version to "
            f"install ({packument.note or 'only the installed manifest was read'})"
        )
    elif not stable and not pre:
        verdict = "unsupported"
        recommended = install_command = None
        newest = all_stable[-1] if all_stable else None
        major = _next_major_supported(all_stable)
        declared = (
            f" (newest {newest.version} declares next {newest.peer_next})"
            if newest is not None and newest.peer_next
            else ""
        )
        headline = (
            f"No @sentry/nextjs version declares support for {nv}{declared}: "
            "use one of the plan's alternatives"
        )
        pin = f"npm install next@^{major}" if major is not None else None
        if pin:
            advice.append(
                f"Stay on or pin a supported Next.js: `{pin}` (a stable Next.js {major} release, "
                f"which @sentry/nextjs {newest.version if newest else ''} declares), then check again"
            )
        else:
            advice.append(
                "Stay on or pin a Next.js release that @sentry/nextjs declares support for"
            )
        advice += [
            "Or wire Sentry without the Next.js SDK: @sentry/node in src/instrumentation.ts for the "
            "server and @sentry/react (or @sentry/browser) in the client, with captureException "
            "in the error boundary",
            "Or use another error monitor, as the plan lists: LogRocket, Datadog, or custom Winston "
            "logging",
            "Risk, only as an explicit, flagged decision: `npm install @sentry/nextjs "
            "--legacy-peer-deps` forces a combination Sentry does not declare; re-verify captures "
            "after every deploy",
        ]
        next_command = pin or _recheck_command(scan)
    elif not stable:
        verdict = "partial"
        headline = (
            f"Only a pre-release of @sentry/nextjs ({prerelease_supporting}) declares support for "
            f"{nv}: partial support"
            + (", install it behind feature flags" if install_command else ", already installed")
        )
        caveats.insert(
            0,
            f"only the pre-release {prerelease_supporting} declares support for {nv}; no stable "
            "@sentry/nextjs does yet",
        )
        if install_command:
            advice.append(f"Install the pre-release, flagged as such: `{install_command}`")
        advice.append(FEATURE_FLAG_ADVICE)
        advice.append("Check again when a stable @sentry/nextjs declares support and move to it")
        next_command = install_command or VERIFY_COMMAND
    elif installed_supports:
        verdict = "supported" if not caveats else "partial"
        newest_note = (
            f"; {latest_supporting} is the newest"
            if _newer(latest_supporting, sentry_version)
            else ""
        )
        if verdict == "supported":
            headline = (
                f"Sentry supports {nv}: @sentry/nextjs {sentry_version} (installed) declares it"
                f"{newest_note}"
            )
        else:
            count = len(caveats)
            headline = (
                f"Sentry supports {nv} with @sentry/nextjs {sentry_version} (installed), with "
                f"{count} caveat{'s' if count != 1 else ''}: enable it behind feature flags"
            )
        if install_command:
            if upgrade_fixes_caveat:
                advice.append(f"Upgrade: `{install_command}`")
            else:
                advice.append(
                    f"Optional: `{install_command}` ({recommended} also supports {nv}; "
                    f"{sentry_version} already does)"
                )
        if verdict == "partial":
            advice.append(FEATURE_FLAG_ADVICE)
        next_command = (
            install_command if install_command and upgrade_fixes_caveat else VERIFY_COMMAND
        )
    else:
        verdict = "upgrade"
        have = (
            f"this app has {sentry_version}"
            if sentry_version
            else "this app does not have it installed"
        )
        verb = "upgrade to" if sentry_version else "install"
        headline = (
            f"Sentry supports {nv} from @sentry/nextjs {first_supporting}; {have}: "
            f"{verb} {recommended}"
        )
        if install_command:
            advice.append(f"Install a version that supports {nv}: `{install_command}`")
        if sentry_version is None and sentry_pkg.declared:
            advice.append(_declared_note(package, sentry_pkg, versions, packument, next_version))
        if sentry_version and installed_supports is None:
            advice.append(
                f"The installed @sentry/nextjs {sentry_version} is not in the registry's list and "
                f"its manifest ({sentry_pkg.source_path or sentry_pkg.source}) names no next peer "
                "range, so its support is unknown"
            )
        if caveats:
            advice.append(FEATURE_FLAG_ADVICE)
        next_command = install_command or VERIFY_COMMAND

    if engines_conflict:
        advice.insert(0, f"Node: {engines_conflict}")
    elif node.check_as is None and recommended and registry_known:
        rec_info = by_version.get(recommended)
        if rec_info and rec_info.engines_node:
            advice.append(
                f"Check Node: @sentry/nextjs {recommended} needs Node {rec_info.engines_node}; "
                "this project pins no Node version (.nvmrc, .node-version or engines.node)"
            )
    if verdict != "unsupported":
        advice += _setup_advice(scan)
    if next_note:
        advice.insert(0, f"next: {next_note}")
    if packument.origin == "cache":
        headline += f" (registry not reached: cached answer of {packument.fetched_at})"
    elif packument.origin == "node_modules" and "registry was not consulted" not in headline:
        headline += " (registry not consulted: only the installed version's peer range was read)"

    return CompatReport(
        verdict=verdict,
        headline=headline,
        scan=scan,
        packument=packument,
        next_version=next_version,
        next_version_note=next_note,
        sentry_version=sentry_version,
        installed_supports=installed_supports,
        first_supporting=first_supporting,
        latest_supporting=latest_supporting,
        latest=latest,
        supporting_count=len(stable),
        prerelease_supporting=prerelease_supporting,
        recommended=recommended,
        install_command=install_command,
        engines_conflict=engines_conflict,
        deprecated=tuple(deprecated),
        caveats=tuple(caveats),
        advice=tuple(advice),
        next_command=next_command,
    )


def _recheck_command(scan: ProjectScan) -> str:
    return f"ccplate-tui sentry check --project {shlex.quote(str(scan.root))}"


def _declared_note(
    package: str,
    pkg: InstalledPackage,
    versions: list[VersionInfo],
    packument: Packument,
    next_version: str,
) -> str:
    """What `npm install` would pick for a declared-but-not-installed range (npm prefers latest)."""
    declared = pkg.declared or ""
    latest = packument.latest
    if latest and npm_satisfies(latest, declared):
        picked: str | None = latest
    else:
        matching = [v.version for v in versions if npm_satisfies(v.version, declared)]
        picked = matching[-1] if matching else None
    if picked is None:
        return f"package.json declares {package} {declared}, which no published version satisfies"
    admits = _admits(next((v for v in versions if v.version == picked), None), next_version)
    return (
        f"package.json declares {package} {declared} but it is not installed; `npm install` "
        f"would pick {picked}, which {'declares' if admits else 'does not declare'} support for "
        f"Next.js {next_version}"
    )


def _undecidable(
    scan: ProjectScan,
    packument: Packument,
    next_note: str,
    sentry_version: str | None,
    deprecated: list[str],
    node: _Node,
) -> CompatReport:
    """No next version to check: support cannot be confirmed, so the verdict is partial."""
    advice = [f"next: {next_note}", *_setup_advice(scan)]
    headline = "Cannot tell which Next.js this app uses, so Sentry support is unconfirmed: " + (
        "install the dependencies and check again"
    )
    return CompatReport(
        verdict="partial",
        headline=headline,
        scan=scan,
        packument=packument,
        next_version=None,
        next_version_note=next_note,
        sentry_version=sentry_version,
        installed_supports=None,
        first_supporting=None,
        latest_supporting=None,
        latest=packument.latest if packument.origin != "node_modules" else None,
        supporting_count=0,
        prerelease_supporting=None,
        recommended=None,
        install_command=None,
        engines_conflict=None,
        deprecated=tuple(deprecated),
        caveats=("the version of next is unknown: " + next_note,),
        advice=tuple(advice),
        next_command="npm install",
    )


def _setup_advice(scan: ProjectScan) -> list[str]:
    """The project edits the plan's task 4.1.2 still needs, in the order to do them."""
    steps: list[str] = []
    if scan.todo_markers:
        where = ", ".join(f"{m.file}:{m.line}" for m in scan.todo_markers)
        steps.append(f"Re-enable Sentry where TODO markers disable it: {where}")
    if scan.instrumentation_calls_init is False:
        steps.append("src/instrumentation.ts does not call initSentry(): call it in register()")
    elif scan.instrumentation_calls_init is None:
        steps.append("Create src/instrumentation.ts whose register() calls initSentry()")
    if scan.env_example is None:
        steps.append(f"Create .env.example with {', '.join(SENTRY_ENV_KEYS)}")
    else:
        missing = [k for k in SENTRY_ENV_KEYS if not scan.env_example.get(k)]
        if missing:
            steps.append(f"Add {', '.join(missing)} to .env.example")
    if scan.error_boundary_reports is False:
        steps.append(
            "src/components/error-boundary.tsx does not report to Sentry: call captureError() "
            "in componentDidCatch"
        )
    steps.append(f"Send a test error and confirm Sentry receives it: `{VERIFY_COMMAND}`")
    return steps


def _package_json(pkg: InstalledPackage) -> dict[str, Any]:
    return {
        "version": pkg.version,
        "declared": pkg.declared,
        "source": pkg.source,
        "source_path": pkg.source_path,
        "peer_next": pkg.peer_next,
        "engines_node": pkg.engines_node,
    }


def report_to_json(report: CompatReport) -> dict[str, Any]:
    """The report as plain JSON data (for `--json` and the state folder), secrets masked."""
    scan = report.scan
    pk = report.packument
    env: dict[str, list[str]] | None = None
    if scan.env_example is not None:
        env = {
            "present": [k for k in SENTRY_ENV_KEYS if scan.env_example.get(k)],
            "missing": [k for k in SENTRY_ENV_KEYS if not scan.env_example.get(k)],
        }
    return {
        "verdict": report.verdict,
        "exit_code": EXIT_FOR_VERDICT[report.verdict],
        "headline": mask_dsns(report.headline),
        "project": {"root": str(scan.root), "name": scan.name},
        "installed": {"next": _package_json(scan.next), "sentry": _package_json(scan.sentry)},
        "next_version": report.next_version,
        "next_version_note": report.next_version_note,
        "sentry_version": report.sentry_version,
        "installed_supports": report.installed_supports,
        "first_supporting": report.first_supporting,
        "latest_supporting": report.latest_supporting,
        "latest": report.latest,
        "supporting_count": report.supporting_count,
        "prerelease_supporting": report.prerelease_supporting,
        "recommended": report.recommended,
        "install_command": report.install_command,
        "engines_conflict": report.engines_conflict,
        "deprecated": list(report.deprecated),
        "caveats": list(report.caveats),
        "advice": [mask_dsns(a) for a in report.advice],
        "next_command": report.next_command,
        "todo_markers": [
            {"file": m.file, "line": m.line, "text": mask_dsns(m.text)} for m in scan.todo_markers
        ],
        "env_example": env,
        "source": pk.origin,
        "registry": {
            "url": mask_dsns(pk.registry_url) if pk.registry_url else None,
            "source": pk.registry_source,
            "fetched_at": pk.fetched_at,
            "note": mask_dsns(pk.note),
        },
        "node": {
            "version": scan.node_version,
            "source": scan.node_version_source,
        },
        "instrumentation_calls_init": scan.instrumentation_calls_init,
        "error_boundary_reports": scan.error_boundary_reports,
        "turbopack": scan.turbopack,
        "proxy_ts": scan.proxy_ts,
        "warnings": [mask_dsns(w) for w in getattr(scan, "warnings", ())],
    }


def _version_rows(report: CompatReport) -> list[tuple[VersionInfo, list[str]]]:
    """The versions worth a row: installed, the support boundary, newest, latest, recommended."""
    versions = _sorted(list(report.packument.versions))
    by_version = {v.version: v for v in versions}
    labels: dict[str, list[str]] = {}

    def mark(version: str | None, label: str) -> None:
        if version and version in by_version:
            labels.setdefault(version, []).append(label)

    mark(report.sentry_version, "installed")
    if report.first_supporting:
        index = next(i for i, v in enumerate(versions) if v.version == report.first_supporting)
        stable_before = [v for v in versions[:index] if not is_prerelease(v.version)]
        if stable_before:
            mark(stable_before[-1].version, "last without support")
        mark(report.first_supporting, "first supporting")
    mark(report.latest_supporting, "newest supporting")
    mark(report.prerelease_supporting, "pre-release supporting")
    mark(report.latest, "latest")
    mark(report.recommended, "recommended")
    rows = [(by_version[v], labels[v]) for v in labels]
    rows = sorted(rows, key=cmp_to_key(lambda a, b: compare_versions(a[0].version, b[0].version)))
    if report.sentry_version and report.sentry_version not in by_version:
        pkg = report.scan.sentry
        info = VersionInfo(report.sentry_version, pkg.peer_next, pkg.engines_node, None)
        rows.insert(0, (info, ["installed", "not in the registry's list"]))
    return rows


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def render_report(report: CompatReport) -> str:
    """A readable plain-text report (no colour codes); DSN keys and credentials masked."""
    scan = report.scan
    pk = report.packument
    nv = report.next_version or "unknown"
    out: list[str] = [
        f"Sentry compatibility: {report.verdict.upper()}",
        report.headline,
        "",
        f"Project          {scan.name or '(no name)'}  {scan.root}",
    ]

    def pkg_line(label: str, pkg: InstalledPackage, version: str | None) -> str:
        if pkg.source == "missing":
            return f"{label:<17}not installed"
        where = f"from {pkg.source_path}" if pkg.source_path else f"from {pkg.source}"
        declared = f", declared {pkg.declared}" if pkg.declared else ""
        return f"{label:<17}{version or 'not installed'}  ({where}{declared})"

    out.append(pkg_line("next", scan.next, scan.next.version))
    if report.next_version_note:
        out.append(f"{'':<17}{report.next_version_note}")
    sentry_line = pkg_line("@sentry/nextjs", scan.sentry, report.sentry_version)
    if report.installed_supports is not None:
        sentry_line += f" - supports next {nv}: {_yes_no(report.installed_supports)}"
    out.append(sentry_line)
    node = scan.node_version or "not pinned"
    node_src = f"  ({scan.node_version_source})" if scan.node_version_source else ""
    out.append(f"{'Node':<17}{node}{node_src}")
    origin = {
        "registry": "registry",
        "cache": "cache (registry not reached)",
        "node_modules": "installed manifest only (registry not consulted)",
    }.get(pk.origin, pk.origin)
    registry = f": {pk.registry_url}" if pk.registry_url else ""
    registry_src = f" ({pk.registry_source})" if pk.registry_source else ""
    out.append(f"{'Answer from':<17}{origin}{registry}{registry_src}, {pk.fetched_at}")
    if pk.note:
        out.append(f"{'':<17}{pk.note}")

    out += ["", f"@sentry/nextjs versions and next {nv}"]
    rows = _version_rows(report)
    if rows:
        vw = max(len("version"), *(len(r[0].version) for r in rows)) + 2
        pw = max(len("peer next"), *(len(r[0].peer_next or "-") for r in rows)) + 2
        nw = max(len("Node"), *(len(r[0].engines_node or "-") for r in rows)) + 2
        out.append(f"  {'version':<{vw}}{'peer next':<{pw}}{'Node':<{nw}}{'admits':<8}note")
        for info, labels in rows:
            admits = _admits(info, report.next_version) if report.next_version else None
            if info.deprecated:
                labels = [*labels, f"deprecated: {info.deprecated}"]
            out.append(
                f"  {info.version:<{vw}}{info.peer_next or '-':<{pw}}"
                f"{info.engines_node or '-':<{nw}}{_yes_no(admits):<8}{', '.join(labels)}"
            )
    else:
        out.append("  (no versions known)")
    if pk.origin == "node_modules":
        out.append("  first / newest supporting: unknown (registry not consulted)")
    else:
        span = (
            f" ({report.first_supporting} ... {report.latest_supporting})"
            if report.first_supporting
            else ""
        )
        out.append(f"  stable versions supporting next {nv}: {report.supporting_count}{span}")
        out.append(f"  latest: {report.latest or 'unknown'}")

    for title, items in (
        ("Caveats", report.caveats),
        ("Deprecated", report.deprecated),
    ):
        if items:
            out += ["", f"{title}:"] + [f"  - {item}" for item in items]
    if report.engines_conflict:
        out += ["", f"Node conflict: {report.engines_conflict}"]

    out += ["", "Project state:"]
    if scan.todo_markers:
        out.append("  TODO markers:")
        out += [f"    {m.file}:{m.line}  {m.text}" for m in scan.todo_markers]
    else:
        out.append("  TODO markers: none")
    init = {True: "yes", False: "no (not called, or commented out)", None: "file missing"}
    out.append(f"  instrumentation calls the Sentry init: {init[scan.instrumentation_calls_init]}")
    if scan.env_example is None:
        out.append(f"  .env.example: missing (needs {', '.join(SENTRY_ENV_KEYS)})")
    else:
        present = [k for k in SENTRY_ENV_KEYS if scan.env_example.get(k)]
        missing = [k for k in SENTRY_ENV_KEYS if not scan.env_example.get(k)]
        out.append(f"  .env.example has: {', '.join(present) or 'none of the Sentry keys'}")
        if missing:
            out.append(f"  .env.example lacks: {', '.join(missing)}")
    boundary = {True: "yes", False: "no", None: "file missing"}
    out.append(f"  error boundary reports to Sentry: {boundary[scan.error_boundary_reports]}")
    out.append(f"  Turbopack: {_yes_no(scan.turbopack)}   proxy.ts: {_yes_no(scan.proxy_ts)}")
    for warning in getattr(scan, "warnings", ()):
        out.append(f"  warning: {warning}")

    out += ["", "What to do:"]
    out += [f"  {i}. {step}" for i, step in enumerate(report.advice, 1)]
    out += ["", f"Next command: {report.next_command}"]
    return mask_dsns("\n".join(out)) + "\n"
