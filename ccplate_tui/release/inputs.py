"""The verdict's inputs that other commands leave in the state folder: the Sentry checks'
results, the checklist's state file (and the load run records).

Read, never computed here: the Overview tab and the `verdict` command judge the same files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ccplate_tui.checklist.model import Checklist
from ccplate_tui.checklist.progress import build_view
from ccplate_tui.checklist.state import ChecklistStore
from ccplate_tui.release.criteria import ChecklistProgress, SentryCapture
from ccplate_tui.sentry.last_results import CAPTURE_FILE, COMPATIBILITY_FILE, load_result


def sentry_status(state_dir: Path) -> SentryCapture | None:
    """The latest Sentry checks as the verdict sees them; None when the capture check never ran."""
    capture = load_result(state_dir, CAPTURE_FILE)
    if capture is None:
        return None
    delivered = bool(capture.get("delivered"))
    detail = str(capture.get("explanation") or "")
    confirmation = capture.get("confirmation")
    if delivered and isinstance(confirmation, dict) and not confirmation.get("confirmed"):
        delivered = False
        detail = str(confirmation.get("explanation") or "the event was not found in Sentry")
    app, app_detail = _app_status(load_result(state_dir, COMPATIBILITY_FILE))
    return SentryCapture(delivered, detail, app, app_detail)


def _app_status(report: dict[str, Any] | None) -> tuple[str, str]:
    if report is None:
        return "unknown", ""
    verdict = report.get("verdict")
    if verdict in ("upgrade", "unsupported"):
        return "problem", str(report.get("headline") or f"compatibility verdict: {verdict}")
    if report.get("instrumentation_calls_init") is False:
        return "problem", "src/instrumentation.ts does not call the Sentry init"
    if verdict not in ("supported", "partial"):
        return "unknown", ""
    return "ok", ""


def checklist_progress(checklist: Checklist | None, state_dir: Path) -> ChecklistProgress | None:
    """Required steps done out of all of them, from the checklist's state file."""
    if checklist is None:
        return None
    loaded = ChecklistStore(state_dir).load()
    done, total = build_view(checklist, loaded.events).progress()
    return ChecklistProgress(passed=done, total=total)
