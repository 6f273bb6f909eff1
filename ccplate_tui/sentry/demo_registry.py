"""The demo npm registry: every package a demo install of @sentry/nextjs or Next.js resolves.

The demo target serves it at `/__npm/` and the tests' registry fixture at their prefix, so
`npm install --dry-run` (which reads packuments, never tarballs) runs against it end to end.
`@sentry/nextjs` is demo_packument.py's detailed document; its @sentry siblings carry the same
versions, except `@sentry/cloudflare`, which stops at 11.0.0 like the mirror issue 12 was found
on, so @sentry/nextjs 11.6.0 ... 11.8.0 (which depend on it at their own version) fail with
ETARGET there. Next.js, React and their dependencies are real in shape with few versions;
native optional dependencies (`@next/swc-*`, `sharp`) are left out.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ccplate_tui.sentry import demo_packument as nextjs
from ccplate_tui.sentry.demo_packument import PACKAGE as SENTRY_NEXTJS

# Placeholder tarball host: never a real registry's hostname (house rule).
TARBALL_HOST = "http://127.0.0.1/"
CLOUDFLARE_LAST = "11.0.0"
"""The newest @sentry/cloudflare on the demo registry (a mirror that has not caught up)."""


@dataclass(frozen=True)
class Release:
    """One published version: what npm reads from its manifest to resolve an install."""

    version: str
    dependencies: Mapping[str, str] = field(default_factory=dict)
    peers: Mapping[str, str] = field(default_factory=dict)
    optional_peers: tuple[str, ...] = ()
    engines_node: str | None = None


def _leaves(*versions: str, engines_node: str | None = None) -> tuple[Release, ...]:
    return tuple(Release(v, engines_node=engines_node) for v in versions)


_NEXT_PEERS = {"@opentelemetry/api": "^1.1.0", "sass": "^1.3.0"}


def _next(version: str) -> Release:
    major = int(version.split(".", 1)[0])
    deps: dict[str, str] = {
        "@next/env": version,
        "caniuse-lite": "^1.0.30001579",
        "postcss": "8.4.31",
    }
    if major >= 15:
        deps |= {"@swc/helpers": "0.5.15", "styled-jsx": "5.1.6"}
        react = "^18.2.0 || ^19.0.0"
    else:
        deps |= {"@swc/helpers": "0.5.5", "busboy": "1.6.0", "styled-jsx": "5.1.1"}
        react = "^18.2.0"
        if major == 14:
            deps["graceful-fs"] = "^4.2.11"
    engines = {13: ">=16.14.0", 14: ">=18.17.0", 15: "^18.18.0 || ^19.8.0 || >= 20.0.0"}
    return Release(
        version,
        dict(sorted(deps.items())),
        {"react": react, "react-dom": react, **_NEXT_PEERS},
        tuple(_NEXT_PEERS),
        engines.get(major, ">=20.9.0"),
    )


NEXT_VERSIONS = (
    "13.5.11",
    "14.2.35",
    "15.5.9",
    "16.0.0",
    "16.1.4",
    "16.2.3",
    "16.4.6",
    "16.5.0-canary.38",
)
NEXT_LATEST = "16.4.6"


def _third_party() -> dict[str, tuple[Release, ...]]:
    """Next.js, React and the third-party packages @sentry/nextjs depends on."""
    react_peer = ">= 16.8.0 || 17.x.x || ^18.0.0-0"
    return {
        "next": tuple(_next(v) for v in NEXT_VERSIONS),
        "@next/env": _leaves(*NEXT_VERSIONS),
        "@swc/helpers": (
            Release("0.5.5", {"@swc/counter": "^0.1.3", "tslib": "^2.4.0"}),
            Release("0.5.15", {"tslib": "^2.8.0"}),
        ),
        "@swc/counter": _leaves("0.1.3"),
        "tslib": _leaves("2.8.1"),
        "busboy": (Release("1.6.0", {"streamsearch": "^1.1.0"}, engines_node=">=10.16.0"),),
        "streamsearch": _leaves("1.1.0", engines_node=">=10.0.0"),
        "graceful-fs": _leaves("4.2.11"),
        "caniuse-lite": _leaves("1.0.30001579", "1.0.30001760"),
        "postcss": (
            Release(
                "8.4.31",
                {"nanoid": "^3.3.6", "picocolors": "^1.0.0", "source-map-js": "^1.0.2"},
                engines_node="^10 || ^12 || >=14",
            ),
        ),
        "nanoid": _leaves("3.3.11"),
        "picocolors": _leaves("1.1.1"),
        "source-map-js": _leaves("1.2.1", engines_node=">=0.10.0"),
        "styled-jsx": (
            Release("5.1.1", {"client-only": "0.0.1"}, {"react": react_peer}),
            Release("5.1.6", {"client-only": "0.0.1"}, {"react": react_peer + " || ^19.0.0-0"}),
        ),
        "client-only": _leaves("0.0.1"),
        "react": (
            Release("18.3.1", {"loose-envify": "^1.1.0"}, engines_node=">=0.10.0"),
            *_leaves("19.2.3", "19.2.4", engines_node=">=0.10.0"),
        ),
        "react-dom": (
            Release(
                "18.3.1", {"loose-envify": "^1.1.0", "scheduler": "^0.23.2"}, {"react": "^18.3.1"}
            ),
            Release("19.2.3", {"scheduler": "^0.27.0"}, {"react": "^19.2.3"}),
            Release("19.2.4", {"scheduler": "^0.27.0"}, {"react": "^19.2.4"}),
        ),
        "scheduler": (Release("0.23.2", {"loose-envify": "^1.1.0"}), *_leaves("0.27.0")),
        "loose-envify": (Release("1.4.0", {"js-tokens": "^3.0.0 || ^4.0.0"}),),
        "js-tokens": _leaves("4.0.0"),
        "@opentelemetry/api": _leaves("1.9.0", "1.9.1", engines_node=">=8.0.0"),
        "@rollup/plugin-commonjs": _leaves(
            "28.0.1", "28.0.6", engines_node=">=16.0.0 || 14 >= 14.17"
        ),
        "@sentry/conventions": _leaves("0.16.0", "0.23.0", "0.27.0"),
        "@sentry/webpack-plugin": _leaves("1.21.0", "2.22.6", "3.5.0", "5.4.1"),
        "chalk": _leaves("3.0.0", engines_node=">=8"),
        "resolve": _leaves("1.22.8"),
        "rollup": _leaves("2.78.0", "4.35.0", "4.60.3", engines_node=">=18.0.0"),
        "stacktrace-parser": _leaves("0.1.10", "0.1.11", engines_node=">=6"),
    }


_SIBLINGS = (
    "@sentry/browser-utils",
    "@sentry/bundler-plugins",
    "@sentry/core",
    "@sentry/integrations",
    "@sentry/node",
    "@sentry/opentelemetry",
    "@sentry/react",
    "@sentry/server-runtime-injection",
    "@sentry/server-utils",
    "@sentry/tracing",
    "@sentry/vercel-edge",
)


def _sibling(name: str, version: str) -> Release:
    """A sibling @sentry package at `version`: it depends on @sentry/core at the same version."""
    deps: dict[str, str] = {} if name == "@sentry/core" else {"@sentry/core": version}
    peers: dict[str, str] = {}
    if name == "@sentry/node" and int(version.split(".", 1)[0]) >= 8:
        deps |= {"@opentelemetry/api": "^1.9.0", "@sentry/opentelemetry": version}
    if name == "@sentry/react":
        peers["react"] = "^16.14.0 || 17.x || 18.x || 19.x"
    major = int(version.split(".", 1)[0])
    return Release(version, deps, peers, engines_node=nextjs.ENGINES_NODE[major])


def _sentry_family() -> dict[str, tuple[Release, ...]]:
    versions = nextjs.published_versions()
    family = {name: tuple(_sibling(name, v) for v in versions) for name in _SIBLINGS}
    last = nextjs.version_key(CLOUDFLARE_LAST)
    cloudflare = [
        v
        for v in versions
        if "-" not in v and nextjs.version_key("10.0.0") <= nextjs.version_key(v) <= last
    ]
    family["@sentry/cloudflare"] = tuple(_sibling("@sentry/cloudflare", v) for v in cloudflare)
    return family


@functools.cache
def _catalog() -> dict[str, tuple[Release, ...]]:
    return {**_third_party(), **_sentry_family()}


def package_names() -> frozenset[str]:
    """Every package the demo registry serves."""
    return frozenset(_catalog()) | {SENTRY_NEXTJS}


def _dist(name: str, version: str) -> dict[str, Any]:
    seed = f"{name}@{version}".encode()
    base = name.rsplit("/", 1)[-1]
    return {
        "tarball": f"{TARBALL_HOST}{name}/-/{base}-{version}.tgz",
        "shasum": hashlib.sha1(seed).hexdigest(),
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(seed).digest()).decode(),
    }


def _manifest(name: str, release: Release) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": name, "version": release.version}
    if release.dependencies:
        doc["dependencies"] = dict(release.dependencies)
    if release.peers:
        doc["peerDependencies"] = dict(release.peers)
    if release.optional_peers:
        doc["peerDependenciesMeta"] = {p: {"optional": True} for p in release.optional_peers}
    if release.engines_node:
        doc["engines"] = {"node": release.engines_node}
    doc |= {"dist": _dist(name, release.version), "_hasShrinkwrap": False}
    return doc


def _latest(name: str, releases: tuple[Release, ...]) -> str:
    if name == "next":
        return NEXT_LATEST
    stable = [r.version for r in releases if "-" not in r.version] or [releases[-1].version]
    return max(stable, key=nextjs.version_key)


def build_document(name: str, *, abbreviated: bool = False) -> dict[str, Any] | None:
    """The packument of `name` (full, or npm's abbreviated install-v1 shape); None if unknown."""
    if name == SENTRY_NEXTJS:
        return nextjs.build_packument(abbreviated=abbreviated)
    releases = _catalog().get(name)
    if releases is None:
        return None
    ordered = sorted(releases, key=lambda r: nextjs.version_key(r.version))
    versions = {r.version: _manifest(name, r) for r in ordered}
    tags = {"latest": _latest(name, releases)}
    times = {r.version: nextjs.published_at(i) for i, r in enumerate(ordered)}
    if abbreviated:
        modified = times[ordered[-1].version]
        return {"name": name, "modified": modified, "dist-tags": tags, "versions": versions}
    return {"_id": name, "name": name, "dist-tags": tags, "versions": versions, "time": times}


@functools.cache
def document_json(name: str, *, abbreviated: bool = False) -> bytes | None:
    """`build_document()` serialised once per package and shape (the documents never change)."""
    if name == SENTRY_NEXTJS:
        return nextjs.packument_json(abbreviated=abbreviated)
    doc = build_document(name, abbreviated=abbreviated)
    return None if doc is None else json.dumps(doc, separators=(",", ":")).encode()


def version_manifest(name: str, spec: str) -> dict[str, Any] | None:
    """One version's manifest by exact version or dist-tag (`/latest`), as registries answer."""
    doc = build_document(name)
    if doc is None:
        return None
    version = doc["dist-tags"].get(spec, spec)
    manifest = doc["versions"].get(version)
    return manifest if isinstance(manifest, dict) else None
