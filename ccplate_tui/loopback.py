"""Traffic goes only to loopback unless the user says otherwise: load, probes, metric sources and
drills are checked here before any connection. Core module (stdlib only)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


class RemoteTargetRefused(ValueError):
    """The target is not a loopback address and remote targets were not allowed."""


def is_loopback_host(host: str) -> bool:
    """True for localhost (and *.localhost), 127.0.0.0/8 and ::1; names are not resolved (no
    lookup leaves the box)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """True when the URL's host is loopback (is_loopback_host)."""
    return is_loopback_host(urlsplit(url).hostname or "")


def check_target(url: str, *, allow_remote: bool) -> None:
    """Raise RemoteTargetRefused for a non-loopback target unless remote targets are allowed."""
    if allow_remote or is_loopback_url(url):
        return
    raise RemoteTargetRefused(
        f"refusing to send load to {url}: it is not a loopback address. Set "
        "`allow_remote = true` under [target] in the config, or pass --allow-remote, "
        "if you own that server and mean it."
    )
