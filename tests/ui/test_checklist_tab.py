"""The Checklist tab in the real dashboard, driven with Pilot against a real ChecklistStore.

Steps are real: local commands (`sys.executable -c ...`), HTTP probes and a short timer against
the demo target on a loopback port. Waits are bounded polls; nothing asserts on timing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
from textual.pilot import Pilot
from textual.widgets import Input, Static

from ccplate_tui.checklist import operations as ops
from ccplate_tui.checklist.state import ChecklistStore, EventDraft, LoadedState
from ccplate_tui.cli import build_parser
from ccplate_tui.config.loader import load_config
from ccplate_tui.load.run_records import RunRecord, ThresholdRecord, record_run
from ccplate_tui.ui.app import CcplateApp
from ccplate_tui.ui.checklist_pane import ChecklistPane
from ccplate_tui.ui.dashboard_command import build_dashboard_app
from ccplate_tui.ui.messages import ChecklistStepFinished
from ccplate_tui.ui.overview_pane import CriterionRow
from ccplate_tui.ui.screens.checklist_prompts import ConfirmRunScreen, TextPromptScreen
from ccplate_tui.ui.widgets.checklist_text import describe_action, run_question
from tests.ui.app_fixtures import (
    SIZE,
    MessageLog,
    child_pids,
    demo_target,
    no_new_children,
    wait_for,
)
from tests.ui.checklist_fixtures import (
    NOW,
    ChecklistHost,
    snapshot_config,
    walked_events,
    write_checklist_config,
)

__all__ = ["demo_target"]

PY = sys.executable

CHECKLIST = f"""
[checklist]
title = "Test deploy"

[[checklist.phases]]
id = "pre"
title = "Pre-deploy"

[[checklist.phases.steps]]
id = "review"
title = "Code review done"
kind = "manual"
approvers = ["*"]

[[checklist.phases.steps]]
id = "unit"
title = "Unit tests"
kind = "command"
argv = ["{PY}", "-c", "print('collected 3 items'); print('3 passed')"]

[[checklist.phases.steps]]
id = "broken"
title = "A failing command"
kind = "command"
required = false
argv = ["{PY}", "-c", "import sys; print('boom: password=hunter22'); sys.exit(3)"]

[[checklist.phases.steps]]
id = "hang"
title = "A hanging command"
kind = "command"
required = false
argv = ["{PY}", "-c", "import time; print('waiting', flush=True); time.sleep(30)"]

[[checklist.phases.steps]]
id = "health"
title = "Health check"
kind = "http"
required = false
url = "${{base_url}}/api/health"
timeout = "5s"

[[checklist.phases]]
id = "stage"
title = "Staging"

[[checklist.phases.steps]]
id = "deploy"
title = "Deploy to staging"
kind = "manual"

[[checklist.phases.steps]]
id = "watch"
title = "Watch error rates"
kind = "timer"
duration = "2s"
every = "1s"
probes = [{{ url = "${{base_url}}/api/health", timeout = "5s" }}]
"""
"""Pre: review (needs a sign-off) and unit are required; Staging is locked until they pass."""


def make(tmp_path: Path, base_url: str, operator: str = "alice") -> CcplateApp:
    config = write_checklist_config(tmp_path, base_url, CHECKLIST)
    return CcplateApp(
        load_config(config),
        state_dir=tmp_path / "state",
        auto_start_target=False,
        operator=operator,
        workers=1,
    )


def pane(app: CcplateApp) -> ChecklistPane:
    return app.checklist_pane


def status(app: CcplateApp, step_id: str) -> str:
    assert app.checklist_view is not None
    return app.checklist_view.step(step_id).status


def actions(app: CcplateApp) -> list[tuple[str, str | None]]:
    store = app.checklist_store
    assert store is not None
    return [(e.action, e.step or e.phase) for e in store.events()]


def criterion(app: CcplateApp, name: str) -> tuple[str, str]:
    """An Overview criterion's value and status word."""
    for row in app.overview_pane.query(CriterionRow):
        cells = [str(c.render()) for c in row.query_children(Static)]
        if cells[0] == name:
            return cells[2], cells[4]  # cells[3] is the evidence
    raise AssertionError(f"no criterion {name!r}")


