"""The project's Node version against the `engines.node` of Next.js and @sentry/nextjs.

A recommendation that runs on the project's Node but not the Node Next.js needs helps nobody, so
both engines are weighed, and a Node below what Next.js needs is said before anything else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cmp_to_key

from ccplate_tui.sentry.npm_semver import (
    compare_versions,
    lowest_in_range,
    npm_satisfies,
    parse_version,
)
from ccplate_tui.sentry.packument import VersionInfo
from ccplate_tui.sentry.project_scan import ProjectScan


@dataclass(frozen=True)
class ProjectNode:
    """The project's Node as far as engines checks go."""

    written: str | None
    """As the project writes it (`.nvmrc`, `.node-version` or `engines.node`)."""
    source: str | None
    check_as: str | None
    """The exact version engines are checked against (the lowest of a range)."""
    exact: bool

    def describe(self) -> str:
        where = f" ({self.source})" if self.source else ""
        if self.exact:
            return f"this project pins Node {self.written}{where}"
        return f"this project allows Node {self.written}{where}, i.e. from {self.check_as}"


UNKNOWN_NODE = ProjectNode(None, None, None, False)


def project_node(scan: ProjectScan) -> ProjectNode:
    written = (scan.node_version or "").strip() or None
    if written is None:
        return UNKNOWN_NODE
    exact = parse_version(written)
    if exact:
        return ProjectNode(written, scan.node_version_source, exact, True)
    return ProjectNode(written, scan.node_version_source, lowest_in_range(written), False)


def engines_ok(engines_node: str | None, node: ProjectNode) -> bool:
    """Whether a package declaring `engines_node` runs on the project's Node (unknown: yes)."""
    if not engines_node or node.check_as is None:
        return True
    return npm_satisfies(node.check_as, engines_node)


def node_for_all(ranges: Iterable[str | None]) -> str | None:
    """The lowest Node among the ranges' floors that satisfies every range, or None."""
    wanted = [r for r in ranges if r]
    floors = sorted(
        {f for f in (lowest_in_range(r) for r in wanted) if f}, key=cmp_to_key(compare_versions)
    )
    for floor in floors:
        if all(npm_satisfies(floor, r) for r in wanted):
            return floor
    return None


def next_node_conflict(
    next_version: str, next_engines: str | None, node: ProjectNode
) -> str | None:
    """What to say first when the project's Node is below what its Next.js needs, else None."""
    if engines_ok(next_engines, node):
        return None
    return f"next {next_version} needs Node {next_engines}; {node.describe()}"


def upgrade_node_advice(
    conflict: str, next_engines: str | None, sdk: str | None, sdk_engines: str | None
) -> str:
    """`conflict`, then the Node to move to that runs both Next.js and the recommended SDK."""
    target = node_for_all([next_engines, sdk_engines])
    floor = lowest_in_range(next_engines) if next_engines else None
    also = ""
    if sdk and sdk_engines and target and floor and compare_versions(target, floor) > 0:
        also = f" (@sentry/nextjs {sdk} needs Node {sdk_engines})"
    to = f", to {target} or later{also}" if target else ""
    return f"{conflict}: upgrade Node first{to}"


def preferred_for_node(
    candidates: list[VersionInfo], node: ProjectNode
) -> tuple[list[VersionInfo], VersionInfo | None]:
    """The candidates to propose, preferred first, and the newer one passed over for Node.

    Newest first among those that run on the project's Node; deprecated versions only when
    nothing else is left. When none runs on it, the newest alone, with itself as the conflict.
    """
    live = [v for v in candidates if not v.deprecated] or candidates
    if not live:
        return [], None
    newest = live[-1]
    runnable = [v for v in reversed(live) if engines_ok(v.engines_node, node)]
    if not runnable:
        return [newest], newest
    return runnable, (None if runnable[0] is newest else newest)


def pin_node_advice(sdk: str, sdk_engines: str, next_version: str, next_engines: str | None) -> str:
    """What to say when the project pins no Node: what both packages need, and what to pin."""
    also = f" and next {next_version} needs {next_engines}" if next_engines else ""
    target = node_for_all([sdk_engines, next_engines])
    return (
        f"Check Node: @sentry/nextjs {sdk} needs Node {sdk_engines}{also}; this project pins no "
        "Node version (.nvmrc, .node-version or engines.node)"
        + (f": pin {target} or later" if target else "")
    )
