"""Which version of a package this project runs or would run: one reading for every package.

The installed version (node_modules, else the lockfile: the scan's exact version) when there is
one, else the version `npm install` would pick from the registry for the range package.json
declares. Reading `next` by the lowest version of its range while `@sentry/nextjs` was read by
what npm installs gave two answers for one project (issue 12); both now read the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccplate_tui.sentry.npm_semver import (
    compare_versions,
    lowest_in_range,
    npm_satisfies,
    parse_version,
)
from ccplate_tui.sentry.packument import Packument
from ccplate_tui.sentry.project_scan import InstalledPackage


@dataclass(frozen=True)
class Reading:
    """The version of one package, and how it was found."""

    package: str
    version: str | None
    planned: bool
    """Not installed: `version` is what `npm install` would install for the declared range."""
    note: str
    """How the version was read (empty for an installed version), or why it is unknown."""


def npm_pick(spec: str, packument: Packument) -> str | None:
    """The version npm-pick-manifest chooses for `spec` (a version, range or `latest`).

    `dist-tags.latest` when the range admits it and it is not deprecated; else the highest
    admitted version, non-deprecated ones first. Engines are not weighed: npm weighs the Node
    running npm, not the project's. None when nothing matches (npm: ETARGET).
    """
    versions = {v.version: v for v in packument.versions}
    spec = spec.strip()
    if spec == "latest":
        return packument.latest if packument.latest in versions else None
    exact = parse_version(spec)
    if exact is not None:
        return exact if exact in versions else None
    range_ = spec or "*"
    latest = versions.get(packument.latest or "")
    if latest and not latest.deprecated and npm_satisfies(latest.version, range_):
        return latest.version
    matching = [v for v in packument.versions if npm_satisfies(v.version, range_)]
    if not matching:
        return None
    live = [v for v in matching if not v.deprecated] or matching
    best = live[0]
    for info in live[1:]:
        if compare_versions(info.version, best.version) > 0:
            best = info
    return best.version


def read_package(pkg: InstalledPackage, packument: Packument | None) -> Reading:
    """`pkg`'s installed version, else what npm would install from `packument` (a registry's
    answer or its cache: an installed manifest alone cannot say)."""
    exact = parse_version(pkg.version) if pkg.version else None
    if exact:
        return Reading(pkg.name, exact, False, "")
    where = pkg.source_path or "package.json"
    if not pkg.declared:
        return Reading(pkg.name, None, False, f"{pkg.name} is not installed and not declared")
    if packument is None or packument.origin == "node_modules":
        return Reading(
            pkg.name,
            None,
            False,
            f"{pkg.name} is not installed and the registry was not reached, so which version "
            f"npm would install for {pkg.declared!r} ({where}) is unknown: run `npm install` "
            "or check again with the registry reachable",
        )
    spec = pkg.declared.strip()
    if spec not in ("", "*", "latest") and lowest_in_range(spec) is None:
        return Reading(
            pkg.name,
            None,
            False,
            f"{pkg.name} is not installed and {where} declares {pkg.declared!r}, which names no "
            "version range (a URL, path or dist-tag): run `npm install` and check again",
        )
    picked = npm_pick(spec, packument)
    if picked is None:
        return Reading(
            pkg.name,
            None,
            False,
            f"{pkg.name} is not installed and no version on the registry satisfies "
            f"{pkg.declared!r} ({where}): `npm install` would fail (ETARGET)",
        )
    latest = ", the latest" if picked == packument.latest else ""
    exact_spec = parse_version(spec) == picked or spec in ("", "*", "latest")
    cached = f" (cached answer of {packument.fetched_at})" if packument.origin == "cache" else ""
    return Reading(
        pkg.name,
        picked,
        True,
        f"{pkg.name} is not installed yet: `npm install` would install {picked}{latest}"
        f"{'' if exact_spec else ' for ' + pkg.declared} ({where}){cached}",
    )
