"""What the npm registry says about a package: fetched, cached, or read from the project itself.

The compatibility check needs every version's `peerDependencies.next`, `engines.node` and
`deprecated`. The registry answers first; when it cannot, the last answer cached for that same
registry does, then the project's own installed manifest; each fallback says plainly why.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

import httpx

from ccplate_tui.atomic_file import write_atomic
from ccplate_tui.sentry.dsn import mask_dsns, mask_key
from ccplate_tui.sentry.npm_registry import (
    RegistryNotConfigured,
    RegistrySource,
    read_npmrc,
    registry_for,
)
from ccplate_tui.sentry.npm_semver import parse_version, sort_versions

if TYPE_CHECKING:
    from ccplate_tui.sentry.project_scan import InstalledPackage

PACKAGE = "@sentry/nextjs"
PackumentOrigin = Literal["registry", "cache", "node_modules"]

# npm's own client (pacote) asks for the abbreviated document first and takes the full one too.
ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
USER_AGENT = "ccplate-tui (npm registry client)"
CACHE_FORMAT = 1
# A real full packument is a few MB; a registry streaming far more is misbehaving.
MAX_DOCUMENT_BYTES = 128 * 1024 * 1024


class PackumentError(Exception):
    """No usable answer; the message says what was tried and what went wrong with each."""


@dataclass(frozen=True)
class VersionInfo:
    version: str
    peer_next: str | None
    engines_node: str | None
    deprecated: str | None
    dependencies: tuple[tuple[str, str], ...] = ()
    """`dependencies` as (name, spec) pairs: what proving an install without npm resolves.
    Not cached: offline, the proofs themselves are (install_proof.py)."""


@dataclass(frozen=True)
class Packument:
    name: str
    latest: str | None
    """`dist-tags.latest`."""
    versions: tuple[VersionInfo, ...]
    """Ascending semver order."""
    origin: PackumentOrigin
    registry_url: str | None
    """The registry base asked (or whose answer was cached)."""
    registry_source: str | None
    """`RegistrySource.source`, e.g. `NPM_CONFIG_REGISTRY` or a `.npmrc` path."""
    fetched_at: str
    """ISO-8601 UTC of the registry answer (for the cache: when it was cached)."""
    note: str = ""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def packument_url(registry_url: str, package: str) -> str:
    """`<registry>/<package>` with only the scope's `/` escaped (`@sentry%2fnextjs`), like npm."""
    base = registry_url if registry_url.endswith("/") else registry_url + "/"
    return base + package.replace("/", "%2f")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _field(manifest: Mapping[str, Any], section: str, key: str) -> str | None:
    values = manifest.get(section)
    return _text(values.get(key)) if isinstance(values, Mapping) else None


