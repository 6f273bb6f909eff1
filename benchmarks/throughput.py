"""Throughput and CPU cost: ccplate-tui vs Locust vs k6, 50 VUs, no think time, against nginx.

All tools run back to back in one invocation against the same loopback nginx, so they see the
same machine state. Each tool's request count comes from its own output; the CPU seconds are
those of its whole process tree (see benchmarks/cpu.py). Target: ccplate-tui does >= 1.5x
Locust's and k6's requests per CPU-second.

`--request get` (default) sends a plain GET; `--request post` a POST of a JSON body
(`--body-bytes`, 1,536) with one check, "status is 200" (Locust: a status >= 400 fails).

    .venv/bin/python -m benchmarks.throughput [--seconds 20] [--tools ccplate,ccplate-w1,locust,k6]
        [--request get|post]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.cpu import RunContext
from benchmarks.loadtools import (
    BenchRequest,
    ToolResult,
    bench_workdir,
    ccplate_source,
    count_check,
    ensure_bench_tools,
    json_payload,
    run_ccplate,
    run_context,
    run_k6,
    run_locust,
    tool_version,
)
from benchmarks.report import machine_line, markdown_table, write_json
from benchmarks.servers import BenchSetupError, RunningServer, nginx_server, raise_nofile_limit

ALL_TOOLS = ("ccplate", "ccplate-w1", "locust", "k6")
RATIO_TARGET = 1.5
REFERENCE_TOOLS = ("Locust", "k6")
"""Label prefixes of the tools ccplate-tui is compared with."""


def run_tool(
    tool: str,
    workdir: Path,
    server: RunningServer,
    vus: int,
    seconds: float,
    request: BenchRequest,
    ctx: RunContext,
) -> ToolResult:
    """One tool, `vus` VUs/users with no think time, for `seconds`."""
    duration = f"{seconds:g}s"
    scenario = {
        "executor": "constant-vus",
        "vus": vus,
        "duration": duration,
        "requests": [request.ccplate_request(server.path)],
    }
    if tool == "ccplate":
        label = f"ccplate-tui (workers={os.cpu_count()})"
        return run_ccplate(workdir, label, server.base_url, scenario, seconds, ctx=ctx)
    if tool == "ccplate-w1":
        return run_ccplate(
            workdir,
            "ccplate-tui (workers=1)",
            server.base_url,
            scenario,
            seconds,
            workers=1,
            ctx=ctx,
        )
    if tool == "locust":
        return run_locust(
            workdir,
            "Locust FastHttpUser",
            server.base_url,
            server.path,
            vus,
            seconds,
            request=request,
            ctx=ctx,
        )
    if tool == "k6":
        url = server.base_url + server.path
        options = {"vus": vus, "duration": duration}
        return run_k6(workdir, "k6", url, options, seconds, request=request, ctx=ctx)
    raise ValueError(tool)


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.2f}%"


def result_rows(results: list[ToolResult]) -> list[list[object]]:
    rows: list[list[object]] = []
    for r in results:
        lat = r.latency
        rows.append(
            [
                r.label,
                r.requests,
                r.requests_per_s,
                round(r.usage.cpu_s, 1),
                r.requests_per_cpu_s,
                lat.med if lat else None,
                lat.p99 if lat else None,
                f"{(r.failed_rate or 0) * 100:.2f}%",
                percent(r.check_rate),
                round(r.sent_per_request) if r.sent_per_request else None,
                r.usage.max_processes,
                r.usage.server_requests,
                r.usage.server_cpu_s,
                r.usage.other_cpu_s,
            ]
        )
    return rows


HEADERS = [
    "tool",
    "requests",
    "req/s",
    "CPU s",
    "req/CPU-s",
    "p50 ms",
    "p99 ms",
    "failed",
    "checks",
    "sent B/req",
    "procs",
    "nginx saw",
    "nginx CPU s",
    "other CPU s",
]


def medians(results: list[ToolResult]) -> dict[str, tuple[float, float, int]]:
    """Per tool label: median requests/s, median requests per CPU-second, number of runs."""
    by_label: dict[str, list[ToolResult]] = {}
    for r in results:
        by_label.setdefault(r.label, []).append(r)
    return {
        label: (
            statistics.median(r.requests_per_s for r in runs),
            statistics.median(r.requests_per_cpu_s for r in runs),
            len(runs),
        )
        for label, runs in by_label.items()
    }


def ratio_lines(results: list[ToolResult]) -> list[str]:
    """ccplate-tui vs Locust and vs k6, in requests per CPU-second (the target) and per second,
    from the medians over the repetitions."""
    med = medians(results)
    lines = []
    for reference in REFERENCE_TOOLS:
        base = next((v for k, v in med.items() if k.startswith(reference)), None)
        if base is None or base[1] == 0:
            continue
        for label, (rps, rpc, n) in med.items():
            if not label.startswith("ccplate"):
                continue
            eff = rpc / base[1]
            verdict = "PASS" if eff >= RATIO_TARGET else "FAIL"
            runs = f" (medians of {n} runs)" if n > 1 else ""
            lines.append(
                f"{label} / {reference}{runs}: {eff:.2f}x requests per CPU-second "
                f"(target >= {RATIO_TARGET}: {verdict}), {rps / base[0]:.2f}x requests per second"
            )
    return lines


def health_warning(result: ToolResult) -> str | None:
    """A warning when requests failed or a check did not pass every time."""
    problems = []
    if result.failed_rate:
        problems.append(f"{percent(result.failed_rate)} of requests failed")
    if result.check_rate is not None and result.check_rate < 1.0:
        problems.append(f"checks passed {percent(result.check_rate)}")
    return f"warning: {result.label}: " + ", ".join(problems) if problems else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each tool's run")
    parser.add_argument("--vus", type=int, default=50)
    parser.add_argument(
        "--tools", default=",".join(ALL_TOOLS), help=f"subset of {','.join(ALL_TOOLS)}"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of all tools; ratios use the medians"
    )
    parser.add_argument("--pause", type=float, default=3.0, help="seconds of rest between tools")
    parser.add_argument(
        "--idle-wait", type=float, default=120.0, help="max seconds to wait for a quiet machine"
    )
    parser.add_argument(
        "--request",
        choices=("get", "post"),
        default="get",
        help="a plain GET, or a POST of a JSON body with the check 'status is 200'",
    )
    parser.add_argument(
        "--body-bytes", type=int, default=1536, help="size of the POST's JSON body, serialized"
    )
    parser.add_argument(
        "--k6-stringify-once",
        action="store_true",
        help="k6 script: JSON.stringify the body once at init, not in every iteration",
    )
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep configs and tool logs")
    args = parser.parse_args(argv)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = sorted(set(tools) - set(ALL_TOOLS))
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if unknown:
        parser.error(f"unknown tools {unknown}; expected some of {','.join(ALL_TOOLS)}")
    if args.request == "post":
        try:
            body = json_payload(args.body_bytes)
        except ValueError as exc:
            parser.error(f"--body-bytes: {exc}")
        request = BenchRequest(body, 200, args.k6_stringify_once)
    else:
        request = BenchRequest()

    raise_nofile_limit()
    try:
        locust_bin, k6_bin = ensure_bench_tools()
    except BenchSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(machine_line())
    print(f"{tool_version(locust_bin, '--version')}; {tool_version(k6_bin, 'version')}")
    print(ccplate_source())
    print(
        f"{args.vus} VUs, no think time, {args.seconds:g} s per tool, {request.describe()}, "
        "against loopback nginx\n"
    )

    results: list[ToolResult] = []
    errors: list[str] = []
    with bench_workdir(args.keep, "throughput") as workdir, nginx_server() as server:
        rounds = [tool for _ in range(args.repeat) for tool in tools]
        for i, tool in enumerate(rounds):
            if i:
                time.sleep(args.pause)
            print(f"running {tool} ({i // len(tools) + 1}/{args.repeat}) ...", flush=True)
            try:
                ctx = run_context(server, args.idle_wait)
                result = run_tool(tool, workdir, server, args.vus, args.seconds, request, ctx)
            except BenchSetupError as exc:
                errors.append(f"{tool}: {exc}")
                print(f"  {tool} FAILED: {exc}", file=sys.stderr, flush=True)
                continue
            results.append(result)
            for warning in (count_check(result), health_warning(result)):
                if warning:
                    print(f"  {warning}", flush=True)
            print(
                f"  {result.requests:,} requests, {result.requests_per_s:,.0f}/s, "
                f"{result.usage.cpu_s:.1f} CPU-s, {result.requests_per_cpu_s:,.0f} req/CPU-s",
                flush=True,
            )
    print()
    print(markdown_table(HEADERS, result_rows(results)))
    if args.repeat > 1:
        print()
        rows = [[label, n, rps, rpc] for label, (rps, rpc, n) in medians(results).items()]
        print(markdown_table(["tool", "runs", "median req/s", "median req/CPU-s"], rows))
    for line in ratio_lines(results):
        print(line)
    if args.json_out:
        write_json(
            args.json_out,
            {
                "machine": machine_line(),
                "ccplate": ccplate_source(),
                "seconds": args.seconds,
                "request": request,
                "results": results,
                "errors": errors,
            },
        )
    if errors:
        print("\nerrors:\n" + "\n".join(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
