"""The compatibility decision: verdicts, boundaries, engines, deprecation and the report forms.

Inputs are real ProjectScan objects and the demo @sentry/nextjs packument, parsed by the real
parser, so the decision runs against the reference's version history end to end.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ccplate_tui.sentry.compat_report import render_report, report_to_json
from ccplate_tui.sentry.compatibility import (
    EXIT_FOR_VERDICT,
    PROXY_CAVEAT,
    VERIFY_COMMAND,
    CompatReport,
    assess,
)
from ccplate_tui.sentry.demo_packument import build_packument
from ccplate_tui.sentry.demo_registry import build_document
from ccplate_tui.sentry.npm_semver import compare_versions, is_prerelease, sort_versions
from ccplate_tui.sentry.packument import PACKAGE, Packument, VersionInfo, parse_packument
from ccplate_tui.sentry.project_scan import (
    SENTRY_ENV_KEYS,
    InstalledPackage,
    ProjectScan,
    TodoMarker,
    scan_project,
)

REGISTRY = "http://127.0.0.1:8787/__npm/"
FETCHED = "2026-11-26T10:00:00Z"
PEER_10 = "^13.2.0 || ^14.0 || ^15.0.0-rc.0 || ^16.0.0-0"
PEER_8 = "^13.2.0 || ^14.0 || ^15.0.0-rc.0"
DSN_KEY = "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"
EXAMPLE_APP = Path(__file__).resolve().parent.parent / "examples" / "ccplate-app"

_PARSED = parse_packument(build_packument(), PACKAGE)


def demo_packument(**changes: object) -> Packument:
    latest, versions = _PARSED
    base = Packument(
        name=PACKAGE,
        latest=latest,
        versions=versions,
        origin="registry",
        registry_url=REGISTRY,
        registry_source=".npmrc",
        fetched_at=FETCHED,
    )
    return dataclasses.replace(base, **changes)


def info(version: str) -> VersionInfo:
    return next(v for v in _PARSED[1] if v.version == version)


def make_scan(
    *,
    next_version: str | None = "16.1.4",
    next_declared: str | None = "16.1.4",
    sentry: str | None = "10.78.0",
    sentry_declared: str | None = None,
    node: str | None = None,
    node_source: str | None = None,
    todo: tuple[TodoMarker, ...] = (),
    init: bool | None = True,
    env: dict[str, bool] | None = None,
    boundary: bool | None = True,
    turbopack: bool = False,
    proxy: bool = False,
    root: Path = Path("/srv/app"),
) -> ProjectScan:
    """A scan as scan_project builds it; sentry's peer fields come from the demo packument."""
    next_pkg = InstalledPackage(
        name="next",
        version=next_version,
        declared=next_declared,
        source="package-lock" if next_version else "package.json",
        source_path="package-lock.json" if next_version else "package.json",
    )
    if sentry is None and sentry_declared is None:
        sentry_pkg = InstalledPackage("@sentry/nextjs", None, None, "missing", "")
    elif sentry is None:
        sentry_pkg = InstalledPackage(
            "@sentry/nextjs", None, sentry_declared, "package.json", "package.json"
        )
    else:
        known = next((v for v in _PARSED[1] if v.version == sentry), None)
        sentry_pkg = InstalledPackage(
            name="@sentry/nextjs",
            version=sentry,
            declared=sentry_declared or f"^{sentry}",
            source="node_modules",
            source_path="node_modules/@sentry/nextjs/package.json",
            peer_next=known.peer_next if known else None,
            engines_node=known.engines_node if known else None,
        )
    return ProjectScan(
        root=root,
        name="ccplate",
        next=next_pkg,
        sentry=sentry_pkg,
        node_version=node,
        node_version_source=node_source,
        todo_markers=todo,
        instrumentation_calls_init=init,
        env_example=env if env is not None else dict.fromkeys(SENTRY_ENV_KEYS, True),
        error_boundary_reports=boundary,
        turbopack=turbopack,
        proxy_ts=proxy,
    )


def check(scan: ProjectScan, packument: Packument | None = None) -> CompatReport:
    return assess(scan, packument or demo_packument())


# --- the four verdicts -------------------------------------------------------------------------


def test_exit_codes_per_verdict() -> None:
    assert EXIT_FOR_VERDICT == {"supported": 0, "upgrade": 3, "partial": 3, "unsupported": 4}


