"""The Sentry tab in the real dashboard, with the real checks against loopback fixtures.

Each test copies examples/ccplate-app, points its `.npmrc` at the registry fixture and its
`.env.local` DSN at the ingest fixture, and names that copy in `[sentry] project`. The app runs
the compatibility check on start, the capture check on `v`; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static, TabbedContent
from textual.worker import WorkerState

from ccplate_tui.sentry.last_results import (
    CAPTURE_FILE,
    COMPATIBILITY_FILE,
    load_result,
    save_result,
)
from ccplate_tui.ui.app import CcplateApp
from ccplate_tui.ui.messages import SentryCheckFinished, SentryCheckStarted
from ccplate_tui.ui.overview_pane import CriterionRow, OverviewPane
from ccplate_tui.ui.sentry_pane import CaptureCard, CompatibilityCard, FactGrid, SentryPane
from ccplate_tui.ui.sentry_wiring import WiringView
from tests.sentry_ingest_fixture import DEMO_KEY, SentryIngestFixture
from tests.sentry_registry_fixture import RegistryFixture
from tests.ui.app_fixtures import QUICK_RUN, SIZE, MessageLog, free_port, make_app, wait_for
from tests.ui.overview_fixtures import PaneApp
from tests.ui.test_sentry_snapshots import DELIVERED_CAPTURE, UPGRADE_REPORT

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ccplate-app"
CHECK_THREADS = ("sentry-compatibility-check", "sentry-capture-check")

# Inputs the checks would otherwise take from the environment (and a registry beyond loopback).
_ENV_INPUTS = (
    "NPM_CONFIG_REGISTRY",
    "npm_config_registry",
    "SENTRY_DSN",
    "SENTRY_AUTH_TOKEN",
    "SENTRY_ORG",
    "SENTRY_PROJECT",
    "SENTRY_URL",
)


@pytest.fixture(autouse=True)
def _no_outside_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV_INPUTS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def registry() -> Iterator[RegistryFixture]:
    with RegistryFixture(prefix="/__npm/") as server:
        yield server


@pytest.fixture
def ingest() -> Iterator[SentryIngestFixture]:
    with SentryIngestFixture() as server:
        yield server


@pytest.fixture
def project(tmp_path: Path, registry: RegistryFixture, ingest: SentryIngestFixture) -> Path:
    """examples/ccplate-app, wired to the fixtures."""
    folder = tmp_path / "ccplate-app"
    shutil.copytree(EXAMPLE, folder)
    (folder / ".npmrc").write_text(f"registry={registry.url}\n", encoding="utf-8")
    (folder / ".env.local").write_text(f"SENTRY_DSN={ingest.dsn()}\n", encoding="utf-8")
    return folder


def sentry_app(tmp_path: Path, project: Path) -> CcplateApp:
    """The dashboard with `[sentry] project` set, a target that is not started, state in tmp."""
    config = tmp_path / "config" / "scenarios.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'[target]\nbase_url = "http://127.0.0.1:{free_port()}"\n{QUICK_RUN}\n'
        f'[sentry]\nproject = "{project.as_posix()}"\n',
        encoding="utf-8",
    )
    return make_app(config, auto_start_target=False, state_dir=tmp_path / "state")


def text(widget: Static) -> str:
    return str(widget.render())


def grid_cells(grid: FactGrid) -> list[str]:
    """What a FactGrid shows, cell by cell, in reading order."""
    return [text(cell) for cell in grid.query_children(Static)]


def grid_rows(grid: FactGrid) -> list[list[str]]:
    cells = grid_cells(grid)
    return [cells[i : i + grid.columns] for i in range(0, len(cells), grid.columns)]


def screen_text(pane: SentryPane) -> str:
    """Every Static of the pane as shown (for 'is it anywhere on screen' checks)."""
    return "\n".join(text(s) for s in pane.query(Static))


def tracking(overview: OverviewPane) -> tuple[str, str]:
    """The Overview's Error tracking row: (value shown, status)."""
    for row in overview.query(CriterionRow):
        if row.criterion.name == "Error tracking":
            return text(list(row.query_children(Static))[2]), row.criterion.status
    raise AssertionError("no Error tracking row")


def finished(log: MessageLog, kind: str) -> list[SentryCheckFinished]:
    return [m for m in log.of(SentryCheckFinished) if m.kind == kind]


def check_threads_alive() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name in CHECK_THREADS and t.is_alive()}


