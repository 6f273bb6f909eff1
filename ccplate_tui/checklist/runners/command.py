"""Kind `command`: run an argv from scenarios.toml in its own process group, keep the output tail.

No shell unless the step says `shell = true`. A timeout or a cancel kills the whole group (a
child `sleep` too), and whatever the command left running in its group when it exited is killed
as well: a checklist step must not leave processes behind the operator's back. The group is led
by a guard (`process_lifetime.guard`) that ends it when this process dies, however it dies.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import select
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO, Any

from ccplate_tui.checklist.model import CommandSpec, Step
from ccplate_tui.checklist.outcome import StepOutcome
from ccplate_tui.checklist.runners import Progress, RunContext
from ccplate_tui.checklist.runners.common import clean_evidence, seconds, secrets_of
from ccplate_tui.masking import MASK, mask_argv, mask_secrets
from ccplate_tui.process_lifetime import guarded_argv

TAIL_LINES = 200
OUTPUT_LIMIT = 64_000
"""Characters of output kept in the evidence: the state file is rewritten whole on each event."""
LINE_LIMIT = 2000
"""Characters kept of one output line (a minified bundle on one line must not fill the state)."""
_PARTIAL_LIMIT = 16 * 1024
"""Bytes of one line kept while reading (the shown line is cut to LINE_LIMIT characters)."""
KILL_GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL of the group: time for a clean exit, not for a hang."""
_PROGRESS_EVERY = 0.25
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def run_command(
    step: Step,
    ctx: RunContext,
    cancel: threading.Event,
    progress: Progress | None = None,
) -> StepOutcome:
    """Run the step's command; passes on exit 0."""
    if step.command is None:
        return StepOutcome("failed", "the step has no command", {"reason": "no command"})
    return run_command_spec(
        step.command, cancel, base_dir=Path(ctx.config.path).parent, progress=progress
    )


