"""Issue 11 for the dashboard's owners: the dashboard in a terminal, and `ccplate-tui serve`.

Each case starts the real owner, starts a load run in it (`--run` in a pseudo-terminal, or keys
typed into a real headless Chromium tab through Playwright), kills the owner with SIGTERM, SIGINT,
SIGHUP or SIGKILL at a seeded random moment of the run and checks, within 10 s of the kill: no
process the owner started is alive (dashboard, engine workers, demo target), no port they opened
still listens, and the run is in the history as interrupted with every committed interval.
Then the early-leaving browser: 20 `chromium --headless --screenshot` visits in a row leave no
dashboard process behind `serve` 15 s later, and SIGTERM to `serve` with two tabs open leaves
nothing within 15 s. Load goes only to loopback servers the test starts; the browser only talks
to 127.0.0.1. The seed of each case is printed and named in its failures.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from ccplate_tui.history.store import HistoryStore
from ccplate_tui.load.run_registry import RunRegistry
from ccplate_tui.ui.serve_apps import DRIVER
from tests.lifecycle_fixtures import (
    SIGNALS,
    START_TIMEOUT,
    CliOwner,
    ProcessWatch,
    PtyJob,
    Seen,
    assert_cleaned_up,
    assert_run_recorded,
    ccplate_argv,
    committed_intervals,
    fixture_target,
    free_port,
    kill_at_random_moment,
    make_case,
    new_marker,
    owner_env,
    scenario_toml,
    wait_for,
)
from tests.ui.serve_fixtures import (
    CHROMIUM_FLAGS,
    DashboardTab,
    find_chromium,
    launch_chromium,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

TAB_TITLES = ("Overview", "Load", "Sentry", "Checklist")
VIEWPORT = {"width": 1280, "height": 800}
SERVE_LIMIT = 15.0
"""The issue's bound for `serve` itself: SIGTERM with two tabs open, and the early-leaving tabs."""
DEMO_TARGET = "http://127.0.0.1:8787"
SCREENSHOT_VISITS = 20


@pytest.fixture(scope="module")
def chromium() -> str:
    path, why = find_chromium()
    if path is None:
        pytest.skip(f"no Chromium for the browser lifecycle tests: {why}")
    return path


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, chromium)
        try:
            yield browser
        finally:
            browser.close()


def _is_worker(seen: Seen) -> bool:
    return "multiprocessing.spawn" in seen.cmdline


def _is_app(seen: Seen) -> bool:
    """A tab's dashboard (`python -m ccplate_tui --config ...`), not a fork of serve itself."""
    return "-m ccplate_tui --config" in seen.cmdline


def _tab_apps(seen: list[Seen], serve_pid: int) -> set[int]:
    """The pids of the dashboards `serve` started for its tabs.

    Only serve's own children count: a child an app forks (`git rev-parse` at a run's start)
    carries the app's command line until it execs, and one that ends before the watch looks
    again is never seen under its own.
    """
    return {s.pid for s in seen if _is_app(s) and s.parent == serve_pid}


def _run_of(state: Path, pid: int) -> bool:
    """A run owned by `pid` is registered and has a committed interval."""
    info = RunRegistry(state).current()
    return info is not None and info.pid == pid and committed_intervals(state)[1] >= 1


# --- the dashboard in a terminal ---------------------------------------------------------------


def _dashboard_case(
    sig: signal.Signals, tmp_path: Path, base_url: str, *, demo: bool, path: str
) -> None:
    case = make_case("dashboard with the demo target" if demo else "dashboard", sig)
    config = tmp_path / "scenarios.toml"
    config.write_text(scenario_toml(base_url, path=path))
    state = tmp_path / "state"
    argv = ccplate_argv(
        "--config", str(config), "--state", str(state), "--run", "smoke",
        "--time-scale", "0.05", "--workers", "2",
    )  # fmt: skip
    marker = new_marker()
    job = PtyJob(argv, tmp_path, marker, size=(120, 40))
    try:
        with ProcessWatch(job.pid, marker, exclude=(job.shell.pid,)) as watch:
            if demo:
                _wait_for_demo_target(job, watch)
            # Demonstrably started: the run is registered to the dashboard, an interval is
            # committed and the engine's workers are up.
            wait_for(
                lambda: _run_of(state, job.pid) and len(watch.processes(_is_worker)) >= 2,
                "the dashboard's run, its first committed interval and its workers",
                context=job.text,
            )
            killed_at = kill_at_random_moment(job.pid, case)
            run_id, acknowledged = committed_intervals(state)
            assert_cleaned_up(watch, killed_at, case)
            case.note(f"dashboard exit {job.exit_code()}")
            if demo:  # the dashboard said so too
                assert "demo target started on" in job.text(), f"{case}\n{job.text()[-3000:]}"
        assert run_id is not None, case
        assert_run_recorded(state, run_id, acknowledged, case)
        assert "Traceback" not in job.text(), f"{case}\n{job.text()[-3000:]}"
    finally:
        job.close()


