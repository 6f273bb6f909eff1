"""The Load tab's list of scenarios and suites, each with a preview of its planned load curve.

The curve is config arithmetic (k6's executor schedule via `load/executors.py`), not statistics:
VUs for the closed-model executors, iterations per second for the arrival-rate ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Label, ListItem, ListView, Sparkline

from ccplate_tui.config.model import Config, ExecutorSpec, ScenarioSpec
from ccplate_tui.load.executors import planned_duration, ramp_value, vus_at
from ccplate_tui.load.progress import describe_executor
from ccplate_tui.load.units_format import go_duration, js_number

CURVE_SAMPLES = 48
"""Points per preview curve: a little more than a Sparkline's width in the side column."""

Unit = Literal["VUs", "iters/s"]


def load_unit(spec: ExecutorSpec) -> Unit:
    """What the curve counts: VUs (closed model) or started iterations per second (open model)."""
    return "iters/s" if spec.is_open_model else "VUs"


def span_of(spec: ExecutorSpec) -> float | None:
    """Seconds from the run's start to the executor's planned end; None when only iterations
    bound it (shared/per-VU iterations without maxDuration)."""
    if spec.executor in ("per-vu-iterations", "shared-iterations") and spec.max_duration is None:
        return None
    return spec.start_time + planned_duration(spec)


def planned_load(spec: ExecutorSpec, t: float) -> float:
    """Planned VUs or iterations/s at `t` seconds after the run starts; 0 before startTime and
    after the planned end."""
    local = t - spec.start_time
    if local < 0:
        return 0.0
    span = span_of(spec)
    if span is not None and t >= span:
        return 0.0
    time_unit = spec.time_unit or 1.0
    match spec.executor:
        case "ramping-vus":
            return float(vus_at(spec, local))
        case "constant-arrival-rate":
            return (spec.rate or 0.0) / time_unit
        case "ramping-arrival-rate":
            return ramp_value(float(spec.start_rate or 0.0), spec.stages, local) / time_unit
        case _:
            return float(spec.vus or 1)


def planned_curve(specs: Sequence[ExecutorSpec], samples: int = CURVE_SAMPLES) -> tuple[float, ...]:
    """The summed planned load of `specs` at `samples` evenly spaced times over the run, plus a
    final 0 for the end of the run (which also anchors a Sparkline's scale at zero)."""
    spans = [span_of(spec) for spec in specs]
    known = [span for span in spans if span is not None]
    # Iteration-bound executors have no planned end: draw them over the others' span (or 1 s).
    whole = max(known, default=0.0) or 1.0
    points = []
    for i in range(samples):
        t = whole * (i + 0.5) / samples
        points.append(sum(planned_load(spec, t) for spec in specs))
    return (*points, 0.0)


@dataclass(frozen=True)
class PlanPreview:
    """One row of the list: a scenario or a suite and what its plan looks like."""

    name: str
    kind: Literal["scenario", "suite"]
    kind_label: str
    """The executor name, or `suite of N`."""
    length: str
    """Planned duration (`1m0s`), or `50 iters` for iteration-bound executors."""
    unit: str
    peak: float
    curve: tuple[float, ...]
    details: str
    """k6's one-line description(s) and the config's description, for the tooltip."""


ITERATION_EXECUTORS = frozenset({"per-vu-iterations", "shared-iterations"})


def _iterations(spec: ExecutorSpec) -> int:
    per_vu = spec.executor == "per-vu-iterations"
    return (spec.iterations or 1) * ((spec.vus or 1) if per_vu else 1)


def _length(specs: Sequence[ScenarioSpec]) -> str:
    # Iteration-bound executors end when the iterations are done; maxDuration is only a cap.
    timed = [s.executor for s in specs if s.executor.executor not in ITERATION_EXECUTORS]
    if timed:
        return go_duration(max(span_of(ex) or 0.0 for ex in timed))
    return f"{sum(_iterations(s.executor) for s in specs)} iters"


def _unit(specs: Sequence[ScenarioSpec]) -> tuple[str, list[ExecutorSpec]]:
    # Summing VUs with iterations/s would mean nothing: a mixed suite previews its VU members.
    units = {load_unit(spec.executor) for spec in specs}
    if len(units) == 1:
        return units.pop(), [spec.executor for spec in specs]
    chosen = [spec.executor for spec in specs if load_unit(spec.executor) == "VUs"]
    return "VUs (closed-model members)", chosen


