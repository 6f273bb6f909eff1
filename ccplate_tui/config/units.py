"""k6-style durations (`500ms`, `1m30s`, `1h`) and sizes (`1MB`, `512KiB`)."""

from __future__ import annotations

import math
import re

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|us|µs|h|m|s)")
MAX_DURATION_S = (2**63 - 1) / 1e9
"""k6's longest duration: Go's time.Duration holds 2^63-1 ns, about 292 years (2562047h)."""
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


def parse_duration(text: str) -> float:
    """Seconds from a k6 duration string; raises ValueError with what was expected."""
    if not isinstance(text, str):
        raise ValueError(f"expected a duration string like '30s' or '1m30s', got {text!r}")
    compact = text.strip()
    if not compact:
        raise ValueError("expected a duration like '30s' or '1m30s', got an empty string")
    pos = 0
    total = 0.0
    for match in _DURATION_PART.finditer(compact):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(compact) or pos == 0:
        raise ValueError(
            f"expected a duration like '500ms', '30s' or '1m30s' (units h, m, s, ms, us), "
            f"got {shown(text)}"
        )
    if not math.isfinite(total) or total > MAX_DURATION_S:
        raise ValueError(
            f"expected a duration up to 2562047h (k6's longest: Go's time.Duration), "
            f"got {shown(text)}"
        )
    return total


def shown(value: object, limit: int = 40) -> str:
    """`value` as an error message quotes it, cut to `limit` characters (a 400-digit number
    would bury the message)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    length = len(value) if isinstance(value, str) else len(text)
    return f"{text[: limit - 4]}...{text[-1]} ({length} chars)"


def format_duration(seconds: float) -> str:
    """The inverse of parse_duration, in k6's style: `1m30s`, `500ms`, `2.5s`."""
    if seconds < 1 and seconds > 0:
        ms = seconds * 1000
        return f"{ms:g}ms"
    whole_minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(whole_minutes), 60)
    out = ""
    if hours:
        out += f"{hours}h"
    if minutes:
        out += f"{minutes}m"
    if rest or not out:
        out += f"{round(rest, 3):g}s"
    return out


def parse_size(text: str | int) -> int:
    """Bytes from `1MB` (10^6), `1MiB` (2^20), `512KB` or a plain integer."""
    if isinstance(text, bool):
        raise ValueError(f"expected a size like '1MB' or '512KiB', got {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"expected a non-negative size, got {text}")
        return text
    if not isinstance(text, str):
        raise ValueError(f"expected a size like '1MB' or '512KiB', got {text!r}")
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"expected a size like '1MB', '512KiB' or '100B', got {text!r}")
    unit = (match.group(2) or "B").lower()
    return int(float(match.group(1)) * _SIZE_UNITS[unit])
