"""CPU seconds and memory of a whole process tree over one run of a command.

A load tool may fork workers, a forkserver, a resource tracker; some exit before the tool does
and some are orphaned. To count all of them the command runs under a small wrapper (this file
with `--wrap`) that makes itself a child subreaper (PR_SET_CHILD_SUBREAPER), so every descendant,
orphaned or not, is finally reaped by someone in the tree and its CPU time lands in the
wrapper's RUSAGE_CHILDREN. The parent also samples the live tree with psutil (RSS over time and
a CPU cross-check).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
LINGER_S = 10.0
"""How long the wrapper lets descendants outlive the command before killing them."""


@dataclass(frozen=True)
class MemorySample:
    """Memory of the tree at `t` seconds after start; RSS counts shared pages once per process."""

    t: float
    rss: int
    pss: int | None
    processes: int
    by_process: tuple[tuple[int, str, int], ...] = ()
    """(pid, role, RSS) of each process, to tell which one grows."""


@dataclass(frozen=True)
class TreeUsage:
    """What one measured run of a command cost."""

    exit_code: int
    timed_out: bool
    wall_s: float
    user_s: float
    system_s: float
    cpu_sampled_s: float
    """Sum of each process's last-seen own user+system; misses what ran after the last sample."""
    peak_rss: int
    samples: tuple[MemorySample, ...] = field(repr=False)
    max_processes: int
    leftovers_killed: int
    """Descendants still alive LINGER_S after the command exited (a leak in the tool)."""
    server_cpu_s: float | None = None
    """CPU the target server used meanwhile (when its pid was given)."""
    server_requests: int | None = None
    """Requests the server answered during the run, by its own count (nginx only)."""
    other_cpu_s: float = 0.0
    """CPU the rest of the machine used meanwhile: other people's work that competed with the
    tool and the server. A few tenths of a second is noise; more means the run was disturbed."""

    @property
    def cpu_s(self) -> float:
        """User+system seconds of every process of the tree, exited ones included."""
        return self.user_s + self.system_s


class TreeSampler:
    """Samples the descendants of one pid: per-process CPU (kept after they exit) and memory."""

    def __init__(self, root_pid: int, interval_s: float, memory_every_s: float, pss: bool) -> None:
        import psutil

        self._psutil = psutil
        self._root = psutil.Process(root_pid)
        self._interval_s = interval_s
        self._memory_every_s = memory_every_s
        self._pss = pss
        self._cpu: dict[tuple[int, float], float] = {}
        self._started = time.monotonic()
        self._next_memory = 0.0
        self.samples: list[MemorySample] = []
        self.peak_rss = 0
        self.max_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tree-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def cpu_sampled_s(self) -> float:
        return sum(self._cpu.values())

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample_once()
            self._stop.wait(self._interval_s)

    def sample_once(self) -> None:
        """One pass over the live tree; processes that vanish mid-pass are skipped."""
        psutil = self._psutil
        try:
            procs = self._root.children(recursive=True)
        except psutil.Error:
            return
        now = time.monotonic() - self._started
        want_memory = now >= self._next_memory
        rss = 0
        pss = 0
        by_process: list[tuple[int, str, int]] = []
        for proc in procs:
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    key = (proc.pid, proc.create_time())
                    self._cpu[key] = max(self._cpu.get(key, 0.0), times.user + times.system)
                    proc_rss = proc.memory_info().rss
                    rss += proc_rss
                    if want_memory:
                        by_process.append((proc.pid, process_role(proc.cmdline()), proc_rss))
                    if want_memory and self._pss:
                        pss += getattr(proc.memory_full_info(), "pss", 0)
            except psutil.Error:
                continue
        self.peak_rss = max(self.peak_rss, rss)
        self.max_processes = max(self.max_processes, len(procs))
        if want_memory and procs:
            sample = MemorySample(
                now, rss, pss if self._pss else None, len(procs), tuple(by_process)
            )
            self.samples.append(sample)
            self._next_memory = now + self._memory_every_s


