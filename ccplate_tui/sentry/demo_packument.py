"""A realistic, deterministic `@sentry/nextjs` packument built from the reference's version history.

The demo target's local registry route and the tests' registry fixture serve it, so the
compatibility check can run end to end without a public registry. Every boundary named in the
reference (§1.2/§1.3) is reproduced exactly; versions between the boundaries are plausible fill.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

PACKAGE = "@sentry/nextjs"
LATEST = "11.8.0"
# Placeholder tarball host: never a real registry's hostname (house rule).
TARBALL_BASE = "http://127.0.0.1/@sentry/nextjs/-/"


@dataclass(frozen=True)
class PeerRun:
    """A run of consecutive versions sharing one `peerDependencies.next` (None: no such peer)."""

    first: str
    last: str
    next_range: str | None


# Reference §1.3, verbatim.
VERSION_HISTORY: tuple[PeerRun, ...] = (
    PeerRun("6.3.0-beta.3", "6.3.5", None),
    PeerRun("6.3.6", "6.7.2", "^10.0.8"),
    PeerRun("6.8.0", "6.16.0", "^10.0.8 || ^11.0"),
    PeerRun("6.16.1", "7.16.0", "^10.0.8 || ^11.0 || ^12.0"),
    PeerRun("7.17.2", "7.75.1", "^10.0.8 || ^11.0 || ^12.0 || ^13.0"),
    PeerRun("7.76.0", "7.120.4", "^10.0.8 || ^11.0 || ^12.0 || ^13.0 || ^14.0"),
    PeerRun("8.0.0-alpha.7", "8.12.0", "^13.2.0 || ^14.0"),
    PeerRun("8.13.0", "10.19.0", "^13.2.0 || ^14.0 || ^15.0.0-rc.0"),
    PeerRun("10.20.0", "10.78.0", "^13.2.0 || ^14.0 || ^15.0.0-rc.0 || ^16.0.0-0"),
    PeerRun("11.0.0-rc.1", "11.8.0", "^14.0 || ^15.0.0-rc.0 || ^16.0.0-0"),
)

# Reference §1.2, per major.
ENGINES_NODE: Mapping[int, str] = {
    6: ">=6",
    7: ">=8",
    8: ">=14.18",
    9: ">=18",
    10: ">=18",
    11: ">=20.19.0 <22.0.0 || >=22.12.0 <23.0.0 || >=23.2.0",
}


def _minors(major: int, last_minor: int, patches: Mapping[int, tuple[int, ...]]) -> list[str]:
    """`major.m.0` for every minor (or the listed patches instead/in addition, as given)."""
    out: list[str] = []
    for minor in range(last_minor + 1):
        out.extend(f"{major}.{minor}.{patch}" for patch in patches.get(minor, (0,)))
    return out


def _versions() -> list[str]:
    """Every published version in semver order; per-major counts as in reference §1.2."""
    v6 = [
        *("6.3.0-beta.3", "6.3.0-beta.4", "6.3.0", "6.3.1", "6.3.2", "6.3.3", "6.3.4", "6.3.5"),
        *("6.3.6", "6.4.0", "6.4.1", "6.5.0", "6.5.1", "6.6.0", "6.7.0", "6.7.1", "6.7.2"),
        *("6.8.0", "6.9.0", "6.10.0", "6.11.0", "6.12.0", "6.13.0", "6.13.1", "6.13.2"),
        *("6.13.3", "6.14.0", "6.14.1", "6.14.3", "6.15.0", "6.16.0"),
        *("6.16.1", "6.17.0", "6.17.4", "6.17.9", "6.18.0", "6.18.1", "6.18.2", "6.19.2"),
        *("6.19.6", "6.19.7"),
    ]
    # 7.17.0/7.17.1 do not exist (the ^13.0 run starts at 7.17.2) and 7.16.0 ends its run.
    v7_patches: dict[int, tuple[int, ...]] = {m: (0, 1) for m in range(2, 120, 3)}
    v7_patches |= {17: (2, 3), 75: (0, 1), 120: (0, 1, 2, 3, 4)}
    v7 = _minors(7, 120, v7_patches)
    v8_patches = {0: (0,), 33: (0, 1), 55: (0, 1, 2)}
    v8 = _minors(8, 55, v8_patches)
    v8 = [
        *("8.0.0-alpha.7", "8.0.0-alpha.9", "8.0.0-beta.1", "8.0.0-beta.6", "8.0.0-rc.2"),
        *v8[: v8.index("8.36.0")],
        "8.36.0-alpha.1",
        *v8[v8.index("8.36.0") :],
    ]
    v8.remove("8.55.1")  # fill choice: the reference names 8.55.0 and 8.55.2; 8.x stays at 64
    v9_patches: dict[int, tuple[int, ...]] = {m: (0, 1) for m in (5, 10, 15, 22, 30, 40)}
    v9 = _minors(9, 47, v9_patches | {47: (0, 1, 2)})
    v10_patches = {m: (0, 1) for m in (5, 22, 27, 33, 45, 59, 66)}
    v10 = _minors(10, 78, v10_patches)
    v11 = ["11.0.0-rc.1", *_minors(11, 8, {0: (0, 1)})]
    return [*v6, *v7, *v8, *v9, *v10, *v11]


def _key(version: str) -> tuple[int, int, int, int, tuple[Any, ...]]:
    """Semver precedence for the well-formed versions built here (no dependency on a library)."""
    core, _, pre = version.partition("-")
    major, minor, patch = (int(part) for part in core.split("."))
    if not pre:
        return (major, minor, patch, 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, 0, ids)


def _run_of(version: str) -> PeerRun:
    key = _key(version)
    for run in VERSION_HISTORY:
        if _key(run.first) <= key <= _key(run.last):
            return run
    raise AssertionError(f"{version} is outside the version history")  # a bug in _versions


def _in(version: str, first: str, last: str) -> bool:
    return _key(first) <= _key(version) <= _key(last)


def _peers(version: str) -> tuple[dict[str, str], dict[str, dict[str, bool]]]:
    """`peerDependencies` and `peerDependenciesMeta` (reference §1.3, "other peers")."""
    run = _run_of(version)
    if run.next_range is None:
        return {}, {}
    peers = {"next": run.next_range}
    if _in(version, "6.3.6", "6.19.7"):
        peers["react"] = "15.x || 16.x || 17.x || 18.x"
    elif _in(version, "7.0.0", "7.120.4"):
        peers["react"] = "16.x || 17.x || 18.x"
    elif _in(version, "8.0.0-alpha.7", "8.12.0"):
        peers["react"] = "^16.8.0 || ^17.0.0 || ^18.0.0 || ^19.0.0-rc-66855b96-20241106"
    if _in(version, "6.14.0", "7.120.4"):
        peers["webpack"] = ">= 4.0.0"
    elif _in(version, "8.0.0-alpha.7", "8.28.0"):
        peers["webpack"] = ">= 5.0.0"
    elif _in(version, "8.29.0", "8.32.0"):
        peers["webpack"] = "5.94.0"
    elif _in(version, "8.33.0", "8.36.0-alpha.1"):
        peers["webpack"] = ">=5.0.0"
    meta = {"webpack": {"optional": True}} if _in(version, "6.18.1", "8.36.0-alpha.1") else {}
    return peers, meta


# The first 11.x that depends on @sentry/cloudflare (as the real 11.6.0 does).
CLOUDFLARE_FROM = "11.6.0"


def _dependencies(version: str) -> dict[str, str]:
    """The real shape of each line's `dependencies`: sibling @sentry packages pinned to the same
    version, a few third-party ranges (all served by the demo registry, see demo_registry.py)."""
    major = _key(version)[0]
    pinned = ("@sentry/core", "@sentry/node", "@sentry/react")
    if major < 8:
        names = (*pinned, "@sentry/integrations", "@sentry/tracing")
        third = {"@sentry/webpack-plugin": "^1.21.0", "chalk": "3.0.0", "rollup": "2.78.0"}
    elif major < 10:
        names = (*pinned, "@sentry/opentelemetry", "@sentry/vercel-edge")
        third = {
            "@rollup/plugin-commonjs": "28.0.1",
            "@sentry/webpack-plugin": "^2.22.6" if major == 8 else "^3.5.0",
            "chalk": "3.0.0",
            "resolve": "1.22.8",
            "rollup": "^4.35.0",
        }
    else:
        names = (
            *pinned,
            "@sentry/browser-utils",
            "@sentry/bundler-plugins",
            "@sentry/opentelemetry",
            "@sentry/server-utils",
            "@sentry/vercel-edge",
        )
        third = {
            "@opentelemetry/api": ">=1.9.1 <1.10.0" if major == 10 else "^1.9.1",
            "@rollup/plugin-commonjs": "28.0.1",
            "@sentry/conventions": "^0.16.0" if major == 10 else "^0.23.0",
            "rollup": "^4.60.3",
        }
        if major == 10:
            third["@sentry/webpack-plugin"] = "^5.4.1"
        else:
            names = (*names, "@sentry/server-runtime-injection")
            if _key(version) >= _key(CLOUDFLARE_FROM):
                names = (*names, "@sentry/cloudflare")
    deps = {name: version for name in names} | third
    deps["stacktrace-parser"] = "^0.1.11" if major >= 10 else "^0.1.10"
    return dict(sorted(deps.items()))


_DEV_DEPENDENCIES = {
    "@types/resolve": "1.20.3",
    "eslint-plugin-react": "^7.31.11",
    "next": "13.5.9",
    "react": "^18.3.1",
    "react-dom": "^18.3.1",
}


def _exports() -> dict[str, Any]:
    return {
        "./package.json": "./package.json",
        ".": {
            "edge": {"import": "./build/esm/edge/index.js", "require": "./build/cjs/edge/index.js"},
            "browser": {
                "import": "./build/esm/index.client.js",
                "require": "./build/cjs/index.client.js",
            },
            "node": {
                "import": "./build/esm/index.server.js",
                "require": "./build/cjs/index.server.js",
            },
            "types": "./build/types/index.types.d.ts",
        },
        "./import": {"import": {"default": "./build/import-hook.mjs"}},
        "./loader": {"import": {"default": "./build/loader-hook.mjs"}},
    }


_SCRIPTS = {
    "build": "run-p build:transpile build:types",
    "build:transpile": "ts-node scripts/buildRollup.ts",
    "build:types": "run-s build:types:core build:types:downlevel",
    "build:types:core": "tsc -p tsconfig.types.json",
    "clean": "rimraf build coverage sentry-nextjs-*.tgz",
    "lint": "eslint . --format stylish",
    "test": "yarn test:unit",
    "test:unit": "vitest run",
}


def _padding(version: str) -> dict[str, Any]:
    """The bulky fields of a real full manifest (so the document weighs what the real one does)."""
    return {
        "author": {"name": "Sentry"},
        "homepage": "https://github.com/getsentry/sentry-javascript/tree/master/packages/nextjs",
        "repository": {"type": "git", "url": "git://github.com/getsentry/sentry-javascript.git"},
        "license": "MIT",
        "main": "build/cjs/index.server.js",
        "module": "build/esm/index.server.js",
        "browser": "build/esm/index.client.js",
        "types": "build/types/index.types.d.ts",
        "files": ["/build", "/*.js", "/*.d.ts", "/config", "/client", "/server", "/edge"],
        "exports": _exports(),
        "typesVersions": {
            "<5.0": {"build/npm/types/index.d.ts": ["build/npm/types-ts3.8/index.d.ts"]}
        },
        "publishConfig": {"access": "public"},
        "scripts": _SCRIPTS,
        "devDependencies": _DEV_DEPENDENCIES,
        "volta": {"extends": "../../package.json"},
        "sideEffects": False,
        "gitHead": hashlib.sha1(f"gitHead {version}".encode()).hexdigest(),
        "_nodeVersion": "22.19.0",
        "_npmVersion": "10.9.3",
        "_npmUser": {"name": "sentry-bot", "email": "bot@sentry.invalid"},
        "maintainers": [{"name": "sentry-bot", "email": "bot@sentry.invalid"}],
        "_hasShrinkwrap": False,
    }


def _dist(version: str) -> dict[str, Any]:
    seed = f"{PACKAGE}@{version}".encode()
    return {
        "tarball": f"{TARBALL_BASE}nextjs-{version}.tgz",
        "shasum": hashlib.sha1(seed).hexdigest(),
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(seed).digest()).decode(),
        "fileCount": 512 + len(version),
        "unpackedSize": 1_900_000 + 1_000 * _key(version)[1],
    }


def _published(index: int) -> str:
    """Deterministic, increasing publish times (about five years of releases)."""
    stamp = datetime(2021, 4, 20, 9, 30, tzinfo=UTC) + timedelta(days=4.5 * index, minutes=index)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{index % 1000:03d}Z"


def build_packument(
    *,
    abbreviated: bool = False,
    pad: bool = True,
    deprecated: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The `@sentry/nextjs` packument: full (with `time`) or abbreviated (npm's install-v1 shape).

    `pad=False` leaves out the bulky fields for fast tests; `deprecated` marks versions as
    deprecated with the given messages (none is, on the reference's registry).
    """
    deprecated = deprecated or {}
    versions = _versions()
    docs: dict[str, dict[str, Any]] = {}
    for version in versions:
        peers, peers_meta = _peers(version)
        doc: dict[str, Any] = {"name": PACKAGE, "version": version}
        if not abbreviated:
            doc |= {"_id": f"{PACKAGE}@{version}", "description": "Official Sentry SDK for Next.js"}
        doc |= {
            "dependencies": _dependencies(version),
            "engines": {"node": ENGINES_NODE[_key(version)[0]]},
            "dist": _dist(version),
        }
        if peers:
            doc["peerDependencies"] = peers
        if peers_meta:
            doc["peerDependenciesMeta"] = peers_meta
        if version in deprecated:
            doc["deprecated"] = deprecated[version]
        if pad and not abbreviated:
            doc |= _padding(version)
        elif abbreviated:
            doc["_hasShrinkwrap"] = False
        docs[version] = doc
    stable = [v for v in versions if "-" not in v]
    tags = {"latest": LATEST, "next": "11.0.0-rc.1"}
    tags |= {f"v{m}": max((v for v in stable if _key(v)[0] == m), key=_key) for m in range(6, 11)}
    times = {v: _published(i) for i, v in enumerate(versions)}
    if abbreviated:
        return {
            "name": PACKAGE,
            "modified": times[versions[-1]],
            "dist-tags": tags,
            "versions": docs,
        }
    return {"_id": PACKAGE, "name": PACKAGE, "dist-tags": tags, "versions": docs, "time": times}


def published_versions() -> list[str]:
    """Every demo @sentry/nextjs version in semver order (its siblings share the list)."""
    return _versions()


def version_key(version: str) -> tuple[int, int, int, int, tuple[Any, ...]]:
    """Semver precedence of a well-formed version (the demo's sort key)."""
    return _key(version)


def published_at(index: int) -> str:
    """The publish time of the `index`-th release (deterministic, increasing)."""
    return _published(index)


@functools.cache
def packument_json(*, abbreviated: bool = False) -> bytes:
    """`build_packument()` serialised once (the document is immutable, so servers reuse it)."""
    return json.dumps(build_packument(abbreviated=abbreviated), separators=(",", ":")).encode()
