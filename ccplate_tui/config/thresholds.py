"""k6 threshold grammar: parse `p(99)<200` and `http_req_duration{name:login}` once, at load time."""

from __future__ import annotations

from dataclasses import dataclass

Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ThresholdExpr:
    """One parsed assertion, e.g. `p(99)<200` or the sliding-window form `p(99)[30s]<200`."""

    source: str
    aggregation: str
    """One of count, rate, value, avg, min, max, med, p."""
    percentile: float | None
    """For `p(N)`: N, in 0..100."""
    operator: str
    """One of <, <=, >, >=, ==, != (`===` is normalised to `==`)."""
    value: float
    window: float | None = None
    """Seconds: evaluate on the last `window` seconds only."""


@dataclass(frozen=True)
class ThresholdSpec:
    """A threshold on a metric, optionally filtered by tags, as k6's `thresholds` option holds it."""

    key: str
    """The metric key as k6 would print it, e.g. `http_req_duration{scenario:auth_burst}`."""
    metric: str
    tags: Tags
    expr: ThresholdExpr
    abort_on_fail: bool = False
    delay_abort_eval: float | None = None