def app_loads(app: CcplateApp) -> list[str | None]:
    """The problem (None when clean) of every load of the state file the app does from now on,
    so a test waits for a poll to have read the file rather than for a guessed time."""
    store = app.checklist_store
    assert store is not None
    load = store.load
    problems: list[str | None] = []

    def load_and_note() -> LoadedState:
        loaded = load()
        problems.append(loaded.problem)
        return loaded

    store.load = load_and_note  # type: ignore[method-assign]
    return problems


async def open_tab(pilot: Pilot, app: CcplateApp, step_id: str | None = None) -> None:
    await pilot.press("4")
    await wait_for(pilot, lambda: app.focused is pane(app), what="the checklist pane's focus")
    if step_id is not None:
        pane(app).select(("step", step_id))
        await pilot.pause()


async def run_selected(pilot: Pilot, app: CcplateApp, step_id: str, log: MessageLog) -> None:
    """r on a step; a command step's confirmation is answered Run."""
    await open_tab(pilot, app, step_id)
    await pilot.press("r")
    if app.config.checklist and app.config.checklist.step(step_id).kind == "command":
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmRunScreen), what="confirm")
        await pilot.click("#confirm-run")
    await wait_for(pilot, lambda: step_id in app.checklist_runs or finished(log, step_id))


def finished(log: MessageLog, step_id: str) -> list[ChecklistStepFinished]:
    return [m for m in log.of(ChecklistStepFinished) if m.step_id == step_id]


# -- manual steps, notes, sign-off


async def test_tick_with_a_note_records_it_and_waits_for_a_sign_off(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app)
        assert pane(app).selected_step == "review"  # the first step not done
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPromptScreen), what="prompt")
        await pilot.press(*"PR #12 reviewed by two")
        await pilot.press("enter")
        await wait_for(pilot, lambda: status(app, "review") == "awaiting_approval")
        events = app.checklist_store.events()  # type: ignore[union-attr]
        assert (events[-1].action, events[-1].who, events[-1].note) == (
            "ticked",
            "alice",
            "PR #12 reviewed by two",
        )
        # Done on alice's side (the sign-off is someone else's): the cursor walks on.
        assert pane(app).selected_step == "unit"
        pane(app).select(("step", "review"))
        row = str(pane(app).row("review").render())
        assert "needs sign-off" in row and "alice" in row
        detail = pane(app).detail_text()
        assert "alice: PR #12 reviewed by two" in detail
        assert "not by alice, who did it" in detail

        await pilot.press("n")  # a second note, and an empty one is refused in the dialog
        await wait_for(pilot, lambda: isinstance(app.screen, TextPromptScreen))
        await pilot.press("enter")
        assert isinstance(app.screen, TextPromptScreen)
        assert "a note needs some text" in app.screen.error_text
        await pilot.press(*"link: https://example.test/pr/12")
        await pilot.press("enter")
        await wait_for(pilot, lambda: actions(app)[-1] == ("noted", "review"))


