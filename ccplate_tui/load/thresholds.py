"""Evaluate parsed k6 thresholds against the engine's merged metrics, live and at the end.

k6 evaluates every 2 s during the run and once at the end; the caller schedules the calls
(`EVALUATION_PERIOD`). Unlike k6, a threshold without data is NO DATA (ok=None), never a pass.
A threshold relative to the baseline (`p(95) < baseline * 1.10`) compares with a value the
caller resolves from the baseline run (history/baselines.py); without one it is NO DATA too.
"""

from __future__ import annotations

import operator as op
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ccplate_tui.config.thresholds import ThresholdExpr, ThresholdSpec, method_label
from ccplate_tui.load.metrics import (
    BUILTIN_METRICS,
    Counter,
    Gauge,
    MetricSet,
    MetricType,
    Rate,
    SeriesKey,
    Sink,
    Trend,
)
from ccplate_tui.load.snapshot import IntervalSnapshot
from ccplate_tui.load.source_samples import SourceSample, sample_aggregate

EVALUATION_PERIOD = 2.0
"""Seconds between live evaluations, as k6's `thresholdsRate`."""

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": op.lt,
    "<=": op.le,
    ">": op.gt,
    ">=": op.ge,
    "==": op.eq,
    "===": op.eq,
    "!=": op.ne,
}


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
    baseline: float | None = None
    """For a relative threshold: the baseline run's same aggregate (None without a baseline)."""
    limit: float | None = None
    """The number `observed` was compared with (for a relative one, derived from `baseline`)."""
    reason: str | None = None
    """Why a threshold on a metric source is NO DATA (e.g. its samples all failed)."""

    @property
    def failed(self) -> bool:
        return self.ok is not True


def baseline_key(spec: ThresholdSpec) -> str:
    """The key of a relative threshold's baseline value: its metric key and aggregation,
    e.g. `http_req_duration{scenario:auth_burst} p(95)` (several thresholds may share it)."""
    return f"{spec.key} {method_label(spec.expr)}"


def aggregate(sink: Sink | None, expr: ThresholdExpr, elapsed: float) -> float | None:
    """The value k6 compares for `expr` on `sink`; None when there is no data.

    `elapsed` is the span a counter's `rate` divides by (the run so far, or a window's span).
    """
    method = expr.aggregation
    if sink is None:
        return None
    if isinstance(sink, Trend):
        if not sink.count:
            return None  # k6 would report 0 and pass `p(95)<500`; no data is not a pass
        if method == "avg":
            return sink.avg
        if method == "min":
            return sink.min
        if method == "max":
            return sink.max
        if method == "med":
            return sink.percentile(50.0)
        if method == "p" and expr.percentile is not None:
            return sink.percentile(expr.percentile)
    elif isinstance(sink, Counter):
        if method == "count":
            return sink.value
        if method == "rate":
            return sink.value / elapsed if elapsed > 0 else None
    elif isinstance(sink, Rate):
        if method == "rate":
            return sink.rate
    elif isinstance(sink, Gauge) and method == "value":
        return sink.value
    raise ValueError(
        f"{expr.source!r}: method {method!r} does not apply to a {type(sink).__name__}"
    )


def _is_counter(metric: str) -> bool:
    info = BUILTIN_METRICS.get(metric)
    return info is not None and info.type is MetricType.COUNTER


@dataclass(frozen=True)
class _Slice:
    """One interval's selection for a windowed (metric, tags) key; `sink` None when it had none."""

    start: float
    end: float
    sink: Sink | None

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2


