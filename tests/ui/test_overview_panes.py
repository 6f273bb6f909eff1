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
    PLAN_TOML,
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
)


def text_of(widget: Static) -> str:
    return str(widget.render())


def rows(pane: OverviewPane) -> list[tuple[str, str, str, str, str]]:
    """Each criterion row as shown: name, target, value, status word, status class."""
    out = []
    for row in pane.query(CriterionRow):
        cells = list(row.query_children(Static))
        status_class = next(c for c in cells[3].classes if c.startswith("-"))
        out.append((*(text_of(c) for c in cells), status_class))  # type: ignore[arg-type]
    return out


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
            "Load thresholds",
            "Error tracking",
            "Deploy checklist",
        ]
        assert {(r[3], r[4]) for r in shown} == {("UNKNOWN", "-unknown")}
        assert shown[0][1:3] == ("p99 < 500 ms", "no run yet")
        reasons = pane.query_one("#reasons", Static)
        assert reasons.display
        assert text_of(reasons).splitlines() == [
            "• No load run yet: start one on the Load tab",
            "• Sentry capture check not run (ccplate-tui sentry verify)",
            "• Deploy checklist not set up yet: its steps come from [checklist] in scenarios.toml",
        ]


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
        assert lines == [f"• {r}" for r in verdict.reasons] and len(lines) == 5
        # Threshold keys with braces and brackets are shown literally, not read as markup.
        assert "{scenario:mixed}" in lines[2] and "[checklist]" in lines[4]


async def test_go_then_a_new_live_run_goes_back_to_in_progress() -> None:
    pane = OverviewPane()
    async with PaneApp(pane).run_test(size=SIZE) as pilot:
        pane.show_verdict(GO)
        await pilot.pause()
        assert tone(pane) == {"-go"}
        assert pane.query_one(BigWord).word == "GO"
        assert text_of(pane.query_one("#headline", Static)) == "All 5 success criteria pass"
        assert {(r[3], r[4]) for r in rows(pane)} == {("PASS", "-pass")}
        assert not pane.query_one("#reasons").display

        live = evaluate_release(
            live_view(HEALTHY, elapsed=83.0),
            sentry=SentryCapture(True),
            checklist=ChecklistProgress(21, 21),
        )
        pane.show_verdict(live)
        await pilot.pause()
        assert tone(pane) == {"-pending"}
        assert pane.query_one(BigWord).word == "NO-GO"
        assert (
            text_of(pane.query_one("#headline", Static)) == "Load run in progress (1m23s of 2m0s)"
        )
        assert pane.query_one("#reasons").display
        assert len(list(pane.query(CriterionRow))) == 5  # updated in place, not rebuilt


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
            r.criterion.name: list(r.query_children(Static))[3] for r in pane.query(CriterionRow)
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
    extra = Criterion("Availability", "99.9%", "99.95%", "pass")
    verdict = Verdict(False, "x", ("x",), (*GO.criteria, extra))
    pane = OverviewPane()
    async with PaneApp(pane).run_test(size=SIZE) as pilot:
        pane.show_verdict(verdict)
        await pilot.pause()
        shown = rows(pane)
        assert len(shown) == 6 and shown[-1] == ("Availability", "99.9%", "99.95%", "PASS", "-pass")


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