async def test_self_approval_is_refused_and_another_operator_signs_off(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        ops.tick(app.checklist_store, app.checklist, "review", "alice")  # type: ignore[arg-type]
        await open_tab(pilot, app, "review")
        await wait_for(pilot, lambda: status(app, "review") == "awaiting_approval")
        await pilot.press("a")
        await wait_for(pilot, lambda: any("someone else" in n for n in log.notices()))
        refusal = next(n for n in log.notices() if "someone else" in n)
        assert "alice ran or ticked step review" in refusal
        assert status(app, "review") == "awaiting_approval"
        assert "approved" not in [a for a, _ in actions(app)]

    bob = make(tmp_path, demo_target, operator="bob")
    async with bob.run_test(size=SIZE) as pilot:
        await open_tab(pilot, bob, "review")
        assert "press a to approve" in pane(bob).detail_text()
        await pilot.press("a")
        await wait_for(pilot, lambda: status(bob, "review") == "passed")
        assert "✓ bob" in str(pane(bob).row("review").render())
        assert ("approved", "review") in actions(bob)


# -- automated steps


async def test_a_command_step_is_confirmed_then_runs_and_shows_its_evidence(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        assert criterion(app, "Deploy checklist") == ("0 of 4 steps", "FAIL")
        await open_tab(pilot, app, "unit")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmRunScreen))
        question = str(app.screen.query_one("#confirm-question").render())
        assert question.startswith(f"Run `{PY} -c print('collected 3 items')")
        assert question.endswith(f"in {tmp_path}?")
        assert actions(app) == []  # nothing runs before the answer
        await pilot.click("#confirm-run")
        await wait_for(pilot, lambda: finished(log, "unit"), what="the run")
        await wait_for(pilot, lambda: status(app, "unit") == "passed")
        assert actions(app) == [("started", "unit"), ("passed", "unit")]
        assert pane(app).selected_step == "broken"  # the next step not done
        pane(app).select(("step", "unit"))
        detail = pane(app).detail_text()
        assert "exit 0 in" in detail and "exit code  0" in detail
        assert "collected 3 items\n3 passed" in detail
        # The Overview's checklist criterion follows the change.
        await wait_for(pilot, lambda: criterion(app, "Deploy checklist")[0] == "1 of 4 steps")


def test_the_question_names_the_command_and_its_folder_relative_to_the_config() -> None:
    config = snapshot_config("/srv/ccplate/scenarios.toml")
    assert config.checklist is not None
    step = config.checklist.step("unit_tests")
    assert run_question(step, config.path) == "Run `npm test` in examples/ccplate-app?"
    assert describe_action(step, config.path) == [
        "$ npm test",
        "timeout 10 min · in examples/ccplate-app",
    ]


async def test_cancelling_the_confirmation_runs_nothing(tmp_path: Path, demo_target: str) -> None:
    app = make(tmp_path, demo_target)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "unit")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmRunScreen))
        await pilot.press("enter")  # the focused button is Cancel
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmRunScreen))
        await pilot.pause(0.2)
        assert actions(app) == [] and not app.checklist_runs


