"""Where the Sentry checks get their inputs: flags, then the environment, then `[sentry]`, then
the Next.js project's own `.env.local` / `.env`.

Each value remembers where it came from, so a report can say "DSN from .env.local" without ever
showing the DSN's key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ccplate_tui.config.model import SentrySpec
from ccplate_tui.sentry.dotenv import project_env, read_dotenv


@dataclass(frozen=True)
class Setting:
    value: str
    origin: str
    """E.g. `--dsn`, `SENTRY_DSN`, `[sentry] dsn`, `.env.local SENTRY_DSN`."""


@dataclass(frozen=True)
class SentrySettings:
    project: Path
    project_origin: str
    dsn: Setting | None = None
    token: Setting | None = None
    org: Setting | None = None
    project_slug: Setting | None = None
    api_url: Setting | None = None


def _first(*candidates: tuple[str | None, str]) -> Setting | None:
    for value, origin in candidates:
        if value and value.strip():
            return Setting(value.strip(), origin)
    return None


def resolve_settings(
    spec: SentrySpec | None = None,
    *,
    project: str | Path | None = None,
    dsn: str | None = None,
    token: str | None = None,
    org: str | None = None,
    project_slug: str | None = None,
    api_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> SentrySettings:
    """Resolve every input of the Sentry checks with its origin (flags win)."""
    spec = spec or SentrySpec()
    env = os.environ if environ is None else environ
    if project is not None:
        folder, folder_origin = Path(project).expanduser(), "--project"
    elif spec.project:
        folder, folder_origin = Path(spec.project), "[sentry] project"
    else:
        folder, folder_origin = (cwd or Path.cwd()), "the current folder"
    app_env = project_env(folder, env) if folder.is_dir() else {}

    local = read_dotenv(folder / ".env.local", env)

    def app(name: str) -> tuple[str | None, str]:
        return app_env.get(name), f"{'.env.local' if name in local else '.env'} {name}"

    return SentrySettings(
        project=folder,
        project_origin=folder_origin,
        dsn=_first(
            (dsn, "--dsn"),
            (env.get("SENTRY_DSN"), "SENTRY_DSN"),
            (spec.dsn, "[sentry] dsn"),
            app("SENTRY_DSN"),
            app("NEXT_PUBLIC_SENTRY_DSN"),
        ),
        token=_first((token, "--api-token"), (env.get("SENTRY_AUTH_TOKEN"), "SENTRY_AUTH_TOKEN")),
        org=_first(
            (org, "--org"),
            (env.get("SENTRY_ORG"), "SENTRY_ORG"),
            (spec.org, "[sentry] org"),
            app("SENTRY_ORG"),
        ),
        project_slug=_first(
            (project_slug, "--project"),
            (env.get("SENTRY_PROJECT"), "SENTRY_PROJECT"),
            (spec.project_slug, "[sentry] project_slug"),
            app("SENTRY_PROJECT"),
        ),
        api_url=_first(
            (api_url, "--api-url"),
            (env.get("SENTRY_URL"), "SENTRY_URL"),
            (spec.api_url, "[sentry] api_url"),
        ),
    )
