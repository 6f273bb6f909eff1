"""The release verdict: go / no-go from the plan's success criteria (no Textual here)."""

from ccplate_tui.release.criteria import (
    ChecklistProgress,
    Criterion,
    SentryCapture,
    Verdict,
    evaluate_release,
)
from ccplate_tui.release.evidence import Evidence
from ccplate_tui.release.plan_rows import Measurement, PlanMeasures, SentryWiring

__all__ = [
    "ChecklistProgress",
    "Criterion",
    "Evidence",
    "Measurement",
    "PlanMeasures",
    "SentryCapture",
    "SentryWiring",
    "Verdict",
    "evaluate_release",
]