async def test_a_failing_command_shows_failed_with_its_masked_output(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await run_selected(pilot, app, "broken", log)
        await wait_for(pilot, lambda: status(app, "broken") == "failed")
        assert "FAILED" in str(pane(app).row("broken").render())
        detail = pane(app).detail_text()
        assert "exit code  3" in detail
        assert "boom: password=***" in detail and "hunter22" not in detail
        assert any(n.startswith("broken failed: exit 3") for n in log.notices())
        stored = app.checklist_store.events()[-1]  # type: ignore[union-attr]
        assert stored.evidence["exit_code"] == 3 and "hunter22" not in stored.evidence["output"]


async def test_cancelling_a_hanging_command_leaves_no_process(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    log = MessageLog()
    before = child_pids()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await run_selected(pilot, app, "hang", log)
        await wait_for(pilot, lambda: pane(app).live.get("hang", "").endswith("waiting"))
        assert status(app, "hang") == "running"
        assert "running" in str(pane(app).row("hang").render())
        assert child_pids() - before, "the command should be running"
        await pilot.press("c")
        await wait_for(pilot, lambda: finished(log, "hang"), what="the cancelled run")
        await wait_for(pilot, lambda: status(app, "hang") == "cancelled")
        assert actions(app)[-1] == ("cancelled", "hang")
        assert "process group killed" in pane(app).detail_text()
        assert await no_new_children(before) == set()


async def test_an_http_step_shows_the_answer(tmp_path: Path, demo_target: str) -> None:
    app = make(tmp_path, demo_target)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await run_selected(pilot, app, "health", log)
        await wait_for(pilot, lambda: status(app, "health") == "passed")
        pane(app).select(("step", "health"))  # (the cursor walked on)
        detail = pane(app).detail_text()
        assert "HTTP status  200" in detail
        assert f"GET {demo_target}/api/health" in detail
        assert '"status": "ok"' in detail or '"status":"ok"' in detail


async def test_an_http_step_against_nothing_fails_with_the_reason(tmp_path: Path) -> None:
    from tests.ui.app_fixtures import free_port

    app = make(tmp_path, f"http://127.0.0.1:{free_port()}")
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await run_selected(pilot, app, "health", log)
        await wait_for(pilot, lambda: status(app, "health") == "failed")
        assert "summary  connection refused" in pane(app).detail_text()


# -- gates


async def test_a_locked_phase_refuses_until_overridden_with_a_reason(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await open_tab(pilot, app, "deploy")
        section = pane(app).section("stage")
        assert "locked" in str(section.title_widget().render())
        assert "Waiting for review, unit" in str(section.gate.render())
        await pilot.press("t")
        await wait_for(pilot, lambda: any("is locked" in n for n in log.notices()))
        assert "Press o to override" in next(n for n in log.notices() if "is locked" in n)
        assert actions(app) == []

        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPromptScreen))
        await pilot.press("enter")  # an empty reason is refused, the dialog stays
        assert isinstance(app.screen, TextPromptScreen)
        assert "an override needs a reason" in app.screen.error_text
        await pilot.press(*"   ")
        await pilot.press("enter")
        assert isinstance(app.screen, TextPromptScreen)
        app.screen.query_one(Input).value = "tests ran in CI, build 4821"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.checklist_view.phase("stage").locked)  # type: ignore[union-attr]
        override = app.checklist_store.events()[-1]  # type: ignore[union-attr]
        assert (override.action, override.phase, override.reason) == (
            "overridden",
            "stage",
            "tests ran in CI, build 4821",
        )
        assert "opened by alice" in str(section.title_widget().render())
        assert "tests ran in CI" in str(section.gate.render())

        await pilot.press("t")  # now the phase is open
        await wait_for(pilot, lambda: isinstance(app.screen, TextPromptScreen))
        await pilot.press("enter")  # no note: fine for a tick
        await wait_for(pilot, lambda: status(app, "deploy") == "passed")


async def test_override_of_an_open_phase_asks_nothing(tmp_path: Path, demo_target: str) -> None:
    app = make(tmp_path, demo_target)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await open_tab(pilot, app, "unit")
        await pilot.press("o")
        await wait_for(pilot, lambda: any("not locked" in n for n in log.notices()))
        assert not isinstance(app.screen, TextPromptScreen)


async def test_wrong_keys_for_a_step_kind_are_refused(tmp_path: Path, demo_target: str) -> None:
    app = make(tmp_path, demo_target)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await open_tab(pilot, app, "unit")
        await pilot.press("t")
        await wait_for(pilot, lambda: any("command step: run it" in n for n in log.notices()))
        pane(app).select(("step", "review"))
        await pilot.press("r")
        await wait_for(pilot, lambda: any("manual step: tick it" in n for n in log.notices()))
        await pilot.press("c")
        await wait_for(pilot, lambda: any("no step is running" in n for n in log.notices()))
        assert actions(app) == [] and not isinstance(app.screen, ConfirmRunScreen)


# -- a timer


