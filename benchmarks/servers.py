"""Loopback servers the benchmarks aim at: nginx (a near-zero-cost target) and a fixed-latency
aiohttp server (a known 20 ms answer, to check what a load tool adds to the latency).

Both listen on 127.0.0.1 only and are started and stopped by the benchmark that uses them.
Run by hand: `.venv/bin/python -m benchmarks.servers nginx --seconds 60`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

NOFILE_WANTED = 65536
NGINX_JSON_BODY = '{"ok":true}'
NGINX_STATUS_PATH = "/nginx_status"
STARTUP_TIMEOUT_S = 15.0


class BenchSetupError(RuntimeError):
    """A tool or server the benchmark needs is missing or failed to start; the message says
    what to install or look at."""


def raise_nofile_limit(wanted: int = NOFILE_WANTED) -> int:
    """Raise this process's RLIMIT_NOFILE (inherited by children) and return the new soft limit.

    10,000 VUs need 10,000 sockets in the load tool and as many in nginx; root may also lift
    the hard limit (up to fs.nr_open), anyone else gets at most the hard limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    infinite = resource.RLIM_INFINITY
    try:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (wanted, hard if hard == infinite else max(hard, wanted))
        )
    except (ValueError, OSError):
        # Not root: the hard limit is as far as we may go.
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted if hard == infinite else hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_loopback_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (for servers that cannot report port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float, what: str) -> None:
    """Block until something accepts on 127.0.0.1:port, or fail naming `what` and its exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchSetupError(f"{what} exited with code {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise BenchSetupError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def stop_process(
    proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace: float = 5.0
) -> None:
    """Signal a server we started, wait `grace` seconds, then kill it."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace)


@dataclass(frozen=True)
class RunningServer:
    """A started loopback server: where it listens and the path to request."""

    name: str
    port: int
    path: str
    pid: int
    status_path: str | None = None
    """nginx's stub_status page, whose request counter checks each tool's own count."""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def served_requests(self) -> int | None:
        """Requests the server has answered so far (nginx only; this read counts as one)."""
        if self.status_path is None:
            return None
        with urllib.request.urlopen(self.base_url + self.status_path, timeout=10) as resp:
            text = resp.read().decode()
        # "Active connections: 1 \nserver accepts handled requests\n 5 5 10 \nReading: ..."
        return int(text.splitlines()[2].split()[2])


def nginx_config(prefix: Path, port: int) -> str:
    """The nginx.conf text: one worker, many connections, no logging, one tiny JSON answer."""
    return f"""
worker_processes 1;
worker_rlimit_nofile {NOFILE_WANTED};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
daemon off;
events {{
    worker_connections 16384;
    multi_accept on;
}}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=16384;
        location = {NGINX_STATUS_PATH} {{
            stub_status;
        }}
        location / {{
            default_type application/json;
            return 200 '{NGINX_JSON_BODY}';
        }}
    }}
}}
"""


def find_nginx() -> str:
    """Path of the nginx binary, or a BenchSetupError saying how to install it."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise BenchSetupError("nginx not found: install it with `apt-get install -y nginx`")
    return found


@contextlib.contextmanager
def nginx_server() -> Iterator[RunningServer]:
    """Run a private nginx on a free loopback port for the duration of the `with` block."""
    binary = find_nginx()
    raise_nofile_limit()
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as tmp:
        prefix = Path(tmp)
        for attempt in range(5):
            port = free_loopback_port()
            conf = prefix / "nginx.conf"
            conf.write_text(nginx_config(prefix, port))
            log = (prefix / "stderr.log").open("wb")
            proc = subprocess.Popen(
                [binary, "-p", str(prefix), "-c", str(conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                wait_for_port(port, proc, STARTUP_TIMEOUT_S, "nginx")
            except BenchSetupError:
                stop_process(proc, signal.SIGTERM)
                log.close()
                if attempt == 4:
                    detail = (prefix / "stderr.log").read_text(errors="replace")
                    err = (
                        (prefix / "error.log").read_text(errors="replace")
                        if (prefix / "error.log").exists()
                        else ""
                    )
                    raise BenchSetupError(f"nginx failed to start:\n{detail}\n{err}") from None
                continue
            try:
                yield RunningServer("nginx", port, "/json", proc.pid, NGINX_STATUS_PATH)
            finally:
                # SIGQUIT is nginx's graceful stop; SIGTERM its fast one. Fast is fine here.
                stop_process(proc, signal.SIGTERM)
                log.close()
            return


@contextlib.contextmanager
def fixed_latency_server(delay_s: float = 0.02) -> Iterator[RunningServer]:
    """Run the fixed-latency aiohttp server (uvloop, own process) for the `with` block."""
    raise_nofile_limit()
    repo_root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.servers",
            "fixed",
            "--delay",
            str(delay_s),
            "--port",
            "0",
        ],
        cwd=repo_root,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.startswith("PORT "):
            proc.wait(5)
            raise BenchSetupError(
                f"fixed-latency server did not start (exit {proc.returncode}); it needs aiohttp "
                "and uvloop in the interpreter running the benchmark (the project's .venv)"
            )
        port = int(line.split()[1])
        wait_for_port(port, proc, STARTUP_TIMEOUT_S, "fixed-latency server")
        yield RunningServer("fixed-20ms", port, "/fixed", proc.pid)
    finally:
        stop_process(proc, signal.SIGTERM)
        if proc.stdout is not None:
            proc.stdout.close()


def serve_fixed_latency(delay_s: float, port: int) -> None:
    """Serve GET /fixed (any path, really) after exactly `delay_s` seconds, on uvloop.

    Prints `PORT n` on stdout once bound so the parent learns a port-0 choice.
    """
    import uvloop
    from aiohttp import web

    body = b'{"ok":true}'

    async def answer(_request: web.Request) -> web.Response:
        await asyncio.sleep(delay_s)
        return web.Response(body=body, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", answer)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, backlog=16384, reuse_address=True)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        bound = server.sockets[0].getsockname()[1]
        print(f"PORT {bound}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()

    uvloop.run(main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="which", required=True)
    fixed = sub.add_parser("fixed", help="fixed-latency aiohttp server (foreground)")
    fixed.add_argument("--delay", type=float, default=0.02, help="seconds before answering")
    fixed.add_argument("--port", type=int, default=0)
    ngx = sub.add_parser("nginx", help="loopback nginx for --seconds, then stop")
    ngx.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    if args.which == "fixed":
        raise_nofile_limit()
        serve_fixed_latency(args.delay, args.port)
        return 0
    try:
        with nginx_server() as server:
            print(f"nginx listening on {server.base_url}{server.path} for {args.seconds:g} s")
            time.sleep(args.seconds)
    except BenchSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
