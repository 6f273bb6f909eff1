"""Every process the tool starts ends with its owner, however the owner ends (kill -9 included).

Two mechanisms, one rule. A child whose starting thread waits for it (k6, a command step's
guard) gets Linux's parent-death signal, set between fork and exec. A Python child of ours that
may be started from a short-lived thread (the demo target, an engine worker, a served dashboard)
watches its parent pid instead: the death signal fires when the *thread* that forked the child
ends, not the process. A child with children of its own (a command step: `npm test` starts
node) runs under `guard`, this file as a script: the guard leads the step's process group and
ends the whole group when its owner goes. Stdlib only, so the guard starts in milliseconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

OWNER_ENV = "CCPLATE_OWNER_PID"
"""Set by an owner for a Python child it starts: the pid the child must outlive no longer."""

WATCH_INTERVAL = 0.2
"""Seconds between a watcher's looks at its parent pid: an orphan goes within this."""

GROUP_GRACE = 2.0
"""Seconds a guarded group gets between SIGTERM and SIGKILL once its owner has gone."""

EXIT_ORPHANED = 70
"""Exit status of a child that ended itself because its owner went (EX_SOFTWARE)."""

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return False
    return prctl(option, value, 0, 0, 0) == 0


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send `sig` to this process when its parent thread ends; False elsewhere."""
    return _prctl(_PR_SET_PDEATHSIG, int(sig))


def parent_death_hook(sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A `preexec_fn` giving the child `sig` when the calling thread ends; None off Linux.

    Only for children the calling thread waits for: the signal follows the thread, not the
    process.
    """
    if not sys.platform.startswith("linux"):
        return None

    def hook() -> None:
        set_parent_death_signal(sig)

    return hook


def watch_owner(
    owner_pid: int, on_orphaned: Callable[[], None], interval: float = WATCH_INTERVAL
) -> threading.Thread:
    """Call `on_orphaned` once, from a daemon thread, when this process's parent is no longer
    `owner_pid` (the owner died and the child was re-parented); at once if it already is not."""

    def watch() -> None:
        while os.getppid() == owner_pid:
            time.sleep(interval)
        on_orphaned()

    thread = threading.Thread(target=watch, name="owner-watch", daemon=True)
    thread.start()
    return thread


def end_self(grace: float) -> None:
    """SIGTERM this process (its own handlers shut it down cleanly), then exit hard after
    `grace` seconds if they could not."""
    with contextlib.suppress(OSError):
        os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace)
    os._exit(EXIT_ORPHANED)


def owner_from_env() -> int | None:
    """The owner pid an owner put in `OWNER_ENV`, removed so our own children do not inherit it."""
    text = os.environ.pop(OWNER_ENV, "")
    return int(text) if text.isdigit() and int(text) > 1 else None


def exit_with_owner_from_env(grace: float = 5.0) -> int | None:
    """When an owner started this process (`OWNER_ENV`), end it soon after that owner ends."""
    owner = owner_from_env()
    if owner is not None:
        watch_owner(owner, lambda: end_self(grace))
    return owner


def owned_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for a Python child that must end with this process."""
    env = dict(os.environ if base is None else base)
    env[OWNER_ENV] = str(os.getpid())
    return env


def guarded_argv(argv: list[str]) -> list[str]:
    """`argv` run under a guard that ends its whole process group when this process ends.

    Start it with `start_new_session=True`: the guard must lead its group.
    """
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), str(os.getpid()), "--", *argv]


def _descendants(pid: int) -> list[int]:
    """Every live descendant of `pid`, read from /proc (empty where there is none)."""
    found: list[int] = []
    queue = [pid]
    while queue:
        parent = queue.pop()
        try:
            threads = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in threads:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as children:
                    pids = [int(word) for word in children.read().split()]
            except (OSError, ValueError):
                continue
            found += pids
            queue += pids
    return found


def _signal_escaped(sig: int) -> None:
    """Send `sig` to descendants that left this group (`setsid`, a daemon's double fork): a
    group signal misses them, and as our subreaper children they are still ours to end."""
    group = os.getpgrp()
    for pid in _descendants(os.getpid()):
        with contextlib.suppress(OSError):
            if os.getpgid(pid) != group:
                os.kill(pid, sig)


def _hold_leftovers() -> None:
    """After the command exits: kill what it left outside this group and stop what it left in
    it, so nothing can leave the group before the owner kills what is left there."""
    group = os.getpgrp()
    seen: set[int] = set()
    while pending := [pid for pid in _descendants(os.getpid()) if pid not in seen]:
        for pid in pending:
            seen.add(pid)
            with contextlib.suppress(OSError):
                if os.getpgid(pid) == group:
                    os.kill(pid, signal.SIGSTOP)
                if os.getpgid(pid) != group:  # again: it may have left before it stopped
                    os.kill(pid, signal.SIGKILL)


def _pass_on(signum: int, _frame: object) -> None:
    # The group got it already; the child acts on its own and the guard waits to report it.
    _signal_escaped(signum)


def _end_group(child: subprocess.Popen[bytes]) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.killpg(0, signal.SIGTERM)
    _signal_escaped(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(GROUP_GRACE)
    _signal_escaped(signal.SIGKILL)
    os.killpg(0, signal.SIGKILL)  # the guard goes with its group


def guard(owner_pid: int, argv: list[str]) -> int:
    """Run `argv` in this process group until it exits (its status is ours) or the owner goes."""
    if os.getpgrp() != os.getpid():
        os.setpgid(0, 0)
    if os.getppid() != owner_pid:
        return EXIT_ORPHANED
    # A Python handler (not SIG_IGN) because exec resets handlers but keeps ignored signals.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _pass_on)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)  # orphans of the command become ours, not init's
    try:
        child = subprocess.Popen(argv)
    except OSError as exc:
        print(f"could not start {argv[0]}: {exc.strerror or exc}", file=sys.stderr, flush=True)
        return 127
    while True:
        try:
            code = child.wait(WATCH_INTERVAL)
            break
        except subprocess.TimeoutExpired:
            if os.getppid() != owner_pid:
                _end_group(child)
    _hold_leftovers()
    if code < 0:  # killed by a signal: die of the same one, so the owner sees it as such
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        return 128 - code
    return code


def _main(args: list[str]) -> int:
    if len(args) < 3 or args[1] != "--" or not args[0].isdigit():
        print("usage: process_lifetime.py OWNER_PID -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    return guard(int(args[0]), args[2:])


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
