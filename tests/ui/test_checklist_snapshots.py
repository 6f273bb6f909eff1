"""Snapshots of the Checklist tab with a fixed state (events with fixed times, read back through the
state file's parser) at 140x45 in ccplate-dark.

Accept a deliberate change with `pytest --snapshot-update` and look at the SVG before keeping it.
"""

from __future__ import annotations

from textual.widgets import Input

from ccplate_tui.ui.checklist_pane import ChecklistPane
from ccplate_tui.ui.screens.checklist_prompts import TextPromptScreen, override_prompt
from ccplate_tui.ui.widgets.checklist_text import blockers
from tests.ui.checklist_fixtures import NOW, ChecklistHost, snapshot_config, walked_events

SIZE = (140, 45)
DAMAGED = (
    "checklist.toml is damaged (not valid TOML: expected '=' (at line 12, column 7)); kept it as "
    "checklist.toml.damaged-20261127T043000Z and resumed from checklist.toml.bak (17 events)"
)


def host(
    selected: str, *, redefine: str | None = None, problem: str | None = None
) -> ChecklistHost:
    config = snapshot_config()
    assert config.checklist is not None
    events = walked_events(config.checklist)
    if redefine is not None:
        events.redefine(redefine)
    pane = ChecklistPane(config, operator="alice")
    pane.show_view(events.view(problem=problem), NOW)
    pane.select(("step", selected))
    return ChecklistHost(pane)


def test_a_failed_command_and_its_output(snap_compare) -> None:
    """Mid-walk: signed off, failed, awaiting sign-off, an overridden phase, a locked one."""
    assert snap_compare(host("unit_tests"), terminal_size=SIZE)


def test_a_running_timer_under_a_damaged_state_and_a_changed_step(snap_compare) -> None:
    assert snap_compare(host("watch", redefine="health", problem=DAMAGED), terminal_size=SIZE)


def test_the_override_prompt_refuses_an_empty_reason(snap_compare) -> None:
    app = host("analytics")  # in the locked phase

    async def ask(pilot) -> None:  # type: ignore[no-untyped-def]
        phase = app.pane.phase_state("post")
        assert phase is not None and phase.locked
        app.push_screen(override_prompt(phase.phase.title, blockers(phase)))
        await pilot.pause()
        await pilot.press("enter")
        assert isinstance(app.screen, TextPromptScreen)
        assert app.screen.query_one(Input).value == ""

    assert snap_compare(app, terminal_size=SIZE, run_before=ask)
