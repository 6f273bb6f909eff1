"""process_lifetime: a guarded command's whole group, and a watching child, end with their owner.

Each test puts a real owner process between itself and the child, kills that owner with
SIGKILL (nothing of the owner runs after it), and waits for the child and grandchild to go.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from ccplate_tui.process_lifetime import EXIT_ORPHANED, guarded_argv

DEADLINE = 10.0


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_gone(pids: list[int], timeout: float = DEADLINE) -> list[int]:
    deadline = time.monotonic() + timeout
    while (alive := [p for p in pids if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def _read_pids(path: Path, count: int, owner: subprocess.Popen[bytes]) -> list[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        words = path.read_text().split() if path.exists() else []
        if len(words) >= count:
            return [int(w) for w in words[:count]]
        assert owner.poll() is None, f"the owner exited early with {owner.returncode}"
        time.sleep(0.05)
    raise AssertionError(f"{path} never held {count} pids")


# The command: a shell whose child sleeps; both write their pids, then wait.
_COMMAND = "sleep 60 & echo $! >> {pids}; echo $$ >> {pids}; wait"

# The owner: runs the command under the guard the way a checklist step does, waits, then
# kills what is left in the step's group (as checklist/runners/command.py does).
_OWNER = textwrap.dedent(
    """
    import contextlib, os, signal, subprocess, sys
    from ccplate_tui.process_lifetime import guarded_argv
    proc = subprocess.Popen(
        guarded_argv(["/bin/sh", "-c", sys.argv[1]]),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    print(proc.pid, flush=True)
    proc.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    """
)


def test_killing_the_owner_ends_the_guarded_group_grandchildren_included(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER, _COMMAND.format(pids=pids_file)], stdout=subprocess.PIPE
    )
    assert owner.stdout is not None
    guard_pid = int(owner.stdout.readline())
    sleeper, shell = _read_pids(pids_file, 2, owner)
    assert all(_alive(p) for p in (guard_pid, shell, sleeper))
    owner.kill()
    owner.wait()
    assert _wait_gone([guard_pid, shell, sleeper]) == [], "the guarded group outlived its owner"


def test_a_guarded_command_reports_its_own_exit_status(tmp_path: Path) -> None:
    ok = subprocess.run(guarded_argv(["/bin/sh", "-c", "exit 3"]), start_new_session=True)
    assert ok.returncode == 3
    killed = subprocess.run(
        guarded_argv(["/bin/sh", "-c", "kill -TERM $$"]), start_new_session=True
    )
    assert killed.returncode == -signal.SIGTERM


def test_a_guard_reports_a_command_it_cannot_start(tmp_path: Path) -> None:
    done = subprocess.run(
        guarded_argv([str(tmp_path / "no-such-program")]),
        start_new_session=True,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 127
    assert "could not start" in done.stderr and "No such file" in done.stderr


def test_a_guard_whose_owner_is_already_gone_starts_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    # Claim an owner that is not our parent: the guard must refuse to start the command.
    argv = guarded_argv(["/bin/sh", "-c", f"touch {marker}"])
    argv[4] = str(os.getpid() + 1_000_000)
    done = subprocess.run(argv, start_new_session=True)
    assert done.returncode == EXIT_ORPHANED
    assert not marker.exists()


def test_the_guard_rejects_a_malformed_command_line() -> None:
    argv = guarded_argv(["true"])
    done = subprocess.run([*argv[:4], "not-a-pid", "true"], capture_output=True, text=True)
    assert done.returncode == 2 and "usage" in done.stderr


# An owner that starts a Python child watching it (as the demo target and workers do).
_WATCHED_OWNER = textwrap.dedent(
    """
    import subprocess, sys
    from ccplate_tui.process_lifetime import owned_env
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import time; from ccplate_tui.process_lifetime import exit_with_owner_from_env; "
         "exit_with_owner_from_env(grace=1.0); print('watching', flush=True); time.sleep(60)"],
        env=owned_env(), stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout.readline() == "watching\\n"
    print(child.pid, flush=True)
    child.wait()
    """
)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_watching_child_ends_soon_after_its_owner(sig: signal.Signals) -> None:
    owner = subprocess.Popen([sys.executable, "-c", _WATCHED_OWNER], stdout=subprocess.PIPE)
    assert owner.stdout is not None
    child = int(owner.stdout.readline())
    assert _alive(child)
    owner.send_signal(sig)
    owner.wait()
    assert _wait_gone([child]) == [], "the child outlived its owner"


# A daemon-style escape: `setsid` puts the sleep in a session (and group) of its own.
_ESCAPING = "setsid sleep 60 & echo $! >> {pids}; echo $$ >> {pids}; {then}"


@pytest.mark.parametrize("then", ["wait", "exit 0"])
def test_a_process_that_left_the_group_goes_too(tmp_path: Path, then: str) -> None:
    """Killed owner (`wait`: the command still runs) or a command that exits leaving it behind."""
    pids_file = tmp_path / "pids"
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER, _ESCAPING.format(pids=pids_file, then=then)],
        stdout=subprocess.PIPE,
    )
    assert owner.stdout is not None
    guard_pid = int(owner.stdout.readline())
    escaped, shell = _read_pids(pids_file, 2, owner)
    if then == "wait":
        # `$!` is known before the child has run setsid: wait for it to have left the group.
        deadline = time.monotonic() + 30
        while os.getpgid(escaped) == guard_pid and time.monotonic() < deadline:
            time.sleep(0.01)
        assert os.getpgid(escaped) != guard_pid, "setsid did not leave the group"
        owner.kill()
    assert owner.wait(60) is not None
    assert _wait_gone([guard_pid, shell, escaped]) == [], "the escaped sleep outlived the step"
