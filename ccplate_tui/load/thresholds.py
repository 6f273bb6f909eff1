"""Evaluate parsed k6 thresholds against the engine's merged metrics, live and at the end.

STUB: the interface below is fixed; the implementation is being written.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccplate_tui.config.thresholds import ThresholdSpec


@dataclass(frozen=True)
class ThresholdResult:
    """One threshold's state at an evaluation."""

    spec: ThresholdSpec
    ok: bool | None
    """None means NO DATA, which fails the run at the end (k6 would pass it)."""
    observed: float | None
    """The aggregate compared (ms for time trends, a fraction for rates), None without data."""
    first_failed_at: float | None = None
    """Seconds since the run started when this threshold first failed, if it ever did."""

    @property
    def failed(self) -> bool:
        return self.ok is not True
