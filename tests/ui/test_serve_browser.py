"""`ccplate-tui serve` in headless Chromium: the dashboard renders, and two tabs share one run.

Each test starts the real server as a subprocess, opens real browser tabs (each one a separate
dashboard process under textual-serve), and reads what the app paints through the websocket.
The load target is a loopback server the test starts itself; the browser only talks to 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from ccplate_tui.cli import main
from ccplate_tui.load.run_registry import RUNS_DIR, RunRegistry
from tests.http_fixtures import fixture_server, free_port
from tests.ui.serve_fixtures import (
    ARTIFACTS,
    READY_TIMEOUT,
    DashboardTab,
    find_chromium,
    launch_chromium,
    pixel_stats,
    scenarios_toml,
    served_dashboard,
)

TAB_TITLES = ("Overview", "Load", "Sentry", "Checklist")
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path, why = find_chromium()
    if path is None:
        pytest.skip(f"no Chromium for the browser test: {why}")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, path)
        try:
            yield browser
        finally:
            browser.close()


def _config(tmp_path: Path, base_url: str, duration: str = "2s") -> Path:
    # A space in the folder: the command textual-serve runs through a shell must quote it.
    path = tmp_path / "my configs" / "scenarios.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(scenarios_toml(base_url, duration=duration))
    return path


def test_the_served_dashboard_renders_in_chromium(browser: Browser, tmp_path: Path) -> None:
    # Nothing listens on the target: the dashboard may call it unreachable, and that is fine.
    config = _config(tmp_path, f"http://127.0.0.1:{free_port()}")
    with served_dashboard(config, tmp_path / "state", free_port(), tmp_path) as served:
        page = browser.new_page(viewport=VIEWPORT)
        tab = DashboardTab(page, served.url).open()
        text = tab.wait_for_text(*TAB_TITLES)
        tab.wait_until_painted()
        shot = ARTIFACTS / "serve_dashboard.png"
        png = tab.screenshot(shot)
        print(f"\nscreenshot of the served dashboard: {shot}")
        stats = pixel_stats(page, png)
        assert (stats["width"], stats["height"]) == (VIEWPORT["width"], VIEWPORT["height"])
        # A painted dashboard: many colours, and no single one (the background) covering it all.
        assert stats["colours"] >= 8, stats
        assert stats["background_share"] < 0.97, stats
        ws_url = served.url.replace("http://", "ws://") + "/ws"
        assert tab.socket_urls and all(u.startswith(ws_url) for u in tab.socket_urls)
        assert "ccplate-tui" in text  # the app's title in the header
        assert len(served.app_processes()) == 1  # this tab's own dashboard process
        page.close()
    # The server stopped cleanly: the fixture already checked that no app process is left.
    assert served.process.returncode == 0, served.log()
    assert "Traceback" not in served.log(), served.log()


def test_two_tabs_share_one_run(browser: Browser, tmp_path: Path) -> None:
    state = tmp_path / "state"
    registry = RunRegistry(state)
    with fixture_server() as target:
        config = _config(tmp_path, target.url, duration="60s")
        with served_dashboard(config, state, free_port(), tmp_path) as served:
            first = DashboardTab(browser.new_page(viewport=VIEWPORT), served.url).open()
            first.wait_for_text(*TAB_TITLES)
            first.press("2", "Control+r")  # the Load tab, then start the highlighted scenario
            info = _wait_for_run(registry, first)
            assert info.owner == "browser" and info.names == ("smoke",)
            assert info.pid in {p.pid for p in served.app_processes()}

            second = DashboardTab(browser.new_page(viewport=VIEWPORT), served.url).open()
            second.wait_for_text(*TAB_TITLES)
            # The second tab's own process finds the run and follows it instead of starting one.
            second.wait_for_text("belongs to", f"pid {info.pid}", "showing it here")
            second.press("2", "Control+r")  # asking to start again must not start a second run
            second.wait_for_text("running")  # its Load tab renders the followed run's views
            second.page.wait_for_timeout(1000)
            shot = ARTIFACTS / "serve_second_tab_following.png"
            second.screenshot(shot)
            print(f"\nscreenshot of the second tab following the first tab's run: {shot}")
            apps = served.app_processes()
            assert len(apps) == 2 and info.pid in {p.pid for p in apps}
            assert registry.current() == info
            live_files = sorted((state / RUNS_DIR).glob("*.jsonl"))
            assert live_files == [info.live_path]
            assert target.hits > 0  # the one run really sends load (to the loopback target)

            first.press("Control+x")  # stop it where it runs
            _wait_for_no_run(registry, first)
            records = [json.loads(line) for line in info.live_path.read_text().splitlines()]
            assert records[0]["type"] == "start" and records[-1]["type"] == "end"
            assert any(r["type"] == "view" for r in records)
            second.page.close()
            first.page.close()
    assert served.process.returncode == 0, served.log()


def _wait_for_run(registry: RunRegistry, tab: DashboardTab):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + READY_TIMEOUT
    while (info := registry.current()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"no run started; the tab shows: {tab.screen_text()[-1500:]!r}")
        tab.page.wait_for_timeout(100)
    return info


def _wait_for_no_run(registry: RunRegistry, tab: DashboardTab) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while registry.current() is not None:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the run did not stop; the tab shows: {tab.screen_text()[-1500:]!r}"
            )
        tab.page.wait_for_timeout(100)


# --- the command line, without a browser ----------------------------------------------------------


def test_serve_refuses_a_non_loopback_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, "http://127.0.0.1:9")
    assert main(["serve", "--host", "0.0.0.0", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "refusing to bind '0.0.0.0'" in err and "--allow-remote-bind" in err


def test_serve_reports_a_bad_config_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml: cannot read the config: no such file" in capsys.readouterr().err
    broken = tmp_path / "broken.toml"
    broken.write_text("[target]\nbase_url = 12\n")
    assert main(["serve", "--config", str(broken)]) == 2
    assert "broken.toml" in capsys.readouterr().err


@pytest.mark.parametrize("port", ["0", "65536", "eighty"])
def test_serve_refuses_a_bad_port(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", port]) == 2
    assert "--port" in capsys.readouterr().err


def test_serve_reports_a_port_in_use(tmp_path: Path) -> None:
    config = _config(tmp_path, "http://127.0.0.1:9")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "ccplate_tui",
                "serve",
                "--port",
                str(port),
                "--config",
                str(config),
            ],
            capture_output=True,
            text=True,
            timeout=READY_TIMEOUT,
        )
    assert done.returncode == 1, done
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
