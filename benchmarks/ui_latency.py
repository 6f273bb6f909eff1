"""Dashboard responsiveness during a full-speed load run: key-press latency and plot redraw cost.

Drives the real `CcplateApp` with Textual's Pilot (headless: frames are composed, not written to
a terminal) while its own engine runs a no-think-time scenario against the demo target, which
this script starts on a free 127.0.0.1 port and stops at the end. Nothing leaves the machine;
the run is bounded by `--seconds`.

Measured:
- key press -> handled: a tab key is posted to the app as the terminal driver would post it;
  handled when `TabbedContent.active` changes. Samples alternate Load -> Overview and
  Overview -> Load (the latter makes the Load pane catch up with a full redraw).
- key press -> frame: until the next screen update the compositor produces after that.
- plot redraw cost: per redraw, the time in `LoadPane.refresh_plots()` (data into the three
  figures) plus the three plots' `render()` (plotext's build) in the frames that follow.
- redraws while the Load tab is hidden (must be 0) and the event loop's lag (a 10 ms sleeper).

    .venv/bin/python -m benchmarks.ui_latency [--seconds 40] [--vus 50] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SIZE = (140, 45)


def scenario_toml(base_url: str, vus: int, seconds: int) -> str:
    return f"""
[target]
base_url = "{base_url}"

[options]
interval = "1s"

[scenarios.full_speed]
description = "no think time: as fast as the demo target answers"
executor = "constant-vus"
vus = {vus}
duration = "{seconds}s"
gracefulStop = "2s"
thresholds = {{ http_req_duration = ["p(95)<500", "p(99)<1000"], http_req_failed = ["rate<0.01"] }}

