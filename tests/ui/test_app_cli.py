"""`ccplate-tui` without a sub-command: options, bad input, and the demo target auto-start."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import socket
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import psutil
import pytest

from ccplate_tui.cli import build_parser
from ccplate_tui.ui.app import CcplateApp, is_default_target, target_answers
from ccplate_tui.ui.dashboard_command import build_dashboard_app
from ccplate_tui.ui.messages import DemoTargetChecked
from tests.ui.app_fixtures import (
    SIZE,
    MessageLog,
    child_pids,
    demo_target,
    free_port,
    make_app,
    no_new_children,
    wait_for,
    write_config,
)

__all__ = ["demo_target"]


def _main(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccplate_tui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_a_bad_config_prints_the_error_and_exits_2_before_the_app(tmp_path: Path) -> None:
    bad = tmp_path / "scenarios.toml"
    bad.write_text('[target]\nbase_url = "http://127.0.0.1:8787"\n[scenarios.x]\nexecutor = 1\n')
    done = _main("--config", str(bad))
    assert done.returncode == 2
    assert f"{bad}:4" in done.stderr and "scenarios.x.executor" in done.stderr
    assert "Traceback" not in done.stderr
    assert "\x1b[?1049h" not in done.stdout  # the app never took over the screen


def test_a_missing_config_exits_2(tmp_path: Path) -> None:
    done = _main("--config", str(tmp_path / "nope.toml"))
    assert done.returncode == 2 and "no such file" in done.stderr


@pytest.mark.parametrize(("option", "value", "words"), [
    ("--workers", "0", "--workers must be at least 1"),
    ("--time-scale", "0", "--time-scale must be greater than 0"),
])  # fmt: skip
def test_bad_numbers_exit_2(tmp_path: Path, option: str, value: str, words: str) -> None:
    config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}")
    done = _main("--config", str(config), option, value)
    assert done.returncode == 2 and words in done.stderr


def test_the_root_options_build_the_app(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}")
    args = build_parser().parse_args(
        ["--config", str(config), "--run", "quick", "--run", "both", "--theme", "ccplate-light",
         "--workers", "1", "--state", str(tmp_path / "st"), "--time-scale", "0.5"]
    )  # fmt: skip
    app = build_dashboard_app(args)
    assert isinstance(app, CcplateApp)
    assert app.initial_run == ("quick", "both")
    assert app.theme == "ccplate-light"
    assert app.engine_workers == 1
    assert app.state_dir == tmp_path / "st"
    assert app.config.scenarios["quick"].executor.duration == 1.0  # 2s scaled by 0.5


def test_the_state_folder_defaults_to_beside_the_config(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("CCPLATE_TUI_STATE_DIR", raising=False)
    config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}")
    app = build_dashboard_app(build_parser().parse_args(["--config", str(config)]))
    assert isinstance(app, CcplateApp)
    assert app.state_dir == tmp_path.resolve() / ".ccplate"


def test_sub_commands_keep_their_own_options(tmp_path: Path) -> None:
    args = build_parser().parse_args(["run", "quick", "--config", "x.toml", "--workers", "3"])
    assert args.config == "x.toml" and args.workers == 3
    assert args.dashboard_config == "scenarios.toml" and args.dashboard_workers is None


def test_only_the_default_url_is_the_demo_target() -> None:
    assert is_default_target("http://127.0.0.1:8787")
    assert is_default_target("http://127.0.0.1:8787/")
    assert not is_default_target("http://127.0.0.1:8788")
    assert not is_default_target("http://localhost:8787")


async def test_a_non_default_target_is_never_started(tmp_path: Path) -> None:
    port = free_port()
    app = make_app(write_config(tmp_path, f"http://127.0.0.1:{port}"))
    before = child_pids()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app._target_checked.is_set, what="the target check")
        await pilot.pause()
        assert app.target_process is None and app.demo_target_url is None
        assert "demo target" not in app.sub_title
        assert child_pids() - before == set()
    assert not target_answers(f"http://127.0.0.1:{port}")


def _port_busy(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_the_default_target_is_started_when_nothing_answers_and_stopped_on_exit(
    tmp_path: Path,
) -> None:
    if _port_busy(8787):
        pytest.skip("something already listens on 127.0.0.1:8787")
    app = make_app(write_config(tmp_path, "http://127.0.0.1:8787"))
    log = MessageLog()
    before = child_pids()
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await wait_for(pilot, lambda: log.of(DemoTargetChecked), timeout=40, what="the target")
        await pilot.pause()
        assert log.of(DemoTargetChecked)[0].url == "http://127.0.0.1:8787"
        assert "demo target started on http://127.0.0.1:8787" in app.sub_title
        assert app.target_process is not None and target_answers("http://127.0.0.1:8787")
    assert await no_new_children(before) == set()
    assert not _port_busy(8787)


async def test_a_running_default_target_is_used_not_restarted(tmp_path: Path) -> None:
    if _port_busy(8787):
        pytest.skip("something already listens on 127.0.0.1:8787")
    from ccplate_tui.target.server import start_target_process, stop_target_process

    proc, _ = start_target_process(port=8787)
    try:
        app = make_app(write_config(tmp_path, "http://127.0.0.1:8787"))
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, app._target_checked.is_set, what="the target check")
            await pilot.pause()
            assert app.target_process is None and "demo target" not in app.sub_title
    finally:
        stop_target_process(proc)


def _text(screen: bytearray) -> str:
    """What a terminal shows, roughly: the output without its escape sequences."""
    text = screen.decode(errors="replace")
    return re.sub(r"\x1b(\[[0-9;?<>=$]*[A-Za-z~]|\][^\x07]*\x07|[()][A-Z0-9])", "", text)


def _read_for(fd: int, seconds: float, into: bytearray) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                into += os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                return


def _spawned_workers(pid: int) -> list[psutil.Process]:
    """The engine's worker processes under `pid`; a process that ends while being looked at
    (a short-lived child, gone or a zombie by then) is none."""
    workers = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                workers.append(child)
        except psutil.Error:  # NoSuchProcess, ZombieProcess, AccessDenied
            pass
    return workers


def _read_until(fd: int, text: str, timeout: float, into: bytearray) -> bool:
    """Read the terminal until it shows `text` (True), or for `timeout` seconds (False)."""
    end = time.monotonic() + timeout
    while text not in _text(into):
        if time.monotonic() > end:
            return False
        _read_for(fd, 0.1, into)
    return True


def test_in_a_real_terminal_run_opens_the_run_and_quit_asks_then_reaps_everything(
    demo_target: str, tmp_path: Path
) -> None:
    """`ccplate-tui --run long` on a pseudo-terminal; ctrl+q, then y: exit 0, nothing left."""
    config = write_config(tmp_path, demo_target)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    env = {**os.environ, "TERM": "xterm-256color"}
    app = subprocess.Popen(
        [sys.executable, "-m", "ccplate_tui", "--config", str(config), "--run", "long",
         "--workers", "1", "--state", str(tmp_path / "state")],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    screen = bytearray()
    try:
        deadline = time.monotonic() + 60
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline:  # the engine's worker process shows up
            _read_for(master, 0.2, screen)
            workers = _spawned_workers(app.pid)
            if workers:
                break
        assert workers, "the --run run never started a worker"
        _read_for(master, 1.0, screen)
        os.write(master, b"\x11")  # ctrl+q
        asked = _read_until(master, "Stop the run and quit", 60, screen)
        assert asked, f"ctrl+q never asked to stop the run; the terminal shows:\n{_text(screen)}"
        os.write(master, b"y")
        deadline = time.monotonic() + 60
        while app.poll() is None and time.monotonic() < deadline:
            _read_for(master, 0.2, screen)  # a terminal nobody reads would block the app
        code = app.wait(5)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(10)
        os.close(master)
    assert code == 0
    assert "Traceback" not in _text(screen)
    assert not [p for p in workers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_the_command_line_imports_textual_only_for_the_dashboard() -> None:
    code = (
        "import sys; from ccplate_tui.cli import build_parser; build_parser(); "
        "print('textual' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
