"""A run's headline numbers (requests, p99, error fraction), from its merged metrics.

Shared by the history store (a finished or interrupted run's summary) and the run records the
checklist and the verdict read, so both say the same thing about the same run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ccplate_tui.load.metrics import Counter, MetricSet, Rate, Trend


@dataclass(frozen=True)
class Headline:
    requests: int
    p99_ms: float | None
    """None without any request duration."""
    error_fraction: float | None
    """Failed requests over all requests (http_req_failed); None without requests."""


def headline(totals: MetricSet) -> Headline:
    reqs = totals.select("http_reqs")
    trend = totals.select("http_req_duration")
    failed = totals.select("http_req_failed")
    p99 = trend.percentile(99.0) if isinstance(trend, Trend) and trend.count else None
    return Headline(
        requests=int(reqs.value) if isinstance(reqs, Counter) else 0,
        p99_ms=finite(p99),
        error_fraction=failed.rate if isinstance(failed, Rate) else None,
    )


def finite(value: float | None) -> float | None:
    """`value` as a float, or None for None, inf and NaN (JSON has none of them, and such a value
    carries no usable measurement anyway)."""
    return float(value) if value is not None and math.isfinite(value) else None
