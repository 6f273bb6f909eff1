"""`ccplate-tui serve` in headless Chromium: the dashboard renders, and two tabs share one run.

Each test starts the real server as a subprocess, opens real browser tabs (each one a separate
dashboard process under textual-serve), and reads what the app paints through the websocket.
The load target is a loopback server the test starts itself; the browser only talks to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
import pytest
import textual_serve
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.sync_api import Browser, Route, sync_playwright

from ccplate_tui.cli import main
from ccplate_tui.load.run_registry import RUNS_DIR, RunRegistry
from ccplate_tui.ui.serve_page import (
    HEADER_ICON,
    TEMPLATES,
    add_page_routes,
    page_title,
    render_index,
)
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


@pytest.mark.slow
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


# --- the page itself: own host only, title, favicon, splash, header icon -------------------------

# Draws Textual's Header icon with xterm's font stack and samples it: a ring is lit on its band and
# dark at its centre and at its bounding box's corners; a missing-glyph box or nothing is not.
ICON_PIXELS_JS = """
(icon) => {
  const size = 96;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size * 2;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.font = `${size}px 'Roboto Mono', Monaco, 'Courier New', monospace`;
  ctx.fillStyle = "#fff";
  const x = size / 2, y = size * 1.5;
  ctx.fillText(icon, x, y);
  const m = ctx.measureText(icon);
  const left = x - m.actualBoundingBoxLeft, right = x + m.actualBoundingBoxRight;
  const top = y - m.actualBoundingBoxAscent, bottom = y + m.actualBoundingBoxDescent;
  const w = right - left, h = bottom - top, cx = (left + right) / 2, cy = (top + bottom) / 2;
  const lit = (px, py) => ctx.getImageData(Math.round(px), Math.round(py), 1, 1).data[0] > 128;
  return {
    width: w,
    height: h,
    centre: lit(cx, cy),
    corners: [[0.08, 0.08], [0.92, 0.08], [0.08, 0.92], [0.92, 0.92]].map(
      ([fx, fy]) => lit(left + w * fx, top + h * fy)),
    band: [[0.1, 0.5], [0.9, 0.5], [0.5, 0.1], [0.5, 0.9]].map(
      ([fx, fy]) => lit(left + w * fx, top + h * fy)),
  };
}
"""


def test_the_page_title_masks_the_targets_secrets() -> None:
    title = page_title("https://loadtest:s3cret-pass@app.example.com:8443/api")
    assert title == "ccplate-tui — https://***:***@app.example.com:8443/api"
    assert "s3cret" not in title and "loadtest" not in title
    assert page_title("http://127.0.0.1:8787") == "ccplate-tui — http://127.0.0.1:8787"
    assert page_title(None) == "ccplate-tui"


def test_the_page_links_only_to_its_own_host() -> None:
    title = page_title("https://loadtest:s3cret-pass@app.example.com/<b>")
    # Its own event loop in a thread: the browser fixture's Playwright holds this thread's.
    with ThreadPoolExecutor(1) as pool:
        html, fetched = pool.submit(asyncio.run, _fetch_page(title)).result(timeout=60)
    assert fetched["/favicon.ico"] == (200, b"\0\0\1\0")  # an ICO
    assert len(fetched) >= 6, fetched  # the favicon, stylesheet, script, fonts, background
    assert all(status == 200 for status, _ in fetched.values()), fetched
    assert "<title>ccplate-tui — https://***:***@app.example.com/&lt;b&gt;</title>" in html
    assert "s3cret" not in html
    assert 'data-font-size="20"' in html and 'data-session-websocket-url="/ws"' in html
    # No URL to any other host; the SVG namespace in the inline icon is a name, not a request.
    text = html.replace("http://www.w3.org/2000/svg", "")
    assert re.findall(r"\b(?:https?|wss?)://[\w.-]+", text) == []
    assert re.findall(r'(?:href|src)="//|url\("//|@import', text) == []


async def _fetch_page(title: str) -> tuple[str, dict[str, tuple[int, bytes]]]:
    """The page as served by `serve_page`'s routes, and (status, first bytes) of each of its paths
    and of /favicon.ico."""
    app = web.Application()
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(TEMPLATES))

    async def index(request: web.Request) -> web.Response:
        return await render_index(request, title)

    app.router.add_get("/", index)
    app.router.add_get("/ws", index, name="websocket")
    app.router.add_static("/static", Path(textual_serve.__file__).parent / "static", name="static")
    add_page_routes(app)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        html = await (await client.get("/?fontsize=20")).text()
        found = re.findall(r'(?:href|src)="(/[^"]*)"|url\("(/[^"]*)"\)', html)
        fetched = {}
        for path in ["/favicon.ico", *(attribute or css for attribute, css in found)]:
            response = await client.get(path)
            fetched[path] = (response.status, (await response.read())[:4])
    return html, fetched


@pytest.mark.slow
def test_the_page_asks_only_its_own_host_and_shows_a_splash_until_the_first_frame(
    browser: Browser, tmp_path: Path
) -> None:
    config = _config(tmp_path, f"https://loadtest:s3cret-pass@127.0.0.1:{free_port()}")
    port = free_port()
    own = f"127.0.0.1:{port}"
    with served_dashboard(config, tmp_path / "state", port, tmp_path) as served:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        seen: list[str] = []
        foreign: list[str] = []

        def only_own_host(route: Route) -> None:
            url = route.request.url
            seen.append(url)
            parts = urlsplit(url)
            if parts.scheme == "data":
                route.continue_()
            elif parts.netloc != own:
                foreign.append(url)
                route.abort()
            else:
                route.continue_()

        page.route("**/*", only_own_host)
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        tab = DashboardTab(page, served.url)
        page.goto(served.url, wait_until="domcontentloaded")

        title = "ccplate-tui — https://***:***@127.0.0.1:"
        assert page.title().startswith(title) and "s3cret" not in page.title()
        # Before the dashboard's first frame: the splash, its title and the "starting" message.
        assert not page.evaluate("document.body.classList.contains('-first-frame')")
        splash = page.locator(".intro-dialog")
        assert splash.is_visible()
        assert "starting the dashboard…" in splash.inner_text()
        assert title in splash.inner_text()
        tab.screenshot(ARTIFACTS / "serve_page_splash.png")

        page.wait_for_function("document.body.dataset.firstFrameMs", timeout=READY_TIMEOUT * 1000)
        first_frame_ms = int(page.evaluate("document.body.dataset.firstFrameMs"))
        print(f"\ntime to the dashboard's first frame: {first_frame_ms} ms after navigation")
        assert not splash.is_visible()
        tab.wait_for_text(*TAB_TITLES)
        tab.wait_until_painted()

        icon = page.locator("link[rel=icon]").get_attribute("href") or ""
        assert icon.startswith("data:image/svg+xml,")
        # Playwright aborts routed requests whose URL ends in /favicon.ico: add a query.
        favicon = page.evaluate(
            """fetch('/favicon.ico?from-test').then(async r => [
                r.status, r.headers.get('content-type'), [...new Uint8Array(await r.arrayBuffer())]
                .slice(0, 4)])"""
        )
        assert favicon == [200, "image/x-icon", [0, 0, 1, 0]]

        pixels = page.evaluate(ICON_PIXELS_JS, HEADER_ICON)
        assert pixels["width"] > 20 and pixels["height"] > 20, pixels
        assert pixels["band"] == [True] * 4, pixels
        assert not pixels["centre"] and pixels["corners"] == [False] * 4, pixels
        shot = ARTIFACTS / "serve_page_header_icon.png"
        page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": 320, "height": 48})
        print(f"screenshot of the header icon: {shot}")

        assert not foreign, f"requests to other hosts: {foreign}"
        assert any(urlsplit(url).path.endswith(".ttf") for url in seen), seen
        assert tab.socket_urls and all(urlsplit(u).netloc == own for u in tab.socket_urls)
        assert not [line for line in console if "OTS" in line or "font" in line.lower()]
        context.close()
    assert served.process.returncode == 0, served.log()


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