async def test_the_tab_shows_the_upgrade_verdict_and_its_evidence(
    tmp_path: Path, project: Path, registry: RegistryFixture
) -> None:
    app = sentry_app(tmp_path, project)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await wait_for(pilot, lambda: finished(log, "compatibility"), what="the first check")
        await pilot.press("3")
        await pilot.pause()
        assert app.query_one("#tabs", TabbedContent).active == "sentry-tab"
        card = app.query_one(CompatibilityCard)

        # While it ran, the pane said what it asked: the fixture's registry URL.
        asking = [m.asking for m in log.of(SentryCheckStarted) if m.kind == "compatibility"]
        assert asking and registry.url in asking[0] and "@sentry/nextjs" in asking[0]
        # The packument first; then the install proof's npm dry-runs resolve from it too.
        assert registry.requests[0].path == "/__npm/@sentry%2fnextjs"

        badge = card.query_one("#compat-verdict .badge", Static)
        assert text(badge) == "UPGRADE" and badge.has_class("-warning")
        headline = text(card.query_one("#compat-verdict .headline", Static))
        assert "Next.js 16.1.4" in headline and "10.20.0" in headline and "8.55.0" in headline
        # 11.8.0 to 11.6.0 need @sentry/cloudflare releases the registry lacks: npm cannot install them.
        assert text(card.query_one("#compat-next", Static)) == "npm install @sentry/nextjs@11.5.0"
        status = text(card.query_one("#compat-status", Static))
        assert status.startswith(f"Answer from the registry {registry.url} at ")

        versions = {row[0]: row[1:] for row in grid_rows(card.query_one("#compat-versions"))}
        assert versions["next"] == ["16.1.4", "from package-lock.json"]
        assert versions["@sentry/nextjs"][0] == "8.55.0"
        assert "does not support 16.1.4" in versions["@sentry/nextjs"][1]
        assert "package-lock.json" in versions["@sentry/nextjs"][1]
        assert versions["first supporting"][0] == "10.20.0"
        assert versions["newest supporting"] == [
            "11.8.0",
            "75 stable releases support next 16.1.4",
        ]
        assert versions["latest"][0] == "11.8.0"

        todos = grid_rows(card.query_one("#compat-todos", FactGrid))
        assert [row[0] for row in todos] == [
            "src/components/error-boundary.tsx:22",
            "src/instrumentation.ts:1",
            "src/lib/sentry.ts:1",
        ]
        assert todos[1][1] == "// TODO: Re-enable when @sentry/nextjs supports Next.js 16"

        wiring = dict(grid_rows(card.query_one("#compat-wiring", FactGrid)))  # type: ignore[arg-type]
        assert wiring[".env.example"] == (
            "✗ SENTRY_DSN ✗ SENTRY_ORG ✗ SENTRY_PROJECT ✗ NEXT_PUBLIC_SENTRY_DSN"
        )
        # A fresh report carries the error paths: WiringView shows them instead of these rows.
        assert "init call" not in wiring and "error boundary" not in wiring
        paths = card.query_one(WiringView)
        assert "request_errors" in paths.keys and "✗" in paths.text()

        # The pane shows exactly what the check stored for the verdict and the next session.
        stored = load_result(app.state_dir, COMPATIBILITY_FILE)
        assert (
            stored is not None
            and stored == app.query_one(SentryPane).views["compatibility"].document
        )


async def test_v_sends_a_test_error_the_ingest_really_receives(
    tmp_path: Path, project: Path, ingest: SentryIngestFixture
) -> None:
    app = sentry_app(tmp_path, project)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        overview = app.query_one(OverviewPane)
        await wait_for(pilot, lambda: finished(log, "compatibility"), what="the first check")
        await pilot.pause()
        # Compatibility alone (UPGRADE) does not make error tracking known: no test error yet.
        assert tracking(overview) == ("not checked", "unknown")
        assert not ingest.envelope_requests()

        await pilot.press("3", "v")
        await wait_for(pilot, lambda: finished(log, "capture"), what="the capture check")
        await pilot.pause()
        card = app.query_one(CaptureCard)
        document = app.query_one(SentryPane).views["capture"].document
        assert document is not None and document["delivered"] is True
        event_id = document["event_id"]

        # The fixture decoded that very event from the envelope.
        stored = ingest.store.get(event_id)
        assert stored is not None and stored.project_id == "1"
        assert stored.event["exception"]["values"][0]["type"] == "CcplateSentryCheck"

        badge = card.query_one("#capture-verdict .badge", Static)
        assert text(badge) == "DELIVERED" and badge.has_class("-success")
        evidence = dict(grid_rows(card.query_one("#capture-evidence", FactGrid)))  # type: ignore[arg-type]
        assert evidence["Event id"] == event_id
        assert evidence["Ingest"].startswith("HTTP 200") and event_id in evidence["Ingest"]
        assert evidence["Envelope"] == f"{ingest.url}/__sentry/api/1/envelope/"
        assert evidence["In Sentry"].startswith("not looked up: set SENTRY_AUTH_TOKEN")
        asking = [m.asking for m in log.of(SentryCheckStarted) if m.kind == "capture"]
        assert asking and f"{ingest.url}/__sentry/api/1/envelope/" in asking[0]

        # Delivered, but the app itself still needs the upgrade: not a pass.
        assert tracking(overview) == ("app not wired", "fail")
        assert any("Sentry is not active in the app" in r for r in overview.verdict.reasons)

        # The DSN key is a credential: masked on screen, in messages and in notifications.
        shown = screen_text(app.query_one(SentryPane)) + "\n".join(asking + log.notices())
        assert DEMO_KEY not in shown and DEMO_KEY[:2] + "…" in shown