def _dependencies(manifest: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    values = manifest.get("dependencies")
    if not isinstance(values, Mapping):
        return ()
    return tuple(sorted((k, v) for k, v in values.items() if isinstance(k, str) and _text(v)))


def parse_packument(data: object, package: str) -> tuple[str | None, tuple[VersionInfo, ...]]:
    """`dist-tags.latest` and the versions of a full or abbreviated packument (or a slim cache doc).

    Raises PackumentError when `data` is not a packument of `package`; single malformed versions
    are skipped, since one bad entry should not hide the other few hundred.
    """
    if not isinstance(data, Mapping):
        raise PackumentError(f"not a packument: expected a JSON object, got {type(data).__name__}")
    versions = data.get("versions")
    if not isinstance(versions, Mapping):
        keys = ", ".join(sorted(str(k) for k in data)[:8]) or "none"
        raise PackumentError(
            f"not a packument: expected an object with a `versions` map (top-level keys: {keys})"
        )
    name = data.get("name")
    if name is not None and name != package:
        raise PackumentError(f"not the packument of {package}: it names {name!r}")
    infos: dict[str, VersionInfo] = {}
    for key, manifest in versions.items():
        version = parse_version(key) if isinstance(key, str) else None
        if version is None or not isinstance(manifest, Mapping):
            continue
        infos[version] = VersionInfo(
            version=version,
            peer_next=_field(manifest, "peerDependencies", "next"),
            engines_node=_field(manifest, "engines", "node"),
            deprecated=_text(manifest.get("deprecated")),
            dependencies=_dependencies(manifest),
        )
    if versions and not infos:
        raise PackumentError("not a packument: none of its `versions` is a version manifest")
    tags = data.get("dist-tags")
    latest = parse_version(tags.get("latest")) if isinstance(tags, Mapping) else None
    return latest, tuple(infos[v] for v in sort_versions(infos))


def _scrub(text: str, token: str | None) -> str:
    """Mask credentials in a message: URL userinfo, and the auth token should it ever appear."""
    text = mask_dsns(text)
    return text.replace(token, mask_key(token)) if token else text


def _describe(error: httpx.HTTPError, timeout: float) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"no answer within {timeout:g} s ({type(error).__name__})"
    detail = str(error) or repr(error)
    return f"unreachable ({type(error).__name__}: {detail})"


def _download(client: httpx.Client, url: str) -> tuple[int, bytes]:
    with client.stream("GET", url) as response:
        if response.status_code != 200:
            return response.status_code, b""
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_DOCUMENT_BYTES:
                raise PackumentError(
                    f"the answer exceeds {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB; "
                    "not a package document"
                )
            chunks.append(chunk)
        return 200, b"".join(chunks)


def fetch_packument(
    package: str,
    registry: RegistrySource,
    *,
    timeout: float = 20.0,
    token: str | None = None,
) -> Packument:
    """Ask `registry` for `package` (abbreviated document preferred, full accepted; gzip ok).

    Raises PackumentError with a plain reason: unreachable, timed out, HTTP status, invalid
    JSON, or a document that is not this package's packument. The token is never in a message.
    """
    url = packument_url(registry.url, package)
    shown = mask_dsns(url)
    headers = {"Accept": ACCEPT, "User-Agent": USER_AGENT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with httpx.Client(timeout=timeout, headers=headers, follow_redirects=True) as client:
            status, body = _download(client, url)
    except httpx.HTTPError as error:
        raise PackumentError(_scrub(f"{shown}: {_describe(error, timeout)}", token)) from None
    if status != 200:
        reason = {
            401: "authentication required (check the registry's _authToken in .npmrc)",
            403: "access denied (check the registry's _authToken in .npmrc)",
            404: f"the registry has no package {package}",
        }.get(status, "the registry failed" if status >= 500 else "unexpected answer")
        raise PackumentError(f"{shown}: HTTP {status}, {reason}")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise PackumentError(f"{shown}: the answer is not valid JSON ({error})") from None
    try:
        latest, versions = parse_packument(data, package)
    except PackumentError as error:
        raise PackumentError(f"{shown}: {error}") from None
    return Packument(
        name=package,
        latest=latest,
        versions=versions,
        origin="registry",
        registry_url=registry.url,
        registry_source=registry.source,
        fetched_at=_now(),
    )


def _nerf_darts(registry_url: str) -> Iterator[str]:
    """npm's credential keys for a registry: `//host[:port]/path/`, then each parent path."""
    parts = urlsplit(registry_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    segments = [s for s in parts.path.split("/") if s]
    for cut in range(len(segments), -1, -1):
        path = "/".join(segments[:cut])
        yield f"//{host}/{path}/" if path else f"//{host}/"


def auth_token(
    registry_url: str,
    project: Path,
    *,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> str | None:
    """The `_authToken` npm would send to `registry_url` (project .npmrc, then the user's)."""
    env = os.environ if env is None else env
    home = Path(env.get("HOME", str(Path.home()))) if home is None else home
    for npmrc in (project / ".npmrc", home / ".npmrc"):
        values = read_npmrc(npmrc, env)
        for dart in _nerf_darts(registry_url):
            token = _text(values.get(f"{dart}:_authToken"))
            if token:
                return token.strip().strip('"').strip("'")
    return None


def cache_path(cache_dir: Path, registry_url: str, package: str) -> Path:
    """Where the answer of `registry_url` about `package` is cached (one folder per registry)."""
    digest = hashlib.sha256(registry_url.encode()).hexdigest()[:12]
    return cache_dir / "npm" / digest / (quote(package, safe="") + ".json")


def _slim(packument: Packument) -> dict[str, Any]:
    """The cached document: a packument with only the fields the check reads."""
    versions: dict[str, dict[str, Any]] = {}
    for info in packument.versions:
        entry: dict[str, Any] = {}
        if info.peer_next is not None:
            entry["peerDependencies"] = {"next": info.peer_next}
        if info.engines_node is not None:
            entry["engines"] = {"node": info.engines_node}
        if info.deprecated is not None:
            entry["deprecated"] = info.deprecated
        versions[info.version] = entry
    tags = {"latest": packument.latest} if packument.latest else {}
    return {"name": packument.name, "dist-tags": tags, "versions": versions}


def _write_cache(cache_dir: Path, packument: Packument) -> str:
    """Cache `packument` atomically; returns "" or a note saying why it could not be."""
    assert packument.registry_url is not None
    path = cache_path(cache_dir, packument.registry_url, packument.name)
    record = {
        "format": CACHE_FORMAT,
        "package": packument.name,
        "registry_url": packument.registry_url,
        "registry_source": packument.registry_source,
        "fetched_at": packument.fetched_at,
        "packument": _slim(packument),
    }
    try:
        write_atomic(path, json.dumps(record, separators=(",", ":")).encode())
    except OSError as error:
        return f"the answer was not cached ({path}: {error.strerror or error})"
    return ""


@dataclass(frozen=True)
class _Cached:
    packument: Packument
    path: Path


def _read_cache(path: Path, package: str) -> _Cached:
    """A cached answer; raises PackumentError saying why the file cannot be used."""
    try:
        record = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise PackumentError(f"no cache file {path}") from None
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise PackumentError(f"cache file {path} is unreadable ({error}); ignored") from None
    registry_url = record.get("registry_url") if isinstance(record, Mapping) else None
    fetched_at = record.get("fetched_at") if isinstance(record, Mapping) else None
    if (
        not isinstance(record, Mapping)
        or record.get("format") != CACHE_FORMAT
        or record.get("package") != package
        or not isinstance(registry_url, str)
        or not isinstance(fetched_at, str)
    ):
        raise PackumentError(f"cache file {path} is not a cached packument of {package}; ignored")
    try:
        latest, versions = parse_packument(record.get("packument"), package)
    except PackumentError as error:
        raise PackumentError(f"cache file {path}: {error}; ignored") from None
    source = record.get("registry_source")
    return _Cached(
        Packument(
            name=package,
            latest=latest,
            versions=versions,
            origin="cache",
            registry_url=registry_url,
            registry_source=source if isinstance(source, str) else None,
            fetched_at=fetched_at,
        ),
        path,
    )


def _newest_cache(cache_dir: Path, package: str) -> tuple[_Cached | None, list[str]]:
    """The most recently fetched cached answer for `package`, whatever its registry."""
    found: list[_Cached] = []
    problems: list[str] = []
    name = quote(package, safe="") + ".json"
    for path in sorted((cache_dir / "npm").glob(f"*/{name}")):
        try:
            found.append(_read_cache(path, package))
        except PackumentError as error:
            problems.append(str(error))
    newest = max(found, key=lambda c: c.packument.fetched_at, default=None)
    return newest, problems


def _from_installed(
    package: str, installed: InstalledPackage | None
) -> tuple[Packument | None, str]:
    """One VersionInfo from the project's own installed manifest, or why there is none."""
    if installed is None:
        return None, "installed package: not given"
    if installed.name != package:
        return None, f"installed package: given {installed.name}, not {package}"
    version = parse_version(installed.version) if installed.version else None
    if version is None:
        return None, f"installed package: {package} is not installed in the project"
    info = VersionInfo(version, installed.peer_next, installed.engines_node, None)
    packument = Packument(
        name=package,
        latest=None,
        versions=(info,),
        origin="node_modules",
        registry_url=None,
        registry_source=None,
        fetched_at=_now(),
    )
    where = installed.source_path or "the project"
    return packument, f"only the installed {package} {version} is known (from {where})"


def _with_note(packument: Packument, note: str) -> Packument:
    return dataclasses.replace(packument, note=mask_dsns(note))


def load_packument(
    package: str,
    project: Path,
    cache_dir: Path,
    *,
    offline: bool = False,
    timeout: float = 20.0,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    npm: str | None = "npm",
    installed: InstalledPackage | None = None,
) -> Packument:
    """The best answer available: registry, else its cache, else the installed manifest.

    `offline` skips the registry. Raises PackumentError naming each source tried when none
    answers. Notes on the result say plainly why a fallback was used.
    """
    project = Path(project)
    cache_dir = Path(cache_dir)
    tried: list[str] = []
    registry: RegistrySource | None = None
    try:
        registry = registry_for(package, project, env=env, home=home, npm=npm)
    except RegistryNotConfigured as error:
        if not offline:
            tried.append(f"registry: {error}")
    except (OSError, ValueError, subprocess.SubprocessError) as error:
        # `npm config get registry` could not run (or hung): as good as not configured.
        if not offline:
            tried.append(f"registry: could not ask npm which one to use ({error})")

    if offline:
        tried.append("registry: not asked (offline)")
    elif registry is not None:
        token = auth_token(registry.url, project, env=env, home=home)
        try:
            fetched = fetch_packument(package, registry, timeout=timeout, token=token)
        except PackumentError as error:
            tried.append(f"registry {error}")
        else:
            return _with_note(fetched, _write_cache(cache_dir, fetched))

    cached: _Cached | None = None
    if registry is not None:
        path = cache_path(cache_dir, registry.url, package)
        try:
            cached = _read_cache(path, package)
        except PackumentError as error:
            tried.append(f"cache: {error}")
        if cached is not None and cached.packument.registry_url != registry.url:
            tried.append(f"cache: {path} holds the answer of another registry; ignored")
            cached = None
    else:
        cached, problems = _newest_cache(cache_dir, package)
        tried.extend(f"cache: {problem}" for problem in problems)
        if cached is None:
            tried.append(f"cache: no cached answer for {package} in {cache_dir / 'npm'}")
    why = "; ".join(tried)
    if cached is not None:
        of = f"the cache of {cached.packument.fetched_at}"
        if registry is None:
            of += f" from {cached.packument.registry_url}"
        return _with_note(cached.packument, f"{why}; answered from {of}")

    fallback, detail = _from_installed(package, installed)
    if fallback is not None:
        return _with_note(fallback, f"{why}; {detail}: the registry's version list is unknown")
    tried.append(detail)
    raise PackumentError(mask_dsns(f"no answer about {package}: " + "; ".join(tried)))
