"""Does anything answer at the target, and is it the embedded demo? Without a request of our own.

Before a run the tool opens one TCP connection and closes it: no HTTP byte is sent, so a user's
own app sees no request it was not configured to get (k6 sends nothing before a run either).

Whether the target is the embedded demo is learnt from the run's own traffic: every answer of the
demo carries `DEMO_HEADER` (its version as the value), and the workers report the first one they
see. Only a target that named itself so is ever sent a request the user did not configure (the
fault notes' `GET /__admin/faults`).
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

DEMO_HEADER = "X-Ccplate-Demo"
"""The response header by which the embedded demo target names itself; the value is its version."""


def connect_error(base_url: str, timeout: float) -> OSError | None:
    """None when something accepts a TCP connection at the URL's host and port, else the error.

    Connect only: nothing is written to the socket, so no HTTP request reaches the target.
    """
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout):
            return None
    except OSError as exc:
        return exc
