"""Read a Next.js project's `.env.local` / `.env` the way Next.js (dotenv) does, for its DSN.

Only what the Sentry checks need: `KEY=value` lines, `export ` prefixes, quotes, comments, and
`${VAR}` references to keys defined earlier in the files or in the environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

ENV_FILES = (".env.local", ".env")
"""Next.js precedence (most specific first), without the NODE_ENV-specific files."""

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def read_dotenv(path: Path, known: Mapping[str, str] | None = None) -> dict[str, str]:
    """The assignments of one env file; an unreadable file reads as empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    values: dict[str, str] = {}
    scope = dict(known or {})
    for raw in text.splitlines():
        match = _LINE.match(raw)
        if not match or raw.lstrip().startswith("#"):
            continue
        key, value = match.group(1), match.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            quote, value = value[0], value[1:-1]
            if quote == "'":
                values[key] = scope[key] = value
                continue
        else:
            value = value.split(" #", 1)[0].strip()
        value = _REFERENCE.sub(lambda m: scope.get(m.group(1), ""), value)
        values[key] = scope[key] = value
    return values


def project_env(project: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a Next.js server in `project` would see from its env files (first file wins)."""
    merged: dict[str, str] = {}
    for name in reversed(ENV_FILES):
        merged.update(read_dotenv(project / name, {**(environ or {}), **merged}))
    return merged