def _wait_for_demo_target(job: PtyJob, watch: ProcessWatch) -> None:
    """The dashboard started the demo target: its process listens on 8787."""
    try:
        wait_for(
            lambda: (
                any("ccplate_tui.target" in s.cmdline for s in watch.alive())
                and 8787 in {item.port for item in watch.listeners}
            ),
            "the demo target the dashboard starts",
            context=job.text,
        )
    except AssertionError:
        if _answers(DEMO_TARGET):
            pytest.skip(f"something else started listening on {DEMO_TARGET} meanwhile")
        raise


def _answers(url: str) -> bool:
    host, port = url.rsplit("/", 1)[-1].split(":")
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, int(port))) == 0


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_dashboard_in_a_terminal(sig: signal.Signals, tmp_path: Path) -> None:
    with fixture_target() as url:
        _dashboard_case(sig, tmp_path, url, demo=False, path="/ok")


def test_dashboard_that_started_the_demo_target(tmp_path: Path) -> None:
    """The one case where the dashboard starts the demo target itself (default address)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the target binds
        try:
            probe.bind(("127.0.0.1", 8787))
        except OSError:
            pytest.skip(
                f"port 8787 is in use on this machine, so the dashboard would not start the "
                f"demo target at {DEMO_TARGET} (it only starts it when nothing answers there)"
            )
    _dashboard_case(signal.SIGKILL, tmp_path, DEMO_TARGET, demo=True, path="/api/health")


# --- ccplate-tui serve -------------------------------------------------------------------------


@contextlib.contextmanager
def _serve(
    tmp_path: Path, config: Path, state: Path, marker: str
) -> Iterator[tuple[CliOwner, str]]:
    port = free_port()
    argv = ccplate_argv(
        "serve", "--port", str(port), "--config", str(config), "--state", str(state)
    )
    owner = CliOwner.start(argv, tmp_path, marker)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: f"ccplate-tui dashboard: {url}" in owner.out(),
            "serve announcing its URL",
            alive=owner.process,
            context=owner.output,
        )
        assert _get(url) == 200
        yield owner, url
    finally:
        if owner.process.poll() is None:
            owner.process.kill()
        owner.reap()


def _get(url: str) -> int:
    with urllib.request.urlopen(url + "/", timeout=10) as response:  # loopback only
        return response.status


def _tab(browser: Browser, url: str) -> DashboardTab:
    tab = DashboardTab(browser.new_page(viewport=VIEWPORT), url).open()
    tab.wait_for_text(*TAB_TITLES)
    return tab


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_serve_with_a_run_in_a_browser_tab(
    sig: signal.Signals, browser: Browser, tmp_path: Path
) -> None:
    case = make_case("serve", sig)
    state = tmp_path / "state"
    marker = new_marker()
    with fixture_target() as target:
        config = tmp_path / "scenarios.toml"
        config.write_text(scenario_toml(target, duration="5s"))  # serve has no --time-scale
        with (
            _serve(tmp_path, config, state, marker) as (owner, url),
            ProcessWatch(owner.process.pid, marker) as watch,
        ):
            tab = _tab(browser, url)
            try:
                tab.press("2", "Control+r")  # the Load tab; start the highlighted scenario
                wait_for(
                    lambda: (
                        any(_run_of(state, s.pid) for s in watch.processes(_is_app))
                        and len(watch.processes(_is_worker)) >= 2
                    ),
                    "the tab's run, its first committed interval and its workers",
                    context=lambda: tab.screen_text()[-1500:],
                )
                killed_at = kill_at_random_moment(owner.process, case)
                run_id, acknowledged = committed_intervals(state)
                code = owner.reap()
                case.note(f"serve exit {code}")
                cleanup = assert_cleaned_up(watch, killed_at, case)
                # One tab, one app process.
                assert len(_tab_apps(cleanup.seen, owner.process.pid)) == 1, cleanup.summary()
            finally:
                tab.page.close()
    assert run_id is not None, case
    assert_run_recorded(state, run_id, acknowledged, case)
    if sig != signal.SIGKILL:  # serve shut down by itself, ending its tabs' apps
        assert code == 0, f"{case}\n{owner.output()}"
        assert "Traceback" not in owner.err(), f"{case}\n{owner.output()}"


def test_serve_sigterm_with_two_tabs_open(browser: Browser, tmp_path: Path) -> None:
    case = make_case("serve with two tabs", signal.SIGTERM)
    state = tmp_path / "state"
    marker = new_marker()
    with fixture_target() as target:
        config = tmp_path / "scenarios.toml"
        config.write_text(scenario_toml(target, duration="20s"))
        with (
            _serve(tmp_path, config, state, marker) as (owner, url),
            ProcessWatch(owner.process.pid, marker) as watch,
        ):
            first = _tab(browser, url)
            second = None
            try:
                first.press("2", "Control+r")  # a run in the first tab...
                wait_for(
                    lambda: any(_run_of(state, s.pid) for s in watch.processes(_is_app)),
                    "the first tab's run",
                    context=lambda: first.screen_text()[-1500:],
                )
                second = _tab(browser, url)  # ...and a second tab (which follows that run)
                wait_for(lambda: len(_tab_apps(watch.alive(), owner.process.pid)) == 2,
                             "two dashboard processes")  # fmt: skip
                killed_at = kill_at_random_moment(owner.process, case)
                run_id, acknowledged = committed_intervals(state)
                code = owner.reap()
                cleanup = assert_cleaned_up(watch, killed_at, case, limit=SERVE_LIMIT)
                assert len(_tab_apps(cleanup.seen, owner.process.pid)) == 2, cleanup.summary()
            finally:
                for tab in (first, second):
                    if tab is not None:
                        tab.page.close()
    assert code == 0, f"{case}\n{owner.output()}"
    assert "Traceback" not in owner.err(), f"{case}\n{owner.output()}"
    assert run_id is not None, case
    assert_run_recorded(state, run_id, acknowledged, case)


def test_a_served_dashboard_whose_output_nobody_reads_stops_its_run(tmp_path: Path) -> None:
    """The tab's end of `serve` killed: the dashboard's next frame meets a closed pipe (EPIPE).

    Found by the SIGKILL case above: when that write came before the dashboard had seen its
    stdin close or its SIGTERM, Textual took the BrokenPipeError as a fatal error, shut down
    without the app's unmount and so without stopping the run, which went on sending load until
    the driver's 8 s deadline (or ran to its end and was recorded `finished`). Here only the
    output is closed (stdin stays open, the parent lives), so nothing else can end it.
    """
    case = make_case("served dashboard, output closed", signal.SIGPIPE)
    state = tmp_path / "state"
    with fixture_target() as target:
        config = tmp_path / "scenarios.toml"
        config.write_text(scenario_toml(target, duration="60s"))
        marker = new_marker()
        env = owner_env(marker, TEXTUAL_DRIVER=DRIVER, COLUMNS="120", ROWS="40")
        err = tmp_path / "app.err"
        argv = ccplate_argv(
            "--config", str(config), "--state", str(state), "--run", "smoke", "--workers", "2",
        )  # fmt: skip
        with open(err, "wb") as err_file:
            app = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err_file,
                env=env,
            )
        assert app.stdin is not None and app.stdout is not None
        try:
            assert app.stdout.readline() == b"__GANGLION__\n"
            app.stdin.write(_meta({"type": "resize", "width": 120, "height": 40}))
            app.stdin.flush()
            with ProcessWatch(app.pid, marker) as watch:
                reading = _Drain(app.stdout.fileno())
                wait_for(
                    lambda: _run_of(state, app.pid) and len(watch.processes(_is_worker)) >= 2,
                    "the served dashboard's run, its first interval and its workers",
                    alive=app,  # type: ignore[arg-type]
                    context=err.read_text,
                )
                reading.stop()
                closed_at = time.monotonic()
                app.stdout.close()  # serve's end of the pipe: gone
                run_id, acknowledged = committed_intervals(state)
                assert_cleaned_up(watch, closed_at, case)
                code = app.wait(5)
            case.note(f"dashboard exit {code}")
        finally:
            if app.poll() is None:
                app.kill()
                app.wait(10)
            app.stdin.close()
    assert run_id is not None, case
    assert_run_recorded(state, run_id, acknowledged, case)
    with HistoryStore(state / "history.sqlite3") as store:
        notes = [a.text for a in store.annotations(run_id)]
    assert any("its end of the output closed" in n for n in notes), f"{case}: {notes}"
    assert "Traceback" not in err.read_text(), f"{case}\n{err.read_text()[-3000:]}"


def _meta(data: dict[str, object]) -> bytes:
    payload = json.dumps(data).encode()
    return b"M" + len(payload).to_bytes(4, "big") + payload


class _Drain:
    """Reads a pipe in a thread until stopped (as serve reads a tab's dashboard)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drain", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready and not os.read(self.fd, 65536):
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.mark.timeout(600)
def test_serve_outlives_tabs_that_leave_at_once(
    chromium: str, browser: Browser, tmp_path: Path
) -> None:
    """`chromium --headless --screenshot URL` leaves as soon as the page has loaded: 20 of them
    in a row, and 15 s after the last no dashboard process is alive under `serve`, which still
    answers (and serves a working dashboard)."""
    case = make_case("serve and early-leaving chromium", signal.SIGTERM)
    state = tmp_path / "state"
    config = tmp_path / "scenarios.toml"
    config.write_text(scenario_toml(f"http://127.0.0.1:{free_port()}"))  # nothing loaded
    marker = new_marker()
    visits: list[str] = []
    with (
        _serve(tmp_path, config, state, marker) as (owner, url),
        ProcessWatch(owner.process.pid, marker) as watch,
    ):
        for number in range(SCREENSHOT_VISITS):
            visits.append(_screenshot(chromium, url, tmp_path, number))
        last_left = time.monotonic()
        apps = watch.processes(_is_app)
        case.note(f"{len(apps)} dashboards started for {SCREENSHOT_VISITS} visits: {visits}")
        assert apps, f"{case}: no visit got as far as starting a dashboard: nothing was tested"
        cleanup = assert_cleaned_up(watch, last_left, case, limit=SERVE_LIMIT)
        lives = sorted(s.gone_at - s.first_seen for s in watch.processes(_is_app) if s.gone_at)
        late = [line for line in owner.output().splitlines() if "did not end" in line]
        print(
            f"dashboard lifetimes (s): {' '.join(f'{t:.1f}' for t in lives)}; "
            f"serve had to signal {len(late)}: {late}",
            flush=True,
        )
        # Gone because their tabs left, while serve kept running: it still answers.
        assert owner.process.poll() is None, f"{case}\n{owner.output()}"
        assert _get(url) == 200, case
        tab = _tab(browser, url)  # and a new tab still gets a working dashboard
        tab.page.close()
        print(f"{case}; {len(cleanup.seen)} processes seen", flush=True)
        owner.process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        assert owner.reap() == 0, f"{case}\n{owner.output()}"
        assert_cleaned_up(watch, stopped_at, case, limit=SERVE_LIMIT)
    assert "Traceback" not in owner.err(), f"{case}\n{owner.output()}"


def _screenshot(chromium: str, url: str, tmp_path: Path, number: int) -> str:
    """One `chromium --headless --screenshot` visit (its own profile, bounded in time)."""
    shot = tmp_path / f"visit-{number}.png"
    argv = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={tmp_path / f'profile-{number}'}",
        f"--screenshot={shot}",
        "--window-size=1280,720",
        url + "/",
    ]
    started = time.monotonic()
    browser = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        code = browser.wait(START_TIMEOUT)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(browser.pid, signal.SIGKILL)  # its helpers too
        browser.wait(10)
    took = time.monotonic() - started
    assert code == 0 and shot.exists(), f"visit {number}: chromium exit {code} after {took:.1f} s"
    return f"{took:.1f}s"
