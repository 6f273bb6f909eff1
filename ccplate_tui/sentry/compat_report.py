"""The compatibility report as JSON (`--json`, the stored result, the Sentry tab) and as text.

Both read a CompatReport; nothing is decided here.
"""

from __future__ import annotations

from functools import cmp_to_key
from typing import Any

from ccplate_tui.sentry.compatibility import (
    EXIT_FOR_VERDICT,
    CompatReport,
    admits_next,
    sorted_versions,
)
from ccplate_tui.sentry.dsn import mask_dsns
from ccplate_tui.sentry.install_proof import proof_to_json
from ccplate_tui.sentry.npm_semver import (
    compare_versions,
    is_prerelease,
)
from ccplate_tui.sentry.packument import VersionInfo
from ccplate_tui.sentry.project_scan import SENTRY_ENV_KEYS, InstalledPackage
from ccplate_tui.sentry.wiring_render import render_wiring, wiring_to_json


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
        "next_planned": report.next_planned,
        "next_engines_node": report.next_engines_node,
        "sentry_planned": report.sentry_planned,
        "install_proof": proof_to_json(report.install_proof),
        "skipped": [
            {"version": s.version, "proof": proof_to_json(s.proof)} for s in report.skipped
        ],
        "dry_runs": [proof_to_json(p) for p in report.dry_runs],
        "wiring": wiring_to_json(report.wiring) if report.wiring is not None else None,
    }


def _version_rows(report: CompatReport) -> list[tuple[VersionInfo, list[str]]]:
    """The versions worth a row: installed, the support boundary, newest, latest, recommended."""
    versions = sorted_versions(list(report.packument.versions))
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
    mark(report.sentry_planned, "npm install would install it")
    for skipped in report.skipped:
        mark(skipped.version, "skipped: does not install")
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
            admits = admits_next(info, report.next_version) if report.next_version else None
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

    proofs = [*(s.proof for s in report.skipped), *filter(None, [report.install_proof])]
    if proofs:
        out += ["", "Install proof (against the project's registry):"]
        out += [f"  {proof.command}: {proof.describe()}" for proof in proofs]
        if report.dry_runs:
            times = ", ".join(f"{run.seconds:.1f} s" for run in report.dry_runs)
            out.append(f"  npm dry-runs this check: {len(report.dry_runs)} ({times})")

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
    if report.wiring is None:  # else the wiring section below says it, for any layout
        out.append(
            f"  instrumentation calls the Sentry init: {init[scan.instrumentation_calls_init]}"
        )
    if scan.env_example is None:
        out.append(f"  .env.example: missing (needs {', '.join(SENTRY_ENV_KEYS)})")
    else:
        present = [k for k in SENTRY_ENV_KEYS if scan.env_example.get(k)]
        missing = [k for k in SENTRY_ENV_KEYS if not scan.env_example.get(k)]
        out.append(f"  .env.example has: {', '.join(present) or 'none of the Sentry keys'}")
        if missing:
            out.append(f"  .env.example lacks: {', '.join(missing)}")
    boundary = {True: "yes", False: "no", None: "file missing"}
    if report.wiring is None:
        out.append(f"  error boundary reports to Sentry: {boundary[scan.error_boundary_reports]}")
    out.append(f"  Turbopack: {_yes_no(scan.turbopack)}   proxy.ts: {_yes_no(scan.proxy_ts)}")
    for warning in getattr(scan, "warnings", ()):
        out.append(f"  warning: {warning}")

    if report.wiring is not None:
        out += ["", *render_wiring(report.wiring)]
    out += ["", "What to do:"]
    out += [f"  {i}. {step}" for i, step in enumerate(report.advice, 1)]
    out += ["", f"Next command: {report.next_command}"]
    return mask_dsns("\n".join(out)) + "\n"
