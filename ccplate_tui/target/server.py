"""Running the demo target: blocking `serve`, in-process `running_target`, or a child process."""

from __future__ import annotations

import asyncio
import contextlib
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO, Any

from aiohttp import web

from ccplate_tui.process_lifetime import owned_env
from ccplate_tui.target.app import STATE_KEY, build_app
from ccplate_tui.target.faults import Faults

# In-flight requests (a generation sleeps up to 4 s) get this long to finish on shutdown.
SHUTDOWN_TIMEOUT_S = 5.0
READY_PREFIX = "listening on "
_stderr_logs: dict[int, IO[bytes]] = {}


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def running_target(
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Faults | None = None,
    db_path: str | Path | None = None,
) -> AsyncIterator[str]:
    """Serve the target on this event loop while the block runs; yields the base URL.

    Its unhandled errors are reported to its own ingest at that URL; on the way out the queued
    reports are flushed while the server still listens, as the SDK delivers them over HTTP.
    """
    app = build_app(faults, db_path)
    reporter = app[STATE_KEY].reporter
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        # Bodies arrive as sent: the Sentry ingest decodes them itself, within its size limit,
        # and the API refuses them (request_guard.plain_bodies_only). aiohttp's own decoding
        # leaves a request with a truncated deflate body waiting for ever.
        auto_decompress=False,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = int(runner.addresses[0][1])
        reporter.configure(host, bound_port)
        yield _url(host, bound_port)
    finally:
        await reporter.flush()
        await runner.cleanup()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _serve_until_signalled(
    host: str,
    port: int,
    faults: Faults | None,
    db_path: str | Path | None,
    on_ready: Callable[[str], None] | None,
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (or Windows): the caller stops us by other means
    try:
        async with running_target(host, port, faults, db_path) as base_url:
            if on_ready is not None:
                on_ready(base_url)
            await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def serve(
    host: str = "127.0.0.1",
    port: int = 8787,
    faults: Faults | None = None,
    db_path: str | Path | None = None,
    *,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM, on uvloop when installed; OSError when the port is taken."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_serve_until_signalled(host, port, faults, db_path, on_ready))


def _read_ready_line(proc: subprocess.Popen[str], timeout: float) -> str | None:
    """The child's first stdout line ('' when it exits first), or None past the timeout."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            if selector.select(remaining):
                # The child prints the whole line with one flushed write.
                return proc.stdout.readline()
    return None


def _stderr_text(proc: subprocess.Popen[Any]) -> str:
    log = _stderr_logs.get(proc.pid)
    if log is None:
        return ""
    log.seek(0)
    return log.read().decode(errors="replace").strip()[-2000:]


def start_target_process(
    port: int = 0,
    faults: str = "",
    db_path: str | Path | None = None,
    *,
    timeout: float = 30.0,
) -> tuple[subprocess.Popen[str], str]:
    """Start `python -m ccplate_tui.target` on loopback; returns the process and its base URL."""
    command = [
        sys.executable,
        "-m",
        "ccplate_tui.target",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if faults:
        command += ["--faults", faults]
    if db_path is not None:
        command += ["--db", str(db_path)]
    # stderr goes to a file, not a pipe: nobody reads it while the target runs, and a full
    # pipe would freeze the child.
    stderr_log = tempfile.TemporaryFile()  # noqa: SIM115 - lives until stop_target_process
    # owned_env: the target watches this process and ends soon after it, even after a kill -9.
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=stderr_log, text=True, env=owned_env()
    )
    _stderr_logs[proc.pid] = stderr_log
    line = _read_ready_line(proc, timeout)
    if line and line.startswith(READY_PREFIX):
        return proc, line[len(READY_PREFIX) :].strip()
    if line is not None:  # stdout closed or an unexpected line: let it exit on its own first
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5.0)
    code = _terminate(proc, 5.0)
    details = _stderr_text(proc) or (line or "").strip() or "no output"
    _close_logs(proc)
    if line is None:
        raise TimeoutError(f"the target process did not get ready within {timeout:g}s: {details}")
    raise RuntimeError(f"the target process failed to start (exit code {code}): {details}")


def _close_logs(proc: subprocess.Popen[Any]) -> None:
    log = _stderr_logs.pop(proc.pid, None)
    if log is not None:
        log.close()


def _terminate(proc: subprocess.Popen[Any], timeout: float) -> int | None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    if proc.stdout is not None:
        proc.stdout.close()
    return proc.returncode


def stop_target_process(proc: subprocess.Popen[Any], timeout: float = 10.0) -> int | None:
    """SIGTERM (graceful), then SIGKILL after `timeout`; returns the exit code (0 when graceful)."""
    code = _terminate(proc, timeout)
    _close_logs(proc)
    return code
