"""What recording k6's six timing phases costs per request, against the one trend it replaced.

Before: the worker recorded one phase itself, `series.waiting.add(ms)` (one HDR record per
request). Now: `series.add_phases(phases)` records all six (http_req_blocked, _connecting,
_tls_handshaking, _sending, _waiting, _receiving). It appends to a list; every PHASE_BATCH
requests the batch is folded column by column in C, and the interval's flush turns each phase's
microsecond tally into HDR records. The numbers below include the folds and the flush: one
interval of `--requests` requests (a worker's ~1 CPU-second at full speed), best of `--repeats`.

Two phase mixes:
- keep-alive: what a reused loopback connection gives (connecting and TLS 0, blocked a few µs,
  waiting 0.1-2 ms);
- wide: waiting spread over 1-100 ms (many distinct microseconds: the tally's worst case).

Run: `.venv/bin/python -m benchmarks.phases_cost [--requests 45000] [--json-out FILE]`.
No network, no processes.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable

from ccplate_tui.load.metrics import Trend
from ccplate_tui.load.phases import RequestPhases
from ccplate_tui.load.recorder import HttpSeries


def keep_alive(rng: random.Random, n: int) -> list[RequestPhases]:
    return [
        RequestPhases(
            blocked=rng.uniform(0.001, 0.006) if rng.random() < 0.9 else 0.0,
            sending=rng.uniform(0.008, 0.03),
            waiting=rng.uniform(0.1, 2.0),
            receiving=rng.uniform(0.003, 0.02),
        )
        for _ in range(n)
    ]


def wide(rng: random.Random, n: int) -> list[RequestPhases]:
    return [
        RequestPhases(
            blocked=rng.uniform(0.001, 0.006),
            sending=rng.uniform(0.008, 0.03),
            waiting=rng.uniform(1.0, 100.0),
            receiving=rng.uniform(0.003, 0.5),
        )
        for _ in range(n)
    ]


class _AppendOnly(HttpSeries):
    """`add_phases` with its folds taken out: the cost of the call itself."""

    __slots__ = ()

    def fold_phases(self) -> None:
        self.pending.clear()


def _best_us_per_request(run: Callable[[], None], n: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best / n * 1e6


def measure(phases: list[RequestPhases], repeats: int) -> dict[str, float]:
    n = len(phases)
    waiting = [p.waiting for p in phases]

    def old() -> None:
        trend = Trend()
        add = trend.add
        for ms in waiting:
            add(ms)

    def new() -> None:
        series = HttpSeries(False)
        for p in phases:
            series.add_phases(p)
        series.phase_trends()  # the flush

    def new_hot_path_only() -> None:
        series = _AppendOnly(False)
        for p in phases:
            series.add_phases(p)

    def loop() -> None:
        for _ in phases:
            pass

    base = _best_us_per_request(loop, n, repeats)
    before = _best_us_per_request(old, n, repeats) - base
    after = _best_us_per_request(new, n, repeats) - base
    hot = _best_us_per_request(new_hot_path_only, n, repeats) - base
    return {
        "before_waiting_add_us": round(before, 3),
        "after_add_phases_us": round(after, 3),
        "of_which_per_call_us": round(hot, 3),
        "added_per_request_us": round(after - before, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=45_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json-out")
    args = parser.parse_args()
    rng = random.Random(1)
    results = {
        "keep-alive": measure(keep_alive(rng, args.requests), args.repeats),
        "wide": measure(wide(rng, args.requests), args.repeats),
    }
    for mix, numbers in results.items():
        print(
            f"{mix:>10}: waiting.add {numbers['before_waiting_add_us']:.2f} µs/request -> "
            f"add_phases (6 trends, folds and flush) {numbers['after_add_phases_us']:.2f} µs "
            f"(the call itself {numbers['of_which_per_call_us']:.2f} µs); "
            f"change {numbers['added_per_request_us']:+.2f} µs/request"
        )
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump({"requests": args.requests, **results}, f, indent=2)


if __name__ == "__main__":
    main()
