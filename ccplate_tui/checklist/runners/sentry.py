"""Kind `sentry`: the capture check (is a test error received?) or the compatibility check.

Running the step runs the check afresh when its inputs are here (a DSN; the project folder), and
judges the stored result the check leaves in the state folder otherwise (e.g. `ccplate-tui sentry
verify --dsn …` run earlier on another shell). The evidence always says which it was.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ccplate_tui.checklist.model import Step
from ccplate_tui.checklist.outcome import StepOutcome
from ccplate_tui.checklist.runners import Progress, RunContext
from ccplate_tui.checklist.runners.common import Cancelled, call_cancellable, clean_evidence
from ccplate_tui.masking import mask_secrets
from ccplate_tui.sentry.last_results import CAPTURE_FILE, COMPATIBILITY_FILE, load_result
from ccplate_tui.sentry.settings import SentrySettings, resolve_settings

PASSING_VERDICTS = ("supported", "partial")
STORED = "stored result"
RAN_NOW = "ran now"


def run_sentry(
    step: Step,
    ctx: RunContext,
    cancel: threading.Event,
    progress: Progress | None = None,
) -> StepOutcome:
    """Run (or read) the step's Sentry check and judge it."""
    settings = resolve_settings(ctx.config.sentry, cwd=Path(ctx.config.path).parent)
    extra = tuple(s.value for s in (settings.dsn, settings.token) if s is not None)
    try:
        if step.sentry_check == "compatibility":
            outcome = _compatibility(settings, ctx.state_dir, cancel, progress)
        else:
            outcome = _capture(settings, ctx.state_dir, cancel, progress)
    except Cancelled:
        return StepOutcome(
            "cancelled",
            f"cancelled while the {step.sentry_check} check ran",
            {"check": step.sentry_check},
        )
    return StepOutcome(
        outcome.result,
        mask_secrets(outcome.summary, extra),
        clean_evidence(_mask_all(outcome.evidence, extra)),
    )


def _capture(
    settings: SentrySettings, state_dir: Path, cancel: threading.Event, progress: Progress | None
) -> StepOutcome:
    from ccplate_tui.sentry.capture import capture_to_json
    from ccplate_tui.sentry.checks import MissingSetting, capture_check
    from ccplate_tui.sentry.dsn import DsnError

    if settings.dsn is None:
        stored = load_result(state_dir, CAPTURE_FILE)
        if stored is None:
            reason = (
                "no DSN to test and no stored capture result: add dsn to [sentry] in "
                "scenarios.toml, set SENTRY_DSN, or run `ccplate-tui sentry verify --dsn …`"
            )
            return StepOutcome("failed", reason, {"check": "capture", "reason": reason})
        return judge_capture(stored, STORED)
    if progress is not None:
        progress(f"sending a test error (DSN from {settings.dsn.origin})")
    try:
        result = call_cancellable(
            lambda: capture_check(settings, state_dir), cancel, name="sentry-capture"
        )
    except (MissingSetting, DsnError) as exc:
        reason = str(exc)
        return StepOutcome("failed", reason, {"check": "capture", "reason": reason})
    evidence_source = f"{RAN_NOW}, DSN from {settings.dsn.origin}"
    return judge_capture(capture_to_json(result), evidence_source)


def judge_capture(document: Mapping[str, Any], source: str) -> StepOutcome:
    """Passed when the test error was delivered, and confirmed when a confirmation was asked."""
    delivered = document.get("delivered") is True
    confirmation = document.get("confirmation")
    confirmed = confirmation.get("confirmed") if isinstance(confirmation, Mapping) else None
    event_id = str(document.get("event_id") or "")
    status = document.get("status")
    evidence: dict[str, Any] = {
        "check": "capture",
        "source": source,
        "event_id": event_id,
        "status": status if isinstance(status, int) else None,
        "delivered": delivered,
        "confirmed": confirmed if isinstance(confirmed, bool) else None,
        "dsn": document.get("dsn"),
        "sent_at": document.get("sent_at"),
        "explanation": document.get("explanation"),
    }
    if isinstance(confirmation, Mapping):
        evidence["issue_url"] = confirmation.get("issue_url")
        evidence["confirmation"] = confirmation.get("explanation")
    answer = f"HTTP {status}" if isinstance(status, int) else "no answer"
    short_id = event_id[:12] or "?"
    if not delivered:
        why = str(document.get("explanation") or "the ingest did not accept it")
        evidence["reason"] = why
        return StepOutcome("failed", f"not delivered ({answer}): {why}", evidence)
    if confirmed is False:
        why = str(confirmation.get("explanation") or "the event was not found in Sentry")  # type: ignore[union-attr]
        evidence["reason"] = why
        return StepOutcome("failed", f"delivered but not found in Sentry: {why}", evidence)
    what = "delivered and confirmed in Sentry" if confirmed else "delivered"
    return StepOutcome("passed", f"{what}: event {short_id} ({answer}; {source})", evidence)


def _compatibility(
    settings: SentrySettings, state_dir: Path, cancel: threading.Event, progress: Progress | None
) -> StepOutcome:
    from ccplate_tui.sentry.checks import compatibility_check
    from ccplate_tui.sentry.compat_report import report_to_json
    from ccplate_tui.sentry.packument import PackumentError
    from ccplate_tui.sentry.project_scan import ProjectError

    if progress is not None:
        progress(f"checking {settings.project} against @sentry/nextjs")
    try:
        report = call_cancellable(
            lambda: compatibility_check(settings, state_dir), cancel, name="sentry-compat"
        )
    except (ProjectError, PackumentError) as exc:
        stored = load_result(state_dir, COMPATIBILITY_FILE)
        if stored is None:
            reason = f"the compatibility check could not run: {exc}"
            return StepOutcome("failed", reason, {"check": "compatibility", "reason": reason})
        return judge_compatibility(stored, f"{STORED} (could not run now: {exc})")
    return judge_compatibility(report_to_json(report), RAN_NOW)


def judge_compatibility(document: Mapping[str, Any], source: str) -> StepOutcome:
    """Passed on verdict supported or partial (partial's caveats stay in the evidence)."""
    verdict = str(document.get("verdict") or "unknown")
    headline = str(document.get("headline") or "")
    evidence: dict[str, Any] = {
        "check": "compatibility",
        "source": source,
        "verdict": verdict,
        "headline": headline,
        "next_version": document.get("next_version"),
        "sentry_version": document.get("sentry_version"),
        "recommended": document.get("recommended"),
        "caveats": [str(c) for c in document.get("caveats") or () if c],
    }
    summary = f"{verdict}: {headline}" if headline else verdict
    if verdict in PASSING_VERDICTS:
        return StepOutcome("passed", summary, evidence)
    evidence["reason"] = f"verdict {verdict} (needs supported or partial)"
    return StepOutcome("failed", summary, evidence)


def _mask_all(value: Any, extra: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return mask_secrets(value, extra)
    if isinstance(value, Mapping):
        return {k: _mask_all(v, extra) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_all(v, extra) for v in value]
    return value