def test_supported_next_16_with_10_78_installed() -> None:
    report = check(make_scan(sentry="10.78.0", turbopack=True))
    assert report.verdict == "supported"
    assert report.installed_supports is True
    assert report.next_version == "16.1.4" and report.next_version_note == ""
    assert report.caveats == ()
    assert "16.1.4" in report.headline and "10.78.0" in report.headline
    # A newer supporting version exists: advised, but the verdict stays supported.
    assert report.recommended == "11.8.0"
    assert report.install_command == "npm install @sentry/nextjs@11.8.0"
    assert any(a.startswith("Optional:") and "11.8.0" in a for a in report.advice)
    assert report.next_command == VERIFY_COMMAND
    assert report.advice[-1].endswith(f"`{VERIFY_COMMAND}`")


def test_supported_on_the_newest_has_nothing_to_install() -> None:
    report = check(make_scan(sentry="11.8.0", node="22.12.0", node_source=".nvmrc"))
    assert report.verdict == "supported"
    assert report.recommended == "11.8.0"
    assert report.install_command is None
    assert report.engines_conflict is None
    assert not any("Optional" in a for a in report.advice)


def test_upgrade_from_8_55_0() -> None:
    report = check(make_scan(sentry="8.55.0"))
    assert report.verdict == "upgrade"
    assert EXIT_FOR_VERDICT[report.verdict] == 3
    assert report.installed_supports is False
    assert report.sentry_version == "8.55.0"
    assert report.first_supporting == "10.20.0"
    assert report.latest_supporting == "11.8.0"
    assert report.latest == "11.8.0"
    assert report.recommended == "11.8.0"
    assert report.install_command == "npm install @sentry/nextjs@11.8.0"
    assert report.next_command == "npm install @sentry/nextjs@11.8.0"
    assert report.headline == (
        "Sentry supports Next.js 16.1.4 from @sentry/nextjs 10.20.0; this app has 8.55.0: "
        "upgrade to 11.8.0"
    )
    assert report.advice[0] == (
        "Install a version that supports Next.js 16.1.4: `npm install @sentry/nextjs@11.8.0`"
    )


def test_sentry_not_installed_is_an_upgrade() -> None:
    report = check(make_scan(sentry=None))
    assert report.verdict == "upgrade"
    assert report.sentry_version is None
    assert report.installed_supports is None
    assert report.install_command == "npm install @sentry/nextjs@11.8.0"
    assert "does not have it installed" in report.headline
    assert report.headline.endswith("install 11.8.0")


def test_declared_but_not_installed_says_what_npm_would_install() -> None:
    report = check(make_scan(sentry=None, sentry_declared="^8.55.0"))
    assert report.verdict == "upgrade"
    assert report.installed_supports is None
    # npm resolves ^8.55.0 to the newest 8.x, which still lacks Next 16 in its peer range.
    assert report.sentry_planned == "8.55.2"
    assert "package.json's ^8.55.0 would install 8.55.2, which does not declare it" in (
        report.headline
    )
    assert report.install_command == "npm install @sentry/nextjs@11.8.0"
    assert (
        "@sentry/nextjs is not installed yet: `npm install` would install 8.55.2 for ^8.55.0 "
        "(package.json)"
    ) in report.advice


def test_declared_range_that_npm_resolves_to_a_supporting_version_is_supported() -> None:
    report = check(make_scan(sentry=None, sentry_declared="^10.0.0"))
    assert (report.verdict, EXIT_FOR_VERDICT[report.verdict]) == ("supported", 0)
    assert (report.sentry_version, report.sentry_planned) == (None, "10.78.0")
    assert report.install_command == report.next_command == "npm install"
    assert report.headline == (
        "Sentry supports Next.js 16.1.4: @sentry/nextjs ^10.0.0 (package.json) resolves to "
        "10.78.0, which declares it; not installed yet: npm install"
    )
    # Never the version already declared: an exact pin is installed by `npm install` itself.
    pinned = check(make_scan(sentry=None, sentry_declared="11.8.0"))
    assert pinned.verdict == "supported" and pinned.install_command == "npm install"