def run_command_spec(
    spec: CommandSpec,
    cancel: threading.Event,
    *,
    base_dir: Path | None = None,
    progress: Progress | None = None,
) -> StepOutcome:
    """Run one command (a step's or a timer's probe) and judge it by its exit code."""
    extra = secrets_of(spec.env)
    shown = mask_argv(spec.argv, extra)
    # A value hidden after a secret flag (`--token abc`) is hidden in the output too.
    extra = (*extra, *(a for a, m in zip(spec.argv, shown, strict=True) if m == MASK != a))
    evidence: dict[str, Any] = {"argv": list(shown), "shell": spec.shell}
    if not spec.argv or not spec.argv[0] or (spec.shell and len(spec.argv) != 1):
        reason = "a shell command is one string" if spec.shell else "the argv is empty"
        return StepOutcome("failed", f"bad command: {reason}", {**evidence, "reason": reason})
    cwd = _resolve_cwd(spec.cwd, base_dir)
    if cwd is not None:
        evidence["cwd"] = str(cwd)
        if not cwd.is_dir():
            reason = f"the working folder {cwd} does not exist"
            return StepOutcome("failed", reason, {**evidence, "reason": reason})
    if cancel.is_set():
        return StepOutcome("cancelled", "cancelled before it started", evidence)
    env = {**os.environ, **dict(spec.env)}
    argv = ["/bin/sh", "-c", spec.argv[0]] if spec.shell else list(spec.argv)
    problem = None if spec.shell else executable_problem(argv[0], cwd, env)
    started = time.monotonic()
    try:
        if problem is not None:
            raise OSError(problem)
        # The guard leads the step's group and ends it if we die, even by kill -9.
        proc = subprocess.Popen(
            guarded_argv(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,  # a prompt gets EOF instead of hanging the step
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        reason = mask_secrets(f"could not start {spec.argv[0]}: {exc.strerror or exc}", extra)
        return StepOutcome("failed", reason, {**evidence, "reason": reason})
    assert proc.stdout is not None
    tail = _Tail(proc.stdout, progress, extra)
    tail.start()
    stop = _wait(proc, cancel, started + spec.timeout)
    if stop is not None:
        _kill_group(proc)
    elif _kill_leftovers(proc.pid):
        evidence["leftovers_killed"] = True
    tail.finish()
    duration = time.monotonic() - started
    output, lines = tail.text(), tail.count
    evidence.update(
        exit_code=proc.returncode,
        duration_s=round(duration, 3),
        output=mask_secrets(output, extra),
        lines=lines,
        truncated=lines > tail.kept,
    )
    return _judge(proc.returncode, stop, duration, spec.timeout, evidence)


def _judge(
    code: int, stop: str | None, duration: float, timeout: float, evidence: dict[str, Any]
) -> StepOutcome:
    if stop == "cancelled":
        summary = f"cancelled after {seconds(duration)} (process group killed)"
        return StepOutcome("cancelled", summary, clean_evidence({**evidence, "reason": summary}))
    if stop == "timeout":
        summary = f"timed out after {seconds(timeout)} (process group killed)"
        evidence.update(timed_out=True, reason=summary)
        return StepOutcome("failed", summary, clean_evidence(evidence))
    if code == 0:
        return StepOutcome("passed", f"exit 0 in {seconds(duration)}", clean_evidence(evidence))
    if code < 0:
        summary = f"killed by {_signal_name(-code)} after {seconds(duration)}"
    else:
        summary = f"exit {code} in {seconds(duration)}"
    evidence["reason"] = summary
    return StepOutcome("failed", summary, clean_evidence(evidence))


def executable_problem(program: str, cwd: Path | None, env: dict[str, str]) -> str | None:
    """Why `program` cannot be executed as a subprocess would look for it, or None.

    Checked before the guard starts, so a typo reads as it would without one.
    """
    if os.sep in program:
        path = Path(program) if cwd is None else cwd / program
        if not path.exists():
            return os.strerror(errno.ENOENT)
        return None if os.access(path, os.X_OK) and path.is_file() else os.strerror(errno.EACCES)
    found = shutil.which(program, path=env.get("PATH", os.defpath))
    return None if found else os.strerror(errno.ENOENT)


def _resolve_cwd(cwd: str | None, base_dir: Path | None) -> Path | None:
    if cwd is None:
        return None
    path = Path(cwd).expanduser()
    return path if path.is_absolute() or base_dir is None else base_dir / path


def _wait(proc: subprocess.Popen[bytes], cancel: threading.Event, deadline: float) -> str | None:
    """None when the command exited by itself; else why we must stop it."""
    while True:
        try:
            proc.wait(timeout=0.05)
            return None
        except subprocess.TimeoutExpired:
            pass
        if cancel.is_set():
            return "cancelled"
        if time.monotonic() >= deadline:
            return "timeout"


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the group, give the leader KILL_GRACE to exit, then SIGKILL whatever is left."""
    _signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(KILL_GRACE)
    _signal_group(proc.pid, signal.SIGKILL)
    proc.wait()


def _kill_leftovers(pgid: int) -> bool:
    """Kill what the exited command left running in its group; True when there was something.

    The group id cannot be reused while any member lives, so this never hits a stranger.
    """
    if not _signal_group(pgid, 0):
        return False
    return _signal_group(pgid, signal.SIGKILL)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def clean_line(raw: bytes) -> str:
    """One output line as shown: decoded, colour codes stripped, the last `\\r` redraw kept."""
    text = raw.decode("utf-8", "replace").rstrip("\r")
    if "\r" in text:
        text = next((part for part in reversed(text.split("\r")) if part.strip()), "")
    text = _ANSI.sub("", text)
    return text if len(text) <= LINE_LIMIT else text[: LINE_LIMIT - 1] + "…"


class _Tail:
    """Reads the merged stdout+stderr pipe in a thread, keeping the last TAIL_LINES lines.

    Reading continuously is what keeps a chatty command from blocking on a full pipe.
    """

    def __init__(self, stream: IO[bytes], progress: Progress | None, extra: tuple[str, ...]):
        self.stream = stream
        self.progress = progress
        self.extra = extra
        self.lines: deque[str] = deque(maxlen=TAIL_LINES)
        self.count = 0
        self.kept = 0
        self._partial = b""
        self._stop = threading.Event()
        self._last_progress = 0.0
        self._thread = threading.Thread(
            target=self._run, name="ccplate-command-output", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def finish(self, timeout: float = 2.0) -> None:
        """Wait for the end of the output; give up after `timeout` (an escaped process keeps
        the pipe open) and keep what was read."""
        self._thread.join(timeout)
        self._stop.set()
        self._thread.join(1.0)
        with contextlib.suppress(OSError):
            self.stream.close()

    def text(self) -> str:
        """The kept lines, newest last, within OUTPUT_LIMIT characters."""
        kept: list[str] = []
        size = 0
        for line in reversed(self.lines):
            size += len(line) + 1
            if size > OUTPUT_LIMIT:
                break
            kept.append(line)
        self.kept = len(kept)
        return "\n".join(reversed(kept))

    def _run(self) -> None:
        fd = self.stream.fileno()
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([fd], [], [], 0.1)
                if not ready:
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                self._feed(chunk)
        except (OSError, ValueError):
            pass  # the pipe was closed under us: keep what was read
        if self._partial:
            self._add(self._partial)
            self._partial = b""

    def _feed(self, chunk: bytes) -> None:
        parts = chunk.split(b"\n")
        for index, part in enumerate(parts):
            room = _PARTIAL_LIMIT - len(self._partial)
            if room > 0:  # the rest of an overlong line is dropped, not kept in memory
                self._partial += part[:room]
            if index < len(parts) - 1:
                self._add(self._partial)
                self._partial = b""

    def _add(self, raw: bytes) -> None:
        line = clean_line(raw)
        self.lines.append(line)
        self.count += 1
        now = time.monotonic()
        if (
            self.progress is not None
            and line.strip()
            and now - self._last_progress >= _PROGRESS_EVERY
        ):
            self._last_progress = now
            with contextlib.suppress(Exception):  # a broken sink must not stop the reading
                self.progress(mask_secrets(line, self.extra))
