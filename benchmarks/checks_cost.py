"""What the Sentry compatibility check and the checklist's state file cost on this machine.

- compatibility: fetch the 1.2 MB @sentry/nextjs packument from a loopback registry (the demo
  target's route), parse it, decide against the example project; then the same from the cache.
- checklist state: the time of one append (read, check, rewrite, fsync twice) with N events
  already in the file, since every transition rewrites the whole file.

Run: `.venv/bin/python -m benchmarks.checks_cost [--json-out FILE]`. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp import web

from ccplate_tui.checklist.state import ChecklistStore, EventDraft
from ccplate_tui.sentry.compatibility import assess
from ccplate_tui.sentry.packument import PACKAGE, load_packument
from ccplate_tui.sentry.project_scan import scan_project
from ccplate_tui.target.npm_demo import add_npm_routes
from tests.http_fixtures import FixtureServer

ROOT = Path(__file__).resolve().parents[1]


class _Registry(FixtureServer):
    def _app(self) -> web.Application:
        app = web.Application()
        add_npm_routes(app, "/")
        return app


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def compatibility(rounds: int = 10) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, _Registry() as url:
        project = Path(tmp) / "app"
        import shutil

        shutil.copytree(ROOT / "examples" / "ccplate-app", project)
        (project / ".npmrc").write_text(f"registry={url}/\n")
        env = {"HOME": tmp}
        online, offline = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            scan = scan_project(project)
            packument = load_packument(PACKAGE, project, Path(tmp) / "cache", env=env, npm=None)
            assess(scan, packument)
            online.append(time.perf_counter() - started)
            started = time.perf_counter()
            scan = scan_project(project)
            packument = load_packument(
                PACKAGE, project, Path(tmp) / "cache", offline=True, env=env, npm=None
            )
            assess(scan, packument)
            offline.append(time.perf_counter() - started)
    return {"registry_ms": _median_ms(online), "cache_ms": _median_ms(offline)}


def state_appends(sizes: tuple[int, ...] = (10, 100, 1000)) -> dict[str, float]:
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = ChecklistStore(Path(tmp))
        written = 0
        for size in sizes:
            while written < size:
                store.append(EventDraft(who="bench", action="noted", step="s1", note=f"n{written}"))
                written += 1
            samples = []
            for _ in range(20):
                started = time.perf_counter()
                store.append(EventDraft(who="bench", action="noted", step="s1", note="x"))
                samples.append(time.perf_counter() - started)
                written += 1
            out[f"append_at_{size}_events_ms"] = _median_ms(samples)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json-out", metavar="FILE")
    args = parser.parse_args()
    results = {"compatibility": compatibility(), "checklist_state": state_appends()}
    print(json.dumps(results, indent=2))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
