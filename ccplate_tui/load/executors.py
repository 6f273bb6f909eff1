"""k6 executor semantics as plain arithmetic: VUs at time t, arrival times, and worker shares.

Each worker process owns a *segment* of every scenario (k6's execution segments): a share of the
VUs and of the arrivals, so N workers together produce exactly the planned load.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from ccplate_tui.config.model import ExecutorSpec, ScenarioSpec, Stage


def share(total: int, index: int, count: int) -> int:
    """This worker's part of `total`; the parts of all `count` workers add up to `total`."""
    return (total * (index + 1)) // count - (total * index) // count


def weighted_share(total: int, weights: list[int], index: int) -> int:
    """Like `share` but proportional to each worker's weight (e.g. its VUs)."""
    whole = sum(weights)
    if whole == 0:
        return 0
    before = sum(weights[:index])
    return (total * (before + weights[index])) // whole - (total * before) // whole


def planned_duration(spec: ExecutorSpec) -> float:
    """Seconds the executor plans to run, without startTime and graceful stop."""
    if spec.executor in ("constant-vus", "constant-arrival-rate"):
        return spec.duration or 0.0
    if spec.executor in ("ramping-vus", "ramping-arrival-rate"):
        return sum(stage.duration for stage in spec.stages)
    return spec.max_duration or 0.0


def max_vus(spec: ExecutorSpec) -> int:
    """The most VUs the executor can have at once."""
    if spec.executor == "ramping-vus":
        targets = [int(stage.target) for stage in spec.stages]
        return max([spec.start_vus or 0, *targets])
    if spec.executor in ("constant-arrival-rate", "ramping-arrival-rate"):
        return spec.max_vus or spec.pre_allocated_vus or 0
    return spec.vus or 0


def planned_vus(scenarios: Sequence[ScenarioSpec]) -> int:
    """The most VUs the plan can hold at once (every scenario's maximum, as if they overlapped)."""
    return sum(max_vus(spec.executor) for spec in scenarios)


def stage_at(stages: tuple[Stage, ...], t: float) -> int | None:
    """Index of the stage running at `t` seconds, None past the last one."""
    end = 0.0
    for index, stage in enumerate(stages):
        end += stage.duration
        if t < end:
            return index
    return None


def ramp_value(start: float, stages: tuple[Stage, ...], t: float) -> float:
    """The linearly interpolated stage target at `t` seconds (k6's ramping semantics)."""
    current = start
    begin = 0.0
    for stage in stages:
        if t < begin + stage.duration:
            fraction = (t - begin) / stage.duration if stage.duration else 1.0
            return current + (stage.target - current) * fraction
        current = stage.target
        begin += stage.duration
    return current


def vus_at(spec: ExecutorSpec, t: float) -> int:
    """Active VUs a ramping-vus scenario wants at `t` seconds (truncated, as k6 steps)."""
    return int(ramp_value(float(spec.start_vus or 0), spec.stages, t) + 1e-9)


def arrival_times(spec: ExecutorSpec) -> Iterator[float]:
    """Start offsets (seconds) of every planned iteration of an arrival-rate scenario.

    constant-arrival-rate: iteration k at k*timeUnit/rate, the first at 0. ramping-arrival-rate:
    iteration n when the area under the rate curve reaches n, so the first is at 1/startRate.
    Like the constant executor, nothing starts at or after the scenario's end.
    """
    time_unit = spec.time_unit or 1.0
    if spec.executor == "constant-arrival-rate":
        gap = time_unit / (spec.rate or 1.0)
        duration = spec.duration or 0.0
        k = 0
        while (t := k * gap) < duration:
            yield t
            k += 1
        return
    total = sum(stage.duration for stage in spec.stages)
    begin = 0.0
    done = 0.0
    current = (spec.start_rate or 0.0) / time_unit
    n = 1
    for stage in spec.stages:
        to = stage.target / time_unit
        length = stage.duration
        area = (current + to) / 2.0 * length
        while n <= done + area + 1e-9:
            need = n - done
            if abs(to - current) < 1e-12:
                offset = need / current if current else length
            else:
                accel = (to - current) / length
                disc = current * current + 2.0 * accel * need
                offset = (-current + math.sqrt(max(disc, 0.0))) / accel
            if offset > length or begin + offset >= total - 1e-9:
                break
            yield begin + offset
            n += 1
        done += area
        begin += length
        current = to


def owns_event(k: int, weights: list[int], index: int) -> bool:
    """Whether global event `k` belongs to worker `index`, spreading events by weight."""
    return weighted_share(k + 1, weights, index) > weighted_share(k, weights, index)