async def test_a_timer_counts_down_and_passes(tmp_path: Path, demo_target: str) -> None:
    app = make(tmp_path, demo_target)
    log = MessageLog()
    store = ChecklistStore(tmp_path / "state")
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        ops.override(store, app.checklist, "stage", "alice", "rehearsal")  # type: ignore[arg-type]
        await wait_for(pilot, lambda: not app.checklist_view.phase("stage").locked)  # type: ignore[union-attr]
        await run_selected(pilot, app, "watch", log)
        await wait_for(pilot, lambda: "left" in str(pane(app).row("watch").render()))
        assert "window" in pane(app).detail_text()
        await wait_for(pilot, lambda: finished(log, "watch"), timeout=30, what="the window")
        await wait_for(pilot, lambda: status(app, "watch") == "passed")
        pane(app).select(("step", "watch"))  # (the cursor walked on)
        detail = pane(app).detail_text()
        assert "rounds ok" in detail and "window" in detail


# -- changes from elsewhere, the state file, restarts


async def test_a_change_made_by_the_cli_appears_and_the_overview_follows(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    store = ChecklistStore(tmp_path / "state")
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "review")
        checklist = app.checklist
        assert checklist is not None
        # Another terminal: `ccplate-tui checklist tick review` then `... approve` as carol.
        ops.tick(store, checklist, "review", "dave", note="from the CLI")
        ops.approve(store, checklist, "review", "carol")
        await wait_for(pilot, lambda: status(app, "review") == "passed", what="the poll")
        assert "✓ carol" in str(pane(app).row("review").render())
        assert "dave: from the CLI" in pane(app).detail_text()
        assert criterion(app, "Deploy checklist")[0] == "1 of 4 steps"


