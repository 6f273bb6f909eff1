"""The release verdict from real LiveViews and RunResults: every criterion's pass, fail, unknown."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from ccplate_tui.load.results import RunResult
from ccplate_tui.load.run_records import (
    RunRecord,
    ThresholdRecord,
    latest_run,
    record_from_result,
    record_run,
)
from ccplate_tui.release.criteria import (
    CHECKLIST_MISSING,
    NO_RUN,
    SENTRY_NOT_RUN,
    ChecklistProgress,
    Criterion,
    PlanMeasures,
    SentryCapture,
    SentryWiring,
    Verdict,
    evaluate_release,
    format_ms,
)
from ccplate_tui.release.evidence import Evidence
from ccplate_tui.release.plan_rows import (
    AVAILABILITY_UNMEASURED,
    CAPTURE_UNMEASURED,
    DATABASE_UNMEASURED,
    WIRING_UNCHECKED,
    Measurement,
)
from tests.ui.overview_fixtures import (
    BARE_TOML,
    NO_DATA_TOML,
    live_view,
    run_result,
    spread,
)

SENTRY_OK = SentryCapture(True, "event 3f2a received (HTTP 200)")
PROBES = Evidence("probe window", started_at=1_750_000_000.0, duration=3600.0)
MEASURED = PlanMeasures(
    availability=Measurement(0.9995, PROBES, count=2000),
    database_load=Measurement(31.0, Evidence("source db_cpu", run_id="r1")),
    error_capture=Measurement(1.0, Evidence("Sentry event API"), count=40),
)
"""The three plan rows a load run alone cannot measure, measured and passing."""
WIRED = SentryWiring(7, 7, (), None, Evidence("Sentry compatibility check"))


def judge(load: object, **kwargs: object) -> Verdict:
    """evaluate_release with the plan's other rows and the Sentry wiring measured and passing,
    so each test looks at the criteria it is about."""
    kwargs.setdefault("measures", MEASURED)
    kwargs.setdefault("wiring", WIRED)
    return evaluate_release(load, **kwargs)  # type: ignore[arg-type]


CHECKLIST_DONE = ChecklistProgress(passed=21, total=21)
HEALTHY = spread(1000, 40.0, 300.0)
"""A healthy run: p99 about 297 ms, no errors."""


def by_name(verdict: Verdict) -> dict[str, Criterion]:
    return {c.name: c for c in verdict.criteria}


def statuses(verdict: Verdict) -> dict[str, str]:
    return {c.name: c.status for c in verdict.criteria}


def test_before_any_run_is_no_go_with_every_unknown_listed() -> None:
    verdict = evaluate_release(None)
    assert verdict.go is False and verdict.rehearsal is False
    assert verdict.word == "NO-GO"
    assert verdict.headline == "No load run yet"
    assert verdict.reasons == (
        NO_RUN,
        SENTRY_NOT_RUN,
        WIRING_UNCHECKED,
        CHECKLIST_MISSING,
        AVAILABILITY_UNMEASURED,
        DATABASE_UNMEASURED,
        CAPTURE_UNMEASURED,
    )
    assert set(statuses(verdict).values()) == {"unknown", "not_measured"}
    assert [c.name for c in verdict.criteria] == [
        "Response time",
        "Error rate",
        "Availability",
        "Database load",
        "Error capture",
        "Load thresholds",
        "Error tracking",
        "Sentry wiring",
        "Deploy checklist",
    ]
    assert [c.name for c in verdict.criteria if c.plan] == [
        "Response time",
        "Error rate",
        "Availability",
        "Database load",
        "Error capture",
    ]
    assert by_name(verdict)["Response time"].target == "p99 < 500 ms"
    assert by_name(verdict)["Error rate"].target == "< 0.1%"


def test_a_healthy_finished_run_with_every_check_passed_is_go() -> None:
    verdict = judge(run_result(HEALTHY), sentry=SENTRY_OK, checklist=CHECKLIST_DONE)
    assert verdict.go is True
    assert verdict.reasons == ()
    assert verdict.headline == "All 9 criteria pass"
    assert set(statuses(verdict).values()) == {"pass"}
    values = {c.name: c.value for c in verdict.criteria}
    assert values["Response time"].startswith("p99 29") and values["Response time"].endswith("ms")
    assert values["Error rate"] == "0.00%"
    assert values["Load thresholds"] == "2 of 2 pass"
    assert values["Deploy checklist"] == "21 of 21 steps"


def test_a_healthy_run_without_sentry_and_checklist_is_no_go_naming_both() -> None:
    verdict = judge(run_result(HEALTHY))
    assert verdict.go is False
    assert verdict.reasons == (SENTRY_NOT_RUN, CHECKLIST_MISSING)
    assert verdict.headline == SENTRY_NOT_RUN
    assert statuses(verdict)["Error tracking"] == "unknown"
    assert statuses(verdict)["Response time"] == "pass"


def test_p99_at_the_limit_fails_and_just_under_it_passes() -> None:
    at_limit = judge(run_result([500.0] * 200), sentry=SENTRY_OK, checklist=CHECKLIST_DONE)
    assert statuses(at_limit)["Response time"] == "fail"
    assert by_name(at_limit)["Response time"].value == "p99 500 ms"
    assert at_limit.go is False
    assert at_limit.headline == "Response time too slow: p99 500 ms, target < 500 ms"
    # Its own threshold p(99)<500 fails too: both reasons, the plan's criterion first.
    assert at_limit.reasons[0].startswith("Response time too slow")
    assert "load thresholds failed" in at_limit.reasons[1]

    under = judge(run_result([499.9] * 200), sentry=SENTRY_OK, checklist=CHECKLIST_DONE)
    assert statuses(under)["Response time"] == "pass"
    # Truncated, never rounded up to a value that would read as failing.
    assert by_name(under)["Response time"].value == "p99 499 ms"
    assert under.go is True


def test_the_p99_of_a_finished_run_comes_from_its_totals() -> None:
    # 98 fast requests and 2 slow ones: the 99th percentile is a slow one.
    slow_tail = [50.0] * 98 + [900.0] * 2
    verdict = judge(run_result(slow_tail))
    rt = by_name(verdict)["Response time"]
    assert rt.status == "fail"
    assert 895 <= int(rt.value.split()[1].replace(",", "")) <= 905


def test_error_rate_at_0_1_percent_fails_and_below_passes() -> None:
    thousand = [100.0] * 1000
    one_in_a_thousand = judge(run_result(thousand, failures=1))
    rate = by_name(one_in_a_thousand)["Error rate"]
    assert (rate.status, rate.value) == ("fail", "0.10%")
    assert "Error rate too high: 0.10% of requests failed" in one_in_a_thousand.reasons[0]

    two_thousand = [100.0] * 2000
    half = judge(run_result(two_thousand, failures=1))
    assert (by_name(half)["Error rate"].status, by_name(half)["Error rate"].value) == (
        "pass",
        "0.05%",
    )


def test_every_failing_criterion_is_a_reason_fails_before_unknowns() -> None:
    bad = [800.0] * 100
    verdict = judge(run_result(bad, failures=10))
    assert verdict.go is False
    kinds = [r.split(":")[0] for r in verdict.reasons]
    assert kinds == [
        "Response time too slow",
        "Error rate too high",
        "2 of 2 load thresholds failed",
        SENTRY_NOT_RUN.split(":")[0],
        CHECKLIST_MISSING.split(":")[0],
    ]
    assert "http_req_duration{scenario:mixed} p(99)<500" in verdict.reasons[2]
    assert "http_req_failed{scenario:mixed} rate<0.001" in verdict.reasons[2]
    assert by_name(verdict)["Load thresholds"].value == "0 of 2 pass"


def test_no_data_threshold_counts_as_failed() -> None:
    verdict = judge(
        run_result(HEALTHY, toml=NO_DATA_TOML), sentry=SENTRY_OK, checklist=CHECKLIST_DONE
    )
    thresholds = by_name(verdict)["Load thresholds"]
    assert (thresholds.status, thresholds.value) == ("fail", "2 of 3 pass")
    assert verdict.go is False
    assert verdict.reasons == (
        "1 of 3 load thresholds failed: checks{scenario:mixed} rate>0.99 (no data)",
    )


def test_a_run_without_thresholds_leaves_that_criterion_unknown() -> None:
    verdict = judge(run_result(HEALTHY, toml=BARE_TOML), sentry=SENTRY_OK, checklist=CHECKLIST_DONE)
    assert statuses(verdict)["Load thresholds"] == "unknown"
    assert verdict.go is False
    assert verdict.reasons == ("Load thresholds unknown: the load run defines no thresholds",)


@pytest.mark.parametrize("stopped", ["interrupted", "aborted", "error"])
def test_a_run_cut_short_is_no_go_even_when_its_thresholds_pass(stopped: str) -> None:
    verdict = judge(
        run_result(HEALTHY, stopped=stopped), sentry=SENTRY_OK, checklist=CHECKLIST_DONE
    )
    thresholds = by_name(verdict)["Load thresholds"]
    assert thresholds.status == "fail"
    assert thresholds.value == f"2 of 2 pass, run {stopped}"
    assert verdict.go is False
    assert verdict.reasons[0].startswith(f"Load run {stopped} before its planned end")


def test_a_run_without_requests_is_unknown_not_a_pass() -> None:
    verdict = judge(run_result([]), sentry=SENTRY_OK, checklist=CHECKLIST_DONE)
    s = statuses(verdict)
    assert (s["Response time"], s["Error rate"]) == ("unknown", "unknown")
    assert s["Load thresholds"] == "fail"  # both thresholds are NO DATA
    assert verdict.go is False
    assert verdict.reasons[0].startswith("2 of 2 load thresholds failed")
    assert "Response time unknown: the load run has no requests yet" in verdict.reasons


def test_a_live_run_is_in_progress_and_no_go_even_when_all_passes() -> None:
    view = live_view(HEALTHY, elapsed=83.0)
    verdict = judge(view, sentry=SENTRY_OK, checklist=CHECKLIST_DONE)
    assert verdict.go is False
    assert verdict.headline == "Load run in progress (1m23s of 2m0s)"
    assert verdict.reasons == (
        "Load run still in progress (1m23s of 2m0s): the verdict is final when it ends",
    )
    assert set(statuses(verdict).values()) == {"pass"}


def test_a_live_run_reads_its_totals_and_lists_failures_after_the_progress() -> None:
    view = live_view([50.0] * 98 + [900.0] * 2, failures=5, elapsed=10.0)
    verdict = judge(view)
    assert view.total_latency.p99 == pytest.approx(900.0, rel=0.01)
    assert verdict.headline.startswith("Load run in progress")
    assert verdict.reasons[0].startswith("Load run still in progress")
    assert verdict.reasons[1].startswith("Response time too slow")
    assert verdict.reasons[2] == "Error rate too high: 5.00% of requests failed, target < 0.1%"
    assert verdict.reasons[-2:] == (SENTRY_NOT_RUN, CHECKLIST_MISSING)


def test_a_live_view_whose_scenarios_are_done_is_final() -> None:
    view = live_view(HEALTHY, elapsed=120.0, state="done")
    verdict = judge(view, sentry=SENTRY_OK, checklist=CHECKLIST_DONE)
    assert verdict.go is True


def test_running_overrides_what_the_view_says() -> None:
    running = live_view(HEALTHY, state="running")
    ended = judge(running, sentry=SENTRY_OK, checklist=CHECKLIST_DONE, running=False)
    assert ended.go is True
    done = live_view(HEALTHY, state="done")
    still = judge(done, sentry=SENTRY_OK, checklist=CHECKLIST_DONE, running=True)
    assert still.go is False and still.headline.startswith("Load run in progress")


def test_a_live_view_before_the_first_request() -> None:
    verdict = judge(live_view([], elapsed=1.0))
    s = statuses(verdict)
    assert (s["Response time"], s["Error rate"]) == ("unknown", "unknown")
    assert by_name(verdict)["Response time"].value == "no requests"


def test_sentry_capture_fail_and_pass() -> None:
    failed = judge(
        run_result(HEALTHY),
        sentry=SentryCapture(False, "ingest answered 403: wrong key or region"),
        checklist=CHECKLIST_DONE,
    )
    tracking = by_name(failed)["Error tracking"]
    assert (tracking.status, tracking.value) == ("fail", "not received")
    assert failed.reasons == (
        "Sentry did not receive the test error: ingest answered 403: wrong key or region",
    )
    bare = judge(run_result(HEALTHY), sentry=SentryCapture(False), checklist=CHECKLIST_DONE)
    assert bare.reasons == ("Sentry did not receive the test error",)


@pytest.mark.parametrize(
    ("capture", "status", "value", "reason"),
    [
        (
            SentryCapture(True, "", "problem", "upgrade to @sentry/nextjs 11.8.0"),
            "fail",
            "app not wired",
            "Sentry is not active in the app: upgrade to @sentry/nextjs 11.8.0",
        ),
        (
            SentryCapture(True, "", "unknown"),
            "unknown",
            "app not checked",
            "Sentry compatibility with the app not checked (ccplate-tui sentry check)",
        ),
        (SentryCapture(True, "", "ok"), "pass", "test error received", None),
    ],
)
def test_error_tracking_needs_the_app_wired_not_only_a_working_dsn(
    capture: SentryCapture, status: str, value: str, reason: str | None
) -> None:
    verdict = judge(run_result(HEALTHY), sentry=capture, checklist=CHECKLIST_DONE)
    tracking = by_name(verdict)["Error tracking"]
    assert (tracking.status, tracking.value) == (status, value)
    assert verdict.reasons == ((reason,) if reason else ())
    assert verdict.go is (reason is None)


@pytest.mark.parametrize(
    ("progress", "status", "value"),
    [
        (ChecklistProgress(0, 21), "fail", "0 of 21 steps"),
        (ChecklistProgress(20, 21), "fail", "20 of 21 steps"),
        (ChecklistProgress(21, 21), "pass", "21 of 21 steps"),
        (ChecklistProgress(0, 0), "unknown", "no steps"),
    ],
)
def test_checklist_progress(progress: ChecklistProgress, status: str, value: str) -> None:
    verdict = judge(run_result(HEALTHY), sentry=SENTRY_OK, checklist=progress)
    item = by_name(verdict)["Deploy checklist"]
    assert (item.status, item.value) == (status, value)
    assert verdict.go is (status == "pass")
    if status == "fail":
        assert verdict.reasons == (f"Deploy checklist incomplete: {value} done",)


def test_verdict_and_criteria_are_frozen() -> None:
    verdict = judge(None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.go = True  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.criteria[0].status = "pass"  # type: ignore[misc]


def test_more_than_three_failed_thresholds_are_summarised() -> None:
    toml = NO_DATA_TOML.replace(
        'checks = ["rate>0.99"]',
        'checks = ["rate>0.99"]\nhttp_reqs = ["count>100000"]\ndata_sent = ["count>1"]',
    )
    verdict = judge(run_result([800.0] * 10, failures=5, toml=toml))
    reason = next(r for r in verdict.reasons if "load thresholds failed" in r)
    assert reason.startswith("5 of 5 load thresholds failed:")
    assert reason.endswith("and 2 more")


@pytest.mark.parametrize(
    ("ms", "text"),
    [(0.0, "0.0 ms"), (4.26, "4.2 ms"), (9.99, "9.9 ms"), (499.99, "499 ms"), (1234.5, "1,234 ms")],
)
def test_format_ms_truncates(ms: float, text: str) -> None:
    assert format_ms(ms) == text


def test_a_run_cut_short_without_thresholds_still_says_so() -> None:
    verdict = judge(run_result(HEALTHY, stopped="interrupted", toml=BARE_TOML))
    thresholds = by_name(verdict)["Load thresholds"]
    assert (thresholds.status, thresholds.value) == ("fail", "none defined, run interrupted")
    assert verdict.reasons[0].startswith("Load run interrupted before its planned end")


def test_failed_thresholds_of_a_run_cut_short_show_both() -> None:
    verdict = judge(run_result([900.0] * 50, stopped="aborted"))
    thresholds = by_name(verdict)["Load thresholds"]
    assert (thresholds.status, thresholds.value) == ("fail", "1 of 2 pass, run aborted")
    assert verdict.reasons[1].startswith("1 of 2 load thresholds failed: http_req_duration")


def test_the_release_package_never_imports_textual() -> None:
    code = (
        "import sys, ccplate_tui.release, ccplate_tui.release.criteria; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- recorded runs (what `verdict` reads from the state folder)


RECORDED_CASES = {
    "healthy": lambda: run_result(HEALTHY),
    "slow tail": lambda: run_result([50.0] * 98 + [900.0] * 2),
    "errors": lambda: run_result([100.0] * 1000, failures=1),
    "all bad": lambda: run_result([800.0] * 100, failures=10),
    "no data": lambda: run_result(HEALTHY, toml=NO_DATA_TOML),
    "no thresholds": lambda: run_result(HEALTHY, toml=BARE_TOML),
    "no requests": lambda: run_result([]),
    "interrupted": lambda: run_result(HEALTHY, stopped="interrupted"),
    "aborted and failed": lambda: run_result([900.0] * 50, stopped="aborted"),
}


@pytest.mark.parametrize("case", list(RECORDED_CASES))
def test_a_recorded_run_read_back_gives_the_same_verdict_as_the_run(
    case: str, tmp_path: Path
) -> None:
    result: RunResult = RECORDED_CASES[case]()
    record_run(tmp_path, record_from_result(result, ["mixed"]))
    recorded = latest_run(tmp_path, "mixed")
    assert recorded is not None
    for extra in ({}, {"sentry": SENTRY_OK, "checklist": CHECKLIST_DONE}):
        live = judge(result, run_id=recorded.run_id, **extra)  # type: ignore[arg-type]
        from_file = judge(recorded, **extra)  # type: ignore[arg-type]
        assert from_file == live


def test_a_healthy_scaled_recorded_run_is_a_rehearsal_and_shows_its_time_scale() -> None:
    record = record_from_result(run_result(HEALTHY), ["mixed"], time_scale=0.05)
    verdict = judge(record, sentry=SENTRY_OK, checklist=CHECKLIST_DONE)
    assert verdict.go is False and verdict.word == "GO (REHEARSAL)"
    assert by_name(verdict)["Load thresholds"].value == "2 of 2 pass, time scale 0.05"


def _handmade(**changes: object) -> RunRecord:
    base = RunRecord(
        run_id="r1",
        scenarios=("auth_burst",),
        started_at=1_750_000_000.0,
        ended_at=1_750_000_300.0,
        stopped=None,
        requests=5000,
        p99_ms=180.0,
        error_fraction=0.0002,
        thresholds=(
            ThresholdRecord("http_req_duration{scenario:auth_burst}", "p(99)<200", True, 180.0),
            ThresholdRecord("checks{scenario:auth_burst}", "rate>0.99", None, None),
        ),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_a_recorded_no_data_threshold_fails_and_is_named() -> None:
    verdict = judge(_handmade(), sentry=SENTRY_OK, checklist=CHECKLIST_DONE)
    assert verdict.go is False
    assert by_name(verdict)["Response time"].value == "p99 180 ms"
    rate = by_name(verdict)["Error rate"]
    assert (rate.target, rate.value, rate.status, rate.plan) == ("< 0.1%", "0.02%", "pass", True)
    assert rate.evidence.run_id == "r1" and rate.evidence.duration == 300.0
    assert verdict.reasons == (
        "1 of 2 load thresholds failed: checks{scenario:auth_burst} rate>0.99 (no data)",
    )


def test_a_recorded_run_without_requests_is_unknown_and_a_stopped_one_fails() -> None:
    empty = judge(
        _handmade(p99_ms=None, error_fraction=None, requests=0, thresholds=()),
        sentry=SENTRY_OK,
        checklist=CHECKLIST_DONE,
    )
    assert statuses(empty) == {
        "Response time": "unknown",
        "Error rate": "unknown",
        "Availability": "pass",
        "Database load": "pass",
        "Error capture": "pass",
        "Load thresholds": "unknown",
        "Error tracking": "pass",
        "Sentry wiring": "pass",
        "Deploy checklist": "pass",
    }
    stopped = judge(
        _handmade(thresholds=_handmade().thresholds[:1], stopped="error"),
        sentry=SENTRY_OK,
        checklist=CHECKLIST_DONE,
    )
    assert by_name(stopped)["Load thresholds"].value == "1 of 1 pass, run error"
    assert stopped.reasons == (
        "Load run error before its planned end: its thresholds cover only part of it",
    )


def test_a_recorded_run_marked_running_reports_its_elapsed_time() -> None:
    verdict = judge(_handmade(), running=True)
    assert verdict.headline == "Load run in progress (5m0s elapsed)"
