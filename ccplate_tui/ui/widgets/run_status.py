"""The run's vital signs: elapsed vs planned, stages, VUs, rates, drops and the generator's health.

Every number comes straight from a LiveView field; this module only formats them.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.content import Content
from textual.widgets import Static

from ccplate_tui.config.model import ScenarioSpec
from ccplate_tui.load.live import LiveView
from ccplate_tui.load.snapshot import ScenarioProgress, WorkerHealth
from ccplate_tui.load.units_format import go_duration, humanize_rate_percent

BAR_WIDTH = 20


def clock(seconds: float) -> str:
    """`1m20s`, `20.5s`: Go's duration text at tenths of a second."""
    return go_duration(round(max(seconds, 0.0), 1))


def progress_bar(elapsed: float, planned: float, width: int = BAR_WIDTH) -> Content:
    """`━━━━━━━━────  40%`: elapsed over planned, capped at 100% for the graceful stop."""
    fraction = min(1.0, elapsed / planned) if planned > 0 else 0.0
    filled = round(fraction * width)
    return Content.from_markup(
        "[$primary]$done[/][$text-muted]$left[/] $pct%",
        done="━" * filled,
        left="─" * (width - filled),
        pct=f"{fraction * 100:3.0f}",
    )


def stage_text(progress: ScenarioProgress, spec: ScenarioSpec | None) -> str:
    """`2/3` (stage of stages), or the scenario's state where it has no stages (or is not running)."""
    if progress.state != "running" or progress.stage is None:
        return progress.state
    if spec is not None and spec.executor.stages:
        return f"{progress.stage + 1}/{len(spec.executor.stages)}"
    return str(progress.stage + 1)


def health_text(health: WorkerHealth | None) -> Content:
    """The generator's own CPU and loop lag, and a warning naming the cause when latencies may
    not be the target's alone (the same words as the headless progress line)."""
    if health is None:
        return Content.from_markup("[dim]generator   no health data yet[/dim]")
    line = Content.from_markup(
        "[dim]generator[/dim]   CPU $cpu% · lag $lag ms · $workers proc$s",
        cpu=f"{health.cpu_percent:.0f}",
        lag=f"{health.loop_lag_ms:.0f}",
        workers=str(health.workers),
        s="" if health.workers == 1 else "s",
    )
    warning = health.warning
    if warning is None:
        return line
    shown = Content.from_markup(
        "[b $text-warning]⚠ $headline[/][$text-warning]$rest[/]",
        headline=warning.headline,
        rest=warning.text[len(warning.headline) :],
    )
    return Content("\n").join([line, shown])


def status_text(
    view: LiveView | None,
    *,
    state: str,
    specs: Mapping[str, ScenarioSpec],
    owner: str | None = None,
    note: str | None = None,
    compact: bool = False,
) -> Content:
    """The whole status block for one view (or the idle text before any view). `owner`: who
    runs it when another process does; `note`: a warning to keep in sight (a refused stop);
    `compact`: fewer, shorter lines for a narrow terminal (the warning's headline only)."""
    about = []
    if owner:
        about.append(Content.from_markup("[dim]owned by[/dim]    $owner", owner=owner))
    if note:
        about.append(Content.from_markup("[$text-warning]$note[/]", note=note))
    if view is None:
        return Content("\n").join([Content.from_markup("[b]$state[/b]", state=state), *about])
    rate = view.total_error_rate
    if compact:
        return Content("\n").join(_compact_lines(view, state, specs, about))
    lines = [
        Content.from_markup(
            "[b]$state[/b]  $elapsed / $planned",
            state=state,
            elapsed=clock(view.elapsed),
            planned=clock(view.planned),
        ),
        progress_bar(view.elapsed, view.planned),
        *about,
    ]
    for p in view.progress:
        lines.append(
            Content.from_markup(
                "[dim]stage[/dim]       $name $stage · $vus/$max VUs",
                name=p.name,
                stage=stage_text(p, specs.get(p.name)),
                vus=str(p.active_vus),
                max=str(p.max_vus),
            )
        )
    lines += [
        Content.from_markup("[dim]active VUs[/dim]  $vus", vus=str(view.active_vus)),
        Content.from_markup("[dim]requests[/dim]    $rps/s", rps=f"{view.requests_per_s:.1f}"),
        Content.from_markup(
            "[dim]errors[/dim]      $eps/s · $rate of all",
            eps=f"{view.errors_per_s:.1f}",
            rate="-" if rate is None else humanize_rate_percent(rate),
        ),
        Content.from_markup(
            "[dim]dropped[/dim]     $dropped iterations", dropped=str(view.dropped)
        ),
        health_text(view.health),
    ]
    lines += [Content.from_markup("[$text-warning]note: $note[/]", note=n) for n in view.notes[-2:]]
    return Content("\n").join(lines)


def _compact_lines(
    view: LiveView, state: str, specs: Mapping[str, ScenarioSpec], about: list[Content]
) -> list[Content]:
    rate = view.total_error_rate
    lines = [
        Content.from_markup(
            "[b]$state[/b]  $elapsed / $planned",
            state=state,
            elapsed=clock(view.elapsed),
            planned=clock(view.planned),
        ),
        progress_bar(view.elapsed, view.planned, width=14),
        *about,
    ]
    for p in view.progress:
        # One line in the thin column: a running scenario without stages says only its VUs.
        stage = stage_text(p, specs.get(p.name))
        lines.append(
            Content.from_markup(
                "$name $stage$vus/$max VUs",
                name=p.name,
                stage="" if stage == "running" else f"{stage} · ",
                vus=str(p.active_vus),
                max=str(p.max_vus),
            )
        )
    lines.append(
        Content.from_markup(
            "[dim]req[/dim] $rps/s [dim]err[/dim] $eps/s $rate",
            rps=f"{view.requests_per_s:.1f}",
            eps=f"{view.errors_per_s:.1f}",
            rate="" if rate is None else f"({humanize_rate_percent(rate)})",
        )
    )
    health = view.health
    if health is not None:
        lines.append(
            Content.from_markup(
                "[dim]generator[/dim] CPU $cpu% · lag $lag ms",
                cpu=f"{health.cpu_percent:.0f}",
                lag=f"{health.loop_lag_ms:.0f}",
            )
        )
    if view.dropped:
        lines.append(Content.from_markup("[dim]dropped[/dim] $n iterations", n=str(view.dropped)))
        if health is not None and health.warning is not None:
            lines.append(Content.from_markup("[b $text-warning]⚠ $w[/]", w=health.warning.headline))
    return lines


class RunStatus(Static):
    """Status block of the current (or last) run."""

    DEFAULT_CSS = """
    RunStatus {
        height: auto;
        border: round $border;
        border-title-color: $text-accent;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Run"
        self.compact = False
        """Fewer, shorter lines (a narrow terminal); takes effect on the next `show`."""

    def show(
        self,
        view: LiveView | None,
        *,
        state: str,
        specs: Mapping[str, ScenarioSpec],
        owner: str | None = None,
        note: str | None = None,
    ) -> None:
        self.update(
            status_text(
                view, state=state, specs=specs, owner=owner, note=note, compact=self.compact
            )
        )

    def show_idle(self, lines: Content) -> None:
        """Before a run: what Start would run."""
        self.update(lines)
