"""What the browser tests need: Debian's Chromium, a served dashboard, and a tab to read and type in.

textual-serve paints the app into an xterm.js canvas, so the page has no text in its DOM. A tab
here reads what the app sends down the page's websocket instead (terminal output: text between
escape sequences) and checks the painted pixels through a screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from playwright.sync_api import Browser, Page, WebSocket

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach Google's hosts, which
# this machine's closed network refuses; --no-sandbox because the tests run as root.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
ARTIFACTS = Path(__file__).parent / "artifacts"
READY_TIMEOUT = 60.0
"""Generous bound for a server or an app process to come up on a loaded machine."""

# CSI (with private and intermediate bytes), OSC up to BEL or ST, charset selection, and the
# two-byte escapes Textual's drivers emit.
_ANSI = re.compile(
    rb"\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78NOMc]"
)

_BLOCKS = re.compile("[\u2580-\u259f]")


def find_chromium() -> tuple[str | None, str]:
    """Chromium's path, installing Debian's package when it is missing; else None and why."""
    found = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if found:
        return found, ""
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return None, f"{CHROMIUM} is missing and apt-get cannot install it here (need root + apt)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log = []
    for command in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        log.append(done.stderr.strip()[-500:])
        if done.returncode:
            return None, f"{CHROMIUM} is missing and `{' '.join(command)}` failed: {log[-1]}"
    if os.path.exists(CHROMIUM):
        return CHROMIUM, ""
    return None, f"`apt-get install chromium` ran but {CHROMIUM} is still missing"


def launch_chromium(playwright: object, path: str) -> Browser:
    """Debian's Chromium through Playwright (Playwright never downloads a browser of its own)."""
    return playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=path, headless=True, args=list(CHROMIUM_FLAGS[1:])
    )


def scenarios_toml(base_url: str, *, duration: str = "2s") -> str:
    """A small config whose target is a loopback URL the test chose (never the demo default)."""
    return f"""
[target]
base_url = "{base_url}"

[options]
interval = "500ms"

[scenarios.smoke]
executor = "constant-vus"
vus = 1
duration = "{duration}"
think_time = "200ms"
thresholds = {{ http_req_failed = ["rate<0.01"], http_req_duration = ["p(99)<500"] }}

[[scenarios.smoke.requests]]
name = "ok"
path = "/ok"
"""


@dataclass
class ServedDashboard:
    """`ccplate-tui serve` in a subprocess, with its output in a log file."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    descendants: set[int] = field(default_factory=set)
    """Every process seen under the server (app per tab, engine workers), for the leak check."""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def app_processes(self) -> list[psutil.Process]:
        """The dashboard processes textual-serve started (one per connected tab)."""
        apps = []
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(self.process.pid).children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    self.descendants.add(child.pid)
                    cmdline = child.cmdline()
                    if "ccplate_tui" in cmdline and "--config" in cmdline:
                        apps.append(child)
        return apps


@contextlib.contextmanager
def served_dashboard(
    config: Path, state: Path, port: int, log_dir: Path
) -> Iterator[ServedDashboard]:
    """Serve the dashboard on 127.0.0.1:`port`; on exit stop it and check nothing is left behind."""
    log_path = log_dir / "serve.log"
    command = [
        sys.executable,
        "-m",
        "ccplate_tui",
        "serve",
        "--port",
        str(port),
        "--config",
        str(config),
        "--state",
        str(state),
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    served = ServedDashboard(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_listening(served)
        yield served
    finally:
        served.app_processes()  # note the latest descendants before they go
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(READY_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        leftovers = _wait_gone(served.descendants, READY_TIMEOUT)
        for proc in leftovers:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        assert not leftovers, f"processes left behind by serve: {leftovers}\n{served.log()}"


def _wait_until_listening(served: ServedDashboard) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise AssertionError(f"serve exited with {served.process.returncode}:\n{served.log()}")
        if f"ccplate-tui dashboard: {served.url}" in served.log():
            with urllib.request.urlopen(served.url + "/", timeout=10) as response:  # loopback
                assert response.status == 200
            return
        time.sleep(0.05)
    raise AssertionError(f"serve did not announce {served.url} in time:\n{served.log()}")


def _wait_gone(pids: set[int], timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for pid in pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc = psutil.Process(pid)
                if proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


class DashboardTab:
    """One browser tab on the served dashboard: what the app sent it, keys, screenshots."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url
        self.received = bytearray()
        self.socket_urls: list[str] = []
        page.on("websocket", self._on_websocket)

    def _on_websocket(self, socket: WebSocket) -> None:
        self.socket_urls.append(socket.url)
        socket.on("framereceived", self._on_frame)

    def _on_frame(self, payload: bytes | str) -> None:
        # Binary frames carry the app's terminal output; text frames are meta (pong, ...).
        if isinstance(payload, bytes):
            self.received += payload

    def open(self) -> DashboardTab:
        self.page.goto(self.url, wait_until="load")
        return self

    def screen_text(self) -> str:
        """Everything the app wrote so far: escape sequences and borders removed, spaces collapsed."""
        text = _ANSI.sub(b"", bytes(self.received)).decode("utf-8", "replace")
        # Block elements (U+2580..U+259F) are borders, e.g. a toast's `▌` at each wrapped line.
        return " ".join(_BLOCKS.sub(" ", text).split())

    def wait_for_text(self, *words: str, timeout: float = READY_TIMEOUT) -> str:
        """Wait until the app has written every one of `words`; the screen text so far."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen_text()
            if all(word in text for word in words):
                return text
            if time.monotonic() > deadline:
                missing = [w for w in words if w not in text]
                raise AssertionError(
                    f"the app never wrote {missing} (websockets: {self.socket_urls}); "
                    f"it wrote: {text[-1500:]!r}"
                )
            # Playwright delivers websocket events only while it runs: wait through it.
            self.page.wait_for_timeout(100)

    def wait_until_painted(self) -> None:
        """The page shows the terminal (first bytes arrived) and has painted a couple of frames."""
        self.page.wait_for_function(
            "document.body.classList.contains('-first-byte')", timeout=READY_TIMEOUT * 1000
        )
        self.page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        self.page.wait_for_timeout(500)  # the terminal's 0.3 s fade-in

    def press(self, *keys: str) -> None:
        """Type into the terminal (xterm's hidden textarea holds the keyboard focus)."""
        self.page.focus(".xterm-helper-textarea")
        for key in keys:
            self.page.keyboard.press(key)
            self.page.wait_for_timeout(150)

    def screenshot(self, path: Path) -> bytes:
        path.parent.mkdir(parents=True, exist_ok=True)
        return self.page.screenshot(path=str(path))


PIXEL_STATS_JS = """
async (b64) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + b64;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width; canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, img.width, img.height).data;
  const counts = new Map();
  for (let i = 0; i < data.length; i += 4 * 7) {
    const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  const samples = Math.ceil(data.length / 28);
  const top = Math.max(...counts.values());
  return {colours: counts.size, background_share: top / samples, width: img.width, height: img.height};
}
"""


def pixel_stats(page: Page, png: bytes) -> dict[str, float]:
    """Distinct colours and the most common colour's share in a PNG, decoded by the browser."""
    return page.evaluate(PIXEL_STATS_JS, base64.b64encode(png).decode("ascii"))
