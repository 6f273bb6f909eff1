"""`ccplate-tui history …`: the recorded runs, their baselines, comparisons and rechecks.

    history list [--limit N] [--scenario S] [--json]
    history show RUN [--json]
    history baseline [RUN] [--scenario S] [--force] [--as NAME] [--json]
    history compare RUN [BASE] [--json] [--latency-pct P] [--error-pp PP] [--throughput-pct P]
                    [--min-change DURATION] [--min-rate-change PP]
    history recheck RUN [--json]

RUN is a run id (`r12`), its number (`12`) or `latest`. Exit codes: 0 ok; 1 `compare` flagged a
regression, or the history cannot be read (a damaged database: the message says which file and
what is wrong); 2 bad usage, an unknown run or a bad config; 99 `recheck` found a threshold
crossed (as `run` would have).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import load_config
from ccplate_tui.config.units import parse_duration
from ccplate_tui.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_THRESHOLDS, EXIT_USAGE
from ccplate_tui.history import render
from ccplate_tui.history.compare import Flags, RunFigures, compare_runs, comparison_to_json
from ccplate_tui.history.legacy import open_history
from ccplate_tui.history.measure_lines import measure_lines, measures_to_json
from ccplate_tui.history.recheck import RecheckError, recheck_run
from ccplate_tui.history.rows import StoredRun
from ccplate_tui.history.schema import HistoryError
from ccplate_tui.history.store import HistoryStore, history_path
from ccplate_tui.load.run_registry import default_state_dir
from ccplate_tui.suggest import did_you_mean

LATEST = "latest"
_ENDED = {
    "interrupted": "was interrupted",
    "aborted": "was aborted by abortOnFail",
    "error": "failed",
}


class UsageError(Exception):
    """Bad usage of a history command (unknown run, scenario not in the run, …): exit 2."""


def add_history_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "history",
        help="recorded runs: list, show, baseline, compare, recheck",
        description="Every run (headless or from the dashboard) is recorded in "
        "<state>/history.sqlite3. List and inspect runs, set a scenario's baseline, compare a "
        "run with its baseline, or re-evaluate today's thresholds against a recorded run.",
    )
    actions = parser.add_subparsers(dest="history_command", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="recorded runs, newest first")
    listing.add_argument("--limit", type=_positive_int, default=20, metavar="N")
    listing.add_argument("--scenario", metavar="S", help="only runs that ran scenario or suite S")
    _common(listing)
    listing.set_defaults(func=list_command)

    show = actions.add_parser("show", help="one run: config, figures, thresholds, annotations")
    show.add_argument("run", metavar="RUN", help="run id (r12), number (12) or 'latest'")
    _common(show)
    show.set_defaults(func=show_command)

    baseline = actions.add_parser(
        "baseline",
        help="make RUN the baseline of its scenarios (without RUN: list the baselines)",
    )
    baseline.add_argument("run", metavar="RUN", nargs="?")
    baseline.add_argument(
        "--scenario",
        metavar="S",
        action="append",
        help="only for scenario or suite S (repeatable; default: every name the run covers)",
    )
    baseline.add_argument(
        "--force", action="store_true", help="accept a run that did not finish as planned"
    )
    baseline.add_argument(
        "--as", dest="as_name", metavar="NAME", help="recorded as who set it (default: OS user)"
    )
    _common(baseline)
    baseline.set_defaults(func=baseline_command)

    compare = actions.add_parser(
        "compare",
        help="RUN against BASE (default: the scenario's baseline, else the previous run)",
        description="Per metric and per request name: the base value, the new value and the "
        "change; regressions are flagged and make the exit code 1.",
    )
    compare.add_argument("run", metavar="RUN")
    compare.add_argument("base", metavar="BASE", nargs="?")
    defaults = Flags()
    compare.add_argument(
        "--latency-pct",
        type=_non_negative_float,
        default=defaults.latency_pct,
        metavar="P",
        help=f"flag latency up by more than P %% (default {defaults.latency_pct:g})",
    )
    compare.add_argument(
        "--error-pp",
        type=_non_negative_float,
        default=defaults.error_pp,
        metavar="PP",
        help="flag an error rate up (or checks down) by more than PP percentage points "
        f"(default {defaults.error_pp:g})",
    )
    compare.add_argument(
        "--throughput-pct",
        type=_non_negative_float,
        default=defaults.throughput_pct,
        metavar="P",
        help=f"flag throughput down by more than P %% (default {defaults.throughput_pct:g})",
    )
    compare.add_argument(
        "--min-change",
        type=_latency_floor,
        default=defaults.min_latency_ms,
        metavar="DURATION",
        help="and only when a latency rose by more than DURATION too, so noise on a fast "
        f"endpoint is not a regression (default {defaults.min_latency_ms:g}ms; 0 turns it off)",
    )
    compare.add_argument(
        "--min-rate-change",
        type=_non_negative_float,
        default=defaults.min_rate_pp,
        metavar="PP",
        help="and only when a rate moved by more than PP percentage points too "
        f"(default {defaults.min_rate_pp:g})",
    )
    _common(compare)
    compare.set_defaults(func=compare_command)

    recheck = actions.add_parser(
        "recheck",
        help="re-evaluate today's thresholds against a recorded run (no traffic; exit 99 fails)",
    )
    recheck.add_argument("run", metavar="RUN")
    _common(recheck)
    recheck.set_defaults(func=recheck_command)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--config", default="scenarios.toml", metavar="FILE", help="default: scenarios.toml"
    )
    parser.add_argument(
        "--state",
        metavar="DIR",
        help="state folder (default: $CCPLATE_TUI_STATE_DIR, else .ccplate/ beside the config)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _latency_floor(text: str) -> float:
    """A duration (`1ms`, `500us`, `0`) in milliseconds."""
    if text.strip() in ("0", "0ms", "0s"):
        return 0.0
    try:
        return parse_duration(text) * 1000.0
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# --- plumbing -----------------------------------------------------------------------------------


def state_dir(args: argparse.Namespace) -> Path:
    return Path(args.state) if args.state else default_state_dir(args.config)


def _fail(message: str, code: int) -> int:
    print(f"ccplate-tui history: {message}", file=sys.stderr)
    return code


def _with_store(
    args: argparse.Namespace, action: Callable[[HistoryStore], int], *, empty: Callable[[], int]
) -> int:
    """Open the history (importing old run records the first time) and run `action`; `empty`
    answers when the state folder has no history yet (a read must not create one)."""
    try:
        store = open_history(state_dir(args), create=False)
    except OSError as exc:  # HistoryError included: a damaged database
        return _fail(f"{exc} (runs still work without the history)", EXIT_ERROR)
    if store is None:
        return empty()
    try:
        with store:
            return action(store)
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except HistoryError as exc:
        return _fail(f"{exc} (runs still work without the history)", EXIT_ERROR)


def _no_history(args: argparse.Namespace, what: str) -> Callable[[], int]:
    def answer() -> int:
        path = history_path(state_dir(args))
        return _fail(
            f"{what}: no run history at {path} yet (every `ccplate-tui run` and dashboard run "
            "records one there; pass --state or --config to look elsewhere)",
            EXIT_USAGE,
        )

    return answer


def find_run(store: HistoryStore, ref: str) -> StoredRun:
    """The run `ref` names (`r12`, `12`, `latest`); UsageError naming what exists otherwise."""
    if ref == LATEST:
        runs = store.runs(1)
        if not runs:
            raise UsageError(f"no runs recorded in {store.path} yet")
        return runs[0]
    run = store.run(ref)
    if run is None:
        runs = store.runs()
        recent = ", ".join(r.id for r in runs[:5]) or "none yet"
        hint = did_you_mean(ref, [LATEST, *(r.id for r in runs)])
        raise UsageError(f"no run {ref!r} in {store.path}{hint} (latest runs: {recent})")
    return run


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


# --- list and show ------------------------------------------------------------------------------


def list_command(args: argparse.Namespace) -> int:
    def empty() -> int:
        if args.json:
            _print_json({"runs": []})
        else:
            print(f"no runs recorded yet ({history_path(state_dir(args))})")
        return EXIT_OK

    def action(store: HistoryStore) -> int:
        runs = store.runs(args.limit, scenario=args.scenario)
        baselines = _baselines_by_run(store)
        if args.json:
            _print_json({"runs": [render.run_to_json(r, baselines.get(r.id, [])) for r in runs]})
        else:
            print("\n".join(render.run_table(runs, baselines, store.path)))
        return EXIT_OK

    return _with_store(args, action, empty=empty)


def _baselines_by_run(store: HistoryStore) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for baseline in store.baselines():
        out.setdefault(baseline.run_id, []).append(baseline.scenario)
    return out


def show_command(args: argparse.Namespace) -> int:
    def action(store: HistoryStore) -> int:
        run = find_run(store, args.run)
        totals = store.totals(run.id)
        annotations = store.annotations(run.id)
        baseline_of = _baselines_by_run(store).get(run.id, [])
        measured = (store.source_samples(run.id), store.availability(run.id), store.capture(run.id))
        if args.json:
            data = render.run_to_json(run, baseline_of)
            data.update(render.figures_to_json(totals, run.elapsed or run.duration))
            data.update(measures_to_json(*measured))
            data["annotations"] = [render.annotation_to_json(a) for a in annotations]
            data["config"] = run.config
            _print_json(data)
        else:
            lines = render.show_lines(run, totals, annotations, baseline_of)
            extra = measure_lines(*measured)
            print("\n".join(lines + (["", *extra] if extra else [])))
        return EXIT_OK

    return _with_store(args, action, empty=_no_history(args, f"show {args.run}"))


# --- baseline -----------------------------------------------------------------------------------


def baseline_command(args: argparse.Namespace) -> int:
    if args.run is None:
        if args.scenario or args.force or args.as_name:
            return _fail("baseline: --scenario, --force and --as need a RUN", EXIT_USAGE)
        return _list_baselines(args)

    def action(store: HistoryStore) -> int:
        run = find_run(store, args.run)
        if run.status == "running":
            raise UsageError(
                f"run {run.id} is still running: make it a baseline once it has finished"
            )
        if run.status != "finished" and not args.force:
            raise UsageError(
                f"run {run.id} {_ENDED.get(run.status, run.status)} before its planned end: "
                "a baseline should be a complete run (pass --force to use it anyway)"
            )
        if run.interval_count == 0 and not args.force:
            raise UsageError(
                f"run {run.id} has no recorded intervals (imported from a run record): relative "
                "thresholds and compare would find no figures in it (pass --force to use it "
                "anyway)"
            )
        names = args.scenario or list(run.all_names)
        unknown = [n for n in names if not run.covers(n)]
        if unknown:
            raise UsageError(
                f"run {run.id} did not run {', '.join(repr(n) for n in unknown)} "
                f"(it ran {', '.join(run.all_names)})"
            )
        previous = {n: store.baseline(n) for n in names}
        set_ = [store.set_baseline(n, run.id, args.as_name) for n in names]
        if args.json:
            _print_json(
                {
                    "run": run.id,
                    "baselines": [
                        {**render.baseline_to_json(b), "previous_run": previous[b.scenario]}
                        for b in set_
                    ],
                }
            )
        else:
            for baseline in set_:
                before = previous[baseline.scenario]
                was = f" (was {before})" if before and before != run.id else ""
                print(f"baseline of {baseline.scenario}: {run.id}{was}")
        return EXIT_OK

    return _with_store(args, action, empty=_no_history(args, f"baseline {args.run}"))


def _list_baselines(args: argparse.Namespace) -> int:
    def empty() -> int:
        if args.json:
            _print_json({"baselines": []})
        else:
            print(render.NO_BASELINES)
        return EXIT_OK

    def action(store: HistoryStore) -> int:
        baselines = store.baselines()
        if args.json:
            _print_json({"baselines": [render.baseline_to_json(b) for b in baselines]})
        else:
            print("\n".join(render.baseline_lines(baselines)))
        return EXIT_OK

    return _with_store(args, action, empty=empty)


# --- compare ------------------------------------------------------------------------------------


def default_base(store: HistoryStore, run: StoredRun) -> tuple[StoredRun | None, str]:
    """The run to compare `run` with, and why: a baseline of one of its scenarios (not itself),
    else the latest finished run of the same scenarios before it."""
    for name in run.all_names:
        run_id = store.baseline(name)
        if run_id is not None and run_id != run.id:
            base = store.run(run_id)
            if base is not None:
                return base, f"the baseline of {name}"
    wanted = set(run.scenarios or run.names)
    for other in store.runs():
        if (
            other.seq < run.seq
            and other.status == "finished"
            and other.interval_count > 0
            and set(other.scenarios or other.names) == wanted
        ):
            return other, "the previous finished run of the same scenarios"
    return None, ""


def compare_command(args: argparse.Namespace) -> int:
    flags = Flags(
        args.latency_pct,
        args.error_pp,
        args.throughput_pct,
        min_latency_ms=args.min_change,
        min_rate_pp=args.min_rate_change,
    )

    def action(store: HistoryStore) -> int:
        run = find_run(store, args.run)
        if args.base is not None:
            base, why = find_run(store, args.base), "given"
        else:
            found, why = default_base(store, run)
            if found is None:
                raise UsageError(
                    f"nothing to compare {run.id} with: no baseline for "
                    f"{', '.join(run.all_names)} and no earlier finished run of the same "
                    f"scenarios (set one with `ccplate-tui history baseline RUN`, or name BASE)"
                )
            base = found
        if base.id == run.id:
            raise UsageError(f"compare {run.id} with another run, not with itself")
        for side in (run, base):
            if side.interval_count == 0:
                raise UsageError(
                    f"run {side.id} has no recorded intervals (imported from a run record): "
                    "there are no figures to compare"
                )
        comparison = compare_runs(
            RunFigures(store.totals(base.id), base.elapsed or base.duration, base.id),
            RunFigures(store.totals(run.id), run.elapsed or run.duration, run.id),
            flags,
            tuple(render.context_notes(run, base)),
        )
        if args.json:
            data = {
                "run": render.run_to_json(run, []),
                "base": {**render.run_to_json(base, []), "why": why},
                **comparison_to_json(comparison),
            }
            _print_json(data)
        else:
            print("\n".join(render.comparison_lines(run, base, why, comparison)))
        return EXIT_ERROR if comparison.regressions else EXIT_OK

    return _with_store(args, action, empty=_no_history(args, f"compare {args.run}"))


# --- recheck ------------------------------------------------------------------------------------


def recheck_command(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE

    def action(store: HistoryStore) -> int:
        run = find_run(store, args.run)
        try:
            result = recheck_run(store, config, run)
        except RecheckError as exc:
            raise UsageError(str(exc)) from None
        if args.json:
            _print_json(render.recheck_to_json(result, config.path))
        else:
            print("\n".join(render.recheck_lines(result, config.path)))
        return EXIT_THRESHOLDS if result.failed else EXIT_OK

    return _with_store(args, action, empty=_no_history(args, f"recheck {args.run}"))