async def test_an_ingest_that_refuses_the_key_is_explained(
    tmp_path: Path, project: Path, ingest: SentryIngestFixture
) -> None:
    ingest.ingest_mode = "403"
    app = sentry_app(tmp_path, project)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await wait_for(pilot, lambda: finished(log, "compatibility"), what="the first check")
        await pilot.press("3")
        await pilot.click("#capture-run")
        await wait_for(pilot, lambda: finished(log, "capture"), what="the capture check")
        await pilot.pause()
        card = app.query_one(CaptureCard)
        badge = card.query_one("#capture-verdict .badge", Static)
        assert text(badge) == "NOT DELIVERED" and badge.has_class("-error")
        headline = text(card.query_one("#capture-verdict .headline", Static))
        assert headline == "Not delivered: the ingest answered HTTP 403"
        notes = text(card.query_one("#capture-notes", Static))
        assert "rejected the DSN key (403)" in notes and "region" in notes
        assert "ProjectId" in notes  # Sentry's own words, as Relay sent them
        assert len(ingest.envelope_requests()) == 1
        assert tracking(app.query_one(OverviewPane)) == ("not received", "fail")
        assert "test error NOT delivered (HTTP 403)" in log.notices()


async def test_a_hanging_registry_never_freezes_the_app_and_quitting_is_prompt(
    tmp_path: Path, project: Path, registry: RegistryFixture
) -> None:
    registry.fault = "hang"  # answers only when the fixture stops, after the test
    app = sentry_app(tmp_path, project)
    app.sentry_registry_timeout = 600.0  # so only quitting can end the wait during the test
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await wait_for(pilot, lambda: registry.requests, what="the check to ask the registry")
        await pilot.press("3")
        tabs = app.query_one("#tabs", TabbedContent)
        pane = app.query_one(SentryPane)
        await wait_for(pilot, lambda: tabs.active == "sentry-tab", what="the Sentry tab")
        card = app.query_one(CompatibilityCard)
        await wait_for(
            pilot, lambda: registry.url in text(card.query_one("#compat-verdict .headline"))
        )
        assert text(card.query_one("#compat-verdict .badge", Static)) == "CHECKING…"
        assert pane.is_checking("compatibility")
        assert card.query_one("#compat-run").disabled
        # The UI goes on: other tabs open, a second check is refused, not queued.
        await pilot.press("1")
        await wait_for(pilot, lambda: tabs.active == "overview-tab", what="the Overview tab")
        await pilot.press("2")
        await wait_for(pilot, lambda: tabs.active == "load-tab", what="the Load tab")
        await pilot.press("3", "c")
        await wait_for(pilot, lambda: "the compatibility check is already running" in log.notices())
        assert len(registry.requests) == 1 and not log.of(SentryCheckFinished)
        workers = [w for w in app.workers if w.name == "sentry-compatibility"]
        await pilot.press("ctrl+q")
    # The app has exited while the registry still holds the request: quitting did not wait
    # for the check (its abandoned thread is a daemon and ends when the registry answers).
    assert app.return_value == 0
    assert "sentry-compatibility-check" in check_threads_alive()
    assert [w.state for w in workers] == [WorkerState.CANCELLED]
    assert not log.of(SentryCheckFinished)


async def test_stored_results_show_on_start_before_any_check(
    tmp_path: Path, project: Path, registry: RegistryFixture
) -> None:
    registry.fault = "hang"  # the new check stays pending: whatever shows is the stored one
    state = tmp_path / "state"
    save_result(state, COMPATIBILITY_FILE, UPGRADE_REPORT)
    save_result(state, CAPTURE_FILE, DELIVERED_CAPTURE)
    app = sentry_app(tmp_path, project)
    app.sentry_registry_timeout = 600.0
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await pilot.pause()
        pane = app.query_one(SentryPane)
        assert pane.views["compatibility"].document == UPGRADE_REPORT
        assert pane.views["capture"].document == DELIVERED_CAPTURE
        assert pane.views["capture"].stored
        capture = app.query_one(CaptureCard)
        assert text(capture.query_one("#capture-verdict .badge", Static)) == "DELIVERED"
        assert text(capture.query_one("#capture-status", Static)).startswith(
            "Stored result of an earlier check. Sent at 2026-11-26T10:05:00Z"
        )
        evidence = dict(grid_rows(capture.query_one("#capture-evidence", FactGrid)))  # type: ignore[arg-type]
        assert evidence["Event id"] == DELIVERED_CAPTURE["event_id"]
        compat = app.query_one(CompatibilityCard)
        assert text(compat.query_one("#compat-next", Static)) == UPGRADE_REPORT["next_command"]
        # The stored results count in the verdict at once (delivered, but the app needs work).
        assert tracking(app.query_one(OverviewPane)) == ("app not wired", "fail")
        await wait_for(pilot, lambda: registry.requests, what="the check to ask the registry")
        await pilot.pause()
        assert text(compat.query_one("#compat-status", Static)) == (
            "Below: the previous result (UPGRADE, stored by an earlier session)."
        )
        assert not log.of(SentryCheckFinished)  # no check has ended: all of that was stored


