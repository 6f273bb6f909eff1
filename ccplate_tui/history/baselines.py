"""Baseline values for relative thresholds (`p(95) < baseline * 1.10`), from the history store.

A relative threshold compares with the same aggregate over the same metric and tags in its
scenario's baseline run (`history baseline RUN`). A threshold scoped to a scenario (its tags hold
`scenario:<name>`) uses that scenario's baseline; a run-wide or suite threshold uses the baseline
of a suite whose scenarios are exactly the plan's, else the one run every planned scenario has as
its baseline. Anything else has no baseline value, and the threshold is NO DATA.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ccplate_tui.config.model import Config
from ccplate_tui.config.thresholds import ThresholdSpec
from ccplate_tui.load.metrics import BUILTIN_METRICS, Counter, MetricSet, MetricType
from ccplate_tui.load.thresholds import aggregate, baseline_key

if TYPE_CHECKING:
    from ccplate_tui.history.store import HistoryStore
    from ccplate_tui.load.engine import RunPlan


@dataclass(frozen=True)
class ResolvedBaseline:
    """Where one relative threshold's baseline value came from."""

    key: str
    """`baseline_key(spec)`, e.g. `http_req_duration{scenario:auth_burst} p(95)`."""
    owner: str | None
    """The scenario or suite whose baseline was used; None when none applies."""
    run_id: str | None
    value: float | None
    """None when there is no baseline run, or it has no data for this metric and tags."""


def baseline_value(spec: ThresholdSpec, totals: MetricSet, elapsed: float) -> float | None:
    """The aggregate `spec` compares, over a whole baseline run (`totals`, `elapsed` seconds).

    A windowed threshold's baseline is still the whole run: its window is the new run's own.
    """
    whole = replace(spec.expr, window=None)
    sink = totals.select(spec.metric, spec.tags)
    if sink is None and _is_counter(spec.metric):
        # As the evaluator reads it: a counter series is written only when it moved, so no
        # series is zero events (a baseline without dropped iterations has 0 of them).
        sink = Counter()
    try:
        return aggregate(sink, whole, elapsed)
    except ValueError:  # a sink of another type under this name: nothing comparable
        return None


def _is_counter(metric: str) -> bool:
    info = BUILTIN_METRICS.get(metric)
    return info is not None and info.type is MetricType.COUNTER


def _scenario_of(spec: ThresholdSpec) -> str | None:
    return dict(spec.tags).get("scenario")


def baseline_owner(
    spec: ThresholdSpec, config: Config, scenarios: Sequence[str], store: HistoryStore
) -> tuple[str | None, str | None]:
    """(scenario or suite, baseline run id) for `spec` in a run of `scenarios`; Nones if none."""
    scenario = _scenario_of(spec)
    if scenario is not None:
        return scenario, store.baseline(scenario)
    planned = set(scenarios)
    for name, suite in config.suites.items():
        if set(suite.scenarios) == planned:
            run_id = store.baseline(name)
            if run_id is not None:
                return name, run_id
    runs = {store.baseline(name) for name in planned}
    if len(runs) == 1 and None not in runs:
        return ", ".join(sorted(planned)), runs.pop()
    return None, None


def resolve_baseline_details(
    store: HistoryStore,
    config: Config,
    plan: RunPlan,
    *,
    specs: Sequence[ThresholdSpec] | None = None,
) -> list[ResolvedBaseline]:
    """One entry per distinct relative threshold key of `plan` (or of `specs`), in plan order."""
    scenarios = [s.name for s in plan.scenarios]
    figures: dict[str, tuple[MetricSet, float] | None] = {}
    out: dict[str, ResolvedBaseline] = {}
    for spec in plan.thresholds if specs is None else specs:
        key = baseline_key(spec)
        if not spec.expr.relative or key in out:
            continue
        owner, run_id = baseline_owner(spec, config, scenarios, store)
        value = None
        if run_id is not None:
            if run_id not in figures:
                figures[run_id] = _figures(store, run_id)
            found = figures[run_id]
            if found is not None:
                value = baseline_value(spec, *found)
        out[key] = ResolvedBaseline(key, owner, run_id, value)
    return list(out.values())


def _figures(store: HistoryStore, run_id: str) -> tuple[MetricSet, float] | None:
    """(totals, elapsed) of a baseline run; None when it has no intervals (an imported run
    record only knows its outcome, so it has no figures to compare with)."""
    run = store.run(run_id)
    if run is None or run.interval_count == 0:
        return None
    return store.totals(run.id), run.elapsed


def resolve_baselines(store: HistoryStore, config: Config, plan: RunPlan) -> dict[str, float]:
    """Baseline values by `baseline_key` for the plan's relative thresholds, for `LoadRun(...,
    baselines=...)`. Keys without a value are left out (those thresholds are NO DATA).

    Raises the store's HistoryError when the database cannot be read.
    """
    return {
        r.key: r.value for r in resolve_baseline_details(store, config, plan) if r.value is not None
    }


def baseline_runs(details: Sequence[ResolvedBaseline]) -> dict[str, str]:
    """{scenario or suite: baseline run id} of resolved baselines, for the recorder's
    `baseline_for` (which runs a run's relative thresholds were judged against)."""
    return {r.owner: r.run_id for r in details if r.owner is not None and r.run_id is not None}
