"""k6's terminal texts for a run: the `scenarios:` header and the once-per-interval progress lines.

Lines are plain text (no cursor movement, ASCII bar) so the headless runner can print them to a
pipe or a log exactly as k6 does when stdout is not a terminal. Beyond k6, every `running` line
carries the interval's req/s, p95, error % and the generator's own CPU and event-loop lag, so a
busy generator is never mistaken for a slow server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ccplate_tui.config.model import ScenarioSpec
from ccplate_tui.config.thresholds import ThresholdSpec
from ccplate_tui.load import executors
from ccplate_tui.load.metrics import Rate, Trend
from ccplate_tui.load.snapshot import IntervalSnapshot, ScenarioProgress, WorkerHealth
from ccplate_tui.load.units_format import (
    fixed_length_duration,
    go_duration,
    humanize_ms,
    int_width,
)

_HEADER_INDENT = "     "
_ITEM_INDENT = " " * 14
_DEFAULT_MAX_DURATION = 600.0  # k6's maxDuration default for the iteration-based executors

ScenarioSpecs = Mapping[str, ScenarioSpec] | Sequence[ScenarioSpec]


def max_vus(spec: ScenarioSpec) -> int:
    """The most VUs the scenario can hold at once (maxVUs for the arrival-rate executors)."""
    return executors.max_vus(spec.executor)


def planned_duration(spec: ScenarioSpec) -> float:
    """Seconds the scenario plans to run, without startTime and graceful stop."""
    return executors.planned_duration(spec.executor)


def max_duration(spec: ScenarioSpec) -> float:
    """Seconds from the scenario's start to its latest possible end, graceful stop included
    (startTime excluded: add `spec.executor.start_time` for the offset in the run)."""
    return planned_duration(spec) + spec.executor.graceful_stop


def run_max_vus(scenarios: Sequence[ScenarioSpec]) -> int:
    """Peak VUs over the run: the scenarios whose time spans overlap add up, as k6 counts."""
    peak = 0
    for probe in scenarios:
        at = probe.executor.start_time
        active = sum(
            max_vus(spec)
            for spec in scenarios
            if spec.executor.start_time
            <= at
            < spec.executor.start_time + max(max_duration(spec), 1e-9)
        )
        peak = max(peak, active)
    return peak


def run_max_duration(scenarios: Sequence[ScenarioSpec]) -> float:
    """The latest possible end of any scenario, startTime and graceful stop included."""
    return max((s.executor.start_time + max_duration(s) for s in scenarios), default=0.0)


def _base_info(spec: ScenarioSpec, facts: list[str]) -> str:
    # Same order as k6's getBaseInfo: executor facts, then startTime, then gracefulStop.
    ex = spec.executor
    if ex.start_time > 0:
        facts.append(f"startTime: {go_duration(ex.start_time)}")
    if ex.graceful_stop > 0:
        facts.append(f"gracefulStop: {go_duration(ex.graceful_stop)}")
    return f" ({', '.join(facts)})" if facts else ""


def _max_vus_range(spec: ScenarioSpec) -> str:
    ex = spec.executor
    pre = ex.pre_allocated_vus or 0
    cap = max(ex.max_vus or pre, pre)
    return f"maxVUs: {pre}-{cap}" if cap > pre else f"maxVUs: {pre}"


def _time_unit(spec: ScenarioSpec) -> float:
    return spec.executor.time_unit or 1.0


def describe_executor(spec: ScenarioSpec) -> str:
    """One scenario in k6's words, e.g. `20.00 iterations/s for 3s (maxVUs: 5-10, gracefulStop: 30s)`."""
    ex = spec.executor
    match ex.executor:
        case "constant-vus":
            return f"{ex.vus or 1} looping VUs for {go_duration(ex.duration or 0)}" + _base_info(
                spec, []
            )
        case "ramping-vus":
            ramp_down = ex.graceful_ramp_down if ex.graceful_ramp_down is not None else 30.0
            return (
                f"Up to {max_vus(spec)} looping VUs for {go_duration(planned_duration(spec))} "
                f"over {len(ex.stages)} stages"
                + _base_info(spec, [f"gracefulRampDown: {go_duration(ramp_down)}"])
            )
        case "per-vu-iterations":
            limit = ex.max_duration if ex.max_duration is not None else _DEFAULT_MAX_DURATION
            return f"{ex.iterations or 1} iterations for each of {ex.vus or 1} VUs" + _base_info(
                spec, [f"maxDuration: {go_duration(limit)}"]
            )
        case "shared-iterations":
            limit = ex.max_duration if ex.max_duration is not None else _DEFAULT_MAX_DURATION
            return f"{ex.iterations or 1} iterations shared among {ex.vus or 1} VUs" + _base_info(
                spec, [f"maxDuration: {go_duration(limit)}"]
            )
        case "constant-arrival-rate":
            per_second = (ex.rate or 0.0) / _time_unit(spec)
            return (
                f"{per_second:.2f} iterations/s for {go_duration(ex.duration or 0)}"
                + _base_info(spec, [_max_vus_range(spec)])
            )
        case "ramping-arrival-rate":
            peak = max([ex.start_rate or 0.0, *(s.target for s in ex.stages)]) / _time_unit(spec)
            return (
                f"Up to {peak:.2f} iterations/s for {go_duration(planned_duration(spec))} "
                f"over {len(ex.stages)} stages" + _base_info(spec, [_max_vus_range(spec)])
            )
    raise ValueError(f"scenario {spec.name!r}: unknown executor {ex.executor!r}")


