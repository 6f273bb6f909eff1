"""The end of a run: everything the summary, the export and the history need."""

from __future__ import annotations

from dataclasses import dataclass, field

from ccplate_tui.config.model import Config
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.probe_tally import ProbeTally
from ccplate_tui.load.snapshot import ScenarioProgress
from ccplate_tui.load.source_samples import SourceSample
from ccplate_tui.load.thresholds import ThresholdResult


@dataclass
class RunResult:
    config: Config
    scenario_names: tuple[str, ...]
    totals: MetricSet
    """All intervals accumulated."""
    duration: float
    """Seconds from the start of the run to its end."""
    thresholds: list[ThresholdResult]
    progress: tuple[ScenarioProgress, ...]
    started_at: float
    """Unix time."""
    stopped: str | None = None
    """None when the run finished as planned; else `interrupted`, `aborted` (abortOnFail) or `error`."""
    notes: list[str] = field(default_factory=list)
    stop_cause: str | None = None
    """Who or what stopped an `interrupted` run, as the summary says it (`interrupted (Ctrl-C)`,
    `stopped from the dashboard (browser, pid 4242)`); None when unknown."""
    sources: dict[str, tuple[SourceSample, ...]] = field(default_factory=dict)
    """Every sample of each metric source (`[sources.NAME]`), in order."""
    probes: ProbeTally | None = None
    """The availability probes over the run (its intervals' tallies merged); None without an
    `[availability]` probe."""

    @property
    def thresholds_failed(self) -> bool:
        return any(r.failed for r in self.thresholds)


def stopped_text(result: RunResult) -> str:
    """How `result` was stopped early, for followers (empty when it ran to its end)."""
    if result.stopped == "interrupted":
        return result.stop_cause or "interrupted"
    if result.stopped == "aborted":
        return "aborted: an abortOnFail threshold was crossed"
    return ""