def preview_scenario(spec: ScenarioSpec) -> PlanPreview:
    curve = planned_curve([spec.executor])
    details = f"{spec.name}: {describe_executor(spec)}"
    if spec.description:
        details += f"\n{spec.description}"
    return PlanPreview(
        name=spec.name,
        kind="scenario",
        kind_label=spec.executor.executor,
        length=_length([spec]),
        unit=load_unit(spec.executor),
        peak=max(curve),
        curve=curve,
        details=details,
    )


def preview_suite(config: Config, name: str) -> PlanPreview:
    suite = config.suites[name]
    members = [config.scenarios[m] for m in suite.scenarios if m in config.scenarios]
    unit, executors = _unit(members)
    curve = planned_curve(executors)
    lines = [f"{m.name}: {describe_executor(m)}" for m in members]
    if suite.description:
        lines.append(suite.description)
    return PlanPreview(
        name=name,
        kind="suite",
        kind_label=f"suite of {len(members)}",
        length=_length(members),
        unit=unit,
        peak=max(curve),
        curve=curve,
        details="\n".join(lines),
    )


def plan_previews(config: Config) -> list[PlanPreview]:
    """Every scenario, then every suite, in the config's order."""
    previews = [preview_scenario(spec) for spec in config.scenarios.values()]
    previews += [preview_suite(config, name) for name in config.suites]
    return previews


class ScenarioItem(ListItem):
    """One scenario or suite: name and executor, then the curve, length and peak."""

    DEFAULT_CSS = """
    ScenarioItem {
        height: auto;
        padding: 0 1;
    }
    ScenarioItem .scenario-head {
        width: 1fr;
    }
    ScenarioItem HorizontalGroup Sparkline {
        width: 1fr;
        margin-right: 1;
    }
    /* Accent, not primary: the highlighted row's background is primary. */
    ScenarioItem Sparkline > .sparkline--max-color {
        color: $accent;
    }
    ScenarioItem Sparkline > .sparkline--min-color {
        color: $accent 40%;
    }
    ScenarioItem HorizontalGroup Label {
        width: auto;
        color: $text-muted;
    }
    ScenarioItem.-running .scenario-head {
        color: $text-success;
    }
    """

    def __init__(self, preview: PlanPreview) -> None:
        super().__init__()
        self.preview = preview
        self.running = False
        self.tooltip = preview.details

    def compose(self) -> ComposeResult:
        yield Label(self._head(), classes="scenario-head")
        with HorizontalGroup():
            yield Sparkline(list(self.preview.curve), summary_function=max)
            unit = "VUs" if self.preview.unit.startswith("VUs") else self.preview.unit
            yield Label(f"{self.preview.length}  ≤{js_number(round(self.preview.peak, 1))} {unit}")

    def _head(self) -> Content:
        mark = "▶ " if self.running else ""
        return Content.from_markup(
            "[b]$mark$name[/b]  [dim]$kind[/dim]",
            mark=mark,
            name=self.preview.name,
            kind=self.preview.kind_label,
        )

    def set_running(self, running: bool) -> None:
        self.running = running
        self.set_class(running, "-running")
        if self.is_mounted:
            self.query_one(".scenario-head", Label).update(self._head())


class ScenarioList(Widget):
    """The config's scenarios and suites; the highlighted one is what Start runs."""

    DEFAULT_CSS = """
    ScenarioList {
        height: 1fr;
        border: round $border;
        border-title-color: $text-accent;
    }
    ScenarioList ListView {
        height: 1fr;
        background: transparent;
    }
    """

    class Highlighted(Message):
        """The highlighted scenario or suite changed."""

        def __init__(self, preview: PlanPreview | None) -> None:
            super().__init__()
            self.preview = preview

    def __init__(self, config: Config, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.previews = plan_previews(config)
        """Every runnable name in the config, scenarios first."""
        self.border_title = "Scenarios"

    def compose(self) -> ComposeResult:
        yield ListView(*(ScenarioItem(p) for p in self.previews), initial_index=0)

    @property
    def selected(self) -> PlanPreview | None:
        """The highlighted scenario or suite, if any."""
        item = self.query_one(ListView).highlighted_child
        return item.preview if isinstance(item, ScenarioItem) else None

    def select(self, name: str) -> bool:
        """Highlight `name`; False when the config has no such scenario or suite."""
        for index, preview in enumerate(self.previews):
            if preview.name == name:
                self.query_one(ListView).index = index
                return True
        return False

    def mark_running(self, names: Sequence[str]) -> None:
        """Flag the given scenarios or suites as running (an empty list clears the flags)."""
        for item in self.query(ScenarioItem):
            item.set_running(item.preview.name in names)

    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        event.stop()
        item = event.item
        self.post_message(
            self.Highlighted(item.preview if isinstance(item, ScenarioItem) else None)
        )
