"""npm's range rules as npm applies them to peer dependencies (reference §1.4 and §2)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ccplate_tui.sentry.demo_packument import VERSION_HISTORY, build_packument
from ccplate_tui.sentry.npm_semver import (
    compare_versions,
    is_prerelease,
    lowest_in_range,
    npm_satisfies,
    parse_version,
    sort_versions,
)

NEXT_16 = "^13.2.0 || ^14.0 || ^15.0.0-rc.0 || ^16.0.0-0"  # 10.20.0 … 10.78.0
NEXT_11X = "^14.0 || ^15.0.0-rc.0 || ^16.0.0-0"  # 11.0.0-rc.1 … 11.8.0
NEXT_15 = "^13.2.0 || ^14.0 || ^15.0.0-rc.0"  # 8.13.0 … 10.19.0


def _runs_admitting(next_version: str) -> list[tuple[str, str]]:
    return [
        (run.first, run.last)
        for run in VERSION_HISTORY
        if run.next_range and npm_satisfies(next_version, run.next_range)
    ]


# Reference §1.4: which runs of the §1.3 history admit each `next`.
TABLE = [
    ("12.3.4", [("6.16.1", "7.16.0"), ("7.17.2", "7.75.1"), ("7.76.0", "7.120.4")]),
    ("13.1.6", [("7.17.2", "7.75.1"), ("7.76.0", "7.120.4")]),
    *[
        (
            v,
            [
                ("7.17.2", "7.75.1"),
                ("7.76.0", "7.120.4"),
                ("8.0.0-alpha.7", "8.12.0"),
                ("8.13.0", "10.19.0"),
                ("10.20.0", "10.78.0"),
            ],
        )
        for v in ("13.2.0", "13.5.11")
    ],
    (
        "14.2.35",
        [
            ("7.76.0", "7.120.4"),
            ("8.0.0-alpha.7", "8.12.0"),
            ("8.13.0", "10.19.0"),
            ("10.20.0", "10.78.0"),
            ("11.0.0-rc.1", "11.8.0"),
        ],
    ),
    *[
        (v, [("8.13.0", "10.19.0"), ("10.20.0", "10.78.0"), ("11.0.0-rc.1", "11.8.0")])
        for v in ("15.0.0-rc.0", "15.0.0", "15.5.29")
    ],
    ("15.0.0-canary.50", []),
    *[
        (v, [("10.20.0", "10.78.0"), ("11.0.0-rc.1", "11.8.0")])
        for v in ("16.0.0-canary.3", "16.0.0", "16.1.4", "16.4.6", "16.0.0-canary.0")
    ],
    ("16.5.0-canary.38", []),
    ("16.1.0-canary.1", []),
    ("17.0.0", []),
]


@pytest.mark.parametrize(("next_version", "runs"), TABLE)
def test_reference_table_rows(next_version: str, runs: list[tuple[str, str]]) -> None:
    assert _runs_admitting(next_version) == runs


def test_demo_packument_reproduces_the_reference_answers() -> None:
    """next 16.1.4: 75 stable versions admit it, from 10.20.0 to 11.8.0 (reference §1.2/§1.4)."""
    doc = build_packument(pad=False)

    def stable_admitting(next_version: str) -> list[str]:
        return sort_versions(
            v
            for v, manifest in doc["versions"].items()
            if not is_prerelease(v)
            # No declared `next` peer (6.3.0-beta.3 … 6.3.5) is not "any next": skip it.
            and "next" in manifest.get("peerDependencies", {})
            and npm_satisfies(next_version, manifest["peerDependencies"]["next"])
        )

    for version in ("16.1.4", "16.0.0", "16.0.0-canary.3", "16.4.6"):
        admitted = stable_admitting(version)
        assert (len(admitted), admitted[0], admitted[-1]) == (75, "10.20.0", "11.8.0")
    assert "10.19.0" not in stable_admitting("16.1.4")
    assert stable_admitting("13.5.11")[-1] == "10.78.0"
    assert stable_admitting("12.3.4")[0] == "6.16.1"
    assert stable_admitting("12.3.4")[-1] == "7.120.4"
    assert stable_admitting("13.1.6")[0] == "7.17.2"
    assert stable_admitting("15.0.0")[0] == "8.13.0"
    assert stable_admitting("16.5.0-canary.38") == []
    assert stable_admitting("17.0.0") == []


def test_prerelease_nuance_of_the_dash_zero_floor() -> None:
    # ^16.0.0-0 admits pre-releases of 16.0.0 only (npm's same-tuple pre-release rule).
    assert npm_satisfies("16.0.0-canary.3", "^16.0.0-0")
    assert npm_satisfies("16.0.0-beta.0", "^16.0.0-0")
    assert not npm_satisfies("16.1.0-canary.1", "^16.0.0-0")
    assert not npm_satisfies("16.5.0-canary.38", "^16.0.0-0")
    assert npm_satisfies("16.5.0", "^16.0.0-0")
    # canary < rc in pre-release order, so ^15.0.0-rc.0 does not admit 15.0.0-canary.50.
    assert not npm_satisfies("15.0.0-canary.50", "^15.0.0-rc.0")
    assert npm_satisfies("15.0.0-rc.1", "^15.0.0-rc.0")
    # Reference §2, where semantic_version disagrees with npm.
    assert npm_satisfies("16.1.1", "~16.1.0-0")
    assert not npm_satisfies("16.0.0-canary.3", "<16")
    assert not npm_satisfies("16.1.4-canary.1", "<=16.1.4")
    assert not npm_satisfies("16.1.0-canary.10", "<16.1.0-canary.5")
    assert not npm_satisfies("16.0.0", ">16.0.0-canary.3 <16.0.0")


def test_real_peer_and_engine_ranges_with_spaces_and_or() -> None:
    assert npm_satisfies("5.94.0", ">= 4.0.0")
    assert npm_satisfies("5.0.0", ">= 5.0.0")
    assert not npm_satisfies("4.47.0", ">= 5.0.0")
    engines_11 = ">=20.19.0 <22.0.0 || >=22.12.0 <23.0.0 || >=23.2.0"
    assert npm_satisfies("20.19.0", engines_11)
    assert not npm_satisfies("20.11.0", engines_11)
    assert not npm_satisfies("22.11.0", engines_11)
    assert npm_satisfies("22.12.0", engines_11)
    assert not npm_satisfies("23.1.0", engines_11)
    assert npm_satisfies("24.0.0", engines_11)


def test_hyphen_and_x_ranges() -> None:
    assert npm_satisfies("1.2.0", "1.2 - 2.3.4")
    assert npm_satisfies("2.3.4", "1.2 - 2.3.4")
    assert not npm_satisfies("2.3.5", "1.2 - 2.3.4")
    assert npm_satisfies("2.3.9", "1.2.3 - 2.3")
    assert not npm_satisfies("2.4.0", "1.2.3 - 2.3")
    assert not npm_satisfies("1.2.2", "1.2.3 - 2.3")
    assert npm_satisfies("16.9.9", "16.x")
    assert not npm_satisfies("17.0.0", "16.x")
    assert npm_satisfies("0.2.5", "^0.2.3")
    assert not npm_satisfies("0.3.0", "^0.2.3")
    assert not npm_satisfies("0.0.4", "^0.0.3")


@pytest.mark.parametrize(
    ("version", "rng"),
    [
        ("latest", "^16.0.0"),
        ("", "^16.0.0"),
        ("16.1", ">=16"),
        ("16", ">=16"),
        ("16.1.4.1", ">=16"),
        ("16.1.4", "latest"),
        ("16.1.4", "github:vercel/next.js"),
        ("16.1.4", "workspace:*"),
        (None, "^16"),
        ("16.1.4", None),
        (16, "^16"),
    ],
)
def test_garbage_is_false_and_never_raises(version: object, rng: object) -> None:
    assert npm_satisfies(version, rng) is False  # type: ignore[arg-type]


def test_ranges_npm_accepts_loosely() -> None:
    assert npm_satisfies("16.1.4", ">=1.2.3 <")
    assert npm_satisfies("16.1.9", "~> 16.1")
    assert not npm_satisfies("16.2.0", "~> 16.1")


def test_trailing_or_means_any_like_npm() -> None:
    # npm reads an empty `||` alternative as `*`: every stable version, no pre-release.
    assert npm_satisfies("1.0.0", "^16.0.0-0 || ^15.0.0-rc.0 ||")
    assert not npm_satisfies("16.0.0-canary.3", "^16.0.0-0 || ^15.0.0-rc.0 ||")
    assert npm_satisfies("3.0.0", "|| ^16")


def test_loose_versions_are_read_as_npm_reads_them() -> None:
    assert npm_satisfies("v16.1.4", "^16.0.0")
    assert npm_satisfies("=16.1.4", "^16.0.0")
    assert npm_satisfies(" 16.1.4 ", "^16.0.0")
    assert npm_satisfies("16.01.4", "^16.1.0")  # npm's loose parser reads 16.1.4
    assert npm_satisfies("16.1.4+build.5", "16.1.4")


def test_parse_version_is_strict() -> None:
    assert parse_version("16.1.4") == "16.1.4"
    assert parse_version(" v16.1.4 ") == "16.1.4"
    assert parse_version("=16.0.0-canary.3+sha.1") == "16.0.0-canary.3+sha.1"
    for bad in ("16.1", "16", "latest", "", "16.01.4", "1.2.3-01", "^16.1.4", "16.1.4.1"):
        assert parse_version(bad) is None, bad
    assert parse_version(None) is None  # type: ignore[arg-type]


def test_is_prerelease() -> None:
    assert is_prerelease("16.0.0-canary.3")
    assert is_prerelease("11.0.0-rc.1")
    assert not is_prerelease("16.1.4")
    assert not is_prerelease("16.1.4+build-with-dash")
    assert not is_prerelease("garbage-1")


def test_compare_and_sort_with_prereleases() -> None:
    assert compare_versions("16.0.0-canary.3", "16.0.0") == -1
    assert compare_versions("16.0.0-canary.10", "16.0.0-canary.9") == 1
    assert compare_versions("15.0.0-canary.50", "15.0.0-rc.0") == -1
    assert compare_versions("1.0.0+a", "1.0.0+b") == 0
    assert compare_versions("v2.0.0", "2.0.0") == 0
    assert compare_versions("nonsense", "0.0.1") == -1
    assert compare_versions("0.0.1", "nonsense") == 1
    assert compare_versions("a", "b") == -1
    mixed = [
        "11.0.0",
        "11.0.0-rc.1",
        "10.20.0",
        "latest",
        "8.0.0-alpha.7",
        "8.0.0-alpha.10",
        "8.0.0-beta.1",
        "v7.120.4",
        "10.3.0",
        "",
        "8.0.0",
    ]
    assert sort_versions(mixed) == [
        "7.120.4",
        "8.0.0-alpha.7",
        "8.0.0-alpha.10",
        "8.0.0-beta.1",
        "8.0.0",
        "10.3.0",
        "10.20.0",
        "11.0.0-rc.1",
        "11.0.0",
    ]
    assert sort_versions([]) == []


@pytest.mark.parametrize(
    ("rng", "lowest"),
    [
        ("^16.1.4", "16.1.4"),
        ("16.1.4", "16.1.4"),
        ("=16.1.4", "16.1.4"),
        ("~15.5", "15.5.0"),
        ("16.x", "16.0.0"),
        (">=16.0.0-0", "16.0.0-0"),
        ("^16.0.0-canary.3", "16.0.0-canary.3"),
        (">16.1.4", "16.1.5"),
        (">16.0.0-canary.3", "16.0.0-canary.3.0"),
        ("^15.0.0 || ^14.2.0", "14.2.0"),
        ("1.2 - 2.3.4", "1.2.0"),
        ("*", "0.0.0"),
        ("", "0.0.0"),
        ("<17", "0.0.0"),
        ("latest", None),
        ("github:vercel/next.js", None),
        ("workspace:*", None),
        ("<0.0.0-0", None),
        (None, None),
    ],
)
def test_lowest_in_range(rng: str, lowest: str | None) -> None:
    assert lowest_in_range(rng) == lowest


def _npm_semver_module() -> Path | None:
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        return None
    done = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, timeout=60)
    module = Path(done.stdout.strip()) / "npm" / "node_modules" / "semver"
    return module if (module / "package.json").is_file() else None


def test_agrees_with_npms_own_semver_when_node_is_here() -> None:
    """Belt and braces (reference §2): npm's bundled semver decides the same on every pair."""
    module = _npm_semver_module()
    if module is None:
        pytest.skip("node with npm's bundled semver is not installed here")
    doc = build_packument(pad=False)
    ranges = sorted(
        {m.get("peerDependencies", {}).get("next", "") for m in doc["versions"].values()}
        | {m["engines"]["node"] for m in doc["versions"].values()}
        | {"~16.1.0-0", "<16", "1.2.3 - 2.3", "^16.0.0-0 || ^15.0.0-rc.0 ||", "latest", "*"}
    )
    versions = [
        "12.3.4", "13.1.6", "13.2.0", "14.2.35", "15.0.0-canary.50", "15.0.0-rc.0", "15.5.29",
        "16.0.0-canary.3", "16.1.0-canary.1", "16.1.4", "16.5.0-canary.38", "17.0.0",
        "20.11.0", "20.19.0", "22.12.0", "16.1", "latest", "v16.1.4", "16.01.4",
    ]  # fmt: skip
    pairs = [(v, r) for v in versions for r in ranges]
    script = (
        "const s = require(process.argv[1]);"
        "const d = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify({"
        " sat: d.pairs.map(([v, r]) => { try { return s.satisfies(v, r, true) }"
        " catch (e) { return false } }),"
        " min: d.ranges.map(r => { try { const m = s.minVersion(r, true);"
        " return m ? m.version : null } catch (e) { return null } }) }))"
    )
    done = subprocess.run(
        ["node", "-e", script, str(module)],
        input=json.dumps({"pairs": pairs, "ranges": ranges}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    npm = json.loads(done.stdout)
    assert [npm_satisfies(v, r) for v, r in pairs] == npm["sat"]
    assert [lowest_in_range(r) for r in ranges] == npm["min"]
