"""Decide whether this app's Next.js is supported by @sentry/nextjs, and what to do about it.

The decision follows the hardening plan's matrix (supported / upgrade / partial / unsupported)
using npm's own peer-range semantics, so the verdict matches what `npm install` would accept.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from functools import cmp_to_key
from typing import Literal

from ccplate_tui.sentry.install_proof import (
    Choice,
    InstallProof,
    InstallProver,
    Skipped,
    choose_installable,
    proof_note,
    skipped_note,
)
from ccplate_tui.sentry.node_check import (
    UNKNOWN_NODE,
    ProjectNode,
    engines_ok,
    next_node_conflict,
    pin_node_advice,
    preferred_for_node,
    project_node,
    upgrade_node_advice,
)
from ccplate_tui.sentry.npm_pick import read_package
from ccplate_tui.sentry.npm_semver import (
    compare_versions,
    is_prerelease,
    npm_satisfies,
    parse_version,
)
from ccplate_tui.sentry.packument import Packument, VersionInfo
from ccplate_tui.sentry.project_scan import SENTRY_ENV_KEYS, ProjectScan
from ccplate_tui.sentry.wiring import WiringReport, project_wiring
from ccplate_tui.sentry.wiring_render import wiring_advice

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
    next_planned: bool = False
    """next is not installed: `next_version` is what `npm install` would install."""
    next_engines_node: str | None = None
    sentry_planned: str | None = None
    """@sentry/nextjs is only declared: the version `npm install` would install for it."""
    install_proof: InstallProof | None = None
    """The proof of `install_command` (None: no command, or no prover was given)."""
    skipped: tuple[Skipped, ...] = ()
    """Newer supporting versions passed over because npm cannot install them."""
    dry_runs: tuple[InstallProof, ...] = ()
    """Every `npm install --dry-run` this check ran, with its timing."""
    wiring: WiringReport | None = None
    """Which error paths reach Sentry (None for a scan not read from files)."""


def sorted_versions(versions: list[VersionInfo]) -> list[VersionInfo]:
    valid = [v for v in versions if parse_version(v.version)]
    return sorted(valid, key=cmp_to_key(lambda a, b: compare_versions(a.version, b.version)))


def admits_next(info: VersionInfo | None, next_version: str) -> bool:
    # A version without a `next` peer declares nothing (6.3.x), so it does not count as support.
    return bool(info and info.peer_next and npm_satisfies(next_version, info.peer_next))


def _engines_ok(info: VersionInfo, node: ProjectNode) -> bool:
    return engines_ok(info.engines_node, node)


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


def assess(
    scan: ProjectScan,
    packument: Packument,
    *,
    next_packument: Packument | None = None,
    prover: InstallProver | None = None,
) -> CompatReport:
    """Apply the plan's decision matrix to a project scan and the @sentry/nextjs packument.

    Packages not installed are read as what `npm install` would install (`next` from
    `next_packument`); with a `prover`, every proposed `npm install` is proven first and newer
    versions npm cannot install are skipped, saying why.
    """
    package = packument.name or "@sentry/nextjs"
    registry_known = packument.origin != "node_modules"
    versions = sorted_versions(list(packument.versions))
    by_version = {v.version: v for v in versions}
    node = project_node(scan)
    next_reading = read_package(scan.next, next_packument)
    next_version, next_note = next_reading.version, next_reading.note
    next_engines = scan.next.engines_node
    if next_reading.planned and next_packument is not None:
        planned_next = next((v for v in next_packument.versions if v.version == next_version), None)
        next_engines = planned_next.engines_node if planned_next else None

    sentry_pkg = scan.sentry
    sentry_version = parse_version(sentry_pkg.version) if sentry_pkg.version else None
    sentry_reading = None if sentry_version else read_package(sentry_pkg, packument)
    planned = sentry_reading.version if sentry_reading and sentry_reading.planned else None
    planned_info = by_version.get(planned) if planned else None
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

    supporting = [v for v in versions if admits_next(v, next_version)]
    stable = [v for v in supporting if not is_prerelease(v.version)]
    pre = [v for v in supporting if is_prerelease(v.version)]
    all_stable = [v for v in versions if not is_prerelease(v.version)]
    installed_supports: bool | None = None
    if sentry_version and installed_info is not None:
        installed_supports = admits_next(installed_info, next_version)

    first_supporting = stable[0].version if stable and registry_known else None
    latest_supporting = stable[-1].version if stable and registry_known else None
    prerelease_supporting = pre[-1].version if pre and not stable else None
    latest = packument.latest if registry_known else None
    planned_supports = admits_next(planned_info, next_version)

    # A Node below what next needs must move anyway: the SDK is then chosen for the Node to come.
    next_conflict = next_node_conflict(next_version, next_engines, node)
    sdk_node = UNKNOWN_NODE if next_conflict else node
    # What to install: the newest stable (else prerelease) support that runs on the project's
    # Node and that npm can install (never the version package.json already declares).
    ordered, passed_over = preferred_for_node(stable or pre, sdk_node)
    choice = Choice(None, None)
    if installed_supports:
        assert sentry_version is not None
        newer = [c for c in ordered if _newer(c.version, sentry_version)]
        if newer:
            choice = choose_installable(newer, prover)
    elif registry_known:
        others = [c for c in ordered if c.version != planned]
        choice = choose_installable(
            others, prover, declared=planned_info if planned_supports else None
        )
    chosen = choice.info
    if passed_over is not None and sdk_node.check_as is not None:
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
        if not _engines_ok(installed_info, sdk_node) and recommended == sentry_version:
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
    declared_installs = bool(planned_supports and recommended == planned)
    install_command = (
        "npm install"
        if declared_installs
        else _install(package, recommended)
        if recommended and recommended not in (sentry_version, planned)
        else None
    )
    proof = choice.proof if install_command else None
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
                advice.append(f"Upgrade: `{install_command}`{proof_note(proof)}")
            else:
                advice.append(
                    f"Optional: `{install_command}` ({recommended} also supports {nv}; "
                    f"{sentry_version} already does){proof_note(proof)}"
                )
        if verdict == "partial":
            advice.append(FEATURE_FLAG_ADVICE)
        next_command = (
            install_command if install_command and upgrade_fixes_caveat else VERIFY_COMMAND
        )
    elif declared_installs:
        verdict = "supported" if not caveats else "partial"
        declared = f"{sentry_pkg.declared} ({sentry_pkg.source_path or 'package.json'})"
        headline = (
            f"Sentry supports {nv}: @sentry/nextjs {declared} resolves to {planned}, which "
            "declares it; not installed yet: npm install"
        )
        if verdict == "partial":
            count = len(caveats)
            headline += f", with {count} caveat{'s' if count != 1 else ''}"
            advice.append(FEATURE_FLAG_ADVICE)
        advice.insert(0, f"Install the declared dependencies: `npm install`{proof_note(proof)}")
        next_command = "npm install"
    else:
        verdict = "upgrade"
        if sentry_version:
            have = f"this app has {sentry_version}"
        elif planned:
            exact = parse_version(sentry_pkg.declared or "") == planned
            have = (
                f"package.json declares {planned}"
                if exact
                else f"package.json's {sentry_pkg.declared} would install {planned}"
            )
            if not planned_supports:
                have += ", which does not declare it"
            elif any(s.version == planned for s in choice.skipped):
                have += ", which npm cannot install from this registry"
        else:
            have = "this app does not have it installed"
        verb = "upgrade to" if sentry_version else "install"
        target = (
            f"{verb} {recommended}"
            if recommended
            else "but no version that supports it installs from this registry"
        )
        headline = f"Sentry supports {nv} from @sentry/nextjs {first_supporting}; {have}: {target}"
        if install_command:
            advice.append(
                f"Install a version that supports {nv}: `{install_command}`{proof_note(proof)}"
            )
        if sentry_reading is not None and sentry_reading.note and not planned_supports:
            advice.append(sentry_reading.note)
        if sentry_version and installed_supports is None:
            advice.append(
                f"The installed @sentry/nextjs {sentry_version} is not in the registry's list and "
                f"its manifest ({sentry_pkg.source_path or sentry_pkg.source}) names no next peer "
                "range, so its support is unknown"
            )
        if caveats:
            advice.append(FEATURE_FLAG_ADVICE)
        next_command = install_command or VERIFY_COMMAND

    if choice.skipped:
        advice.insert(1 if install_command and advice else 0, skipped_note(choice.skipped, nv))
    if proof is not None and proof.ok is False:
        advice.append(f"`{proof.command}` fails for this project as it is: {proof.reason}")
    if next_conflict:
        rec_info = by_version.get(recommended or "")
        engines_conflict = upgrade_node_advice(
            next_conflict, next_engines, recommended, rec_info.engines_node if rec_info else None
        )
        headline = f"Upgrade Node first ({next_conflict}). {headline}"
    if engines_conflict:
        advice.insert(0, f"Node: {engines_conflict}")
    elif node.check_as is None and recommended and registry_known:
        rec_info = by_version.get(recommended)
        if rec_info and rec_info.engines_node:
            advice.append(
                pin_node_advice(recommended, rec_info.engines_node, next_version, next_engines)
            )
    # Supported or not, errors are only captured where the app is wired: on Next.js >= 15 a
    # missing onRequestError loses every server error, so the verdict is at best partial.
    wiring = project_wiring(scan, next_version, sentry_version or recommended)
    if wiring is not None and wiring.cap and verdict in ("supported", "partial"):
        caveats.append(wiring.cap)
        if verdict == "supported":
            verdict = "partial"
            headline += f"; but {wiring.cap}"
    if verdict != "unsupported":
        advice += _setup_advice(scan, wiring)
    if next_note:
        advice.insert(1 if next_conflict else 0, f"next: {next_note}")
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
        next_planned=next_reading.planned,
        next_engines_node=next_engines,
        sentry_planned=planned,
        install_proof=proof,
        skipped=choice.skipped,
        dry_runs=tuple(prover.dry_runs) if prover is not None else (),
        wiring=wiring,
    )


def _recheck_command(scan: ProjectScan) -> str:
    return f"ccplate-tui sentry check --project {shlex.quote(str(scan.root))}"


def _undecidable(
    scan: ProjectScan,
    packument: Packument,
    next_note: str,
    sentry_version: str | None,
    deprecated: list[str],
    node: ProjectNode,
) -> CompatReport:
    """No next version to check: support cannot be confirmed, so the verdict is partial."""
    wiring = project_wiring(scan, None, sentry_version)
    advice = [f"next: {next_note}", *_setup_advice(scan, wiring)]
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
        wiring=wiring,
    )


def _setup_advice(scan: ProjectScan, wiring: WiringReport | None = None) -> list[str]:
    """The project edits the plan's task 4.1.2 still needs, in the order to do them.

    With a wiring report, its per-path steps (in the project's own layout) replace the
    CCPLATE-only init and error-boundary steps.
    """
    steps: list[str] = []
    if scan.todo_markers:
        where = ", ".join(f"{m.file}:{m.line}" for m in scan.todo_markers)
        steps.append(f"Re-enable Sentry where TODO markers disable it: {where}")
    if wiring is not None:
        steps += wiring_advice(wiring)
    elif scan.instrumentation_calls_init is False:
        steps.append("src/instrumentation.ts does not call initSentry(): call it in register()")
    elif scan.instrumentation_calls_init is None:
        steps.append("Create src/instrumentation.ts whose register() calls initSentry()")
    if scan.env_example is None:
        steps.append(f"Create .env.example with {', '.join(SENTRY_ENV_KEYS)}")
    else:
        missing = [k for k in SENTRY_ENV_KEYS if not scan.env_example.get(k)]
        if missing:
            steps.append(f"Add {', '.join(missing)} to .env.example")
    if wiring is None and scan.error_boundary_reports is False:
        steps.append(
            "src/components/error-boundary.tsx does not report to Sentry: call captureError() "
            "in componentDidCatch"
        )
    steps.append(f"Send a test error and confirm Sentry receives it: `{VERIFY_COMMAND}`")
    return steps