def test_partial_when_only_a_prerelease_admits() -> None:
    packument = demo_packument(
        latest="11.8.0",
        versions=(
            info("11.8.0"),
            VersionInfo("12.0.0-beta.2", "^15.0.0 || ^16.0.0 || ^17.0.0-0", ">=20.19.0", None),
        ),
    )
    report = check(make_scan(next_version="17.0.0", sentry="11.8.0"), packument)
    assert report.verdict == "partial"
    assert report.installed_supports is False
    assert report.supporting_count == 0
    assert report.first_supporting is None and report.latest_supporting is None
    assert report.prerelease_supporting == "12.0.0-beta.2"
    assert report.recommended == "12.0.0-beta.2"
    assert report.install_command == "npm install @sentry/nextjs@12.0.0-beta.2"
    assert report.next_command == report.install_command
    assert "pre-release" in report.caveats[0] and "12.0.0-beta.2" in report.caveats[0]
    assert any("feature flags" in a for a in report.advice)


def test_partial_prerelease_already_installed() -> None:
    beta = VersionInfo("12.0.0-beta.2", "^17.0.0-0", ">=20.19.0", None)
    packument = demo_packument(versions=(info("11.8.0"), beta))
    scan = dataclasses.replace(
        make_scan(next_version="17.0.0", sentry=None),
        sentry=InstalledPackage(
            "@sentry/nextjs",
            "12.0.0-beta.2",
            "12.0.0-beta.2",
            "node_modules",
            "node_modules/@sentry/nextjs/package.json",
            "^17.0.0-0",
            ">=20.19.0",
        ),
    )
    report = check(scan, packument)
    assert report.verdict == "partial"
    assert report.installed_supports is True
    assert report.install_command is None
    assert report.next_command == VERIFY_COMMAND


def test_partial_turbopack_with_proxy_ts() -> None:
    report = check(make_scan(sentry="10.78.0", turbopack=True, proxy=True))
    assert report.verdict == "partial"
    assert report.caveats == (PROXY_CAVEAT,)
    assert "#21713" in PROXY_CAVEAT
    assert "1 caveat:" in report.headline
    assert any(
        a.startswith("Enable Sentry behind feature flags: error capture first")
        for a in report.advice
    )
    # Without Turbopack, proxy.ts is instrumented by the webpack plugin: no caveat.
    assert check(make_scan(sentry="10.78.0", turbopack=False, proxy=True)).verdict == "supported"


def test_partial_turbopack_with_next_15_3() -> None:
    report = check(make_scan(next_version="15.3.0", sentry="10.78.0", turbopack=True))
    assert report.verdict == "partial"
    assert len(report.caveats) == 1 and "15.4.1" in report.caveats[0]
    assert report.next_command == VERIFY_COMMAND
    assert check(make_scan(next_version="15.3.0", sentry="10.78.0")).verdict == "supported"
    # 15.4.1 itself is the floor: no caveat.
    assert check(make_scan(next_version="15.4.1", turbopack=True)).verdict == "supported"


def test_partial_turbopack_with_an_sdk_before_10_13_then_upgrade_is_next() -> None:
    old = sort_versions(
        v.version
        for v in _PARSED[1]
        if not is_prerelease(v.version) and compare_versions(v.version, "10.13.0") < 0
    )[-1]
    assert old == "10.12.0"
    report = check(make_scan(next_version="15.5.0", sentry=old, turbopack=True))
    assert report.installed_supports is True
    assert report.verdict == "partial"
    assert any("10.13.0" in c and old in c for c in report.caveats)
    assert report.install_command == "npm install @sentry/nextjs@11.8.0"
    assert report.next_command == report.install_command


def test_partial_for_a_prerelease_next_inside_the_range() -> None:
    report = check(make_scan(next_version="16.0.0-canary.3", sentry="10.78.0"))
    assert report.verdict == "partial"
    assert report.first_supporting == "10.20.0"
    assert any("pre-release" in c for c in report.caveats)


