"""The dashboard shell: tabs by key and by palette, the header, screenshots, the footer."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Footer, Header, TabbedContent

from ccplate_tui.ui.app import CcplateApp
from ccplate_tui.ui.checklist_pane import ChecklistPane
from ccplate_tui.ui.load_pane import LoadPane
from ccplate_tui.ui.overview_pane import OverviewPane
from ccplate_tui.ui.sentry_pane import SentryPane
from tests.ui.app_fixtures import (
    SIZE,
    MessageLog,
    choose_in_palette,
    free_port,
    make_app,
    wait_for,
    write_config,
)

TABS = {"1": "overview-tab", "2": "load-tab", "3": "sentry-tab", "4": "checklist-tab"}


@pytest.fixture
def app(tmp_path: Path) -> CcplateApp:
    # A free port that is not the default: nothing is started, nothing answers.
    return make_app(write_config(tmp_path, f"http://127.0.0.1:{free_port()}"))


async def test_starts_on_overview_with_every_pane(app: CcplateApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tabs = app.query_one("#tabs", TabbedContent)
        assert tabs.active == "overview-tab"
        assert isinstance(app.query_one("#overview"), OverviewPane)
        assert isinstance(app.query_one("#load"), LoadPane)
        assert isinstance(app.query_one("#sentry"), SentryPane)
        assert isinstance(app.query_one("#checklist"), ChecklistPane)
        assert app.query(Header) and app.query(Footer)
        assert app.sub_title.startswith(app.config.target.base_url)
        assert "engine: built-in" in app.sub_title
        assert "demo target" not in app.sub_title
        assert app.query_one(OverviewPane).verdict.headline == "No load run yet"


async def test_every_tab_is_reachable_by_key_and_back(app: CcplateApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        tabs = app.query_one("#tabs", TabbedContent)
        for key, pane in [*TABS.items(), ("1", "overview-tab")]:
            await pilot.press(key)
            await pilot.pause()
            assert tabs.active == pane, f"key {key}"


async def test_only_the_visible_load_tab_redraws(app: CcplateApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        load = app.query_one(LoadPane)
        await pilot.pause()
        assert load.shown is False  # Overview is shown: the Load plots stay still
        await pilot.press("2")
        await wait_for(pilot, lambda: load.shown, what="the Load pane to become visible")
        await pilot.press("3")
        await wait_for(pilot, lambda: not load.shown, what="the Load pane to be hidden")


@pytest.mark.parametrize(("command", "pane"), [
    ("Open tab Load", "load-tab"),
    ("Open tab Sentry", "sentry-tab"),
    ("Open tab Checklist", "checklist-tab"),
])  # fmt: skip
async def test_every_tab_is_reachable_by_palette(app: CcplateApp, command: str, pane: str) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4" if pane != "checklist-tab" else "2")  # start away from the target
        await pilot.press("ctrl+p")
        await pilot.pause()
        await choose_in_palette(pilot, command)  # the palette searches asynchronously
        tabs = app.query_one("#tabs", TabbedContent)
        await wait_for(pilot, lambda: tabs.active == pane, what=f"{command!r} to open {pane}")


async def test_palette_lists_the_dashboard_actions(app: CcplateApp) -> None:
    from ccplate_tui.ui.commands import dashboard_commands

    async with app.run_test(size=SIZE):
        titles = [c.title for c in dashboard_commands(app)]
    for wanted in (
        "Start scenario quick",
        "Start scenario long",
        "Start suite both",
        "Stop the run",
        "Open tab Overview",
        "Theme ccplate-high-contrast",
        "Save screenshot (SVG)",
        "Save the run summary",
    ):
        assert wanted in titles


async def test_palette_switches_the_theme(app: CcplateApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "ccplate-dark"
        await pilot.press("ctrl+p")
        await pilot.pause()
        await choose_in_palette(pilot, "Theme ccplate-light")
        await wait_for(pilot, lambda: app.theme == "ccplate-light", what="the theme to switch")


async def test_ctrl_s_writes_an_svg_into_the_state_folder(app: CcplateApp) -> None:
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.last_screenshot is not None, what="a screenshot")
        shot = app.last_screenshot
        assert shot is not None and shot.parent == app.state_dir / "screenshots"
        text = shot.read_text(encoding="utf-8")
        assert text.lstrip().startswith("<svg") and "Overview" in text
        assert any(str(shot) in notice for notice in log.notices())


async def test_save_summary_without_a_run_says_so(app: CcplateApp) -> None:
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        app.save_summary()
        await pilot.pause()
        assert "no finished run to save yet" in log.notices()
        assert not (app.state_dir / "summaries").exists()


async def test_quit_without_a_run_does_not_ask(app: CcplateApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: app._exit, what="the app to exit")
    assert app.return_value == 0


async def test_the_header_masks_a_password_in_the_target_url(tmp_path: Path) -> None:
    app = make_app(write_config(tmp_path, f"http://ops:hunter2@127.0.0.1:{free_port()}"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "hunter2" not in app.sub_title
        assert app.sub_title.startswith("http://***:***@127.0.0.1:")
