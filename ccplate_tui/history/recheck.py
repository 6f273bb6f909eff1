"""Re-evaluate today's thresholds against a recorded run's intervals, without sending traffic.

The replay does what the engine did live: it accumulates the stored intervals in order, feeds the
windowed thresholds, evaluates every `EVALUATION_PERIOD` (so `first_failed_at` and abortOnFail
mean the same as in a live run) and once more at the end. Relative thresholds get their baseline
values from the history as a new run would.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccplate_tui.config.model import Config
from ccplate_tui.config.timescale import with_time_scale
from ccplate_tui.history.baselines import ResolvedBaseline, resolve_baseline_details
from ccplate_tui.history.rows import StoredRun, StoredThreshold
from ccplate_tui.history.store import HistoryStore
from ccplate_tui.load.engine import RunPlan, resolve_plan
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.thresholds import (
    EVALUATION_PERIOD,
    ThresholdEvaluator,
    ThresholdResult,
    baseline_key,
)


class RecheckError(ValueError):
    """The run cannot be rechecked (no intervals, or scenarios the config no longer has)."""


@dataclass(frozen=True)
class RecheckedThreshold:
    result: ThresholdResult
    recorded: StoredThreshold | None
    """The same threshold (key and expression) as the run judged it, None if it had none."""
    baseline: ResolvedBaseline | None
    """Where a relative threshold's baseline came from; None for a plain one."""


@dataclass(frozen=True)
class Recheck:
    run: StoredRun
    plan: RunPlan
    thresholds: tuple[RecheckedThreshold, ...]
    elapsed: float
    """Seconds the replayed intervals span."""
    intervals: int
    would_abort_at: float | None
    """When an abortOnFail threshold would have stopped the run (None: it would not have)."""

    @property
    def failed(self) -> tuple[RecheckedThreshold, ...]:
        """Crossed thresholds and NO DATA ones: either fails a run."""
        return tuple(t for t in self.thresholds if t.result.failed)

    @property
    def passed(self) -> bool:
        return not self.failed


def recheck_run(store: HistoryStore, config: Config, run: StoredRun) -> Recheck:
    """Judge `run`'s stored intervals by `config`'s thresholds for the scenarios it ran.

    Raises RecheckError when the run has no intervals or names a scenario the config lacks.
    """
    if run.interval_count == 0:
        raise RecheckError(
            f"run {run.id} has no recorded intervals (imported from a run record, or it ended "
            "before its first interval): there is nothing to re-evaluate"
        )
    if run.time_scale != 1.0:
        # delayAbortEval scales with the run, as it did when the run was started.
        config = with_time_scale(config, run.time_scale)
    try:
        plan = resolve_plan(config, list(run.names))
    except KeyError as exc:
        raise RecheckError(f"run {run.id} ran {', '.join(run.names)}, but {exc.args[0]}") from None
    details = resolve_baseline_details(store, config, plan)
    values = {d.key: d.value for d in details if d.value is not None}
    evaluator = ThresholdEvaluator(plan.thresholds, values)
    totals = MetricSet()
    results: list[ThresholdResult] = []
    elapsed = last_eval = 0.0
    would_abort_at: float | None = None
    count = 0
    for snapshot in store.iter_intervals(run.id):
        count += 1
        totals.accumulate(snapshot.metrics)
        evaluator.observe(snapshot)
        elapsed = snapshot.end
        if elapsed - last_eval >= EVALUATION_PERIOD - 1e-6 or not results:
            results = evaluator.evaluate(totals, elapsed)
            last_eval = elapsed
            if would_abort_at is None and evaluator.abort_reasons(results, elapsed):
                would_abort_at = elapsed
    final = evaluator.evaluate(totals, elapsed)
    recorded = {(t.key, t.expression): t for t in run.thresholds or ()}
    by_key = {d.key: d for d in details}
    rechecked = tuple(
        RecheckedThreshold(
            result,
            recorded.get((result.spec.key, result.spec.expr.source)),
            by_key.get(baseline_key(result.spec)) if result.spec.expr.relative else None,
        )
        for result in final
    )
    return Recheck(run, plan, rechecked, elapsed, count, would_abort_at)
