"""The served dashboard's driver ends the app on every way a tab or `serve` can go.

The real dashboard runs in a subprocess under `DashboardWebDriver`, spoken to as textual-serve
does (length-prefixed packets on stdin, `__GANGLION__` then frames on stdout).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import psutil
import pytest

from ccplate_tui.process_lifetime import OWNER_ENV
from ccplate_tui.ui.serve_apps import DRIVER

EXIT_TIMEOUT = 30.0
"""Generous bound for a loaded machine; the driver's own last resort is 8 s."""


def _config(tmp_path: Path) -> Path:
    # A target nobody listens on and that is not the demo default: the app starts nothing.
    config = tmp_path / "scenarios.toml"
    config.write_text(
        '[target]\nbase_url = "http://127.0.0.1:9"\n\n'
        '[scenarios.smoke]\nexecutor = "constant-vus"\nvus = 1\nduration = "1s"\n\n'
        '[[scenarios.smoke.requests]]\nname = "ok"\npath = "/ok"\n'
    )
    return config


def _env(owner: int | None = None) -> dict[str, str]:
    env = dict(os.environ, TEXTUAL_DRIVER=DRIVER, COLUMNS="142", ROWS="35")
    env.pop(OWNER_ENV, None)
    if owner is not None:
        env[OWNER_ENV] = str(owner)
    return env


def _meta(data: dict[str, object]) -> bytes:
    payload = json.dumps(data).encode()
    return b"M" + len(payload).to_bytes(4, "big") + payload


def _argv(tmp_path: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ccplate_tui",
        "--config",
        str(_config(tmp_path)),
        "--state",
        str(tmp_path / "state"),
    ]


def _start(tmp_path: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        _argv(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_env(),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"__GANGLION__\n"
    return proc


def _drain(proc: subprocess.Popen[bytes], first_frame: threading.Event) -> None:
    assert proc.stdout is not None
    seen = b""
    while chunk := proc.stdout.read1(65536):
        if not first_frame.is_set():
            seen += chunk
            if b"ccplate-tui" in seen:
                first_frame.set()


def test_a_quit_before_mount_still_ends_the_app(tmp_path: Path) -> None:
    proc = _start(tmp_path)
    assert proc.stdin is not None
    # What a browser leaving at once sends: two sizes, then quit, all before the first frame.
    for packet in (
        _meta({"type": "resize", "width": 142, "height": 40}),
        _meta({"type": "resize", "width": 142, "height": 35}),
        _meta({"type": "quit"}),
    ):
        proc.stdin.write(packet)
    proc.stdin.flush()
    threading.Thread(target=_drain, args=(proc, threading.Event()), daemon=True).start()
    assert proc.wait(EXIT_TIMEOUT) == 0


def test_stdin_reaching_end_of_file_ends_the_app(tmp_path: Path) -> None:
    proc = _start(tmp_path)
    first_frame = threading.Event()
    threading.Thread(target=_drain, args=(proc, first_frame), daemon=True).start()
    assert first_frame.wait(60), "the dashboard never drew its first frame"
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(EXIT_TIMEOUT) == 0


def test_sigterm_ends_the_app(tmp_path: Path) -> None:
    proc = _start(tmp_path)
    first_frame = threading.Event()
    threading.Thread(target=_drain, args=(proc, first_frame), daemon=True).start()
    assert first_frame.wait(60), "the dashboard never drew its first frame"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(EXIT_TIMEOUT) == 0


# An owner standing in for `serve`: starts the app with its pid in OWNER_ENV, reports the app's
# pid, then waits to be killed. The app's stdin is a pipe the test keeps open, so only the
# parent's death can end the app.
_OWNER = textwrap.dedent(
    """
    import os, subprocess, sys
    read_end = int(sys.argv[1])
    env = dict(os.environ, CCPLATE_OWNER_PID=str(os.getpid()))
    app = subprocess.Popen(sys.argv[2:], stdin=read_end, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env=env)
    print(app.pid, flush=True)
    app.wait()
    """
)


@pytest.mark.slow
def test_the_app_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    try:
        owner = subprocess.Popen(
            [sys.executable, "-c", _OWNER, str(read_end), *_argv(tmp_path)],
            stdout=subprocess.PIPE,
            pass_fds=(read_end,),
            env=_env(),
        )
        os.close(read_end)
        assert owner.stdout is not None
        app = psutil.Process(int(owner.stdout.readline()))
        # Killed at once or later, it is the same: the driver compares its parent with the
        # owner it was given, so an app whose owner died before it started ends too.
        owner.kill()
        owner.wait()
        _gone, alive = psutil.wait_procs([app], timeout=EXIT_TIMEOUT)
        assert not alive, f"the app outlived its parent: {app.cmdline()}"
    finally:
        os.close(write_end)
