"""The registry comes from npm's own configuration, in npm's order; nothing is hard-coded."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ccplate_tui.sentry.npm_registry import RegistryNotConfigured, read_npmrc, registry_for

LOCAL = "http://127.0.0.1:4873"


def _dirs(tmp_path: Path) -> tuple[Path, Path]:
    project, home = tmp_path / "app", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    return project, home


def test_environment_wins(tmp_path: Path) -> None:
    project, home = _dirs(tmp_path)
    (project / ".npmrc").write_text("registry=http://127.0.0.1:1/\n")
    found = registry_for("@sentry/nextjs", project, env={"NPM_CONFIG_REGISTRY": LOCAL}, home=home)
    assert (found.url, found.source) == (LOCAL + "/", "NPM_CONFIG_REGISTRY")
    found = registry_for("next", project, env={"npm_config_registry": LOCAL + "/"}, home=home)
    assert found.source == "npm_config_registry"


def test_project_npmrc_then_user_npmrc_and_scopes(tmp_path: Path) -> None:
    project, home = _dirs(tmp_path)
    (home / ".npmrc").write_text("registry=http://127.0.0.1:2/\n")
    assert registry_for("next", project, env={}, home=home).source == str(home / ".npmrc")
    (project / ".npmrc").write_text(
        "# company mirror\n; old\nregistry = http://127.0.0.1:3/npm\n"
        "@sentry:registry=http://127.0.0.1:4/${MIRROR}\n"
    )
    plain = registry_for("next", project, env={}, home=home)
    assert (plain.url, plain.source) == ("http://127.0.0.1:3/npm/", str(project / ".npmrc"))
    scoped = registry_for("@sentry/nextjs", project, env={"MIRROR": "sentry"}, home=home)
    assert scoped.url == "http://127.0.0.1:4/sentry/"


def test_npm_itself_is_asked_last(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed here")
    project, home = _dirs(tmp_path)
    env = {"HOME": str(home), "PATH": os.environ["PATH"]}
    expected = subprocess.run(
        ["npm", "config", "get", "registry"], capture_output=True, text=True, env=env, cwd=project
    ).stdout.strip()
    found = registry_for("@sentry/nextjs", project, env=env, home=home)
    assert found.source == "npm config get registry"
    assert found.url.rstrip("/") == expected.rstrip("/")


def test_nothing_configured_and_no_npm(tmp_path: Path) -> None:
    project, home = _dirs(tmp_path)
    with pytest.raises(RegistryNotConfigured, match="NPM_CONFIG_REGISTRY"):
        registry_for("next", project, env={}, home=home, npm=None)


def test_an_unreadable_npmrc_is_skipped(tmp_path: Path) -> None:
    bad = tmp_path / ".npmrc"
    bad.write_bytes(b"\xff\xfe registry")
    assert read_npmrc(bad, {}) == {}
    assert read_npmrc(tmp_path / "missing", {}) == {}