def process_role(cmdline: list[str]) -> str:
    """A short name for a process of a load tool's tree, from its command line."""
    text = " ".join(cmdline)
    for marker, role in (
        ("resource_tracker", "resource-tracker"),
        ("forkserver", "forkserver"),
        ("spawn_main", "worker"),
    ):
        if marker in text:
            return role
    if not cmdline:
        return "?"
    first = Path(cmdline[0]).name
    # A Python entry point (ccplate-tui, locust) is the script after the interpreter.
    return Path(cmdline[1]).name if first.startswith("python") and len(cmdline) > 1 else first


@dataclass(frozen=True)
class RunContext:
    """Where a measured run happens: the server to account for and how long to wait for quiet."""

    server_pid: int | None = None
    served_requests: Callable[[], int | None] | None = None
    """Reads the server's own request counter (nginx's stub_status), if it has one."""
    idle_wait_s: float = 120.0
    """Wait up to this long before starting for the rest of the machine to go idle."""
    idle_threshold_cores: float = 0.15


def machine_busy_s() -> float:
    """CPU seconds all cores have spent running processes (or stolen by the host) since boot.

    irq/softirq time is left out: with IRQ time accounting the kernel charges the loopback
    traffic of the benchmark itself there, to no process, and it is not someone else's work.
    """
    import psutil

    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "steal", 0.0)


def tree_cpu_s(pid: int) -> float:
    """User+system seconds of a live process and its live descendants (0 if it is gone)."""
    import psutil

    total = 0.0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def wait_for_idle(ctx: RunContext) -> float:
    """Wait (up to ctx.idle_wait_s) until the machine, less the server, is quiet for 3 s in a row.

    Other work on a shared 2-core machine skews both throughput and latency; returns the cores
    still busy elsewhere when we stopped waiting.
    """
    deadline = time.monotonic() + ctx.idle_wait_s
    quiet = 0
    announced = False
    busy = 0.0
    while True:
        busy0, server0, self0 = machine_busy_s(), server_cpu(ctx), own_cpu_s()
        time.sleep(1.0)
        busy = (
            machine_busy_s() - busy0 - (server_cpu(ctx) - server0)
            - (own_cpu_s() - self0)
        )  # fmt: skip
        quiet = quiet + 1 if busy < ctx.idle_threshold_cores else 0
        if quiet >= 3 or time.monotonic() > deadline:
            break
        if not announced and busy >= ctx.idle_threshold_cores:
            print(
                f"  waiting for the machine to go idle ({busy:.2f} cores busy elsewhere) ...",
                flush=True,
            )
            announced = True
    if quiet < 3:
        print(
            f"  warning: machine still busy ({busy:.2f} cores elsewhere); measuring anyway",
            flush=True,
        )
    return busy


def own_cpu_s() -> float:
    """This process's own user+system seconds (not its children: nginx is one of them)."""
    t = os.times()
    return t.user + t.system


def server_cpu(ctx: RunContext) -> float:
    return tree_cpu_s(ctx.server_pid) if ctx.server_pid is not None else 0.0


