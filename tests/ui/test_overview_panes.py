"""The Overview, Sentry and Checklist panes mounted in a small App, driven with Pilot."""

from __future__ import annotations

from textual.color import Color
from textual.widgets import Static

from ccplate_tui.config.loader import parse_config
from ccplate_tui.release.criteria import (
    ChecklistProgress,
    Criterion,
    SentryCapture,
    Verdict,
    evaluate_release,
)
from ccplate_tui.ui.checklist_pane import ChecklistPane
from ccplate_tui.ui.overview_pane import (
    BigWord,
    CriterionRow,
    OverviewPane,
    big_text,
)
from ccplate_tui.ui.sentry_pane import SentryPane
from tests.ui.overview_fixtures import (
    MEASURED,
    PLAN_TOML,
    WIRED,
    PaneApp,
    fixture_config,
    live_view,
    run_result,
    spread,
)

SIZE = (140, 45)
HEALTHY = spread(1000, 40.0, 300.0)
GO = evaluate_release(
    run_result(HEALTHY),
    sentry=SentryCapture(True, "event received (HTTP 200)"),
    checklist=ChecklistProgress(21, 21),
    wiring=WIRED,
    measures=MEASURED,
)


def text_of(widget: Static) -> str:
    return str(widget.render())


def rows(pane: OverviewPane) -> list[tuple[str, str, str, str, str]]:
    """Each criterion row as shown: name, target, value, status word, status class."""
    out = []
    for row in pane.query(CriterionRow):
        cells = list(row.query_children(Static))
        status_class = next(c for c in cells[4].classes if c.startswith("-"))
        texts = [text_of(c) for i, c in enumerate(cells) if i != 3]  # the evidence: see below
        out.append((*texts, status_class))  # type: ignore[arg-type]
    return out


def evidence(pane: OverviewPane) -> dict[str, str]:
    """Each criterion's evidence cell as shown."""
    return {
        row.criterion.name: text_of(list(row.query_children(Static))[3])
        for row in pane.query(CriterionRow)
    }


def tone(pane: OverviewPane) -> set[str]:
    return {c for c in pane.query_one("#verdict").classes if c.startswith("-")}


