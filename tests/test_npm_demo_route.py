"""The demo target's local npm registry route, fetched the way the compatibility check fetches."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from ccplate_tui.sentry.demo_packument import (
    ENGINES_NODE,
    VERSION_HISTORY,
    build_packument,
    packument_json,
)
from ccplate_tui.sentry.npm_registry import RegistrySource
from ccplate_tui.sentry.npm_semver import sort_versions
from ccplate_tui.sentry.packument import PACKAGE, fetch_packument, load_packument
from ccplate_tui.target.npm_demo import _wants_abbreviated, add_npm_routes
from tests.http_fixtures import FixtureServer

ABBREVIATED = "application/vnd.npm.install-v1+json"


class DemoTarget(FixtureServer):
    """A loopback app with only the registry route mounted, at its default prefix."""

    def _app(self) -> web.Application:
        app = web.Application()
        add_npm_routes(app)
        return app


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with DemoTarget() as url:
        yield url + "/__npm/"


def test_fetch_packument_through_the_route(base: str) -> None:
    packument = fetch_packument(PACKAGE, RegistrySource(base, "test"), timeout=10)
    assert packument.latest == "11.8.0"
    assert len(packument.versions) == 424
    assert packument.versions[-1].version == "11.8.0"
    assert packument.registry_url == base


def test_load_packument_with_a_project_npmrc_pointing_at_the_demo(
    base: str, tmp_path: Path
) -> None:
    project, home = tmp_path / "app", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    (project / ".npmrc").write_text(f"# the demo target's local registry\nregistry={base}\n")
    packument = load_packument(PACKAGE, project, tmp_path / "cache", env={}, home=home, npm=None)
    assert (packument.origin, packument.latest, packument.note) == ("registry", "11.8.0", "")
    assert packument.registry_source == str(project / ".npmrc")


@pytest.mark.parametrize("spelling", ["@sentry%2fnextjs", "@sentry/nextjs", "%40sentry%2fnextjs"])
def test_every_spelling_npm_accepts_gives_the_full_document(base: str, spelling: str) -> None:
    response = httpx.get(base + spelling, headers={"Accept": "application/json"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.content == packument_json()
    doc = response.json()
    assert {"_id", "name", "dist-tags", "versions", "time"} <= set(doc)
    assert len(response.content) > 1_000_000


@pytest.mark.parametrize(
    ("accept", "abbreviated"),
    [
        ("application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*", True),
        (ABBREVIATED, True),
        ("application/json, application/vnd.npm.install-v1+json", False),
        ("application/json; q=0.9, application/vnd.npm.install-v1+json", True),
        ("application/vnd.npm.install-v1+json; q=0.5, application/json", False),
        ("*/*", False),
        ("", False),
    ],
)
def test_accept_negotiation(base: str, accept: str, abbreviated: bool) -> None:
    assert _wants_abbreviated(accept) is abbreviated
    response = httpx.get(base + "@sentry%2fnextjs", headers={"Accept": accept}, timeout=10)
    assert response.status_code == 200
    doc = response.json()
    if abbreviated:
        assert response.headers["content-type"].startswith(ABBREVIATED)
        assert "time" not in doc and "modified" in doc
        assert "peerDependencies" in doc["versions"]["10.20.0"]
    else:
        assert "time" in doc


def test_answer_is_gzipped_when_asked(base: str) -> None:
    with httpx.Client(timeout=10) as client:
        request = client.build_request(
            "GET", base + "@sentry%2fnextjs", headers={"Accept-Encoding": "gzip"}
        )
        response = client.send(request, stream=True)
        raw = b"".join(response.iter_raw())
        response.close()
    assert response.headers["content-encoding"] == "gzip"
    assert len(raw) < 400_000
    assert gzip.decompress(raw) == packument_json()


def test_one_version_and_dist_tags(base: str) -> None:
    one = httpx.get(base + "@sentry%2fnextjs/10.20.0", timeout=10)
    assert one.status_code == 200
    assert one.json()["peerDependencies"]["next"] == (
        "^13.2.0 || ^14.0 || ^15.0.0-rc.0 || ^16.0.0-0"
    )
    latest = httpx.get(base + "@sentry%2fnextjs/latest", timeout=10)
    assert latest.json()["version"] == "11.8.0"
    missing = httpx.get(base + "@sentry%2fnextjs/99.0.0", timeout=10)
    assert (missing.status_code, missing.json()) == (404, {})


@pytest.mark.parametrize(
    ("package", "latest", "newest"),
    [
        ("next", "16.4.6", "16.5.0-canary.38"),
        ("@sentry%2fcloudflare", "11.0.0", "11.0.0"),  # a mirror lagging behind @sentry/nextjs
        ("@sentry%2fcore", "11.8.0", "11.8.0"),
        ("react-dom", "19.2.4", "19.2.4"),
    ],
)
def test_the_dependencies_of_a_demo_install_are_served(
    base: str, package: str, latest: str, newest: str
) -> None:
    doc = httpx.get(base + package, headers={"Accept": ABBREVIATED}, timeout=10).json()
    assert doc["dist-tags"]["latest"] == latest
    assert sort_versions(doc["versions"])[-1] == newest
    one = httpx.get(f"{base}{package}/latest", timeout=10).json()
    assert one["version"] == latest and one["_hasShrinkwrap"] is False


def test_sentry_nextjs_11_6_and_later_depend_on_the_missing_cloudflare_release() -> None:
    versions = build_packument(pad=False)["versions"]
    assert versions["11.8.0"]["dependencies"]["@sentry/cloudflare"] == "11.8.0"
    assert versions["11.6.0"]["dependencies"]["@sentry/cloudflare"] == "11.6.0"
    assert "@sentry/cloudflare" not in versions["11.5.0"]["dependencies"]


@pytest.mark.parametrize("other", ["nxt", "@sentry%2fangular", "@sentry", "left-pad"])
def test_other_packages_are_404_with_an_empty_object(base: str, other: str) -> None:
    response = httpx.get(base + other, timeout=10)
    assert (response.status_code, response.json()) == (404, {})


def test_demo_packument_is_deterministic_and_follows_the_reference() -> None:
    doc = build_packument()
    assert doc == build_packument()
    assert len(json.dumps(doc)) > 1_000_000
    versions = sort_versions(doc["versions"])
    assert list(doc["versions"]) == versions  # published in semver order
    assert set(doc["time"]) == set(versions)
    assert list(doc["time"].values()) == sorted(doc["time"].values())
    per_major = Counter(int(v.split(".")[0]) for v in versions)
    assert per_major == {6: 41, 7: 166, 8: 64, 9: 56, 10: 86, 11: 11}  # reference §1.2
    # Each run of §1.3 starts and ends exactly where the reference says, with nothing between.
    for run, following in pairwise(VERSION_HISTORY):
        assert versions.index(following.first) == versions.index(run.last) + 1
    for run in VERSION_HISTORY:
        inside = versions[versions.index(run.first) : versions.index(run.last) + 1]
        assert {doc["versions"][v].get("peerDependencies", {}).get("next") for v in inside} == {
            run.next_range
        }
    assert versions[0] == VERSION_HISTORY[0].first and versions[-1] == VERSION_HISTORY[-1].last
    for version, manifest in doc["versions"].items():
        assert manifest["engines"]["node"] == ENGINES_NODE[int(version.split(".")[0])]
        assert manifest["dist"]["tarball"].startswith("http://127.0.0.1/")
        assert manifest["dist"]["integrity"].startswith("sha512-")
        assert "deprecated" not in manifest
    for present in ("8.55.0", "8.55.2", "10.19.0", "10.59.0", "10.13.0", "9.47.2", "6.19.7"):
        assert present in doc["versions"]
    assert "7.17.0" not in doc["versions"] and "8.55.1" not in doc["versions"]
    peers = doc["versions"]
    assert peers["8.30.0"]["peerDependencies"]["webpack"] == "5.94.0"
    assert peers["8.36.0-alpha.1"]["peerDependenciesMeta"] == {"webpack": {"optional": True}}
    assert set(peers["8.36.0"]["peerDependencies"]) == {"next"}
    assert doc["dist-tags"]["latest"] == "11.8.0"


def test_abbreviated_and_deprecated_variants() -> None:
    abbreviated = build_packument(abbreviated=True)
    assert set(abbreviated) == {"name", "modified", "dist-tags", "versions"}
    assert len(json.dumps(abbreviated)) < len(json.dumps(build_packument()))
    marked = build_packument(pad=False, deprecated={"10.19.0": "does not support Next 16"})
    assert marked["versions"]["10.19.0"]["deprecated"] == "does not support Next 16"
    assert "deprecated" not in marked["versions"]["10.20.0"]
