"""Kind `load`: the named scenario's thresholds held — in a recent recorded run, or in a run now.

A recorded run counts when it is the newest run of that scenario against this target, passed,
is not older than `max_age`, and was at least as long as the step's own run would be (its time
scale is not below the step's). Otherwise the step runs the scenario with the engine and records
the run like any other, so the verdict and later steps see it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any

from ccplate_tui.checklist.model import Step
from ccplate_tui.checklist.outcome import StepOutcome
from ccplate_tui.checklist.runners import Progress, RunContext
from ccplate_tui.checklist.runners.common import clean_evidence, seconds
from ccplate_tui.history.capture import record_run_capture
from ccplate_tui.history.legacy import open_history
from ccplate_tui.history.recorder import HistoryRecorder
from ccplate_tui.load.run_records import (
    RunRecord,
    ThresholdRecord,
    list_runs,
    record_from_result,
    record_run,
    safe_url,
)
from ccplate_tui.load.run_registry import RegistryError
from ccplate_tui.loopback import RemoteTargetRefused, check_target
from ccplate_tui.masking import mask_secrets
from ccplate_tui.run_claim import ClaimPublisher, FolderBusy, claim_folder

if TYPE_CHECKING:
    from ccplate_tui.config.model import Config
    from ccplate_tui.load.engine import LoadRun, RunPlan, RunUpdate

_PROGRESS_EVERY = 1.0


def run_load(
    step: Step,
    ctx: RunContext,
    cancel: threading.Event,
    progress: Progress | None = None,
) -> StepOutcome:
    """Pass from a recent passed run of the scenario, else run it now and judge its thresholds."""
    scenario = step.scenario
    if not scenario:
        return StepOutcome("failed", "the step names no scenario", {"reason": "no scenario"})
    base_url = ctx.config.target.base_url
    try:
        check_target(base_url, allow_remote=ctx.config.target.allow_remote)
    except RemoteTargetRefused as exc:
        return _failed(str(exc), {"scenario": scenario})
    record, skipped = recorded_pass(step, ctx)
    if record is not None:
        return _from_record(record, scenario)
    if cancel.is_set():
        return StepOutcome("cancelled", "cancelled before the run", {"scenario": scenario})
    return _run_now(step, scenario, ctx, cancel, progress, skipped)


def recorded_pass(step: Step, ctx: RunContext) -> tuple[RunRecord | None, str]:
    """(the recorded run that lets the step pass, or None, and why none did)."""
    assert step.scenario is not None
    target = safe_url(ctx.config.target.base_url)
    newest = next(
        (
            r
            for r in list_runs(ctx.state_dir)
            if r.covers(step.scenario) and (not r.target or r.target == target)
        ),
        None,
    )
    if newest is None:
        return None, "no recorded run of it"
    age = time.time() - newest.ended_at
    if not newest.passed:
        return None, f"its latest run {newest.run_id} did not pass"
    if step.max_age is not None and age > step.max_age:
        return None, f"its latest passed run {newest.run_id} is {seconds(age)} old"
    if newest.time_scale < step.time_scale:
        return None, (
            f"its latest run {newest.run_id} was a shortened rehearsal "
            f"(time scale {newest.time_scale:g} < {step.time_scale:g})"
        )
    return newest, ""


def _from_record(record: RunRecord, scenario: str) -> StepOutcome:
    age = max(0.0, time.time() - record.ended_at)
    evidence = {
        **_record_evidence(record, scenario),
        "source": "recorded run",
        "age_s": round(age, 1),
    }
    summary = f"run {record.run_id} passed {seconds(age)} ago ({_headline(record)}); no new traffic"
    return StepOutcome("passed", summary, clean_evidence(evidence))


def _run_now(
    step: Step,
    scenario: str,
    ctx: RunContext,
    cancel: threading.Event,
    progress: Progress | None,
    skipped: str,
) -> StepOutcome:
    from ccplate_tui.config.timescale import with_time_scale
    from ccplate_tui.load.engine import LoadRun, UnknownScenario, resolve_plan
    from ccplate_tui.load.reachability import connect_error

    base = {"scenario": scenario, "why_run": skipped, "time_scale": step.time_scale}
    base_url = ctx.config.target.base_url
    refused = connect_error(base_url, timeout=2.0)
    if refused is not None:
        reason = f"nothing answers at {base_url}: {refused.strerror or refused}"
        return _failed(mask_secrets(reason), base)
    try:
        config = with_time_scale(ctx.config, step.time_scale)
        plan = resolve_plan(config, [scenario])
        run = LoadRun(config, plan, workers=ctx.load_workers)
    except (UnknownScenario, RemoteTargetRefused, ValueError) as exc:
        return _failed(str(exc), base)
    try:
        claim = claim_folder(
            ctx.state_dir, [scenario], owner=f"checklist step {step.id}", beside=""
        )
    except (FolderBusy, RegistryError) as exc:
        return _failed(str(exc), base)
    run.observers.append(ClaimPublisher(claim, plan.scenarios))
    with claim:
        outcome = _run_claimed(
            step, scenario, ctx, cancel, progress, skipped, run, config, plan, base
        )
        with contextlib.suppress(OSError, RuntimeError):
            claim.finish(outcome.summary, outcome.result == "passed")
    return outcome


def _run_claimed(
    step: Step,
    scenario: str,
    ctx: RunContext,
    cancel: threading.Event,
    progress: Progress | None,
    skipped: str,
    run: LoadRun,
    config: Config,
    plan: RunPlan,
    base: dict[str, Any],
) -> StepOutcome:
    """Run the step's load with the state folder's run claimed."""
    from ccplate_tui.load.pool import WorkerFailure

    if progress is not None:
        progress(f"running {scenario} now ({skipped})")
        last = [0.0]

        def observe(update: RunUpdate) -> None:
            now = time.monotonic()
            if now - last[0] < _PROGRESS_EVERY:
                return
            last[0] = now
            reqs = update.totals.select("http_reqs")
            count = int(getattr(reqs, "value", 0) or 0)
            with contextlib.suppress(Exception):
                progress(f"{scenario}: {seconds(update.elapsed)} · {count} requests")

        run.observers.append(observe)
    recorder = _begin_history(ctx, config, plan, scenario, step.time_scale)
    if recorder is not None:
        run.observers.insert(0, recorder)  # the whole run in the history: baseline-able
    finished = threading.Event()

    def stop_on_cancel() -> None:
        while not finished.wait(0.1):
            if cancel.is_set():
                run.stop("interrupted")
                return

    watcher = threading.Thread(target=stop_on_cancel, name="ccplate-load-cancel", daemon=True)
    watcher.start()
    try:
        result = run.run()
    except WorkerFailure as exc:
        if recorder is not None:
            recorder.abandon(f"the load engine failed: {exc}")
            recorder.store.close()
        return _failed(f"the load engine failed: {exc}", base)
    finally:
        finished.set()
        watcher.join(1.0)
    run_id = None
    if recorder is not None:
        with contextlib.suppress(Exception), recorder.store:
            if recorder.finish(result):
                run_id = recorder.run_id
                record_run_capture(
                    recorder.store, recorder.run_id, result, time_scale=step.time_scale
                )
    record = record_from_result(result, [scenario], time_scale=step.time_scale, run_id=run_id)
    evidence: dict[str, Any] = {
        **base,
        **_record_evidence(record, scenario),
        "source": "ran now",
        "duration_s": round(result.duration, 2),
    }
    try:
        if run_id is None:  # the history could not take the whole run: at least its outcome
            record_run(ctx.state_dir, record)
    except OSError as exc:
        evidence["record_error"] = f"the run could not be recorded: {exc.strerror or exc}"
    if cancel.is_set() and result.stopped == "interrupted":
        return StepOutcome(
            "cancelled", f"cancelled after {seconds(result.duration)}", clean_evidence(evidence)
        )
    if record.passed:
        return StepOutcome(
            "passed", f"run {record.run_id} passed ({_headline(record)})", clean_evidence(evidence)
        )
    reason = _why_not(record)
    evidence["reason"] = reason
    return StepOutcome("failed", f"run {record.run_id}: {reason}", clean_evidence(evidence))


def _why_not(record: RunRecord) -> str:
    if record.stopped is not None:
        return f"the run was {record.stopped} before its end"
    if not record.thresholds:
        return "the scenario has no thresholds, so the run proves nothing"
    return "thresholds not met: " + "; ".join(_threshold_text(t) for t in record.failed_thresholds)


def _threshold_text(t: ThresholdRecord) -> str:
    state = {True: "ok", False: "failed", None: "no data"}[t.ok]
    observed = f" (observed {t.observed:g})" if t.observed is not None else ""
    return f"{t.metric} {t.expression}: {state}{observed}"


def _headline(record: RunRecord) -> str:
    parts = [f"{record.requests} requests"]
    if record.p99_ms is not None:
        parts.append(f"p99 {record.p99_ms:.0f} ms")
    if record.error_fraction is not None:
        parts.append(f"errors {record.error_fraction:.2%}")
    return ", ".join(parts)


def _record_evidence(record: RunRecord, scenario: str) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "run_id": record.run_id,
        "requests": record.requests,
        "p99_ms": record.p99_ms,
        "error_fraction": record.error_fraction,
        "stopped": record.stopped,
        "run_time_scale": record.time_scale,
        "target": record.target,
        "ended_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.ended_at)),
        "thresholds": [_threshold_text(t) for t in record.thresholds],
    }


def _begin_history(
    ctx: RunContext, config: Any, plan: Any, scenario: str, time_scale: float
) -> HistoryRecorder | None:
    """Record the run in the state folder's history; None (the run goes on) when it cannot."""
    store = None
    try:
        store = open_history(ctx.state_dir)
        assert store is not None  # create=True
        return HistoryRecorder(store, config, plan, [scenario], time_scale=time_scale)
    except Exception:  # a damaged history must not fail the step
        if store is not None:
            store.close()
        return None


def _failed(reason: str, evidence: dict[str, Any]) -> StepOutcome:
    reason = mask_secrets(reason)  # a refused target's URL may carry credentials
    return StepOutcome("failed", reason, clean_evidence({**evidence, "reason": reason}))