@pytest.mark.parametrize("next_version", ["17.0.0", "16.5.0-canary.38", "15.0.0-canary.50"])
def test_unsupported_lists_the_plans_alternatives(next_version: str) -> None:
    report = check(make_scan(next_version=next_version, sentry="10.78.0"))
    assert report.verdict == "unsupported"
    assert EXIT_FOR_VERDICT[report.verdict] == 4
    assert report.supporting_count == 0
    assert report.recommended is None and report.install_command is None
    assert report.prerelease_supporting is None
    assert next_version in report.headline
    text = " ".join(report.advice)
    for alternative in (
        "LogRocket",
        "Datadog",
        "Winston",
        "@sentry/node",
        "@sentry/react",
        "--legacy-peer-deps",
    ):
        assert alternative in text
    assert "risk" in next(a for a in report.advice if "--legacy-peer-deps" in a).lower()
    # Pin the newest Next.js major the latest SDK declares (16 for 11.8.0's range).
    assert report.next_command == "npm install next@^16"
    assert report.advice[0].startswith("Stay on or pin a supported Next.js: `npm install next@^16`")


# --- the 10.19.0 / 10.20.0 boundary and the count --------------------------------------------


def test_boundary_10_19_0_and_10_20_0() -> None:
    below = check(make_scan(sentry="10.19.0"))
    assert below.verdict == "upgrade" and below.installed_supports is False
    at = check(make_scan(sentry="10.20.0"))
    assert at.verdict == "supported" and at.installed_supports is True
    assert at.first_supporting == below.first_supporting == "10.20.0"


def test_supporting_count_matches_the_reference() -> None:
    # Reference §1.4: 10.20.0–10.78.0 and 11.0.0–11.8.0 are the 75 stable versions for 16.1.4.
    stable = [v.version for v in _PARSED[1] if not is_prerelease(v.version)]
    in_range = [
        v
        for v in stable
        if compare_versions(v, "10.20.0") >= 0 and compare_versions(v, "11.8.0") <= 0
    ]
    assert len(in_range) == 75
    report = check(make_scan(sentry="8.55.0"))
    assert report.supporting_count == 75
    # 16.0.0 and 16.4.6 get the same answer (reference §1.4).
    assert check(make_scan(next_version="16.4.6")).supporting_count == 75


# --- engines vs the project's Node -------------------------------------------------------------


def test_engines_conflict_with_node_20_11_from_nvmrc() -> None:
    report = check(make_scan(sentry="8.55.0", node="20.11.0", node_source=".nvmrc"))
    assert report.verdict == "upgrade"
    assert report.recommended == "10.78.0"
    assert report.install_command == "npm install @sentry/nextjs@10.78.0"
    conflict = report.engines_conflict
    assert conflict is not None
    assert conflict.startswith(f"@sentry/nextjs 11.8.0 needs Node {info('11.8.0').engines_node};")
    assert "20.11.0" in conflict and ".nvmrc" in conflict and "10.78.0 is recommended" in conflict
    assert report.advice[0] == f"Node: {conflict}"


def test_node_as_a_range_is_checked_from_its_lowest_version() -> None:
    report = check(make_scan(sentry="8.55.0", node=">=18", node_source="package.json engines.node"))
    assert report.recommended == "10.78.0"
    assert report.engines_conflict is not None
    assert ">=18" in report.engines_conflict and "18.0.0" in report.engines_conflict
    # A floor that satisfies 11.x's engines keeps the newest.
    ok = check(
        make_scan(sentry="8.55.0", node=">=20.19.0", node_source="package.json engines.node")
    )
    assert ok.recommended == "11.8.0" and ok.engines_conflict is None


def test_node_22_12_gets_the_newest() -> None:
    report = check(make_scan(sentry="8.55.0", node="22.12.0", node_source=".nvmrc"))
    assert report.recommended == "11.8.0"
    assert report.engines_conflict is None


def test_unreadable_node_version_is_not_guessed() -> None:
    report = check(make_scan(sentry="8.55.0", node="lts/iron", node_source=".nvmrc"))
    assert report.recommended == "11.8.0"
    assert report.engines_conflict is None
    assert any(a.startswith("Check Node: @sentry/nextjs 11.8.0 needs Node") for a in report.advice)


def test_installed_11_on_too_old_node_is_partial_and_names_the_conflict() -> None:
    report = check(make_scan(sentry="11.8.0", node="20.11.0", node_source=".nvmrc"))
    assert report.verdict == "partial"
    assert any("project's Node" in caveat for caveat in report.caveats)
    assert report.recommended == "11.8.0" and report.install_command is None
    assert report.engines_conflict is not None
    assert report.engines_conflict.startswith("@sentry/nextjs 11.8.0 (installed) needs Node")


