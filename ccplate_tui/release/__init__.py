"""The release verdict: go / no-go from the plan's success criteria (no Textual here)."""

from ccplate_tui.release.criteria import (
    ChecklistProgress,
    Criterion,
    SentryCapture,
    Verdict,
    evaluate_release,
)

__all__ = ["ChecklistProgress", "Criterion", "SentryCapture", "Verdict", "evaluate_release"]