async def test_before_any_run_shows_no_go_with_every_unknown() -> None:
    pane = OverviewPane()
    async with PaneApp(pane).run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert pane.query_one(BigWord).word == "NO-GO"
        assert text_of(pane.query_one("#headline", Static)) == "No load run yet"
        assert tone(pane) == {"-pending"}  # nothing failed: undecided, not red
        shown = rows(pane)
        assert [r[0] for r in shown] == [
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
        assert {(r[3], r[4]) for r in shown} == {
            ("UNKNOWN", "-unknown"),
            ("NOT MEASURED", "-not-measured"),
        }
        assert [r[0] for r in shown if r[3] == "NOT MEASURED"] == [
            "Availability",
            "Database load",
            "Error capture",
        ]
        assert shown[0][1:3] == ("p99 < 500 ms", "no run yet")
        # A NOT MEASURED row says what would measure it where the evidence goes.
        assert evidence(pane)["Database load"].startswith("add a [sources.db_cpu] source")
        assert evidence(pane)["Response time"] == "—"
        reasons = pane.query_one("#reasons", Static)
        assert reasons.display
        assert text_of(reasons).splitlines()[:4] == [
            "• No load run yet: start one on the Load tab",
            "• Sentry capture check not run (ccplate-tui sentry verify)",
            "• Sentry wiring not checked (ccplate-tui sentry check)",
            "• Deploy checklist not set up yet: its steps come from [checklist] in scenarios.toml",
        ]
        assert len(text_of(reasons).splitlines()) == 7


async def test_a_failing_run_turns_red_and_lists_every_reason() -> None:
    pane = OverviewPane()
    async with PaneApp(pane).run_test(size=SIZE) as pilot:
        verdict = evaluate_release(run_result([50.0] * 98 + [900.0] * 2, failures=1))
        pane.show_verdict(verdict)
        await pilot.pause()
        assert tone(pane) == {"-fail"}
        assert pane.query_one(BigWord).word == "NO-GO"
        assert text_of(pane.query_one("#headline", Static)) == verdict.headline
        shown = {r[0]: r for r in rows(pane)}
        assert shown["Response time"][2:] == ("p99 900 ms", "FAIL", "-fail")
        assert shown["Error rate"][2:] == ("1.00%", "FAIL", "-fail")
        assert shown["Error tracking"][3:] == ("UNKNOWN", "-unknown")
        lines = text_of(pane.query_one("#reasons", Static)).splitlines()
        assert lines == [f"• {r}" for r in verdict.reasons] and len(lines) == 9
        # Threshold keys with braces and brackets are shown literally, not read as markup.
        assert "{scenario:mixed}" in lines[2] and "[checklist]" in lines[5]
        assert "[sources.db_cpu]" in lines[7]


async def test_go_then_a_new_live_run_goes_back_to_in_progress() -> None:
    pane = OverviewPane()
    async with PaneApp(pane).run_test(size=SIZE) as pilot:
        pane.show_verdict(GO)
        await pilot.pause()
        assert tone(pane) == {"-go"}
        assert pane.query_one(BigWord).word == "GO"
        assert text_of(pane.query_one("#headline", Static)) == "All 9 criteria pass"
        assert {(r[3], r[4]) for r in rows(pane)} == {("PASS", "-pass")}
        assert not pane.query_one("#reasons").display

        live = evaluate_release(
            live_view(HEALTHY, elapsed=83.0),
            sentry=SentryCapture(True),
            checklist=ChecklistProgress(21, 21),
            wiring=WIRED,
            measures=MEASURED,
        )
        pane.show_verdict(live)
        await pilot.pause()
        assert tone(pane) == {"-pending"}
        assert pane.query_one(BigWord).word == "NO-GO"
        assert (
            text_of(pane.query_one("#headline", Static)) == "Load run in progress (1m23s of 2m0s)"
        )
        assert pane.query_one("#reasons").display
        assert len(list(pane.query(CriterionRow))) == 9  # updated in place, not rebuilt


async def test_status_colours_come_from_the_theme() -> None:
    pane = OverviewPane()
    app = PaneApp(pane)
    async with app.run_test(size=SIZE) as pilot:
        pane.show_verdict(evaluate_release(run_result([900.0] * 100)))
        await pilot.pause()
        colour = {
            k: Color.parse(app.get_css_variables()[k]) for k in ("error", "warning", "success")
        }
        status = {
            r.criterion.name: list(r.query_children(Static))[4] for r in pane.query(CriterionRow)
        }
        assert status["Response time"].styles.background == colour["error"]
        assert status["Error tracking"].styles.background == colour["warning"]
        assert pane.query_one("#verdict").styles.background == colour["error"]
        pane.show_verdict(GO)
        await pilot.pause()
        assert status["Response time"].styles.background == colour["success"]
        assert pane.query_one("#verdict").styles.background == colour["success"]


async def test_a_new_set_of_criteria_rebuilds_the_rows() -> None:
    # The checklist issue may add criteria; the table follows whatever the verdict holds.
    extra = Criterion("Uptime SLO", "99.9%", "99.95%", "pass")
    verdict = Verdict(False, "x", ("x",), (*GO.criteria, extra))
    pane = OverviewPane()
    async with PaneApp(pane).run_test(size=SIZE) as pilot:
        pane.show_verdict(verdict)
        await pilot.pause()
        shown = rows(pane)
        assert len(shown) == 10 and shown[-1] == ("Uptime SLO", "99.9%", "99.95%", "PASS", "-pass")


async def test_a_verdict_shown_before_mounting_is_drawn() -> None:
    pane = OverviewPane()
    pane.show_verdict(GO)
    async with PaneApp(pane).run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert tone(pane) == {"-go"} and pane.query_one(BigWord).word == "GO"


async def test_the_big_word_falls_back_to_plain_text_when_narrow() -> None:
    assert len(big_text("NO-GO")) == 5 and len(big_text("NO-GO")[0]) == 54
    pane = OverviewPane()
    app = PaneApp(pane)
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.pause()
        assert str(pane.query_one(BigWord).render()).splitlines() == list(big_text("NO-GO"))
        await pilot.resize_terminal(40, 30)
        await pilot.pause()
        assert str(pane.query_one(BigWord).render()) == "NO-GO"


async def test_sentry_pane_shows_both_checks_not_run() -> None:
    pane = SentryPane()
    async with PaneApp(pane).run_test(size=SIZE) as pilot:
        await pilot.pause()
        badges = [text_of(s) for s in pane.query(".badge").results(Static)]
        assert badges == ["NOT RUN", "NOT RUN"]
        headlines = [text_of(s) for s in pane.query(".headline").results(Static)]
        assert "Press c to check" in headlines[0] and "Press v to send a test error" in headlines[1]
        # No invented versions, verdicts or event ids: the result sections stay hidden.
        assert not pane.query_one("#compat-body").display
        assert not pane.query_one("#capture-body").display


async def test_checklist_pane_without_a_checklist_says_how_to_add_one() -> None:
    # The Checklist tab's own tests are tests/ui/test_checklist_tab.py; here only the pane
    # of a config without [checklist] (the fixture's), mounted alone.
    pane = ChecklistPane(fixture_config())
    async with PaneApp(pane).run_test(size=SIZE) as pilot:
        await pilot.pause()
        note = text_of(pane.query_one("#checklist-empty", Static))
        assert "scenarios.toml has no [checklist] table" in note
        assert "ccplate-tui checklist" in note


async def test_checklist_pane_names_the_config_file_in_use() -> None:
    config = parse_config(PLAN_TOML, "/srv/release/staging-scenarios.toml")
    pane = ChecklistPane(config)
    async with PaneApp(pane).run_test(size=SIZE) as pilot:
        await pilot.pause()
        note = text_of(pane.query_one("#checklist-empty", Static))
        assert "staging-scenarios.toml has no [checklist] table" in note


async def test_a_rehearsal_reads_go_rehearsal_with_its_evidence_and_the_latest_run_beside() -> None:
    from ccplate_tui.load.run_records import record_from_result

    complete = record_from_result(run_result(HEALTHY), ["mixed"], run_id="r3", time_scale=0.05)
    cut = record_from_result(run_result(HEALTHY, stopped="interrupted"), ["mixed"], run_id="r4")
    verdict = evaluate_release(
        cut,
        last_complete=complete,
        sentry=SentryCapture(True),
        checklist=ChecklistProgress(21, 21),
        wiring=WIRED,
        measures=MEASURED,
    )
    pane = OverviewPane()
    async with PaneApp(pane).run_test(size=SIZE) as pilot:
        pane.show_verdict(verdict)
        await pilot.pause()
        assert pane.query_one(BigWord).word == "GO (REHEARSAL)"
        assert str(pane.query_one(BigWord).render()).splitlines()[-1].strip() == "(REHEARSAL)"
        assert tone(pane) == {"-rehearsal"}
        assert pane.query_one("#reasons").border_title == "Why only a rehearsal"
        shown = evidence(pane)
        assert shown["Response time"] == (
            "run r3 · 2025-06-15 15:06Z · 2m0s · time scale 0.05 of 40m0s · REHEARSAL"
        )
        beside = text_of(pane.query_one("#latest-run", Static))
        assert beside.startswith("Latest run, not judged: run r4 (interrupted) · ")
        pane.show_verdict(GO)
        await pilot.pause()
        assert not pane.query_one("#latest-run").display
