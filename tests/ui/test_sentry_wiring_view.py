"""The Sentry tab's wiring view in the real dashboard: the real check on real project folders
(the wizard's layout, the plan-state example) against the loopback registry fixture, plus a
snapshot of the view from a fixed document."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from ccplate_tui.sentry.wiring import assess_wiring
from ccplate_tui.sentry.wiring_render import wiring_to_json
from ccplate_tui.sentry.wiring_scan import scan_wiring
from ccplate_tui.ui.app import CcplateApp
from ccplate_tui.ui.messages import SentryCheckFinished
from ccplate_tui.ui.sentry_pane import CompatibilityCard, FactGrid, SentryPane
from ccplate_tui.ui.sentry_wiring import WiringView
from tests.sentry_registry_fixture import RegistryFixture
from tests.sentry_wiring_fixtures import EXAMPLE, ccplate_copy, wizard_project
from tests.ui.app_fixtures import QUICK_RUN, SIZE, MessageLog, free_port, make_app, wait_for
from tests.ui.test_sentry_snapshots import DELIVERED_CAPTURE, UPGRADE_REPORT, sentry_app

ONREQUEST = "export const onRequestError = Sentry.captureRequestError;"


@pytest.fixture(autouse=True)
def _no_outside_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NPM_CONFIG_REGISTRY", "npm_config_registry", "SENTRY_DSN", "SENTRY_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def registry() -> Iterator[RegistryFixture]:
    with RegistryFixture(prefix="/__npm/") as server:
        yield server


def dashboard(tmp_path: Path, project: Path, registry: RegistryFixture) -> CcplateApp:
    """The dashboard with `[sentry] project` on `project`, whose .npmrc names the fixture."""
    (project / ".npmrc").write_text(f"registry={registry.url}\n", encoding="utf-8")
    (project / ".env.local").unlink(missing_ok=True)
    config = tmp_path / "config" / "scenarios.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'[target]\nbase_url = "http://127.0.0.1:{free_port()}"\n{QUICK_RUN}\n'
        f'[sentry]\nproject = "{project.as_posix()}"\n',
        encoding="utf-8",
    )
    return make_app(config, auto_start_target=False, state_dir=tmp_path / "state")


async def open_wiring(app: CcplateApp, pilot, log: MessageLog) -> WiringView:
    await wait_for(
        pilot,
        lambda: [m for m in log.of(SentryCheckFinished) if m.kind == "compatibility"],
        what="the compatibility check",
    )
    await pilot.press("3")
    await pilot.pause()
    view = app.query_one(CompatibilityCard).query_one(WiringView)
    await wait_for(pilot, lambda: len(view.lines()) == len(view.keys) > 0, what="the paths")
    return view


async def test_the_wizard_layout_shows_every_path_reaching_sentry(
    tmp_path: Path, registry: RegistryFixture
) -> None:
    app = dashboard(tmp_path, wizard_project(tmp_path / "wizard"), registry)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        view = await open_wiring(app, pilot, log)
        assert view.display
        title = str(view.query_one("#wiring-title", Static).render())
        assert "Next.js 16.1.4, @sentry/nextjs 10.78.0" in title and "standard layout" in title
        lines = view.lines()
        assert list(lines) == [
            "server_init",
            "edge_init",
            "client_init",
            "request_errors",
            "root_layout_errors",
            "error_boundary",
            "build_config",
        ]
        for key, line in lines.items():
            assert line[19:30].strip() == "✓", (key, line)  # label 19 wide, then the mark
        assert "instrumentation.ts:13" in lines["request_errors"]
        assert "app/global-error.tsx, which reports" in lines["error_boundary"]
        shown = view.text()
        assert "✗" not in shown and "initSentry" not in shown
        assert not view.query_one("#wiring-cap").display
        # The old rows (init call, error boundary) are not shown next to the paths.
        card = app.query_one(CompatibilityCard)
        grid = card.query_one("#compat-wiring", FactGrid)
        assert [row[0] for row in grid.rows] == [".env.example"]
        badge = card.query_one("#compat-verdict .badge", Static)
        assert str(badge.render()) == "SUPPORTED"


async def test_the_plan_state_shows_what_to_add_and_what_is_disabled(
    tmp_path: Path, registry: RegistryFixture
) -> None:
    app = dashboard(tmp_path, ccplate_copy(tmp_path / "ccplate"), registry)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        view = await open_wiring(app, pilot, log)
        lines = view.lines()
        assert "✗ disabled" in lines["server_init"]
        assert "src/instrumentation.ts:6" in lines["server_init"]
        assert "also src/lib/sentry.ts:8" in lines["server_init"]
        request = lines["request_errors"]
        assert request[19:30].strip() == "✗"
        assert f"src/instrumentation.ts, at the end:\n  {ONREQUEST}" in request
        assert "same lines as server init" in lines["edge_init"]
        assert "src/components/error-boundary.tsx:22" in lines["error_boundary"]
        disabled = str(view.query_one("#wiring-disabled", Static).render())
        assert disabled.startswith("Disabled Sentry calls (5):")
        assert "src/lib/sentry.ts:16" in disabled
        # What the tab shows is what the check stored.
        document = app.query_one(SentryPane).views["compatibility"].document
        assert document is not None and document["wiring"]["layout"] == "ccplate"


async def test_a_document_without_wiring_hides_the_view(tmp_path: Path) -> None:
    app = sentry_app(UPGRADE_REPORT, None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = app.query_one(WiringView)
        assert not view.display
        grid = app.query_one("#compat-wiring", FactGrid)
        assert [row[0] for row in grid.rows] == [".env.example", "init call", "error boundary"]


PLAN_WIRING = wiring_to_json(
    assess_wiring(scan_wiring(EXAMPLE.resolve()), "16.1.4", "8.55.0", turbopack=True)
)
"""The shipped example's wiring: relative paths only, the same on every machine."""


def test_snapshot_of_the_plan_state_wiring(snap_compare) -> None:
    report = {**copy.deepcopy(UPGRADE_REPORT), "wiring": PLAN_WIRING}

    async def show_the_wiring(pilot) -> None:
        await pilot.pause()
        view = pilot.app.query_one(WiringView)
        pilot.app.query_one(SentryPane).scroll_to_widget(view, animate=False, top=True)
        await pilot.pause()

    assert snap_compare(
        sentry_app(report, DELIVERED_CAPTURE), terminal_size=SIZE, run_before=show_the_wiring
    )