def run_measured(
    cmd: Sequence[str],
    *,
    timeout_s: float,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    sample_interval_s: float = 0.2,
    memory_every_s: float = 1.0,
    pss: bool = False,
    on_sample: Callable[[MemorySample], None] | None = None,
    ctx: RunContext | None = None,
) -> TreeUsage:
    """Run `cmd` to completion (killing it after `timeout_s`), its output going to `log_path`,
    and return the CPU and memory its whole process tree used."""
    ctx = ctx or RunContext(idle_wait_s=0.0)
    if ctx.idle_wait_s > 0:
        wait_for_idle(ctx)
    served0 = ctx.served_requests() if ctx.served_requests else None
    busy0, server0, self0 = machine_busy_s(), server_cpu(ctx), own_cpu_s()
    rusage_path = log_path.with_suffix(".rusage.json")
    rusage_path.unlink(missing_ok=True)
    wrapper = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--wrap",
        str(rusage_path),
        "--",
        *cmd,
    ]
    started = time.monotonic()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            wrapper,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
        sampler = TreeSampler(proc.pid, sample_interval_s, memory_every_s, pss)
        sampler.start()
        timed_out = False
        seen = 0
        deadline = started + timeout_s
        while proc.poll() is None:
            if time.monotonic() > deadline:
                timed_out = True
                stop_tree(proc)
                break
            time.sleep(0.1)
            if on_sample is not None:
                while seen < len(sampler.samples):
                    on_sample(sampler.samples[seen])
                    seen += 1
        proc.wait()
        sampler.stop()
    wall = time.monotonic() - started
    report = json.loads(rusage_path.read_text()) if rusage_path.exists() else {}
    tool_cpu = float(report.get("user_s", 0.0)) + float(report.get("system_s", 0.0))
    server_cpu_s = server_cpu(ctx) - server0
    # Our own process (this benchmark, its sampler thread and the reaped wrapper) is not "other".
    self_cpu = own_cpu_s() - self0 + wrapper_self_cpu(report)
    other = machine_busy_s() - busy0 - tool_cpu - server_cpu_s - self_cpu
    served1 = ctx.served_requests() if ctx.served_requests else None
    # The second status read is itself counted once by nginx.
    served = served1 - served0 - 1 if served0 is not None and served1 is not None else None
    return TreeUsage(
        exit_code=int(report.get("exit_code", proc.returncode)),
        timed_out=timed_out,
        wall_s=wall,
        user_s=float(report.get("user_s", 0.0)),
        system_s=float(report.get("system_s", 0.0)),
        cpu_sampled_s=sampler.cpu_sampled_s,
        peak_rss=sampler.peak_rss,
        samples=tuple(sampler.samples),
        max_processes=sampler.max_processes,
        leftovers_killed=int(report.get("leftovers_killed", 0)),
        server_cpu_s=server_cpu_s if ctx.server_pid is not None else None,
        server_requests=served,
        other_cpu_s=max(0.0, other),
    )


def wrapper_self_cpu(report: dict[str, float]) -> float:
    """The wrapper's own CPU (its whole rusage less its children's), reported by --wrap."""
    return float(report.get("wrapper_self_s", 0.0))


def stop_tree(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM the wrapper (it passes it on to the command), then SIGKILL its session."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wrap(rusage_out: Path, cmd: list[str]) -> int:
    """Run `cmd` as a subreaper, reap the whole tree, write its rusage, exit with cmd's code."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("cpu.py: PR_SET_CHILD_SUBREAPER failed; orphans' CPU is lost", file=sys.stderr)
    child = subprocess.Popen(cmd)

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    exit_code = 1
    root_done_at: float | None = None
    leftovers = 0
    while True:
        try:
            pid, status, _ru = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == child.pid:
            exit_code = os.waitstatus_to_exitcode(status)
            child.returncode = exit_code
            root_done_at = time.monotonic()
        if pid:
            continue
        if root_done_at is not None and time.monotonic() - root_done_at > LINGER_S:
            leftovers += kill_descendants()
            root_done_at = time.monotonic()
        time.sleep(0.02)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    rusage_out.write_text(
        json.dumps(
            {
                "exit_code": exit_code,
                "user_s": usage.ru_utime,
                "system_s": usage.ru_stime,
                "max_single_rss_kb": usage.ru_maxrss,
                "leftovers_killed": leftovers,
                "wrapper_self_s": own.ru_utime + own.ru_stime,
            }
        )
    )
    return exit_code


def kill_descendants() -> int:
    """SIGKILL every live descendant of this process; returns how many."""
    import psutil

    procs = psutil.Process().children(recursive=True)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    return len(procs)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--wrap" and sys.argv[3] == "--":
        sys.exit(wrap(Path(sys.argv[2]), sys.argv[4:]))
    print("usage: cpu.py --wrap RUSAGE_JSON -- COMMAND [ARG...]  (used by the benchmarks)")
    sys.exit(2)