async def test_o_checks_offline_from_the_cache_without_the_registry(
    tmp_path: Path, project: Path, registry: RegistryFixture
) -> None:
    app = sentry_app(tmp_path, project)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await wait_for(pilot, lambda: finished(log, "compatibility"), what="the first check")
        asked = len(registry.requests)
        registry.fault = "500"  # would fail a registry check; offline never asks
        await pilot.press("3", "o")
        await wait_for(pilot, lambda: len(finished(log, "compatibility")) == 2, what="offline")
        await pilot.pause()
        pane = app.query_one(SentryPane)
        document = pane.views["compatibility"].document
        assert document is not None and document["source"] == "cache"
        assert document["verdict"] == "upgrade" and document["latest_supporting"] == "11.8.0"
        assert len(registry.requests) == asked  # only the first, online check (and its proof)
        status = text(app.query_one(CompatibilityCard).query_one("#compat-status", Static))
        assert status.startswith(f"Answer from the cache of {registry.url}")


async def test_unusable_inputs_are_said_plainly(tmp_path: Path) -> None:
    empty = tmp_path / "not-a-next-app"
    empty.mkdir()
    app = sentry_app(tmp_path, empty)
    log = MessageLog()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await wait_for(pilot, lambda: finished(log, "compatibility"), what="the first check")
        await pilot.press("3", "v")
        await wait_for(pilot, lambda: finished(log, "capture"), what="the capture check")
        await pilot.pause()
        compat = app.query_one(CompatibilityCard)
        assert text(compat.query_one("#compat-verdict .badge", Static)) == "ERROR"
        headline = text(compat.query_one("#compat-verdict .headline", Static))
        assert headline.startswith("The compatibility check could not finish: ")
        assert "package.json" in headline
        assert not compat.query_one("#compat-body").display  # no result to show below
        capture = app.query_one(CaptureCard)
        headline = text(capture.query_one("#capture-verdict .headline", Static))
        assert headline.startswith("The capture check could not run: no DSN")
        assert "SENTRY_DSN" in headline
        assert load_result(app.state_dir, CAPTURE_FILE) is None  # nothing was sent or stored
        assert tracking(app.query_one(OverviewPane)) == ("not checked", "unknown")


async def test_odd_stored_documents_render_without_inventing_anything() -> None:
    # A stored file from an older version or edited by hand: wrong types everywhere.
    report = {
        "verdict": 5,
        "installed": [],
        "todo_markers": "x",
        "env_example": {"present": [1], "missing": None},
        "registry": "nowhere",
        "supporting_count": "many",
    }
    capture = {
        "delivered": "yes",
        "status": "teapot",
        "answer": {"retry_after": "soon", "body": None},
        "confirmation": {"confirmed": False, "attempts": "?"},
    }
    pane = SentryPane()
    async with PaneApp(pane).run_test(size=SIZE) as pilot:
        pane.show_result("compatibility", report, stored=True)
        pane.show_result("capture", capture, stored=True)
        await pilot.pause()
        compat = pane.query_one(CompatibilityCard)
        assert text(compat.query_one("#compat-verdict .badge", Static)) == "UNKNOWN"
        assert text(compat.query_one("#compat-verdict .headline", Static)) == (
            "The report has no headline."
        )
        versions = {row[0]: row[1] for row in grid_rows(compat.query_one("#compat-versions"))}
        assert versions["next"] == "—" and versions["supporting"] == "none"
        assert grid_rows(compat.query_one("#compat-todos", FactGrid)) == []
        card = pane.query_one(CaptureCard)
        # "yes" is truthy but the API lookup failed: never shown as a plain pass.
        assert text(card.query_one("#capture-verdict .badge", Static)) == "NOT CONFIRMED"
        evidence = dict(grid_rows(card.query_one("#capture-evidence", FactGrid)))  # type: ignore[arg-type]
        assert evidence["Retry-After"] == "soon"
        assert evidence["In Sentry"].startswith("not found")
