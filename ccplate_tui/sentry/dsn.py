"""Sentry DSNs: parse with a clear error, build the envelope URL, and mask the key for display.

The key of a DSN is a credential for sending events; it is never shown whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit


class DsnError(ValueError):
    """A malformed DSN; the message says what part is wrong (with the key masked)."""


@dataclass(frozen=True)
class Dsn:
    scheme: str
    public_key: str
    secret_key: str | None
    host: str
    port: int | None
    path_prefix: str
    """What stands between the host and the project id, e.g. `/sentry` for self-hosted."""
    project_id: str

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port is not None else host

    @property
    def envelope_url(self) -> str:
        """Where events go: `{scheme}://{host}{prefix}/api/{project}/envelope/` (as sentry-sdk)."""
        return f"{self.scheme}://{self.netloc}{self.path_prefix}/api/{self.project_id}/envelope/"

    def masked(self) -> str:
        """The DSN as it may be shown: key reduced to its first and last two characters."""
        secret = ":***" if self.secret_key else ""
        return (
            f"{self.scheme}://{mask_key(self.public_key)}{secret}@{self.netloc}"
            f"{self.path_prefix}/{self.project_id}"
        )


def mask_key(key: str) -> str:
    """`ab…yz` for keys long enough to keep anything; `***` otherwise."""
    return f"{key[:2]}…{key[-2:]}" if len(key) >= 12 else "***"


_DSN_IN_TEXT = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^:@/\s]+)(:[^@/\s]*)?@")


def mask_dsns(text: str) -> str:
    """Mask every DSN-looking key in free text (log lines, error messages, reports).

    Idempotent: an already masked key (`ab…yz`, `***`) or a placeholder (`<key>`) is kept.
    """

    def mask(match: re.Match[str]) -> str:
        key = match.group(2)
        if "…" in key or key == "***" or key.startswith("<"):
            return match.group(0)
        return f"{match.group(1)}{mask_key(key)}{':***' if match.group(3) else ''}@"

    return _DSN_IN_TEXT.sub(mask, text)


def parse_dsn(text: str) -> Dsn:
    """Parse `https://<key>[:<secret>]@<host>[:<port>][/<prefix>]/<project_id>`."""
    if not isinstance(text, str) or not text.strip():
        raise DsnError("the DSN is empty; expected https://<key>@<host>/<project_id>")
    raw = text.strip()
    shown = mask_dsns(raw)
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https"):
        raise DsnError(
            f"the DSN {shown!r} must start with https:// (or http:// for a local server)"
        )
    if not parts.username:
        raise DsnError(f"the DSN {shown!r} has no key: expected https://<key>@<host>/<project_id>")
    if not parts.hostname:
        raise DsnError(f"the DSN {shown!r} has no host")
    try:
        port = parts.port
    except ValueError:
        raise DsnError(f"the DSN {shown!r} has an invalid port") from None
    if parts.query or parts.fragment:
        raise DsnError(f"the DSN {shown!r} must not carry a query or fragment")
    path = parts.path.rstrip("/")
    prefix, _, project = path.rpartition("/")
    if not project.isdigit():
        raise DsnError(
            f"the DSN {shown!r} must end with a numeric project id, e.g. https://<key>@<host>/42"
        )
    return Dsn(
        scheme=parts.scheme,
        public_key=parts.username,
        secret_key=parts.password or None,
        host=parts.hostname,
        port=port,
        path_prefix=prefix,
        project_id=project,
    )