def describe_scenarios(scenarios: Sequence[ScenarioSpec]) -> str:
    """k6's header block: the `scenarios:` totals line and one `* name: description` per scenario."""
    count = len(scenarios)
    noun = "scenario" if count == 1 else "scenarios"
    lines = [
        f"{_HEADER_INDENT}scenarios: (100.00%) {count} {noun}, {run_max_vus(scenarios)} max VUs, "
        f"{go_duration(round(run_max_duration(scenarios), 1))} max duration (incl. graceful stop):"
    ]
    lines += [f"{_ITEM_INDENT}* {spec.name}: {describe_executor(spec)}" for spec in scenarios]
    return "\n".join(lines)


def _spec_map(scenarios: ScenarioSpecs | None) -> dict[str, ScenarioSpec]:
    if scenarios is None:
        return {}
    if isinstance(scenarios, Mapping):
        return dict(scenarios)
    return {spec.name: spec for spec in scenarios}


def _fraction(p: ScenarioProgress) -> float:
    if p.state == "done" and not p.iterations_planned:
        return 1.0
    if p.iterations_planned:
        return min(1.0, p.iterations / p.iterations_planned)
    if p.planned <= 0:
        return 1.0 if p.state == "done" else 0.0
    return min(1.0, max(0.0, p.elapsed / p.planned))


def _clock(p: ScenarioProgress, total: str, *, fixed_total: bool = False) -> str:
    """`2.0s/3s` while running; only the planned time once done or past it, as k6 does."""
    if p.state == "done" or (p.elapsed > p.planned and p.planned > 0):
        return go_duration(p.planned)
    shown_total = fixed_length_duration(p.planned, p.planned) if fixed_total else total
    return f"{fixed_length_duration(p.elapsed, p.planned)}/{shown_total}"


def _current_rate(spec: ScenarioSpec, elapsed: float) -> float:
    ex = spec.executor
    if ex.executor == "constant-arrival-rate":
        return (ex.rate or 0.0) / _time_unit(spec)
    value = executors.ramp_value(float(ex.start_rate or 0.0), ex.stages, elapsed)
    return value / _time_unit(spec)


def scenario_columns(p: ScenarioProgress, spec: ScenarioSpec | None) -> list[str]:
    """The right-hand columns of one scenario's progress line (VUs, clock, iterations)."""
    planned = go_duration(p.planned)
    if spec is None:
        cols = [f"{p.active_vus}/{p.max_vus} VUs", _clock(p, planned)]
        if p.iterations_planned:
            cols.append(f"{p.iterations}/{p.iterations_planned} iters")
        return cols
    ex = spec.executor
    cap = max_vus(spec)
    match ex.executor:
        case "constant-vus":
            return [f"{ex.vus or 1} VUs", _clock(p, planned)]
        case "ramping-vus":
            w = int_width(cap)
            return [f"{p.active_vus:0{w}d}/{cap:0{w}d} VUs", _clock(p, planned, fixed_total=True)]
        case "per-vu-iterations" | "shared-iterations":
            total = p.iterations_planned or (ex.iterations or 1) * (
                (ex.vus or 1) if ex.executor == "per-vu-iterations" else 1
            )
            w = int_width(total)
            iters = f"{p.iterations:0{w}d}/{total:0{w}d}"
            if ex.executor == "per-vu-iterations":
                iters += f" iters, {ex.iterations or 1} per VU"
            else:
                iters += " shared iters"
            clock = f"{fixed_length_duration(p.elapsed, p.planned)}/{planned}"
            return [f"{ex.vus or 1} VUs", clock, iters]
        case _:
            w = int_width(cap)
            rate = _current_rate(spec, min(p.elapsed, p.planned))
            return [
                f"{p.active_vus:0{w}d}/{p.max_vus:0{w}d} VUs",
                _clock(p, planned),
                f"{rate:.2f} iters/s",
            ]


