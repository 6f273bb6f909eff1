"""Which npm registry to ask, read from npm's own configuration, never assumed.

Order (npm's precedence): the `NPM_CONFIG_REGISTRY` / `npm_config_registry` environment
variables, the project's `.npmrc`, the user's `~/.npmrc`, then `npm config get registry` when npm
is installed. A scoped `@scope:registry=` line wins over `registry=` for that scope's packages.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_ENV_REFERENCE = re.compile(r"\$\{([^}]+)\}")


class RegistryNotConfigured(LookupError):
    """No source named a registry (and npm is not installed to ask)."""


@dataclass(frozen=True)
class RegistrySource:
    url: str
    """Always ends with a slash, so `url + package` is the packument URL."""
    source: str
    """Where it came from, e.g. `NPM_CONFIG_REGISTRY`, `/app/.npmrc`, `npm config get registry`."""


def _normalise(url: str) -> str:
    url = url.strip().strip('"').strip("'")
    return url if url.endswith("/") else url + "/"


def read_npmrc(path: Path, env: Mapping[str, str]) -> dict[str, str]:
    """`key=value` pairs of an .npmrc (comments skipped, `${VAR}` expanded as npm does)."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return values
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = _ENV_REFERENCE.sub(lambda m: env.get(m.group(1), ""), value.strip())
    return values


def _from_npmrc(values: Mapping[str, str], scope: str | None) -> str | None:
    if scope and values.get(f"{scope}:registry"):
        return values[f"{scope}:registry"]
    return values.get("registry") or None


def registry_for(
    package: str,
    project: Path,
    *,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    npm: str | None = "npm",
) -> RegistrySource:
    """The registry npm would use for `package` when run in `project`."""
    env = os.environ if env is None else env
    scope = package.split("/", 1)[0] if package.startswith("@") else None
    for name in ("NPM_CONFIG_REGISTRY", "npm_config_registry"):
        if env.get(name):
            return RegistrySource(_normalise(env[name]), name)
    home = Path(env.get("HOME", str(Path.home()))) if home is None else home
    for npmrc in (project / ".npmrc", home / ".npmrc"):
        url = _from_npmrc(read_npmrc(npmrc, env), scope)
        if url:
            return RegistrySource(_normalise(url), str(npmrc))
    executable = shutil.which(npm) if npm else None
    if executable:
        command = [executable, "config", "get", f"{scope}:registry" if scope else "registry"]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=30, env={**env}, cwd=project
        )
        url = done.stdout.strip()
        if scope and (not url or url == "undefined"):
            done = subprocess.run(
                [executable, "config", "get", "registry"],
                capture_output=True,
                text=True,
                timeout=30,
                env={**env},
                cwd=project,
            )
            url = done.stdout.strip()
        if done.returncode == 0 and url.startswith(("http://", "https://")):
            return RegistrySource(_normalise(url), "npm config get registry")
    raise RegistryNotConfigured(
        "no npm registry is configured: set NPM_CONFIG_REGISTRY, add `registry=` to .npmrc, "
        "or install npm"
    )
