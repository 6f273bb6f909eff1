"""Human formatting of times, sizes, rates and durations exactly as k6 prints them.

The rules follow k6's summary code (`humanizeValue` and friends in its summary.js) and Go's
`time.Duration.String`, so a k6 user comparing our summary with k6's sees the same strings.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

_BYTE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def js_number(value: float) -> str:
    """A number as JavaScript's `String(n)` writes it: `150`, `0.5`, never `150.0`."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return repr(float(value))


def to_fixed(value: float, digits: int) -> str:
    """JavaScript's `toFixed`: halves round up (away from zero), not to even as `format` does."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def fixed_no_trailing_zeros(value: float, precision: int) -> str:
    """`parseFloat(v.toFixed(p)).toString()`: round half up on the exact double, trim zeros."""
    if not math.isfinite(value):
        return js_number(value)
    return js_number(float(to_fixed(value, precision)))


def _fixed_trunc(value: float, precision: int) -> str:
    # k6 truncates (never rounds up) durations, so 920.049µs prints as 920.04µs.
    mult = 10**precision
    return fixed_no_trailing_zeros(math.trunc(mult * value) / mult, precision)


def humanize_ms(ms: float) -> str:
    """A duration in milliseconds, auto-scaled like k6: `920.04µs`, `11.94ms`, `1.2s`, `1m2s`."""
    if ms == 0:
        return "0s"
    if ms < 0.001:
        return f"{math.trunc(ms * 1_000_000)}ns"
    if ms < 1:
        return _fixed_trunc(ms * 1000, 2) + "µs"
    if ms < 1000:
        return _fixed_trunc(ms, 2) + "ms"
    text = _fixed_trunc((ms % 60000) / 1000, 0 if ms > 60000 else 2) + "s"
    minutes = math.trunc(ms / 60000)
    if minutes < 1:
        return text
    text = f"{minutes % 60}m{text}"
    hours = math.trunc(minutes / 60)
    if hours < 1:
        return text
    return f"{hours}h{text}"


def humanize_bytes(count: float) -> str:
    """Bytes in decimal units like k6: `9 B`, `1.2 MB`, `40 kB`."""
    if count < 10:
        return f"{js_number(count)} B"
    exponent = math.floor(math.log(count) / math.log(1000))
    exponent = min(exponent, len(_BYTE_UNITS) - 1)
    value = math.floor((count / 1000**exponent) * 10 + 0.5) / 10
    digits = 1 if value < 10 else 0
    return f"{to_fixed(value, digits)} {_BYTE_UNITS[exponent]}"


def humanize_rate_percent(fraction: float) -> str:
    """A Rate as k6 prints it: truncated, two decimals, `8.98%`."""
    return f"{math.trunc(fraction * 100 * 100) / 100:.2f}%"


def humanize_value(value: float, contains: str, *, is_rate: bool = False) -> str:
    """Any metric value by its unit marker (`time`, `data`, `default`), k6's `humanizeValue`."""
    if is_rate:
        return humanize_rate_percent(value)
    if contains == "data":
        return humanize_bytes(value)
    if contains == "time":
        return humanize_ms(value)
    return fixed_no_trailing_zeros(value, 6)


def go_duration(seconds: float) -> str:
    """Go's `time.Duration.String()`: `33s`, `1m30s`, `1h0m0s`, `500ms`, `0s`."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return sign + _trim_fraction(ns, 1_000) + "µs"
    if ns < 1_000_000_000:
        return sign + _trim_fraction(ns, 1_000_000) + "ms"
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    out = sign
    if hours:
        out += f"{hours}h"
    if hours or minutes:
        out += f"{minutes}m"
    return out + _trim_fraction(rest, 1_000_000_000) + "s"


def _trim_fraction(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    width = len(str(unit)) - 1
    return f"{whole}." + f"{frac:0{width}d}".rstrip("0")


def fixed_length_duration(seconds: float, max_seconds: float) -> str:
    """k6's progress-bar clock: tenths of a second, leading units padded to the width of the
    maximum, so `02.0s` of `33s`, `00m00.5s` of `10m0s`, `2.0s` of `3s`."""
    tenths = max(0, math.trunc(seconds * 10 + 1e-9))
    # Past the maximum (graceful stop), widen instead of dropping the minutes.
    max_tenths = max(tenths, math.trunc(max_seconds * 10 + 1e-9))
    hours, rest = divmod(tenths, 36_000)
    minutes, rest = divmod(rest, 600)
    max_hours, max_rest = divmod(max_tenths, 36_000)
    max_minutes, max_rest = divmod(max_rest, 600)
    secs = f"{rest // 10:02d}.{rest % 10}s"
    if max_hours:
        return f"{hours:0{len(str(max_hours))}d}h{minutes:02d}m{secs}"
    if max_minutes:
        return f"{minutes:0{len(str(max_minutes))}d}m{secs}"
    width = len(str(max_rest // 10))
    return f"{rest // 10:0{width}d}.{rest % 10}s"


def int_width(maximum: int) -> int:
    """Digits needed for `maximum`, so counters like `02/13 VUs` keep their width."""
    return len(str(max(0, int(maximum))))