def scenario_lines(
    progress: Sequence[ScenarioProgress],
    scenarios: ScenarioSpecs | None = None,
    *,
    marks: Mapping[str, str] | None = None,
) -> list[str]:
    """One line per scenario, `steady   [  67% ] 00/05 VUs  2.0s/3s  20.00 iters/s`, columns
    aligned across scenarios; `marks` puts k6's end-of-run `✓`/`✗` after the name."""
    specs = _spec_map(scenarios)
    if not progress:
        return []
    name_width = max(len(p.name) for p in progress)
    rows = [scenario_columns(p, specs.get(p.name)) for p in progress]
    # k6's renderMultipleBars: a column's width ignores each line's own last column.
    widths: list[int] = []
    for row in rows:
        for i, col in enumerate(row[:-1]):
            if i >= len(widths):
                widths.append(0)
            widths[i] = max(widths[i], len(col))
    lines = []
    for p, row in zip(progress, rows, strict=True):
        mark = (marks or {}).get(p.name, " ")
        right = "".join(
            " " + col.ljust((widths[i] if i < len(widths) else 0) + 1) for i, col in enumerate(row)
        )
        line = f"{p.name.ljust(name_width)} {mark} [ {_fraction(p) * 100:3.0f}% ]{right}"
        lines.append(line.rstrip())
    return lines


def running_line(
    progress: Sequence[ScenarioProgress],
    elapsed: float,
    *,
    planned_vus: int | None = None,
    planned_duration_s: float | None = None,
) -> str:
    """`running (02.0s), 02/08 VUs, 49 complete and 0 interrupted iterations`."""
    active = sum(p.active_vus for p in progress)
    allocated = sum(p.max_vus for p in progress)
    w = int_width(max(planned_vus or 0, allocated))
    clock = fixed_length_duration(elapsed, planned_duration_s or elapsed)
    complete = sum(p.iterations for p in progress)
    interrupted = sum(p.interrupted for p in progress)
    return (
        f"running ({clock}), {active:0{w}d}/{allocated:0{w}d} VUs, "
        f"{complete} complete and {interrupted} interrupted iterations"
    )


def _interval_additions(snapshot: IntervalSnapshot) -> str:
    span = snapshot.end - snapshot.start
    reqs = snapshot.metrics.select("http_reqs")
    count = reqs.value if reqs is not None else 0.0  # type: ignore[union-attr]
    per_second = count / span if span > 0 else 0.0
    parts = [f"{per_second:.1f} req/s"]
    duration = snapshot.metrics.select("http_req_duration")
    if isinstance(duration, Trend) and duration.count:
        parts.append(f"p95={humanize_ms(duration.percentile(95))}")
    else:
        parts.append("p95=-")
    failed = snapshot.metrics.select("http_req_failed")
    if isinstance(failed, Rate) and failed.total:
        parts.append(f"errors {failed.passes / failed.total * 100:.2f}%")
    else:
        parts.append("errors -")
    if snapshot.health is not None:  # None only where no worker reports it (k6's stream)
        parts.append(generator_figures(snapshot.health))
    text = " | " + "  ".join(parts)
    warning = snapshot.health.warning if snapshot.health is not None else None
    if warning is not None:
        text += f"  [!] {warning.text}"
    return text


def generator_figures(health: WorkerHealth) -> str:
    """`gen CPU 12% lag 3ms`: the busiest worker's CPU over the interval (100 = one core) and
    the worst event-loop lag any worker saw."""
    lag = health.loop_lag_ms
    shown = "<1ms" if lag < 1 else f"{lag:.0f}ms"
    return f"gen CPU {health.cpu_percent:.0f}% lag {shown}"


def failed_scenarios(
    failed: Iterable[ThresholdSpec], scenarios: ScenarioSpecs, names: Iterable[str]
) -> set[str]:
    """The scenarios of the run (`names`) that the failed thresholds judge: a scenario's own
    (in its table, or tagged `scenario:NAME`); a run or suite threshold judges every one."""
    specs = _spec_map(scenarios)
    names = list(names)
    out: set[str] = set()
    for spec in failed:
        owners = [n for n in names if n in specs and spec in specs[n].thresholds]
        tagged = dict(spec.tags).get("scenario")
        if owners:
            out.update(owners)
        elif tagged is not None:
            out.update(n for n in names if n == tagged)
        else:
            out.update(names)
    return out


def progress_lines(
    snapshot: IntervalSnapshot,
    elapsed: float,
    *,
    scenarios: ScenarioSpecs | None = None,
) -> list[str]:
    """The lines k6 prints each interval: the `running (...)` line with our interval req/s, p95,
    error %, the generator's CPU and loop lag and, when latencies may not be the target's alone,
    a warning naming the cause (`WorkerHealth.warning`: generator saturated, host busy or
    event-loop lag), then one line per scenario.

    Pass `scenarios` (the run's specs) to get k6's exact per-executor columns and paddings;
    without it the lines use only what the snapshot carries.
    """
    specs = _spec_map(scenarios)
    chosen = [specs[p.name] for p in snapshot.progress if p.name in specs]
    first = running_line(
        snapshot.progress,
        elapsed,
        planned_vus=run_max_vus(chosen) if chosen else None,
        planned_duration_s=run_max_duration(chosen) if chosen else None,
    )
    return [first + _interval_additions(snapshot), *scenario_lines(snapshot.progress, specs)]
