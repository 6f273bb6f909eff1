"""`--time-scale`: the same plan on a shorter (or longer) clock, for rehearsals and tests.

Only scheduling is scaled. Think times, request timeouts, rates (`timeUnit`) and threshold
windows keep their meaning, so a scaled run exercises the target the same way, just for less time.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ccplate_tui.config.model import Config, ExecutorSpec, ScenarioSpec, SuiteSpec
from ccplate_tui.config.thresholds import ThresholdSpec

__all__ = ["with_time_scale"]


def _scale_optional(seconds: float | None, factor: float) -> float | None:
    return None if seconds is None else seconds * factor


def _scale_executor(spec: ExecutorSpec, factor: float) -> ExecutorSpec:
    return replace(
        spec,
        duration=_scale_optional(spec.duration, factor),
        max_duration=_scale_optional(spec.max_duration, factor),
        stages=tuple(replace(stage, duration=stage.duration * factor) for stage in spec.stages),
        graceful_ramp_down=_scale_optional(spec.graceful_ramp_down, factor),
        start_time=spec.start_time * factor,
        graceful_stop=spec.graceful_stop * factor,
    )


def _scale_thresholds(
    thresholds: tuple[ThresholdSpec, ...], factor: float
) -> tuple[ThresholdSpec, ...]:
    return tuple(
        replace(spec, delay_abort_eval=_scale_optional(spec.delay_abort_eval, factor))
        for spec in thresholds
    )


def _scale_scenario(scenario: ScenarioSpec, factor: float) -> ScenarioSpec:
    return replace(
        scenario,
        executor=_scale_executor(scenario.executor, factor),
        thresholds=_scale_thresholds(scenario.thresholds, factor),
    )


def _scale_suite(suite: SuiteSpec, factor: float) -> SuiteSpec:
    return replace(suite, thresholds=_scale_thresholds(suite.thresholds, factor))


def with_time_scale(config: Config, factor: float) -> Config:
    """A copy of `config` with every scheduling duration multiplied by `factor` (> 0)."""
    if isinstance(factor, bool) or not isinstance(factor, int | float):
        raise ValueError(f"time scale must be a number > 0, got {factor!r}")
    if not math.isfinite(factor) or factor <= 0:
        raise ValueError(f"time scale must be a number > 0, got {factor!r}")
    if factor == 1:
        return config
    return replace(
        config,
        scenarios={name: _scale_scenario(s, factor) for name, s in config.scenarios.items()},
        suites={name: _scale_suite(s, factor) for name, s in config.suites.items()},
        thresholds=_scale_thresholds(config.thresholds, factor),
    )
