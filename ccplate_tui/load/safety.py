"""Load goes only to loopback unless the user says otherwise: checked before any connection."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


class RemoteTargetRefused(ValueError):
    """The target is not a loopback address and remote targets were not allowed."""


def is_loopback_url(url: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1; names are not resolved (no lookup leaves the box)."""
    host = (urlsplit(url).hostname or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_target(url: str, *, allow_remote: bool) -> None:
    """Raise RemoteTargetRefused for a non-loopback target unless remote targets are allowed."""
    if allow_remote or is_loopback_url(url):
        return
    raise RemoteTargetRefused(
        f"refusing to send load to {url}: it is not a loopback address. Set "
        "`allow_remote = true` under [target] in the config, or pass --allow-remote, "
        "if you own that server and mean it."
    )