def test_no_supporting_version_runs_on_the_node() -> None:
    report = check(make_scan(sentry="8.55.0", node="16.20.0", node_source=".nvmrc"))
    assert report.recommended == "11.8.0"
    assert report.engines_conflict is not None
    assert "upgrade Node first" in report.engines_conflict


# --- deprecation ---------------------------------------------------------------------------------


def _with_deprecated(version: str, message: str) -> Packument:
    versions = tuple(
        dataclasses.replace(v, deprecated=message) if v.version == version else v
        for v in _PARSED[1]
    )
    return demo_packument(versions=versions)


def test_deprecated_version_is_skipped_for_recommended() -> None:
    packument = _with_deprecated("11.8.0", "broken build, use 11.7.x")
    report = check(make_scan(sentry="8.55.0"), packument)
    stable_11 = [
        v.version
        for v in _PARSED[1]
        if v.version.startswith("11.") and not is_prerelease(v.version)
    ]
    assert report.recommended == stable_11[-2]
    assert report.install_command == f"npm install @sentry/nextjs@{stable_11[-2]}"
    assert report.deprecated == ()
    assert report.latest_supporting == "11.8.0"  # still admits next; just not recommended


def test_deprecated_installed_version_is_shown() -> None:
    packument = _with_deprecated("11.8.0", "broken build, use 11.7.x")
    report = check(make_scan(sentry="11.8.0"), packument)
    assert report.verdict == "partial"
    assert report.deprecated == (
        "@sentry/nextjs 11.8.0 (installed) is deprecated: broken build, use 11.7.x",
    )
    assert any("deprecated" in c for c in report.caveats)
    text = render_report(report)
    assert "deprecated: broken build, use 11.7.x" in text
    assert report_to_json(report)["deprecated"] == list(report.deprecated)


# --- next only declared, or unknown ------------------------------------------------------------


def _next_packument() -> Packument:
    latest, versions = parse_packument(build_document("next"), "next")
    return Packument("next", latest, versions, "registry", REGISTRY, ".npmrc", FETCHED)


def test_next_declared_as_a_range_reads_what_npm_would_install() -> None:
    # One reading for next and @sentry/nextjs (issue 12): npm's pick, not the range's floor.
    scan = make_scan(next_version=None, next_declared="^16.1.0", sentry="8.55.0")
    report = assess(scan, demo_packument(), next_packument=_next_packument())
    assert (report.next_version, report.next_planned) == ("16.4.6", True)
    assert report.next_engines_node == ">=20.9.0"
    assert report.next_version_note == (
        "next is not installed yet: `npm install` would install 16.4.6, the latest for "
        "^16.1.0 (package.json)"
    )
    assert report.verdict == "upgrade"
    assert report.advice[0] == f"next: {report.next_version_note}"
    assert report.next_version_note in render_report(report)
    # Without the registry's answer about next, its version is unknown, never guessed.
    unknown = check(scan)
    assert (unknown.next_version, unknown.verdict) == (None, "partial")
    assert "the registry was not reached" in unknown.next_version_note


def test_next_declared_as_a_tag_cannot_be_decided() -> None:
    report = check(make_scan(next_version=None, next_declared="latest", sentry="10.78.0"))
    assert report.next_version is None
    assert report.verdict == "partial"
    assert "'latest'" in report.next_version_note
    assert report.install_command is None
    assert report.next_command == "npm install"
    assert "Cannot tell which Next.js" in report.headline
    json.dumps(report_to_json(report))
    assert "@sentry/nextjs versions and next unknown" in render_report(report)


# --- where the answer came from --------------------------------------------------------------


def _node_modules_packument(version: str) -> Packument:
    return Packument(
        name=PACKAGE,
        latest=None,
        versions=(info(version),),
        origin="node_modules",
        registry_url=None,
        registry_source=None,
        fetched_at=FETCHED,
        note="registry unreachable (ConnectError: refused); no cache; read node_modules",
    )


def test_node_modules_answer_does_not_admit_is_honest() -> None:
    report = check(make_scan(sentry="8.55.0"), _node_modules_packument("8.55.0"))
    assert report.verdict == "upgrade"
    assert report.installed_supports is False
    assert "registry was not consulted" in report.headline
    assert report.recommended is None and report.install_command is None
    assert report.first_supporting is None and report.latest is None
    assert report.next_command == "ccplate-tui sentry check --project /srv/app"
    assert "registry not consulted" in render_report(report)


