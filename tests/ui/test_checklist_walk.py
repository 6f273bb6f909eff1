"""The Checklist tab leading the on-call engineer: the cursor walks on after a step is done, a
wrong tick or pass can be revoked (with a reason), the dialogs name their keys and have their own
footer, and ctrl+s saves a screenshot over any dialog. Real app, real state file, real commands.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Footer, Input
from textual.widgets._footer import FooterKey

from ccplate_tui.checklist import operations as ops
from ccplate_tui.checklist.outcome import StepOutcome
from ccplate_tui.checklist.report import report_json, report_markdown
from ccplate_tui.ui.app import CcplateApp
from ccplate_tui.ui.screens.checklist_prompts import ConfirmRunScreen, TextPromptScreen
from ccplate_tui.ui.screens.quit_confirm import QuitConfirmScreen
from tests.ui.app_fixtures import SIZE, MessageLog, demo_target, wait_for
from tests.ui.test_checklist_tab import actions, finished, make, open_tab, pane, status

__all__ = ["demo_target"]

PASSED = StepOutcome("passed", "ok", {"exit_code": 0})


def footer_keys(app: CcplateApp) -> list[tuple[str, str]]:
    """(key, description) of every key the footer of the screen on top shows."""
    footers = app.screen.query(Footer)
    keys = footers.first().query(FooterKey) if footers else []
    return [(key.key, key.description) for key in keys]


def label(app: CcplateApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Button).label)


def pass_step(app: CcplateApp, step_id: str, who: str = "bob") -> None:
    """Record a pass as another terminal would (`checklist run`), without running anything."""
    assert app.checklist_store is not None and app.checklist is not None
    ops.begin_step(app.checklist_store, app.checklist, step_id, who)
    ops.finish_step(app.checklist_store, app.checklist, step_id, who, PASSED)


# -- the cursor walks on


async def test_the_cursor_moves_to_the_next_actionable_step_after_one_is_done(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        for step_id in ("broken", "hang", "health"):
            pass_step(app, step_id)
        await open_tab(pilot, app, "unit")
        await wait_for(pilot, lambda: status(app, "health") == "passed")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmRunScreen))
        await pilot.press("y")  # y runs from anywhere in the dialog
        await wait_for(pilot, lambda: finished(log, "unit"), what="the run")
        await wait_for(pilot, lambda: status(app, "unit") == "passed")
        # broken, hang and health are done; Staging is locked (review is not done): the next
        # actionable step is review, back at the top.
        await wait_for(pilot, lambda: pane(app).selected_step == "review", what="the cursor")
        assert pane(app).row("review").has_class("-selected")

        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPromptScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: status(app, "review") == "awaiting_approval")
        # Nothing else alice can do: Staging waits for someone else's sign-off. It stays.
        assert pane(app).selected_step == "review"

    bob = make(tmp_path, demo_target, operator="bob")
    async with bob.run_test(size=SIZE) as pilot:
        await open_tab(pilot, bob, "review")
        await pilot.press("a")
        await wait_for(pilot, lambda: status(bob, "review") == "passed")
        # The sign-off opened Staging: its first step is next.
        await wait_for(pilot, lambda: pane(bob).selected_step == "deploy", what="the cursor")


async def test_a_failed_step_keeps_the_cursor_on_its_output(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await open_tab(pilot, app, "broken")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmRunScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: status(app, "broken") == "failed")
        await wait_for(pilot, lambda: finished(log, "broken"))
        await pilot.pause()
        assert pane(app).selected_step == "broken"
        assert "exit code  3" in pane(app).detail_text()


# -- revoke


async def test_a_wrong_tick_is_revoked_from_the_tab_with_a_reason(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        assert app.checklist_store is not None and app.checklist is not None
        ops.tick(app.checklist_store, app.checklist, "review", "alice", note="wrong one")
        await open_tab(pilot, app, "review")
        await wait_for(pilot, lambda: status(app, "review") == "awaiting_approval")
        assert ("u", "Revoke") in footer_keys(app)
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPromptScreen), what="the prompt")
        question = str(app.screen.query_one("#prompt-question").render())
        assert question == "Revoke the tick by alice on “Code review done”"
        assert label(app, "#prompt-submit") == "[enter] Revoke"
        await pilot.press("enter")  # a reason is required: the dialog stays and says so
        assert isinstance(app.screen, TextPromptScreen)
        assert "a revoke needs a reason" in app.screen.error_text
        app.screen.query_one(Input).value = "ticked the wrong step, token=abc123"
        await pilot.press("enter")
        await wait_for(pilot, lambda: status(app, "review") == "revoked")
        assert actions(app) == [("ticked", "review"), ("revoked", "review")]
        revoked = app.checklist_store.events()[-1]
        assert (revoked.who, revoked.reason) == ("alice", "ticked the wrong step, token=***")
        assert "revoked" in str(pane(app).row("review").render())
        assert any("alice revoked the tick by alice; now revoked" in n for n in log.notices())
        assert pane(app).selected_step == "review"  # not done again: the cursor stays on it

        # The report for the change record shows it, and keeps the tick in the timeline.
        assert app.checklist_view is not None
        events = app.checklist_store.events()
        md = report_markdown(app.checklist_view, events, generated_by="t", config_path="c")
        assert "  - **revoked**: alice revoked the tick by alice at " in md
        assert "ticked the wrong step, token=***" in md and "abc123" not in md
        assert "| alice | ticked | review | wrong one |" in md
        document = report_json(app.checklist_view, events, generated_by="t", config_path="c")
        assert document["phases"][0]["steps"][0]["revoked"]["who"] == "alice"
        assert [r["step"] for r in document["revocations"]] == ["review"]


async def test_revoke_is_refused_with_nothing_to_revoke_or_while_running(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await open_tab(pilot, app, "unit")
        await pilot.press("u")
        await wait_for(pilot, lambda: any("to revoke" in n for n in log.notices()))
        notice = next(n for n in log.notices() if "to revoke" in n)
        assert notice == "step unit is pending: it has no tick, pass or sign-off to revoke"
        assert not isinstance(app.screen, TextPromptScreen)

        pane(app).select(("step", "hang"))
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmRunScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: status(app, "hang") == "running")
        await pilot.press("u")
        await wait_for(pilot, lambda: any("cancel it first" in n for n in log.notices()))
        assert "step hang is running" in next(n for n in log.notices() if "cancel it" in n)
        assert not isinstance(app.screen, TextPromptScreen)
        await pilot.press("c")
        await wait_for(pilot, lambda: status(app, "hang") == "cancelled")
        # A cancelled step says so in the list and in a notification.
        assert "cancelled" in str(pane(app).row("hang").render())
        await wait_for(pilot, lambda: any(n.startswith("hang cancelled") for n in log.notices()))
        assert "revoked" not in [a for a, _ in actions(app)]


# -- dialogs


async def test_the_run_dialog_names_its_keys_and_enter_on_cancel_says_so(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await open_tab(pilot, app, "unit")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmRunScreen))
        assert label(app, "#confirm-run") == "[y] Run"
        assert label(app, "#confirm-cancel") == "[n] Cancel"
        assert app.screen.focused is app.screen.query_one("#confirm-cancel")
        # The footer is the dialog's: its keys, none of the dashboard's.
        assert footer_keys(app) == [("y", "Run"), ("n", "Cancel")]

        await pilot.press("enter")  # the focused button is Cancel
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmRunScreen))
        await wait_for(pilot, lambda: "unit not run: cancelled in the dialog" in log.notices())
        assert actions(app) == [] and not app.checklist_runs

        await pilot.press("r")  # Tab to Run, then Enter runs it
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmRunScreen))
        await pilot.press("shift+tab")
        assert app.screen.focused is app.screen.query_one("#confirm-run")
        await pilot.press("enter")
        await wait_for(pilot, lambda: finished(log, "unit"), what="the run")
        assert actions(app)[:2] == [("started", "unit"), ("passed", "unit")]


async def test_the_text_dialogs_name_their_keys_and_have_their_own_footer(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "review")
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPromptScreen))
        assert label(app, "#prompt-submit") == "[enter] Tick"
        assert label(app, "#prompt-cancel") == "[esc] Cancel"
        assert footer_keys(app) == [("escape", "Cancel")]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, TextPromptScreen))
        assert actions(app) == []


async def test_ctrl_s_saves_a_screenshot_over_a_dialog(tmp_path: Path, demo_target: str) -> None:
    app = make(tmp_path, demo_target)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "unit")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmRunScreen))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.last_screenshot is not None, what="the screenshot")
        assert app.last_screenshot is not None and app.last_screenshot.is_file()
        assert app.last_screenshot.parent == tmp_path / "state" / "screenshots"
        assert "Run" in app.last_screenshot.read_text(encoding="utf-8")
        assert isinstance(app.screen, ConfirmRunScreen), "the dialog stays open"
        first = app.last_screenshot
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmRunScreen))

        pane(app).select(("step", "review"))
        await pilot.press("t")  # over a text prompt too, with the Input focused
        await wait_for(pilot, lambda: isinstance(app.screen, TextPromptScreen))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.last_screenshot != first, what="a second screenshot")
        assert isinstance(app.screen, TextPromptScreen)
        assert app.screen.query_one(Input).value == ""


async def test_the_quit_question_names_its_keys(tmp_path: Path, demo_target: str) -> None:
    app = make(tmp_path, demo_target)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(QuitConfirmScreen("Stop the run and quit?"))
        await wait_for(pilot, lambda: footer_keys(app), what="the dialog's footer")
        assert label(app, "#quit-yes") == "[y] Stop the run and quit"
        assert label(app, "#quit-no") == "[n] Keep running"
        assert footer_keys(app) == [("y", "Yes"), ("n", "No")]
        await pilot.press("enter")  # the focused button keeps the run
        await wait_for(pilot, lambda: not isinstance(app.screen, QuitConfirmScreen))
        assert not app._exit