[[scenarios.full_speed.requests]]
name = "health"
path = "/api/health"
"""


@dataclass(frozen=True)
class Stats:
    """Milliseconds."""

    samples: int
    p50: float
    p95: float
    max: float
    mean: float

    @classmethod
    def of(cls, values_s: list[float]) -> Stats:
        ms = sorted(v * 1000 for v in values_s)
        if not ms:
            return cls(0, 0.0, 0.0, 0.0, 0.0)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        return cls(len(ms), statistics.median(ms), p95, ms[-1], statistics.fmean(ms))

    def line(self, label: str) -> str:
        return (
            f"{label:<34} n={self.samples:<4} p50 {self.p50:7.1f} ms  p95 {self.p95:7.1f} ms  "
            f"max {self.max:7.1f} ms  mean {self.mean:6.1f} ms"
        )


class Probe:
    """Timestamps of frames, plot builds and plot refreshes, taken inside the running app."""

    def __init__(self) -> None:
        self.frames: list[float] = []
        self.refreshes: list[tuple[float, float, bool]] = []
        """(start, seconds, drew) for each LoadPane.refresh_plots call."""
        self.builds: list[tuple[float, float]] = []
        """(end, seconds) for each plot render (plotext build)."""

    def timed(self, fn: Callable[..., Any], into: list) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                end = time.perf_counter()
                into.append((end, end - start))

        return wrapper


async def drive(args: argparse.Namespace, config_path: Path, state: Path) -> dict[str, Any]:
    from textual import events
    from textual.widgets import TabbedContent
    from textual_plotext import PlotextPlot

    from ccplate_tui.config.loader import load_config
    from ccplate_tui.ui.app import CcplateApp
    from ccplate_tui.ui.load_pane import LoadPane
    from ccplate_tui.ui.messages import LoadViewUpdated, RunFinished

    probe = Probe()
    # refresh_plots is bound by the pane's timer at mount: patch the class before the app runs.
    original_refresh = LoadPane.refresh_plots

    def refresh_plots(pane: LoadPane) -> bool:
        start = time.perf_counter()
        drew = original_refresh(pane)
        probe.refreshes.append((start, time.perf_counter() - start, drew))
        return drew

    LoadPane.refresh_plots = refresh_plots  # type: ignore[method-assign]
    views = 0
    finished = False
    last_view: Any = None

    def hook(message: Any) -> None:
        nonlocal views, finished, last_view
        if isinstance(message, LoadViewUpdated):
            views += 1
            last_view = message.view
        elif isinstance(message, RunFinished):
            finished = True

    app = CcplateApp(
        load_config(config_path), workers=args.workers, state_dir=state, auto_start_target=False
    )
    display = app._display

    def counting_display(screen: Any, renderable: Any) -> None:
        if renderable is not None:
            probe.frames.append(time.perf_counter())
        display(screen, renderable)

    app._display = counting_display  # type: ignore[method-assign]

    handled: dict[str, list[float]] = {"to Overview": [], "to Load": []}
    painted: list[float] = []
    lags: list[float] = []
    hidden_builds = 0
    load_shown_s = 0.0
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        tabs = app.query_one("#tabs", TabbedContent)
        load = app.query_one(LoadPane)
        for plot in load.query(PlotextPlot):
            plot.render = probe.timed(plot.render, probe.builds)  # type: ignore[method-assign]
        stop_lag = asyncio.Event()

        async def lag_sampler() -> None:
            while not stop_lag.is_set():
                start = time.perf_counter()
                await asyncio.sleep(0.010)
                lags.append(time.perf_counter() - start - 0.010)

        sampler = asyncio.create_task(lag_sampler())
        await pilot.press("2")
        app.start_run(("full_speed",))
        deadline = time.monotonic() + 60
        while views < 2 and time.monotonic() < deadline:
            await pilot.pause(0.1)
        if views < 2:
            raise RuntimeError("no views from the engine within 60 s")
        print(f"run going ({views} views); sampling key presses...", file=sys.stderr, flush=True)

        async def press(key: str, expected: str, label: str) -> None:
            start = time.perf_counter()
            app.post_message(events.Key(key, key))  # what the terminal driver does per key
            while tabs.active != expected:
                await asyncio.sleep(0.0005)
            done = time.perf_counter()
            handled[label].append(done - start)
            until = done + 1.0
            while (not probe.frames or probe.frames[-1] < done) and time.perf_counter() < until:
                await asyncio.sleep(0.0005)
            if probe.frames and probe.frames[-1] >= done:
                painted.append(probe.frames[-1] - start)

        rng = random.Random(7)
        run_end = time.monotonic() + args.seconds - 4
        while time.monotonic() < run_end and not finished:
            await press("1", "overview-tab", "to Overview")
            # Hidden: no plot may be built while the Overview is shown.
            before = len(probe.builds)
            await asyncio.sleep(rng.uniform(0.05, 0.3))
            hidden_builds += len(probe.builds) - before
            await press("2", "load-tab", "to Load")
            shown_at = time.perf_counter()
            await asyncio.sleep(rng.uniform(0.6, 1.2))  # long enough for timed redraws
            load_shown_s += time.perf_counter() - shown_at
        stop_lag.set()
        await sampler
        await app.stop_and_wait()
        await pilot.pause(0.2)
    LoadPane.refresh_plots = original_refresh  # type: ignore[method-assign]

    # A redraw = a refresh_plots that drew, plus the plot builds up to the next refresh call.
    redraws: list[float] = []
    prep: list[float] = []
    build_each: list[float] = []
    starts = [start for start, _, _ in probe.refreshes]
    for index, (start, seconds, drew) in enumerate(probe.refreshes):
        if not drew:
            continue
        next_start = starts[index + 1] if index + 1 < len(starts) else float("inf")
        builds = [s for end, s in probe.builds if start < end <= next_start]
        prep.append(seconds)
        build_each.extend(builds)
        redraws.append(seconds + sum(builds))
    run_seconds = args.seconds
    results = {
        "key_to_handled": asdict(Stats.of(handled["to Overview"] + handled["to Load"])),
        "key_to_handled_to_overview": asdict(Stats.of(handled["to Overview"])),
        "key_to_handled_to_load": asdict(Stats.of(handled["to Load"])),
        "key_to_frame": asdict(Stats.of(painted)),
        "redraw_total": asdict(Stats.of(redraws)),
        "redraw_refresh_plots": asdict(Stats.of(prep)),
        "redraw_each_plot_build": asdict(Stats.of(build_each)),
        "event_loop_lag": asdict(Stats.of(lags)),
        "redraws": len(redraws),
        "load_tab_shown_s": round(load_shown_s, 1),
        "refresh_calls": len(probe.refreshes),
        "plot_builds_while_hidden": hidden_builds,
        "views_received": views,
        "requests": last_view.total_requests if last_view else 0,
        "engine_seconds": round(last_view.elapsed, 1) if last_view else 0.0,
        "run_seconds": run_seconds,
        "vus": args.vus,
        "workers": args.workers,
    }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=40, help="length of the run (default 40)")
    parser.add_argument("--vus", type=int, default=50, help="VUs without think time (default 50)")
    parser.add_argument("--workers", type=int, help="engine workers (default: one per core)")
    parser.add_argument("--json-out", type=Path, help="write the numbers as JSON")
    args = parser.parse_args(argv)
    if not 10 <= args.seconds <= 600:
        parser.error("--seconds must be between 10 and 600")

    from ccplate_tui.target.server import start_target_process, stop_target_process

    proc, url = start_target_process(port=0)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ui-") as work:
            config = Path(work) / "scenarios.toml"
            config.write_text(scenario_toml(url, args.vus, args.seconds), encoding="utf-8")
            results = asyncio.run(drive(args, config, Path(work) / "state"))
    finally:
        stop_target_process(proc)

    print(f"\nui_latency: {args.vus} VUs, no think time, {args.seconds}s against {url}")
    rate = results["requests"] / max(results["engine_seconds"], 0.1)
    print(
        f"terminal {SIZE[0]}x{SIZE[1]}, views received {results['views_received']}, "
        f"engine: {results['requests']} requests in {results['engine_seconds']} s ({rate:.0f}/s)"
    )
    for key, label in (
        ("key_to_handled", "key press -> handled (all)"),
        ("key_to_handled_to_overview", "  Load -> Overview"),
        ("key_to_handled_to_load", "  Overview -> Load (catch-up)"),
        ("key_to_frame", "key press -> next frame"),
        ("redraw_total", "plot redraw (3 plots)"),
        ("redraw_refresh_plots", "  refresh_plots (data)"),
        ("redraw_each_plot_build", "  one plot's build (render)"),
        ("event_loop_lag", "event loop lag (10 ms sleeper)"),
    ):
        print(Stats(**results[key]).line(label))
    shown = max(results["load_tab_shown_s"], 0.1)
    print(
        f"redraws: {results['redraws']} of {results['refresh_calls']} timer calls, "
        f"{results['redraws'] / shown:.1f}/s while the Load tab was shown ({shown:.0f} s); "
        f"plot builds while hidden: {results['plot_builds_while_hidden']}"
    )
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
