"""The Checklist tab: the plan's deploy phases, all not started, until the checklist exists.

The outline below is the hardening plan's Phase 4.3, shown as the structure the interactive
checklist will fill (steps defined in `[checklist]` of scenarios.toml, run, ticked, approved,
with evidence). Nothing is tracked here yet, so every phase and step reads "not started".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from ccplate_tui.config.model import Config

NOT_STARTED = "not started"


@dataclass(frozen=True)
class PlanPhase:
    """One phase of the plan's deploy checklist, with its steps as the plan words them."""

    key: str
    title: str
    steps: tuple[str, ...]


PLAN_PHASES: tuple[PlanPhase, ...] = (
    PlanPhase(
        "pre-deploy",
        "Pre-deploy verification",
        (
            "Security: run /skill audit-compliance --full",
            "Tests: all E2E passing (npm test)",
            "Coverage: 80%+ threshold met",
            "Sentry: DSN configured, test error captured",
            "Database: migrations applied, indexes verified",
            "Environment: production env vars set (no .env.local on server)",
            "Monitoring: health check endpoint responding",
            "Rollback plan: previous deployment tagged, can revert in < 5 min",
        ),
    ),
    PlanPhase(
        "staging",
        "Staging deploy",
        (
            "Deploy: vercel --target=staging",
            "Run E2E tests against staging",
            "Verify Sentry receives errors",
            "Check load test baseline",
        ),
    ),
    PlanPhase(
        "production",
        "Production deploy",
        (
            "Deploy: vercel --target=production",
            "Monitor error rates for 30 min",
            "Check response times",
            "Validate database connections",
        ),
    ),
    PlanPhase(
        "post-deploy",
        "Post-deploy validation",
        (
            "Health check: curl https://ccplate.com/api/health",
            "Sentry: verify first error captured",
            "Analytics: confirm builder events logging",
        ),
    ),
    PlanPhase(
        "rollback",
        "Rollback plan",
        (
            "Tag releases",
            "Maintain rollback script: revert in < 5 min",
        ),
    ),
)
"""The plan's Phase 4.3 outline (deployment checklist, steps and risk mitigation)."""


class PhaseBox(Vertical):
    """One phase: its title, progress, and its steps, all not started."""

    DEFAULT_CSS = """
    PhaseBox {
        height: auto;
        padding: 0 1;
        border: round $border;
        border-title-color: $text-accent;
        border-title-style: bold;
        border-subtitle-color: $text-warning;
    }
    PhaseBox > Static { color: $text-muted; }
    """

    def __init__(self, number: int, phase: PlanPhase) -> None:
        super().__init__(id=f"phase-{phase.key}")
        self.phase = phase
        self.border_title = f"{number}  {phase.title}"
        self.border_subtitle = f"{NOT_STARTED} · 0 of {len(phase.steps)} steps"

    def compose(self) -> ComposeResult:
        lines = [f"○ {step}" for step in self.phase.steps]
        yield Static("\n".join(lines), markup=False)


class ChecklistPane(VerticalScroll):
    """The deploy checklist's phases as the plan outlines them; nothing tracked yet."""

    DEFAULT_CSS = """
    ChecklistPane {
        height: 1fr;
        padding: 1 2;
    }
    ChecklistPane > #checklist-intro { text-style: bold; }
    ChecklistPane > #checklist-progress { color: $text-warning; text-style: bold; }
    ChecklistPane > #checklist-note { color: $text-muted; margin-bottom: 1; }
    """

    def __init__(self, config: Config, *, id: str | None = "checklist") -> None:
        super().__init__(id=id)
        self.config = config

    def compose(self) -> ComposeResult:
        total = sum(len(p.steps) for p in PLAN_PHASES)
        config_name = PurePath(self.config.path).name
        yield Static("Deploy checklist (plan phase 4.3)", id="checklist-intro")
        yield Static(
            f"{NOT_STARTED}: 0 of {total} steps in {len(PLAN_PHASES)} phases",
            id="checklist-progress",
        )
        yield Static(
            f"The plan's phases, as an outline. The interactive checklist comes with its "
            f"definition in [checklist] of {config_name}: each step run, ticked or approved with "
            f"evidence (commands, HTTP probes, the Sentry check, load runs, timed watches), "
            f"gates between phases, and state that survives a restart. Nothing is tracked yet.",
            markup=False,
            id="checklist-note",
        )
        for number, phase in enumerate(PLAN_PHASES, start=1):
            yield PhaseBox(number, phase)
