"""Scale: 10,000 VUs, each sending one request then thinking 1 s, against loopback nginx.

Ideal throughput is VUs / (think time + request time), about 10,000 iterations/s. The latency
is compared with a 50-VU run without think time (run first, same nginx), so a slower p50/p99 at
10,000 VUs shows what the engine itself adds when it juggles many VUs. The engine needs one
socket per VU: RLIMIT_NOFILE is raised for it (and for nginx) before anything starts.

    .venv/bin/python -m benchmarks.scale [--vus 10000] [--seconds 60] [--with-k6]
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
from benchmarks.servers import BenchSetupError, nginx_server, raise_nofile_limit

THINK_S = 1.0
MB = 1024 * 1024


def rows(results: list[ToolResult]) -> list[list[object]]:
    out: list[list[object]] = []
    for r in results:
        lat = r.latency
        iterations = r.iterations if r.iterations is not None else r.requests
        out.append(
            [
                r.label,
                iterations,
                r.iterations_rate or iterations / r.duration_s,
                lat.med if lat else None,
                lat.p95 if lat else None,
                lat.p99 if lat else None,
                lat.max if lat else None,
                f"{(r.failed_rate or 0) * 100:.2f}%",
                round(r.usage.cpu_s, 1),
                r.usage.server_requests,
                r.usage.peak_rss / MB,
                r.usage.other_cpu_s,
            ]
        )
    return out


HEADERS = [
    "run", "iterations", "iter/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "failed", "CPU s",
    "nginx saw", "peak RSS MB", "other CPU s",
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vus", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--baseline-seconds", type=float, default=20.0, help="the 50-VU run")
    parser.add_argument("--with-k6", action="store_true", help="also run k6 with the same VUs")
    parser.add_argument(
        "--idle-wait", type=float, default=120.0, help="max seconds to wait for a quiet machine"
    )
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep configs and tool logs")
    args = parser.parse_args(argv)

    nofile = raise_nofile_limit()
    # One socket per VU in the load tool and one per connection in nginx: separate processes,
    # so each needs VUs plus some headroom.
    if nofile < args.vus + 1024:
        print(
            f"warning: RLIMIT_NOFILE is {nofile}, fewer than one socket per VU; run as root or "
            f"raise the hard limit (ulimit -Hn) to at least {args.vus + 1024}",
            file=sys.stderr,
        )
    if args.with_k6:
        try:
            ensure_bench_tools()
        except BenchSetupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(machine_line())
    print(
        f"RLIMIT_NOFILE {nofile}; {args.vus:,} VUs, think time {THINK_S:g} s, {args.seconds:g} s\n"
    )

    results: list[ToolResult] = []
    big: ToolResult | None = None
    baseline: ToolResult | None = None
    errors: list[str] = []
    with bench_workdir(args.keep, "scale") as workdir, nginx_server() as server:
        request = [{"method": "GET", "path": server.path}]
        ctx = run_context(server, args.idle_wait)
        runs = [
            ("ccplate-tui 50 VUs, no think", 50, args.baseline_seconds, 0.0),
            (f"ccplate-tui {args.vus:,} VUs, think 1 s", args.vus, args.seconds, THINK_S),
        ]
        for i, (label, vus, seconds, think) in enumerate(runs):
            if i:
                time.sleep(3.0)
            print(f"running {label} ...", flush=True)
            scenario: dict[str, object] = {
                "executor": "constant-vus",
                "vus": vus,
                "duration": f"{seconds:g}s",
                "requests": request,
            }
            if think:
                scenario["think_time"] = f"{think:g}s"
            try:
                result = run_ccplate(workdir, label, server.base_url, scenario, seconds, ctx=ctx)
            except BenchSetupError as exc:
                errors.append(f"{label}: {exc}")
                print(f"  FAILED: {exc}", file=sys.stderr, flush=True)
                continue
            results.append(result)
            if think:
                big = result
            else:
                baseline = result
        if args.with_k6:
            time.sleep(3.0)
            label = f"k6 {args.vus:,} VUs, sleep(1)"
            print(f"running {label} ...", flush=True)
            options = {"vus": args.vus, "duration": f"{args.seconds:g}s"}
            try:
                results.append(
                    run_k6(
                        workdir,
                        label,
                        server.base_url + server.path,
                        options,
                        args.seconds,
                        think_time_s=THINK_S,
                        ctx=ctx,
                    )
                )
            except BenchSetupError as exc:
                errors.append(f"{label}: {exc}")
                print(f"  FAILED: {exc}", file=sys.stderr, flush=True)
    print()
    print(markdown_table(HEADERS, rows(results)))
    if big is not None:
        iterations = big.iterations if big.iterations is not None else big.requests
        rate = big.iterations_rate or iterations / big.duration_s
        # The best a closed-model VU can do: one iteration per (think + request time), with the
        # request time the server gave a light load (the 50-VU run), not the inflated one.
        light = baseline.latency.avg / 1000 if baseline and baseline.latency else 0.0
        ideal = args.vus / (THINK_S + light)
        print(
            f"\n{args.vus:,} VUs: {rate:,.0f} iterations/s (the tool's own rate), "
            f"{rate / ideal:.1%} of the ideal {ideal:,.0f}/s; target ~{args.vus:,}/s"
        )
        if big.latency and baseline is not None and baseline.latency:
            base = baseline.latency
            print(
                f"latency vs the 50-VU run: p50 {big.latency.med - base.med:+,.1f} ms, "
                f"p99 {big.latency.p99 - base.p99:+,.1f} ms"
            )
    if args.json_out:
        write_json(args.json_out, {"machine": machine_line(), "results": results, "errors": errors})
    if errors:
        print("\nerrors:\n" + "\n".join(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
