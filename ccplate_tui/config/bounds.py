"""Limits a config value must keep to be usable at all, each with the reason it is refused.

The loader checks types and grammar; these are the values that parse but cannot work: a
request path with a space or a line break (every request would fail), port 0, a `~user` that
does not exist, nesting deeper than anything a load test needs, a VU count no machine holds.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

MAX_NESTING = 64
"""Levels of nested arrays and tables a config may hold; a real one has fewer than ten, and
Python's own recursion (in tomllib and in JSON bodies) ends somewhere near a thousand."""

MAX_RATE_PER_S = 1_000_000
"""Iterations per second an arrival-rate scenario may plan: the schedule has microsecond steps,
and the engine's measured ceiling is some 54,000 iterations/s (benchmarks/README.md, scale)."""


def rate_problem(per_second: float) -> str | None:
    """Why an arrival rate (iterations per second, rate / timeUnit) cannot be planned, or None."""
    if per_second > MAX_RATE_PER_S:
        return (
            f"expected at most {MAX_RATE_PER_S:,} iterations/s (rate / timeUnit), got "
            f"{per_second:,.6g}/s: far past what any load generator sends"
        )
    return None


def path_problem(request_path: str) -> str | None:
    """Why a request path cannot be sent (whitespace or a control character), or None."""
    for index, char in enumerate(request_path):
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return (
                f"expected a path without spaces or control characters (write a space as %20), "
                f"got {char!a} at character {index + 1}"
            )
    return None


def port_problem(port: int | None) -> str | None:
    """Why a URL's port cannot be connected to (0), or None; urlsplit already refuses > 65535."""
    if port is not None and not 1 <= port <= 65535:
        return f"expected a port from 1 to 65535, got {port}"
    return None


def expand_user(path: str) -> Path:
    """`path` with a leading `~` or `~user` expanded; ValueError when that home is unknown."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        user = path[1:].split("/", 1)[0] or "the current user"
        raise ValueError(
            f"cannot expand {path.split('/', 1)[0]!r}: no home folder for {user}"
        ) from None


def too_deep(data: Any, limit: int = MAX_NESTING) -> tuple[str | int, ...] | None:
    """The key path of the first value nested deeper than `limit`, or None; iterative, so a
    value nested a million levels deep is measured without recursion."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > limit:
            return path
        if isinstance(value, dict):
            stack.extend((child, (*path, key)) for key, child in value.items())
        elif isinstance(value, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(value))
    return None
