"""Memory over a long run: does ccplate-tui's process tree grow while it runs at full speed?

50 VUs, no think time, against loopback nginx for --minutes (default 10). The RSS (and PSS,
which counts pages shared between forked workers once) of the whole process tree is sampled
every 5 s. Reported: RSS at 1 minute (the engine is warm by then), at the end, and the growth
between them. Target: growth < 30 MB. Runs shorter than 5 minutes take the baseline at a fifth
of the run instead of at 1 minute.

    .venv/bin/python -m benchmarks.memory [--minutes 10] [--vus 50]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.cpu import MemorySample
from benchmarks.loadtools import bench_workdir, run_ccplate, run_context
from benchmarks.report import machine_line, markdown_table, write_json
from benchmarks.servers import BenchSetupError, nginx_server, raise_nofile_limit

SAMPLE_EVERY_S = 5.0
GROWTH_TARGET_MB = 30.0
MB = 1024 * 1024


def baseline_time(duration_s: float) -> float:
    """When the warm baseline is taken: 1 minute in, or a fifth of a short run."""
    return 60.0 if duration_s >= 300 else duration_s / 5


def sample_at(samples: tuple[MemorySample, ...], t: float) -> MemorySample:
    """The first sample taken at or after `t` (the last one if the run was shorter)."""
    return next((s for s in samples if s.t >= t), samples[-1])


def per_minute_rows(samples: tuple[MemorySample, ...]) -> list[list[object]]:
    """One row per minute of the run (per sample for runs under two minutes), plus the last."""
    step = 60.0 if samples[-1].t >= 120 else SAMPLE_EVERY_S
    picked: list[MemorySample] = []
    mark = 0.0
    for s in samples:
        if s.t >= mark:
            picked.append(s)
            mark = (s.t // step + 1) * step
    if picked[-1] is not samples[-1]:
        picked.append(samples[-1])
    return [
        [round(s.t), s.rss / MB, s.pss / MB if s.pss is not None else None, s.processes]
        for s in picked
    ]


def process_growth(base: MemorySample, end: MemorySample) -> str:
    """Each process's RSS at the baseline and at the end, to show which one grows."""
    before = {pid: rss for pid, _role, rss in base.by_process}
    lines = ["per process:"]
    for pid, role, rss in sorted(end.by_process, key=lambda p: (p[1], p[0])):
        was = before.get(pid, 0)
        lines.append(
            f"  {role} (pid {pid}): {was / MB:.1f} -> {rss / MB:.1f} MB ({(rss - was) / MB:+.1f})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--vus", type=int, default=50)
    parser.add_argument(
        "--idle-wait", type=float, default=120.0, help="max seconds to wait for a quiet machine"
    )
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep configs and tool logs")
    args = parser.parse_args(argv)
    if args.minutes <= 0:
        parser.error("--minutes must be > 0")
    seconds = args.minutes * 60
    raise_nofile_limit()
    print(machine_line())
    print(f"{args.vus} VUs, no think time, {seconds:g} s against loopback nginx; RSS every 5 s\n")

    def progress(sample: MemorySample) -> None:
        if int(sample.t) % 60 < SAMPLE_EVERY_S or seconds < 120:
            pss = f", PSS {sample.pss / MB:.1f} MB" if sample.pss is not None else ""
            print(f"  t={sample.t:5.0f} s  RSS {sample.rss / MB:.1f} MB{pss}", flush=True)

    try:
        with bench_workdir(args.keep, "memory") as workdir, nginx_server() as server:
            scenario = {
                "executor": "constant-vus",
                "vus": args.vus,
                "duration": f"{seconds:g}s",
                "requests": [{"method": "GET", "path": server.path}],
            }
            result = run_ccplate(
                workdir,
                "ccplate-tui",
                server.base_url,
                scenario,
                seconds,
                memory_every_s=SAMPLE_EVERY_S,
                pss=True,
                on_sample=progress,
                ctx=run_context(server, args.idle_wait),
            )
    except BenchSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    samples = result.usage.samples
    if not samples:
        print("error: no memory samples were taken (the run ended at once?)", file=sys.stderr)
        return 1
    base_t = baseline_time(seconds)
    base = sample_at(samples, base_t)
    # The last sample while the load still ran: later ones catch the tree shutting down.
    end = next((s for s in reversed(samples) if s.t <= seconds), samples[-1])
    growth = (end.rss - base.rss) / MB
    pss_growth = (end.pss - base.pss) / MB if end.pss is not None and base.pss is not None else None
    print()
    print(markdown_table(["t s", "RSS MB", "PSS MB", "procs"], per_minute_rows(samples)))
    print(
        f"\n{result.requests:,} requests ({result.requests_per_s:,.0f}/s), "
        f"{result.usage.cpu_s:.0f} CPU-s, peak RSS {result.usage.peak_rss / MB:.1f} MB; "
        f"rest of the machine used {result.usage.other_cpu_s:.0f} CPU-s meanwhile"
    )
    print(
        f"RSS at {base.t:.0f} s: {base.rss / MB:.1f} MB; at end ({end.t:.0f} s): {end.rss / MB:.1f} MB"
    )
    verdict = "PASS" if growth < GROWTH_TARGET_MB else "FAIL"
    print(f"growth: {growth:+.1f} MB RSS (target < {GROWTH_TARGET_MB:g} MB: {verdict})", end="")
    print(f", {pss_growth:+.1f} MB PSS" if pss_growth is not None else "")
    print(process_growth(base, end))
    if args.json_out:
        write_json(
            args.json_out,
            {
                "machine": machine_line(),
                "minutes": args.minutes,
                "baseline_rss": base.rss,
                "end_rss": end.rss,
                "growth_mb": growth,
                "result": result,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
