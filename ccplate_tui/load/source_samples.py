"""What a metric source gave at one interval, and the aggregates thresholds compare over a run.

Samples are few (one per source per interval), so aggregates are exact, with k6's percentile
formula, rather than from a histogram: a source's value may be negative or fractional.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SourceSample:
    """One reading of a source: its value, or None and why not."""

    name: str
    value: float | None
    error: str | None = None
    """Why there is no value (no answer within the timeout, a refused connection, no number)."""
    at: float = 0.0
    """Seconds since the run started when the reading was taken."""
    wall_time: float = 0.0
    """Unix time of the reading."""
    unit: str = ""


def percentile(values: Sequence[float], q: float) -> float:
    """k6's P(q/100): linear between the two nearest sorted values."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    index = q / 100.0 * (len(ordered) - 1)
    low, high = math.floor(index), math.ceil(index)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def sample_aggregate(
    samples: Sequence[SourceSample], aggregation: str, q: float | None = None
) -> tuple[float | None, str | None]:
    """(value, None) of `aggregation` over the samples that have a value, or (None, the reason)."""
    values = [s.value for s in samples if s.value is not None]
    if not values:
        if not samples:
            return None, "no sample taken"
        last = next((s.error for s in reversed(samples) if s.error), "no value")
        return None, f"all {len(samples)} samples failed, last: {last}"
    if aggregation == "value":
        return values[-1], None
    if aggregation == "avg":
        return sum(values) / len(values), None
    if aggregation == "min":
        return min(values), None
    if aggregation == "max":
        return max(values), None
    if aggregation == "med":
        return percentile(values, 50.0), None
    if aggregation == "p" and q is not None:
        return percentile(values, q), None
    raise ValueError(f"aggregation {aggregation!r} does not apply to a source")
