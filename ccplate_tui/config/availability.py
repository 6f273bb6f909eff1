"""`[availability]`: the health probe sent during load runs, read and checked at load time.

    [availability]
    url = "/api/health"        # or "${base_url}/api/health", or an absolute http(s) URL
    every = "250ms"            # default 250ms, at least 10ms; wall-clock time (not scaled)
    timeout = "2s"             # default 2s
    method = "GET"             # GET (default) or HEAD
    expect_status = [200]      # default: any 2xx

The keys are the checklist's http probe's (`url`, `method`, `expect_status`, `timeout`) plus
the timer step's `every`. Availability is probes answered as expected / probes sent; the plan's
"99.9% uptime" needs at least 1,000 of them (250 ms over a 5-minute run gives 1,200).

The URL's loopback guard is the target's (`[target] allow_remote` or `--allow-remote`), so it is
checked when a run is built (load/availability.py `check_probe_url`), where the flag is known.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ccplate_tui.config.checklist_reader import ChecklistReader
from ccplate_tui.config.errors import KeyPath
from ccplate_tui.config.model import AvailabilitySpec

KEYS = ("url", "every", "timeout", "method", "expect_status")
DEFAULT_EVERY = 0.25
MIN_EVERY = 0.01
"""Below 10 ms the probe would be load of its own rather than a measurement."""
DEFAULT_TIMEOUT = 2.0
METHODS = ("GET", "HEAD")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def read_availability(
    reader: ChecklistReader, value: Any, path: KeyPath, base_url: str
) -> AvailabilitySpec:
    """The `[availability]` table, checked; errors name the key path and line."""
    table = reader.table(value, path, KEYS)
    url = reader.get(
        table,
        path,
        "url",
        lambda v, p: _url(reader, v, p, base_url),
        why=' (the health endpoint, e.g. "/api/health")',
    )
    every = reader.get(table, path, "every", reader.duration, DEFAULT_EVERY)
    if every < MIN_EVERY - 1e-12:
        raise reader.error((*path, "every"), f"expected at least 10ms, got {table['every']!r}")
    method = reader.get(table, path, "method", lambda v, p: reader.string(v, p, True), "GET")
    if method.upper() not in METHODS:
        raise reader.error(
            (*path, "method"), f"expected one of {', '.join(METHODS)}, got {method!r}"
        )
    return AvailabilitySpec(
        url=url,
        every=every,
        timeout=reader.get(table, path, "timeout", reader.duration, DEFAULT_TIMEOUT),
        method="HEAD" if method.upper() == "HEAD" else "GET",
        expect_status=reader.get(table, path, "expect_status", reader.expect_status, ()),
    )


def _url(reader: ChecklistReader, value: Any, path: KeyPath, base_url: str) -> str:
    """An absolute http(s) URL; a path (or `${base_url}…`) is joined to the target's base_url."""
    raw = reader.string(value, path, non_empty=True)
    for match in _VARIABLE.finditer(raw):
        if match.group(1) != "base_url":
            raise reader.error(
                path, f"unknown variable ${{{match.group(1)}}}; available: ${{base_url}}"
            )
    base = base_url.rstrip("/")
    url = raw.replace("${base_url}", base)
    if url.startswith("/") and not url.startswith("//"):
        url = base + url
    expected = (
        'expected a path like "/api/health" (joined to [target] base_url) or an http:// or '
        "https:// URL with a host"
    )
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise reader.error(path, f"{expected}, got {raw!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise reader.error(path, f"{expected}, got {raw!r}")
    if any(c in url for c in " \t\r\n"):
        raise reader.error(path, f"a URL has no spaces or line breaks, got {raw!r}")
    return url
