"""Does anything answer at the target? One TCP connect, before a run, to say so plainly."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit


def connect_error(base_url: str, timeout: float) -> OSError | None:
    """None when something accepts a TCP connection at the URL's host and port, else the error."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout):
            return None
    except OSError as exc:
        return exc