class ThresholdEvaluator:
    """Evaluates thresholds on run totals, and windowed ones on the recent observed intervals."""

    def __init__(
        self, specs: Sequence[ThresholdSpec], baselines: Mapping[str, float] | None = None
    ) -> None:
        self.specs = tuple(specs)
        self.baselines: dict[str, float] = dict(baselines or {})
        """Baseline values by `baseline_key`, resolved once at the start of the run."""
        self._first_failed: dict[int, float] = {}
        # One history per (metric, tag filter) that a windowed threshold needs, kept only as long
        # as its longest window, and holding only the selected sink rather than whole snapshots.
        self._keep: dict[SeriesKey, float] = {}
        for spec in self.specs:
            if spec.expr.window is not None:
                key = (spec.metric, spec.tags)
                self._keep[key] = max(self._keep.get(key, 0.0), spec.expr.window)
        self._history: dict[SeriesKey, deque[_Slice]] = {key: deque() for key in self._keep}
        # Thresholds on metric sources (config/sources.py) are judged on their samples.
        self._samples: dict[str, list[SourceSample]] = {
            spec.metric: [] for spec in self.specs if spec.metric not in BUILTIN_METRICS
        }

    @property
    def retained(self) -> int:
        """How many interval slices are held for windowed thresholds (bounded by the windows)."""
        return sum(len(history) for history in self._history.values())

    def observe(self, snapshot: IntervalSnapshot) -> None:
        """Remember what windowed thresholds need of one interval; forget what no window reaches."""
        for sample in snapshot.sources:
            if sample.name in self._samples:
                self._samples[sample.name].append(sample)
        for key, keep in self._keep.items():
            history = self._history[key]
            history.append(_Slice(snapshot.start, snapshot.end, snapshot.metrics.select(*key)))
            while history and history[0].middle < snapshot.end - keep:
                history.popleft()

    def evaluate(self, totals: MetricSet, elapsed: float) -> list[ThresholdResult]:
        """One result per spec, in order: totals for plain thresholds, recent intervals for windowed."""
        results = []
        for index, spec in enumerate(self.specs):
            reason = None
            if spec.metric in self._samples:
                observed, reason = self._observe_source(spec, elapsed)
            elif spec.expr.window is None:
                observed = self._observe_totals(spec, totals, elapsed)
            else:
                observed = self._observe_window(spec, elapsed)
            base = self.baselines.get(baseline_key(spec)) if spec.expr.relative else None
            limit = spec.expr.limit(base)
            ok = (
                None
                if observed is None or limit is None
                else _COMPARE[spec.expr.operator](observed, limit)
            )
            if ok is False and index not in self._first_failed:
                self._first_failed[index] = elapsed
            results.append(
                ThresholdResult(
                    spec, ok, observed, self._first_failed.get(index), base, limit, reason
                )
            )
        return results

    def _observe_totals(
        self, spec: ThresholdSpec, totals: MetricSet, elapsed: float
    ) -> float | None:
        sink = totals.select(spec.metric, spec.tags)
        if sink is None and _is_counter(spec.metric):
            # The engine writes a counter series only when it moved (dropped_iterations), so
            # "no series" means zero events, as an untouched k6 counter reports count 0.
            sink = Counter()
        return aggregate(sink, spec.expr, elapsed)

    def _observe_source(
        self, spec: ThresholdSpec, elapsed: float
    ) -> tuple[float | None, str | None]:
        """A source threshold's aggregate over its samples (the window's, if it has one)."""
        samples = self._samples[spec.metric]
        if spec.expr.window is not None:
            samples = [s for s in samples if s.at >= elapsed - spec.expr.window]
        return sample_aggregate(samples, spec.expr.aggregation, spec.expr.percentile)

    def _observe_window(self, spec: ThresholdSpec, elapsed: float) -> float | None:
        assert spec.expr.window is not None
        key = (spec.metric, spec.tags)
        # An interval belongs to the window when most of it lies inside: robust to the jitter of
        # measured interval boundaries, where "end after the cut" would flip on a millisecond.
        cut = elapsed - spec.expr.window
        inside = [s for s in self._history[key] if s.middle >= cut]
        if not inside:
            return None
        span = sum(s.end - s.start for s in inside)
        combined = MetricSet()
        for piece in inside:
            if piece.sink is not None:
                combined.accumulate(MetricSet({key: piece.sink}))
        sink = combined.series.get(key)
        if sink is None and _is_counter(spec.metric):
            sink = Counter()
        return aggregate(sink, spec.expr, span)

    def abort_reasons(
        self, results: list[ThresholdResult], elapsed: float
    ) -> list[ThresholdResult]:
        """Failed thresholds that stop the run now: abortOnFail, past any delayAbortEval."""
        return [
            r
            for r in results
            if r.ok is False
            and r.spec.abort_on_fail
            and (r.spec.delay_abort_eval is None or r.spec.delay_abort_eval < elapsed)
        ]


def failed_metrics(results: Sequence[ThresholdResult]) -> list[str]:
    """Metric names with a failed (or NO DATA) threshold, once each, in first-seen order.

    For k6's message `thresholds on metrics 'http_req_failed' have been crossed`.
    """
    names: list[str] = []
    for result in results:
        if result.failed and result.spec.metric not in names:
            names.append(result.spec.metric)
    return names
