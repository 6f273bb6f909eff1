"""npm's semver rules (as npm's own peer checks apply them) over node-semver, never raising.

node-semver matches npm's `satisfies(version, range, loose=true)` on every real range, but raises on
non-versions and reads a trailing `||` differently; the guard here (reference §2) closes those gaps
so callers can feed it whatever a package.json or a registry holds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import nodesemver

_VERSION = re.compile(r"^\s*[v=]*\s*(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)\s*$")
_RANGE_ERRORS = (ValueError, TypeError, AttributeError, IndexError)


def parse_version(text: str) -> str | None:
    """The strict `x.y.z[-pre][+build]` in `text` (a `v`/`=` prefix stripped), else None."""
    if not isinstance(text, str):
        return None
    match = _VERSION.match(text)
    if not match:
        return None
    try:
        return match.group(1) if nodesemver.valid(match.group(1), loose=False) else None
    except _RANGE_ERRORS:
        return None


@functools.lru_cache(maxsize=8192)
def _loose_version(text: str) -> str | None:
    """The version npm's loose parser reads (`16.01.4` -> `16.1.4`), or None.

    node-semver's `valid(loose=True)` agrees with npm here, while its `satisfies` alone would
    accept incomplete versions such as `16.1` (reference §2).
    """
    try:
        return nodesemver.valid(text.strip(), loose=True)
    except _RANGE_ERRORS:
        return None


def _npm_range(rng: str) -> str:
    """The range npm would read: an empty `||` alternative makes the whole range `*` in npm."""
    alternatives = rng.split("||")
    if len(alternatives) > 1 and any(not part.strip() for part in alternatives):
        return "*"
    return rng


@functools.lru_cache(maxsize=4096)
def _range(rng: str) -> nodesemver.Range | None:
    try:
        if nodesemver.valid_range(rng, loose=True) is None:
            return None
        return nodesemver.make_range(rng, loose=True)
    except _RANGE_ERRORS:
        return None


def npm_satisfies(version: str, rng: str) -> bool:
    """Whether `version` satisfies `rng` as npm's `semver.satisfies(v, range, true)` says.

    Loose range parsing, no `includePrerelease` (what npm uses for peer checks), so `^16.0.0-0`
    admits `16.0.0-canary.3` but not `16.1.0-canary.1`. Anything unparsable is simply False.
    """
    if not isinstance(version, str) or not isinstance(rng, str):
        return False
    parsed = _loose_version(version)
    compiled = _range(_npm_range(rng))
    if parsed is None or compiled is None:
        return False
    try:
        # What `nodesemver.satisfies` does, minus re-parsing the range and version every call.
        return bool(compiled.test(_semver(parsed)))
    except _RANGE_ERRORS:
        return False


def is_prerelease(version: str) -> bool:
    """Whether `version` is a valid version with a pre-release part (`16.0.0-canary.3`)."""
    parsed = parse_version(version)
    return parsed is not None and "-" in parsed.split("+", 1)[0]


@functools.lru_cache(maxsize=8192)
def _semver(version: str) -> nodesemver.SemVer:
    return nodesemver.make_semver(version, loose=False)


def compare_versions(a: str, b: str) -> int:
    """Semver precedence of `a` against `b` (-1, 0, 1); build metadata does not count.

    An invalid version sorts before every valid one (two invalid ones compare as text), so a
    sort never fails on a stray registry key.
    """
    pa, pb = parse_version(a), parse_version(b)
    if pa is None or pb is None:
        if pa is None and pb is None:
            ta, tb = str(a), str(b)
            return (ta > tb) - (ta < tb)
        return -1 if pa is None else 1
    return _semver(pa).compare(_semver(pb))


def sort_versions(versions: Iterable[str]) -> list[str]:
    """The valid versions (prefixes stripped) in ascending semver order; invalid ones dropped."""
    parsed = [p for p in (parse_version(v) for v in versions) if p is not None]
    return sorted(parsed, key=functools.cmp_to_key(compare_versions))


def lowest_in_range(rng: str) -> str | None:
    """The lowest version `rng` allows, as npm's `semver.minVersion(range, true)` computes it.

    `^16.1.4` -> `16.1.4`, `>=16.0.0-0` -> `16.0.0-0`, `*` -> `0.0.0`; tags, URLs and garbage
    (`latest`, `github:…`) -> None.
    """
    if not isinstance(rng, str):
        return None
    rng = _npm_range(rng)
    parsed = _range(rng)
    if parsed is None:
        return None
    for floor in ("0.0.0", "0.0.0-0"):
        if npm_satisfies(floor, rng):
            return floor
    best: nodesemver.SemVer | None = None
    try:
        for comparators in parsed.set:
            set_min: nodesemver.SemVer | None = None
            for comparator in comparators:
                if comparator.operator not in (">", ">=", "=", "", None):
                    continue  # upper bounds do not raise the floor
                candidate = _semver(comparator.semver.version)
                if comparator.operator == ">":
                    candidate = _just_above(candidate)
                if set_min is None or candidate.compare(set_min) > 0:
                    set_min = candidate
            if set_min is not None and (best is None or best.compare(set_min) > 0):
                best = set_min
    except _RANGE_ERRORS:
        return None
    if best is None:
        return None
    return best.version if npm_satisfies(best.version, rng) else None


def _just_above(version: nodesemver.SemVer) -> nodesemver.SemVer:
    """The lowest version greater than `version` (npm: patch + 1, or the pre-release plus `.0`)."""
    if version.prerelease:
        return _semver(f"{version.version}.0")
    return _semver(f"{version.major}.{version.minor}.{version.patch + 1}")
