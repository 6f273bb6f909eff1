"""Registry answer, cache and installed-manifest fallback, against a loopback registry."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccplate_tui.sentry.demo_packument import build_packument, packument_json
from ccplate_tui.sentry.npm_registry import RegistrySource
from ccplate_tui.sentry.packument import (
    ACCEPT,
    PACKAGE,
    Packument,
    PackumentError,
    auth_token,
    cache_path,
    fetch_packument,
    load_packument,
    packument_url,
    parse_packument,
)
from ccplate_tui.sentry.project_scan import InstalledPackage
from tests.http_fixtures import free_port
from tests.sentry_registry_fixture import RegistryFixture

TOKEN = "npm_S3cr3tT0kenValue0123456789"


@pytest.fixture
def registry() -> Iterator[RegistryFixture]:
    with RegistryFixture() as server:
        yield server


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    project, home, cache = tmp_path / "app", tmp_path / "home", tmp_path / "cache"
    project.mkdir()
    home.mkdir()
    return project, home, cache


def _load(dirs: tuple[Path, Path, Path], registry_url: str | None, **kwargs: object) -> Packument:
    project, home, cache = dirs
    env = {"NPM_CONFIG_REGISTRY": registry_url} if registry_url else {}
    return load_packument(
        PACKAGE,
        project,
        cache,
        env=env,
        home=home,
        npm=None,
        **kwargs,  # type: ignore[arg-type]
    )


def _installed(peer_next: str | None = "^13.2.0 || ^14.0 || ^15.0.0-rc.0") -> InstalledPackage:
    return InstalledPackage(
        name=PACKAGE,
        version="8.55.0",
        declared="^8.55.0",
        source="node_modules",
        source_path="node_modules/@sentry/nextjs/package.json",
        peer_next=peer_next,
        engines_node=">=14.18",
    )


def _down_url() -> str:
    return f"http://127.0.0.1:{free_port()}/"


# --- URL and parsing -------------------------------------------------------------------------


def test_packument_url_escapes_only_the_slash() -> None:
    assert (
        packument_url("http://127.0.0.1:4873/", PACKAGE) == "http://127.0.0.1:4873/@sentry%2fnextjs"
    )
    assert packument_url("http://127.0.0.1:4873/npm", PACKAGE) == (
        "http://127.0.0.1:4873/npm/@sentry%2fnextjs"
    )
    assert packument_url("http://127.0.0.1:4873/", "next") == "http://127.0.0.1:4873/next"


def test_full_and_abbreviated_documents_parse_to_the_same_versions() -> None:
    full = parse_packument(build_packument(), PACKAGE)
    abbreviated = parse_packument(build_packument(abbreviated=True), PACKAGE)
    assert full == abbreviated
    latest, versions = full
    assert latest == "11.8.0"
    assert len(versions) == 424
    by_version = {v.version: v for v in versions}
    assert by_version["10.19.0"].peer_next == "^13.2.0 || ^14.0 || ^15.0.0-rc.0"
    assert by_version["10.20.0"].peer_next == "^13.2.0 || ^14.0 || ^15.0.0-rc.0 || ^16.0.0-0"
    assert by_version["11.8.0"].engines_node == (
        ">=20.19.0 <22.0.0 || >=22.12.0 <23.0.0 || >=23.2.0"
    )
    assert by_version["6.3.5"].peer_next is None
    assert versions[0].version == "6.3.0-beta.3"
    assert [v.version for v in versions[-3:]] == ["11.6.0", "11.7.0", "11.8.0"]
    assert all(v.deprecated is None for v in versions)


def test_deprecated_and_odd_entries() -> None:
    doc = build_packument(pad=False, deprecated={"8.55.0": "please upgrade: critical bug"})
    doc["versions"]["not-a-version"] = {"version": "nope"}
    doc["versions"]["9.0.0"]["engines"] = ["node >= 18"]  # the legacy array form
    doc["versions"]["9.1.0"]["deprecated"] = ""  # npm's way of un-deprecating
    doc["versions"]["9.2.0"] = "garbage"
    doc["dist-tags"] = {"latest": "not a version"}
    latest, versions = parse_packument(doc, PACKAGE)
    by_version = {v.version: v for v in versions}
    assert latest is None
    assert by_version["8.55.0"].deprecated == "please upgrade: critical bug"
    assert by_version["9.0.0"].engines_node is None
    assert by_version["9.1.0"].deprecated is None
    assert "9.2.0" not in by_version and len(versions) == 423


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a JSON object, got list"),
        (None, "expected a JSON object, got NoneType"),
        ({"error": "not_found"}, "top-level keys: error"),
        ({"name": PACKAGE, "versions": ["10.20.0"]}, "`versions` map"),
        ({"name": "next", "versions": {}}, "it names 'next'"),
        ({"versions": {"1.0.0": 1, "2.0.0": "x"}}, "none of its `versions`"),
    ],
)
def test_wrong_shapes_are_clear_errors(data: object, message: str) -> None:
    with pytest.raises(PackumentError, match=r"not (a|the) packument") as caught:
        parse_packument(data, PACKAGE)
    assert message in str(caught.value)


# --- fetching --------------------------------------------------------------------------------


def test_fetch_asks_like_npm_and_gets_the_abbreviated_document(registry: RegistryFixture) -> None:
    packument = fetch_packument(PACKAGE, RegistrySource(registry.url, "test"))
    assert (packument.origin, packument.latest, len(packument.versions)) == (
        "registry",
        "11.8.0",
        424,
    )
    assert packument.registry_url == registry.url and packument.registry_source == "test"
    assert packument.fetched_at.endswith("Z") and packument.note == ""
    [request] = registry.requests
    assert request.path == "/@sentry%2fnextjs"
    assert request.accept == ACCEPT
    assert request.accept.startswith("application/vnd.npm.install-v1+json")
    assert request.authorization is None
    assert "gzip" in (request.accept_encoding or "")


def test_fetch_takes_the_full_megabyte_document_too(registry: RegistryFixture) -> None:
    # Some registries ignore Accept and always answer the full document (reference §1.5).
    registry.full_only = True
    assert len(packument_json()) > 1_000_000
    packument = fetch_packument(PACKAGE, RegistrySource(registry.url, "test"))
    expected = parse_packument(json.loads(packument_json()), PACKAGE)
    assert (packument.latest, packument.versions) == expected


def test_fetch_under_a_registry_path_prefix(tmp_path: Path) -> None:
    with RegistryFixture(prefix="/npm/private/") as server:
        packument = fetch_packument(PACKAGE, RegistrySource(server.url, "test"))
        assert packument.latest == "11.8.0"
        assert server.requests[0].path == "/npm/private/@sentry%2fnextjs"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("404", "HTTP 404, the registry has no package @sentry/nextjs"),
        ("500", "HTTP 500, the registry failed"),
        ("invalid-json", "the answer is not valid JSON"),
        ("wrong-shape", "not a packument: expected an object with a `versions` map"),
        ("401-unless-token", "HTTP 401, authentication required"),
    ],
)
def test_fetch_faults_raise_plain_errors(
    registry: RegistryFixture, fault: str, message: str
) -> None:
    registry.fault = fault  # type: ignore[assignment]
    with pytest.raises(PackumentError) as caught:
        fetch_packument(PACKAGE, RegistrySource(registry.url, "test"), timeout=5)
    assert message in str(caught.value)
    assert registry.url in str(caught.value)


def test_fetch_times_out_against_a_hanging_registry(registry: RegistryFixture) -> None:
    registry.fault = "hang"
    with pytest.raises(PackumentError, match=r"no answer within 0\.3 s \(ReadTimeout\)"):
        fetch_packument(PACKAGE, RegistrySource(registry.url, "test"), timeout=0.3)


def test_fetch_from_nothing_listening() -> None:
    with pytest.raises(PackumentError, match=r"unreachable \(ConnectError: "):
        fetch_packument(PACKAGE, RegistrySource(_down_url(), "test"), timeout=5)


# --- registry choice and auth ----------------------------------------------------------------


def test_registry_from_env_or_project_npmrc(
    registry: RegistryFixture, dirs: tuple[Path, Path, Path]
) -> None:
    project, home, cache = dirs
    from_env = _load(dirs, registry.url)
    assert (from_env.origin, from_env.registry_source) == ("registry", "NPM_CONFIG_REGISTRY")
    (project / ".npmrc").write_text(f"# the demo registry\nregistry={registry.url}\n")
    from_npmrc = load_packument(PACKAGE, project, cache, env={}, home=home, npm=None)
    assert from_npmrc.registry_source == str(project / ".npmrc")
    assert from_npmrc.registry_url == registry.url
    assert len(registry.requests) == 2


def test_auth_token_from_npmrc_is_sent_and_never_shown(dirs: tuple[Path, Path, Path]) -> None:
    project, home, cache = dirs
    with RegistryFixture(prefix="/npm/", token=TOKEN) as server:
        server.fault = "401-unless-token"
        host = f"127.0.0.1:{server.port}"
        # Keyed on a parent path of the registry, from an env reference, as npm allows.
        (project / ".npmrc").write_text(
            f"registry={server.url}\n//{host}/:_authToken=${{NPM_TOKEN}}\n"
        )
        env = {"NPM_TOKEN": TOKEN}
        packument = load_packument(PACKAGE, project, cache, env=env, home=home, npm=None)
        assert packument.origin == "registry"
        assert server.requests[-1].authorization == f"Bearer {TOKEN}"
        assert TOKEN not in repr(packument) and TOKEN not in packument.note
        cached = cache_path(cache, server.url, PACKAGE).read_text()
        assert TOKEN not in cached

        # Without the token the registry refuses: the error says so and shows no token.
        (project / ".npmrc").write_text(f"registry={server.url}\n")
        with pytest.raises(PackumentError) as caught:
            load_packument(PACKAGE, project, cache / "other", env=env, home=home, npm=None)
        assert "HTTP 401" in str(caught.value) and "_authToken" in str(caught.value)
        assert TOKEN not in str(caught.value)
        assert server.requests[-1].authorization is None


def test_auth_token_lookup_follows_npms_nerf_darts(tmp_path: Path) -> None:
    project, home = tmp_path / "p", tmp_path / "h"
    project.mkdir()
    home.mkdir()
    url = "http://127.0.0.1:4873/npm/private/"
    assert auth_token(url, project, env={}, home=home) is None
    (home / ".npmrc").write_text("//127.0.0.1:4873/:_authToken=home-token\n")
    assert auth_token(url, project, env={}, home=home) == "home-token"
    (project / ".npmrc").write_text(
        "//127.0.0.1:4873/npm/private/:_authToken=project-token\n"
        "//127.0.0.1:9999/:_authToken=other-host\n"
    )
    assert auth_token(url, project, env={}, home=home) == "project-token"
    assert auth_token("http://127.0.0.1:5555/", project, env={}, home=home) is None


def test_registry_credentials_in_the_url_are_masked(dirs: tuple[Path, Path, Path]) -> None:
    url = f"http://someone:hunter2secret@127.0.0.1:{free_port()}/"
    with pytest.raises(PackumentError) as caught:
        _load(dirs, url, timeout=5)
    assert "hunter2secret" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


# --- cache -----------------------------------------------------------------------------------


def test_cache_is_written_then_used_offline_and_when_the_registry_is_down(
    dirs: tuple[Path, Path, Path],
) -> None:
    cache = dirs[2]
    with RegistryFixture() as server:
        url = server.url
        fresh = _load(dirs, url)
    path = cache_path(cache, url, PACKAGE)
    assert path.parent.parent == cache / "npm" and path.name == "%40sentry%2Fnextjs.json"
    record = json.loads(path.read_text())
    assert record["registry_url"] == url and record["fetched_at"] == fresh.fetched_at
    assert set(record["packument"]["versions"]["10.20.0"]) == {"peerDependencies", "engines"}
    assert len(path.read_bytes()) < 100_000  # the slim document, not the megabyte one
    assert not list(path.parent.glob("*.tmp"))  # the atomic write left no temp file

    offline = _load(dirs, url, offline=True)
    assert (offline.origin, offline.fetched_at) == ("cache", fresh.fetched_at)
    # The cache keeps what the check reads offline (not `dependencies`: proofs are cached instead).
    assert offline.latest == fresh.latest
    assert offline.versions == tuple(
        dataclasses.replace(v, dependencies=()) for v in fresh.versions
    )
    assert offline.registry_url == url
    assert (
        "offline" in offline.note
        and f"answered from the cache of {fresh.fetched_at}" in offline.note
    )

    # The fixture is stopped: nothing listens on its port any more.
    down = _load(dirs, url, timeout=5)
    assert down.origin == "cache" and down.versions == offline.versions
    assert "unreachable (ConnectError" in down.note
    assert f"answered from the cache of {fresh.fetched_at}" in down.note


def test_another_registrys_cache_is_never_used(
    registry: RegistryFixture, dirs: tuple[Path, Path, Path]
) -> None:
    _load(dirs, registry.url)
    with pytest.raises(PackumentError) as caught:
        _load(dirs, _down_url(), timeout=5)
    assert "no cache file" in str(caught.value)


def test_no_registry_configured_uses_the_newest_cache_and_names_its_registry(
    dirs: tuple[Path, Path, Path],
) -> None:
    _, _, cache = dirs
    older, newer = "http://127.0.0.1:1111/", "http://127.0.0.1:2222/"
    doc = build_packument(pad=False)
    cached = [(older, "2026-01-01T00:00:00Z", "10.78.0"), (newer, "2026-11-26T10:00:00Z", "11.8.0")]
    for url, when, latest in cached:
        path = cache_path(cache, url, PACKAGE)
        path.parent.mkdir(parents=True)
        slim = {"name": PACKAGE, "dist-tags": {"latest": latest}, "versions": doc["versions"]}
        record = {"format": 1, "package": PACKAGE, "registry_url": url, "fetched_at": when}
        path.write_text(json.dumps({**record, "registry_source": "test", "packument": slim}))
    packument = _load(dirs, None)
    assert (packument.origin, packument.latest, packument.registry_url) == (
        "cache",
        "11.8.0",
        newer,
    )
    assert "no npm registry is configured" in packument.note
    assert f"the cache of 2026-11-26T10:00:00Z from {newer}" in packument.note


def test_corrupt_cache_is_ignored_with_a_note(
    registry: RegistryFixture, dirs: tuple[Path, Path, Path]
) -> None:
    url = registry.url
    path = cache_path(dirs[2], url, PACKAGE)
    path.parent.mkdir(parents=True)
    path.write_text('{"format": 1, "package": "@sentry/nextjs", "regis')
    registry.fault = "500"
    fallback = _load(dirs, url, installed=_installed())
    assert fallback.origin == "node_modules"
    assert "HTTP 500" in fallback.note and "is unreadable" in fallback.note
    path.write_text(json.dumps({"format": 1, "package": PACKAGE, "packument": []}))
    with pytest.raises(PackumentError, match="not a cached packument of @sentry/nextjs; ignored"):
        _load(dirs, url)
    # Once the registry answers again, the bad file is replaced by a good one.
    registry.fault = None
    assert _load(dirs, url).origin == "registry"
    assert _load(dirs, url, offline=True).origin == "cache"


def test_unwritable_cache_still_answers_with_a_note(
    registry: RegistryFixture, dirs: tuple[Path, Path, Path]
) -> None:
    cache = dirs[2]
    cache.write_text("a file where the cache folder should be")
    packument = _load(dirs, registry.url)
    assert packument.origin == "registry" and packument.latest == "11.8.0"
    assert "the answer was not cached" in packument.note


# --- node_modules fallback and total failure -------------------------------------------------


def test_installed_manifest_is_the_last_resort(dirs: tuple[Path, Path, Path]) -> None:
    packument = _load(dirs, _down_url(), timeout=5, installed=_installed())
    assert packument.origin == "node_modules"
    assert packument.latest is None and packument.registry_url is None
    [only] = packument.versions
    assert only.version == "8.55.0"
    assert only.peer_next == "^13.2.0 || ^14.0 || ^15.0.0-rc.0"
    assert only.engines_node == ">=14.18"
    assert "unreachable" in packument.note and "no cache file" in packument.note
    assert "node_modules/@sentry/nextjs/package.json" in packument.note


def test_offline_without_cache_uses_the_installed_manifest(dirs: tuple[Path, Path, Path]) -> None:
    packument = _load(dirs, None, offline=True, installed=_installed(peer_next=None))
    assert packument.origin == "node_modules" and packument.versions[0].peer_next is None
    assert "registry: not asked (offline)" in packument.note


def test_nothing_answers_names_everything_tried(dirs: tuple[Path, Path, Path]) -> None:
    down = _down_url()
    not_installed = InstalledPackage(
        name=PACKAGE, version=None, declared=None, source="missing", source_path=""
    )
    with pytest.raises(PackumentError) as caught:
        _load(dirs, down, timeout=5, installed=not_installed)
    message = str(caught.value)
    assert message.startswith("no answer about @sentry/nextjs: ")
    assert f"registry {down}@sentry%2fnextjs: unreachable" in message
    assert "cache: no cache file" in message
    assert "@sentry/nextjs is not installed in the project" in message
    with pytest.raises(PackumentError, match="installed package: not given"):
        _load(dirs, None)
    next_itself = dataclasses.replace(_installed(), name="next", version="16.1.4")
    with pytest.raises(PackumentError, match="given next, not @sentry/nextjs"):
        _load(dirs, None, installed=next_itself)


def test_a_cache_file_holding_another_registrys_answer_is_ignored(
    dirs: tuple[Path, Path, Path],
) -> None:
    here, elsewhere = _down_url(), "http://127.0.0.1:3333/"
    path = cache_path(dirs[2], here, PACKAGE)
    path.parent.mkdir(parents=True)
    slim = {"name": PACKAGE, "dist-tags": {"latest": "11.8.0"}, "versions": {"11.8.0": {}}}
    record = {"format": 1, "package": PACKAGE, "registry_url": elsewhere}
    path.write_text(json.dumps({**record, "fetched_at": "2026-11-26T10:00:00Z", "packument": slim}))
    with pytest.raises(PackumentError, match="holds the answer of another registry; ignored"):
        _load(dirs, here, offline=True)


def test_timeout_against_a_hanging_registry_falls_back(
    registry: RegistryFixture, dirs: tuple[Path, Path, Path]
) -> None:
    registry.fault = "hang"
    packument = _load(dirs, registry.url, timeout=0.3, installed=_installed())
    assert packument.origin == "node_modules"
    assert "no answer within 0.3 s (ReadTimeout)" in packument.note


def test_wrong_shape_document_is_a_clear_error(
    registry: RegistryFixture, dirs: tuple[Path, Path, Path]
) -> None:
    registry.fault = "wrong-shape"
    with pytest.raises(PackumentError) as caught:
        _load(dirs, registry.url)
    assert "not a packument: expected an object with a `versions` map" in str(caught.value)
    assert "top-level keys: error, reason" in str(caught.value)
