"""Latency fidelity: does ccplate-tui report what the server did, as k6 does?

A server that answers after exactly 20 ms (aiohttp on uvloop, its own process) is hit at a
constant arrival rate of 200 requests/s for 30 s, first by ccplate-tui, then by k6, with the
same `constant-arrival-rate` options. Targets: our p50 within 1 ms of 20 ms; our p99 within
3 ms of k6's p99. Our `http_req_duration_uncorrected` (if the export has it) is shown too.

    .venv/bin/python -m benchmarks.fidelity [--seconds 30] [--rate 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loadtools import (
    ToolResult,
    bench_workdir,
    ensure_bench_tools,
    run_ccplate,
    run_context,
    run_k6,
)
from benchmarks.report import machine_line, markdown_table, write_json
from benchmarks.servers import BenchSetupError, fixed_latency_server, raise_nofile_limit

SERVER_DELAY_MS = 20.0
P50_TOLERANCE_MS = 1.0
P99_TOLERANCE_MS = 3.0


def arrival_options(rate: int, seconds: float) -> dict[str, object]:
    """k6's constant-arrival-rate options (the same keys in ours and in k6)."""
    return {
        "executor": "constant-arrival-rate",
        "rate": rate,
        "timeUnit": "1s",
        "duration": f"{seconds:g}s",
        "preAllocatedVUs": 50,
        "maxVUs": 200,
    }


def latency_rows(results: list[ToolResult]) -> list[list[object]]:
    rows: list[list[object]] = []
    for r in results:
        series = [("http_req_duration", r.latency), *sorted(r.extra_latency.items())]
        for metric, lat in series:
            if lat is None:
                continue
            rows.append(
                [
                    r.label,
                    metric,
                    r.requests,
                    r.dropped_iterations,
                    lat.med,
                    lat.p95,
                    lat.p99,
                    lat.max,
                ]
            )
    return rows


def verdict_lines(ours: ToolResult | None, k6: ToolResult | None) -> list[str]:
    """The two targets, with the numbers they were judged on."""
    lines: list[str] = []
    if ours is not None and ours.latency is not None:
        off = ours.latency.med - SERVER_DELAY_MS
        ok = abs(off) <= P50_TOLERANCE_MS
        lines.append(
            f"our p50 {ours.latency.med:.2f} ms vs server {SERVER_DELAY_MS:.0f} ms: {off:+.2f} ms "
            f"(target within {P50_TOLERANCE_MS:g} ms: {'PASS' if ok else 'FAIL'})"
        )
    if ours is not None and k6 is not None and ours.latency and k6.latency:
        for name, a, b in (
            ("p50", ours.latency.med, k6.latency.med),
            ("p95", ours.latency.p95, k6.latency.p95),
        ):
            lines.append(f"our {name} - k6 {name}: {a - b:+.2f} ms")
        diff = ours.latency.p99 - k6.latency.p99
        ok = abs(diff) <= P99_TOLERANCE_MS
        lines.append(
            f"our p99 - k6 p99: {diff:+.2f} ms "
            f"(target within {P99_TOLERANCE_MS:g} ms: {'PASS' if ok else 'FAIL'})"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=200, help="requests (iterations) per second")
    parser.add_argument("--tools", default="ccplate,k6", help="subset of ccplate,k6")
    parser.add_argument(
        "--idle-wait", type=float, default=120.0, help="max seconds to wait for a quiet machine"
    )
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep configs and tool logs")
    args = parser.parse_args(argv)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if set(tools) - {"ccplate", "k6"}:
        parser.error("--tools takes ccplate and/or k6")

    raise_nofile_limit()
    try:
        ensure_bench_tools()
    except BenchSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(machine_line())
    print(
        f"constant-arrival-rate {args.rate}/s for {args.seconds:g} s against a server that "
        f"answers after {SERVER_DELAY_MS:.0f} ms\n"
    )
    options = arrival_options(args.rate, args.seconds)
    ours: ToolResult | None = None
    k6: ToolResult | None = None
    errors: list[str] = []
    with bench_workdir(args.keep, "fidelity") as workdir, fixed_latency_server() as server:
        url = server.base_url + server.path
        ctx = run_context(server, args.idle_wait)
        for i, tool in enumerate(tools):
            if i:
                time.sleep(2.0)
            print(f"running {tool} ...", flush=True)
            try:
                if tool == "ccplate":
                    scenario = {**options, "requests": [{"method": "GET", "path": server.path}]}
                    ours = run_ccplate(
                        workdir, "ccplate-tui", server.base_url, scenario, args.seconds, ctx=ctx
                    )
                else:
                    k6 = run_k6(
                        workdir, "k6", url, {"scenarios": {"bench": options}}, args.seconds, ctx=ctx
                    )
            except BenchSetupError as exc:
                errors.append(f"{tool}: {exc}")
                print(f"  {tool} FAILED: {exc}", file=sys.stderr, flush=True)
    results = [r for r in (ours, k6) if r is not None]
    print()
    for r in results:
        print(
            f"{r.label}: {r.usage.cpu_s:.1f} CPU-s; meanwhile server {r.usage.server_cpu_s or 0:.1f}"
            f" CPU-s, rest of the machine {r.usage.other_cpu_s:.1f} CPU-s"
        )
    headers = ["tool", "metric", "requests", "dropped", "p50 ms", "p95 ms", "p99 ms", "max ms"]
    print(markdown_table(headers, latency_rows(results)))
    for line in verdict_lines(ours, k6):
        print(line)
    if args.json_out:
        write_json(args.json_out, {"machine": machine_line(), "results": results, "errors": errors})
    if errors:
        print("\nerrors:\n" + "\n".join(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
