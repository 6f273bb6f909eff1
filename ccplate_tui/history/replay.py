"""Play a recorded run back as the RunUpdates the engine published, for scrubbing a past run.

The dashboard builds its LiveView from each update (load/live.py `build_live_view`) exactly as
for a live run; thresholds are evaluated the engine's way over the stored intervals, with the
specs and baseline values the caller passes (the current config's, typically).

Core module: no Textual here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from ccplate_tui.config.thresholds import ThresholdSpec
from ccplate_tui.history.store import HistoryStore
from ccplate_tui.load.engine import RunUpdate
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.thresholds import ThresholdEvaluator


def replay(
    store: HistoryStore,
    run_id: str,
    thresholds: Sequence[ThresholdSpec] = (),
    baselines: Mapping[str, float] | None = None,
) -> Iterator[RunUpdate]:
    """One RunUpdate per stored interval, in order, totals accumulated as the engine did.

    As with the engine, `totals` is one MetricSet updated in place: copy what must outlive the
    next step. Intervals are decoded one at a time, so a long run replays in constant memory.
    """
    evaluator = ThresholdEvaluator(thresholds, baselines)
    totals = MetricSet()
    for snapshot in store.iter_intervals(run_id):
        totals.accumulate(snapshot.metrics)
        evaluator.observe(snapshot)
        results = evaluator.evaluate(totals, snapshot.end)
        yield RunUpdate(snapshot, totals, results, snapshot.end)