def test_node_modules_answer_that_admits_is_supported_with_a_note() -> None:
    report = check(make_scan(sentry="10.78.0"), _node_modules_packument("10.78.0"))
    assert report.verdict == "supported"
    assert "registry not consulted" in report.headline
    assert report.first_supporting is None and report.latest_supporting is None
    assert report.install_command is None


def test_cache_answer_says_so_in_the_headline() -> None:
    packument = demo_packument(origin="cache", note="registry unreachable (ConnectError)")
    report = check(make_scan(sentry="8.55.0"), packument)
    assert report.verdict == "upgrade"
    assert report.headline.endswith(f"(registry not reached: cached answer of {FETCHED})")
    assert report_to_json(report)["source"] == "cache"


def test_garbage_versions_and_ranges_do_not_crash() -> None:
    packument = demo_packument(
        latest="latest",
        versions=(
            VersionInfo("not-a-version", "^16.0.0", None, None),
            VersionInfo("1.0.0", "this is no range", "also garbage", None),
            VersionInfo("2.0.0", "", None, None),
            VersionInfo("3.0.0", None, None, None),  # no peer: declares nothing
        ),
    )
    report = check(make_scan(sentry="8.55.0"), packument)
    assert report.verdict == "unsupported"
    assert report.supporting_count == 0
    assert json.loads(json.dumps(report_to_json(report)))["verdict"] == "unsupported"
    assert "UNSUPPORTED" in render_report(report)


def test_empty_registry_answer_is_unsupported_not_a_crash() -> None:
    report = check(make_scan(sentry=None), demo_packument(versions=(), latest=None))
    assert report.verdict == "unsupported"
    assert report.next_command == "ccplate-tui sentry check --project /srv/app"


# --- report forms ------------------------------------------------------------------------------

CONTRACT_KEYS = {
    "verdict",
    "headline",
    "installed",
    "first_supporting",
    "latest_supporting",
    "latest",
    "install_command",
    "todo_markers",
    "env_example",
    "source",
    "registry",
    "node",
    "instrumentation_calls_init",
    "error_boundary_reports",
    "caveats",
    "advice",
    "next_command",
    "engines_conflict",
    "deprecated",
    "supporting_count",
    "recommended",
}


def _ccplate_like_scan(**overrides: object) -> ProjectScan:
    todo = (
        TodoMarker(
            "src/lib/sentry.ts", 1, "// TODO: Re-enable when @sentry/nextjs supports Next.js 16"
        ),
        TodoMarker(
            "src/instrumentation.ts", 4, f"// TODO sentry: dsn http://{DSN_KEY}@127.0.0.1:8787/1"
        ),
    )
    scan = make_scan(
        sentry="8.55.0",
        todo=todo,
        init=False,
        env={
            "SENTRY_DSN": True,
            "SENTRY_ORG": False,
            "SENTRY_PROJECT": False,
            "NEXT_PUBLIC_SENTRY_DSN": False,
        },
        boundary=False,
        turbopack=True,
    )
    return dataclasses.replace(scan, **overrides)


def test_report_to_json_has_every_contract_key_and_serialises() -> None:
    report = check(_ccplate_like_scan())
    data = report_to_json(report)
    assert set(data) >= CONTRACT_KEYS
    round_trip = json.loads(json.dumps(data))
    assert round_trip["verdict"] == "upgrade"
    assert round_trip["installed"]["next"] == {
        "version": "16.1.4",
        "declared": "16.1.4",
        "source": "package-lock",
        "source_path": "package-lock.json",
        "peer_next": None,
        "engines_node": None,
    }
    assert round_trip["installed"]["sentry"]["version"] == "8.55.0"
    assert round_trip["installed"]["sentry"]["peer_next"] == PEER_8
    assert round_trip["todo_markers"][0] == {
        "file": "src/lib/sentry.ts",
        "line": 1,
        "text": "// TODO: Re-enable when @sentry/nextjs supports Next.js 16",
    }
    assert round_trip["env_example"] == {
        "present": ["SENTRY_DSN"],
        "missing": ["SENTRY_ORG", "SENTRY_PROJECT", "NEXT_PUBLIC_SENTRY_DSN"],
    }
    assert round_trip["source"] == "registry"
    assert round_trip["registry"]["url"] == REGISTRY
    assert round_trip["instrumentation_calls_init"] is False
    assert round_trip["error_boundary_reports"] is False
    assert round_trip["supporting_count"] == 75
    assert round_trip["install_command"] == "npm install @sentry/nextjs@11.8.0"
    assert DSN_KEY not in json.dumps(data)