async def test_a_step_whose_process_died_shows_interrupted(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    store = ChecklistStore(tmp_path / "state")
    checklist = app.checklist
    assert checklist is not None
    dead = subprocess.Popen([PY, "-c", "pass"])
    started = psutil.Process(dead.pid).create_time()
    dead.wait()
    step = checklist.step("unit")
    from ccplate_tui.checklist.model import step_fingerprint

    store.append(
        EventDraft(
            who="alice",
            action="started",
            phase="pre",
            step="unit",
            fingerprint=step_fingerprint(step),
            pid=dead.pid,
            pid_started=started,
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "unit")
        assert status(app, "unit") == "interrupted"
        assert "INTERRUPTED" in str(pane(app).row("unit").render())
        assert f"(pid {dead.pid}) ended before it finished" in pane(app).detail_text()


async def test_a_damaged_state_file_is_named_at_the_top(tmp_path: Path, demo_target: str) -> None:
    app = make(tmp_path, demo_target)
    store = ChecklistStore(tmp_path / "state")
    ops.tick(store, app.checklist, "review", "alice")  # type: ignore[arg-type]
    ops.add_note(store, app.checklist, "review", "alice", "the backup holds this state")  # type: ignore[arg-type]
    store.path.write_text("format = 1\n[[events]\nthis is not toml", encoding="utf-8")
    problems = app_loads(app)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app)
        banner = pane(app).query_one("#checklist-problem", Static)
        assert banner.display
        text = str(banner.render())
        assert "checklist.toml is damaged" in text and "resumed from checklist.toml.bak" in text
        assert status(app, "review") == "awaiting_approval"  # the last good state
        # The next polls read a mended pair, and still name the recovery (its notice stays
        # until the recovery log is deleted): the banner stays shown.
        await wait_for(pilot, lambda: len(problems) > 1, what="a poll after the recovery")
        assert "recovered at" in (problems[-1] or "")
        await pilot.pause()
        assert pane(app).query_one("#checklist-problem", Static).display


async def test_a_step_changed_in_the_config_after_it_was_done_is_listed(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    ops.tick(ChecklistStore(tmp_path / "state"), app.checklist, "review", "alice")  # type: ignore[arg-type]
    changed = CHECKLIST.replace('title = "Code review done"', 'title = "Code review (2 people)"')
    config = write_checklist_config(tmp_path, demo_target, changed)
    app = CcplateApp(
        load_config(config), state_dir=tmp_path / "state", auto_start_target=False, operator="bob"
    )
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "review")
        banner = pane(app).query_one("#checklist-changed", Static)
        assert banner.display and "since they were done (redo them): review" in str(banner.render())
        assert "CHANGED" in str(pane(app).row("review").render())


# -- quitting, identity, the Overview at start


async def test_quitting_while_a_step_runs_cancels_it_and_exits(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    log = MessageLog()
    before = child_pids()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await run_selected(pilot, app, "hang", log)
        await wait_for(pilot, lambda: pane(app).live.get("hang", "").endswith("waiting"))
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: app._exit, timeout=30, what="the app to exit")
    store = ChecklistStore(tmp_path / "state")
    assert [e.action for e in store.events()] == ["started", "cancelled"]
    assert await no_new_children(before) == set()


def test_the_as_option_names_the_operator(tmp_path: Path, demo_target: str) -> None:
    config = write_checklist_config(tmp_path, demo_target, CHECKLIST)
    args = build_parser().parse_args(["--config", str(config), "--as", "bob"])
    app = build_dashboard_app(args)
    assert isinstance(app, CcplateApp) and app.operator == "bob"
    default = build_dashboard_app(build_parser().parse_args(["--config", str(config)]))
    assert isinstance(default, CcplateApp) and default.operator == ops.operator_name(None)
    assert build_dashboard_app(build_parser().parse_args(["--config", str(config), "--as", " "]))


async def test_the_overview_judges_the_latest_recorded_run_from_the_start(
    tmp_path: Path, demo_target: str
) -> None:
    app = make(tmp_path, demo_target)
    record_run(
        tmp_path / "state",
        RunRecord(
            run_id="r1",
            scenarios=("smoke",),
            started_at=1_795_000_000.0,
            ended_at=1_795_000_060.0,
            stopped=None,
            requests=1200,
            p99_ms=120.0,
            error_fraction=0.0,
            thresholds=(ThresholdRecord("http_req_duration", "p(99)<500", True, 120.0),),
        ),
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert criterion(app, "Response time")[1] == "PASS"
        assert criterion(app, "Deploy checklist") == ("0 of 4 steps", "FAIL")


async def test_without_a_checklist_the_tab_says_how_to_add_one(
    tmp_path: Path, demo_target: str
) -> None:
    config = write_checklist_config(tmp_path, demo_target, "")
    app = CcplateApp(load_config(config), state_dir=tmp_path / "state", auto_start_target=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "r")
        text = str(pane(app).query_one("#checklist-empty", Static).render())
        assert "scenarios.toml has no [checklist] table" in text
        assert criterion(app, "Deploy checklist")[0] == "not set up"


async def test_keys_move_the_selection_and_fold_phases() -> None:
    config = snapshot_config()
    assert config.checklist is not None
    view = walked_events(config.checklist).view()
    checklist = ChecklistPane(config, operator="alice")
    checklist.show_view(view, NOW)
    host = ChecklistHost(checklist)
    async with host.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert checklist.selected == ("step", "unit_tests")  # the first step not done
        assert "output: last 14 lines" in checklist.detail_text()
        await pilot.press("down")
        assert checklist.selected == ("step", "health")
        await pilot.press("left")  # fold Pre-deploy: the selection goes to its header
        assert checklist.selected == ("phase", "pre")
        assert checklist.section("pre").collapsed
        assert "3 of 5 required steps done" in checklist.detail_text()
        await pilot.press("down")  # the folded phase's steps are skipped
        assert checklist.selected == ("phase", "staging")
        await pilot.press("up", "enter")
        assert not checklist.section("pre").collapsed
        await pilot.press("down")
        assert checklist.selected == ("step", "audit")
        await pilot.click(checklist.row("watch"))
        assert checklist.selected == ("step", "watch")
        assert "window 04:30–05:00Z · 20:00 left · 3 rounds ok (04:31)" in checklist.detail_text()