def test_report_to_json_null_env_example_when_no_file() -> None:
    data = report_to_json(check(_ccplate_like_scan(env_example=None)))
    assert data["env_example"] is None
    assert any(a.startswith("Create .env.example with SENTRY_DSN") for a in data["advice"])


def test_render_report_has_the_decision_and_project_state() -> None:
    report = check(_ccplate_like_scan())
    text = render_report(report)
    assert "\x1b" not in text
    assert text.startswith("Sentry compatibility: UPGRADE\n" + report.headline + "\n")
    # The version table: installed, the support boundary, the newest/latest.
    rows = {
        line.split()[0]: line
        for line in text.splitlines()
        if line.startswith("  ") and line.split()[0][:1].isdigit()
    }
    assert "installed" in rows["8.55.0"] and " no " in rows["8.55.0"]
    assert "last without support" in rows["10.19.0"]
    assert "first supporting" in rows["10.20.0"] and " yes " in rows["10.20.0"]
    assert "latest" in rows["11.8.0"] and "recommended" in rows["11.8.0"]
    assert PEER_10 in rows["10.20.0"]
    assert "stable versions supporting next 16.1.4: 75 (10.20.0 ... 11.8.0)" in text
    # TODO markers as file:line, env keys, the setup steps and the next command.
    assert "src/lib/sentry.ts:1  // TODO: Re-enable when @sentry/nextjs supports Next.js 16" in text
    assert "src/instrumentation.ts:4" in text
    assert ".env.example has: SENTRY_DSN" in text
    assert ".env.example lacks: SENTRY_ORG, SENTRY_PROJECT, NEXT_PUBLIC_SENTRY_DSN" in text
    assert "instrumentation calls the Sentry init: no" in text
    assert "error boundary reports to Sentry: no" in text
    assert (
        "Re-enable Sentry where TODO markers disable it: src/lib/sentry.ts:1, src/instrumentation.ts:4"
        in text
    )
    assert text.rstrip().endswith("Next command: npm install @sentry/nextjs@11.8.0")
    assert f"Answer from      registry: {REGISTRY} (.npmrc), {FETCHED}" in text


def test_render_report_masks_secrets_and_nothing_else() -> None:
    packument = demo_packument(registry_url="http://builder:s3cretpassword@127.0.0.1:8787/__npm/")
    report = check(_ccplate_like_scan(), packument)
    text = render_report(report)
    data = json.dumps(report_to_json(report))
    for out in (text, data):
        assert DSN_KEY not in out
        assert "s3cretpassword" not in out
    assert "0a…5d@127.0.0.1:8787/1" in text
    # Package specs and the plain registry URL are not mistaken for credentials.
    assert "npm install @sentry/nextjs@11.8.0" in text
    assert "this app has 8.55.0" in text
    assert "@sentry/nextjs   8.55.0  (from node_modules/@sentry/nextjs/package.json" in text
    plain = render_report(check(_ccplate_like_scan()))
    assert REGISTRY in plain


def test_render_supported_report_shows_verify_as_next() -> None:
    text = render_report(check(make_scan(sentry="10.78.0")))
    assert text.startswith("Sentry compatibility: SUPPORTED\n")
    assert text.rstrip().endswith(f"Next command: {VERIFY_COMMAND}")
    assert "TODO markers: none" in text


# --- the example app, scanned for real -------------------------------------------------------


def test_example_ccplate_app_needs_an_upgrade() -> None:
    scan = scan_project(EXAMPLE_APP)
    report = assess(scan, demo_packument())
    assert report.next_version == "16.1.4"
    assert report.sentry_version == "8.55.0"
    assert report.verdict == "upgrade"
    assert report.first_supporting == "10.20.0"
    assert report.recommended == "11.8.0"  # .nvmrc 22.12.0 satisfies 11.x's engines
    assert report.install_command == "npm install @sentry/nextjs@11.8.0"
    text = render_report(report)
    for marker in scan.todo_markers:
        assert f"{marker.file}:{marker.line}" in text
    assert len(scan.todo_markers) >= 2
