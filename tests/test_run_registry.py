"""RunRegistry: one load run per state folder across real processes, and exact LiveView replay."""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ccplate_tui.config.loader import parse_config
from ccplate_tui.config.thresholds import ThresholdExpr, ThresholdSpec
from ccplate_tui.load.engine import LoadRun, resolve_plan
from ccplate_tui.load.live import (
    HistogramBin,
    LatencyStats,
    LiveView,
    RequestRow,
    build_live_view,
)
from ccplate_tui.load.run_registry import (
    KEEP_RUNS,
    LOCK_NAME,
    STATE_DIR_ENV,
    RegistryError,
    RunEnded,
    RunInfo,
    RunRegistry,
    default_state_dir,
    live_view_from_dict,
    live_view_to_dict,
)
from ccplate_tui.load.snapshot import ScenarioProgress, WorkerHealth
from ccplate_tui.load.thresholds import ThresholdResult
from tests.http_fixtures import fixture_server

SPAWN = multiprocessing.get_context("spawn")
WAIT = 60.0
"""Generous bound for a spawned child to start (imports) and reach a step; never a timing assert."""


def sample_view(i: int = 0) -> LiveView:
    """A view that uses every field type: None and set optionals, inf, windows, tags, tuples."""
    expr = ThresholdExpr("p(99)[30s]<200", "p", 99.0, "<", 200.0, window=30.0)
    spec = ThresholdSpec(
        key="http_req_duration{name:login,scenario:auth_burst}",
        metric="http_req_duration",
        tags=(("name", "login"), ("scenario", "auth_burst")),
        expr=expr,
        abort_on_fail=True,
        delay_abort_eval=10.0,
    )
    rate = ThresholdSpec(
        "http_req_failed",
        "http_req_failed",
        (),
        ThresholdExpr("rate<0.01", "rate", None, "<", 0.01),
    )
    infinite = ThresholdSpec(
        "http_reqs", "http_reqs", (), ThresholdExpr("count<inf", "count", None, "<", math.inf)
    )
    return LiveView(
        elapsed=1.25 + i,
        planned=300.0,
        interval_start=0.25 + i,
        interval_end=1.25 + i,
        requests_per_s=1234.5678901234,
        errors_per_s=0.1 + 0.2,  # 0.30000000000000004: floats must survive digit for digit
        interval_latency=LatencyStats(100 + i, 3.5, 2.25, 9.75, 14.125, 20.0),
        total_latency=LatencyStats(0, 0.0, 0.0, 0.0, 0.0, 0.0),
        total_requests=10_000 + i,
        total_error_rate=None if i % 2 else 0.0125,
        iterations=42,
        dropped=3,
        active_vus=17,
        histogram=(HistogramBin(1.5, 10), HistogramBin(3.0, 80), HistogramBin(12.0, 10)),
        thresholds=(
            ThresholdResult(spec, False, 250.5, first_failed_at=12.0),
            ThresholdResult(rate, None, None),
            ThresholdResult(infinite, True, 5.0),
        ),
        requests=(RequestRow("login", 90, 0.0, 2.0, 9.0, 14.0), RequestRow("me", 10, 0.5, 1, 2, 3)),
        progress=(
            ScenarioProgress("auth_burst", "running", 1.25, 300.0, 17, 100, 42, 0, 3, stage=0),
            ScenarioProgress("iters", "waiting", 0.0, 10.0, 0, 5, 0, 0, 0, iterations_planned=50),
        ),
        health=None if i % 2 else WorkerHealth(2, 95.5, 3.25),
        notes=("Insufficient VUs, reached 100 active VUs",) if i else (),
    )


def test_live_view_round_trip_is_exact_through_json() -> None:
    for i in range(3):
        view = sample_view(i)
        text = json.dumps(live_view_to_dict(view))
        back = live_view_from_dict(json.loads(text))
        assert back == view
        assert isinstance(back.histogram, tuple) and isinstance(back.thresholds[0].spec.tags, tuple)
        assert back.thresholds[0].spec.tags[0] == ("name", "login")
    assert live_view_from_dict(json.loads(json.dumps(live_view_to_dict(sample_view())))).health
    assert live_view_to_dict(sample_view())["health"]["cpu_percent"] == 95.5


def test_live_views_of_a_real_run_round_trip() -> None:
    views: list[LiveView] = []
    with fixture_server() as server:
        config = parse_config(
            f"""
[target]
base_url = "{server.url}"
[options]
interval = "250ms"
[scenarios.mix]
executor = "constant-vus"
vus = 2
duration = "1s"
thresholds = {{ http_req_failed = ["rate<0.01"], http_req_duration = ["p(95)<1000"] }}
[[scenarios.mix.requests]]
name = "fast"
path = "/ok"
[[scenarios.mix.requests]]
name = "broken"
path = "/status/500"
""",
            "registry.toml",
        )
        plan = resolve_plan(config, [])
        run = LoadRun(config, plan, workers=1)
        run.observers.append(lambda update: views.append(build_live_view(update, plan.scenarios)))
        run.run()
    assert len(views) >= 3 and any(v.histogram for v in views)
    for view in views:
        assert live_view_from_dict(json.loads(json.dumps(live_view_to_dict(view)))) == view


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["thresholds"][0]["spec"]["expr"].__setitem__("value", "200"),
            "view.thresholds[0].spec.expr.value: expected a number, got str '200'",
        ),
        (lambda d: d.__setitem__("colour", "red"), "unknown key 'colour' for LiveView"),
        (lambda d: d.pop("elapsed"), "missing key 'elapsed' for LiveView"),
        (lambda d: d.__setitem__("histogram", {}), "view.histogram: expected a list"),
        (
            lambda d: d["thresholds"][0]["spec"].__setitem__("tags", [["name"]]),
            "view.thresholds[0].spec.tags[0]: expected 2 items, got 1",
        ),
        (
            lambda d: d.__setitem__("total_requests", 1.5),
            "view.total_requests: expected an integer",
        ),
        (lambda d: d.__setitem__("active_vus", True), "view.active_vus: expected an integer"),
        (lambda d: d["progress"][1].__setitem__("stage", "0"), "view.progress[1].stage"),
    ],
)
def test_live_view_from_bad_data_names_the_key_path(mutate: Any, message: str) -> None:
    data = json.loads(json.dumps(live_view_to_dict(sample_view())))
    mutate(data)
    with pytest.raises(ValueError) as info:
        live_view_from_dict(data)
    assert message in str(info.value)


# --- processes the tests drive (module level so spawn can import them) -------------------------


def _hold_claim(state_dir: str, owner: str, claimed: Any, release: Any, result: Any) -> None:
    claim = RunRegistry(Path(state_dir)).claim(["auth_burst"], owner)
    result.put(None if claim is None else claim.info.run_id)
    claimed.set()
    if claim is not None:
        release.wait(WAIT)
        claim.release()


def _claim_and_die(state_dir: str, views: int, result: Any) -> None:
    claim = RunRegistry(Path(state_dir)).claim(["auth_burst"], "doomed")
    assert claim is not None
    for i in range(views):
        claim.publish(sample_view(i))
    result.put(claim.info.run_id)
    result.close()
    result.join_thread()  # the queue's feeder thread must deliver before _exit
    os._exit(3)  # no release, no end record: as a killed process leaves it


def _publish_run(state_dir: str, views: int, go: Any, result: Any) -> None:
    with RunRegistry(Path(state_dir)).claim(["auth_burst", "schema_lock"], "browser") as claim:
        result.put(claim.info.run_id)
        go.wait(WAIT)  # the follower is attached: publish while it tails
        for i in range(views):
            claim.publish(sample_view(i))
            time.sleep(0.05)
        claim.finish("summary text\n  ✓ p(99)<200", ok=False)


def _follow_current(state_dir: str, attached: Any, result: Any) -> None:
    registry = RunRegistry(Path(state_dir))
    info = registry.current()
    assert info is not None
    attached.set()
    result.put(
        [live_view_to_dict(i) if isinstance(i, LiveView) else i for i in registry.follow(info)]
    )


def _race_claim(state_dir: str, start: Any, done: Any, result: Any) -> None:
    start.wait(WAIT)
    claim = RunRegistry(Path(state_dir)).claim(["auth_burst"], f"racer {os.getpid()}")
    result.put(None if claim is None else claim.info.run_id)
    done.wait(WAIT)  # hold the claim until every racer has tried
    if claim is not None:
        claim.release()


# --- claims across processes -------------------------------------------------------------------


def test_a_second_process_is_denied_until_the_first_releases(tmp_path: Path) -> None:
    claimed, release, result = SPAWN.Event(), SPAWN.Event(), SPAWN.Queue()
    child = SPAWN.Process(
        target=_hold_claim, args=(str(tmp_path), "browser", claimed, release, result)
    )
    child.start()
    try:
        assert claimed.wait(WAIT)
        run_id = result.get(timeout=WAIT)
        assert run_id is not None
        registry = RunRegistry(tmp_path)
        assert registry.claim(["file_upload"], "terminal") is None
        info = registry.current()
        assert info is not None
        assert (info.run_id, info.pid, info.owner, info.names) == (
            run_id,
            child.pid,
            "browser",
            ("auth_burst",),
        )
        # A third process is denied too, not only this one.
        # Keep every Event referenced until the child has started: spawn unpickles them late.
        claimed2, release2, result2 = SPAWN.Event(), SPAWN.Event(), SPAWN.Queue()
        other = SPAWN.Process(
            target=_hold_claim, args=(str(tmp_path), "tab 3", claimed2, release2, result2)
        )
        other.start()
        assert result2.get(timeout=WAIT) is None
        other.join(WAIT)
    finally:
        release.set()
        child.join(WAIT)
    assert child.exitcode == 0
    assert not (tmp_path / LOCK_NAME).exists()
    assert registry.current() is None
    with registry.claim(["file_upload"], "terminal") as claim:
        assert claim is not None and claim.notes == ()
        assert registry.current() == claim.info


@pytest.mark.parametrize("stale", [False, True], ids=["free", "stale lock"])
def test_racing_processes_get_exactly_one_claim(tmp_path: Path, stale: bool) -> None:
    if stale:
        (tmp_path / LOCK_NAME).write_text("{damaged")
    start, done, result = SPAWN.Event(), SPAWN.Event(), SPAWN.Queue()
    racers = [
        SPAWN.Process(target=_race_claim, args=(str(tmp_path), start, done, result))
        for _ in range(4)
    ]
    for racer in racers:
        racer.start()
    try:
        start.set()
        outcomes = [result.get(timeout=WAIT) for _ in racers]
    finally:
        done.set()
        for racer in racers:
            racer.join(WAIT)
    assert sum(o is not None for o in outcomes) == 1
    assert all(r.exitcode == 0 for r in racers)


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    result = SPAWN.Queue()
    child = SPAWN.Process(target=_claim_and_die, args=(str(tmp_path), 2, result))
    child.start()
    dead_run = result.get(timeout=WAIT)
    child.join(WAIT)
    assert child.exitcode == 3
    assert (tmp_path / LOCK_NAME).exists()  # the dead owner never released it
    registry = RunRegistry(tmp_path)
    assert registry.current() is None
    claim = registry.claim(["auth_burst"], "terminal")
    assert claim is not None
    try:
        assert len(claim.notes) == 1
        assert dead_run in claim.notes[0] and f"process {child.pid}" in claim.notes[0]
        assert "is gone" in claim.notes[0]
        assert registry.current() == claim.info
    finally:
        claim.release()


def test_a_recycled_pid_does_not_keep_a_stale_lock_alive(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path)
    with registry.claim(["a"], "first") as claim:
        data = json.loads((tmp_path / LOCK_NAME).read_text())
    # Same pid (ours, alive), but a start time that is not this process's: a recycled pid.
    data["pid_started"] -= 3600
    (tmp_path / LOCK_NAME).write_text(json.dumps(data))
    assert registry.current() is None
    again = registry.claim(["b"], "second")
    assert again is not None and "is gone" in again.notes[0]
    assert claim.info.run_id in again.notes[0]
    again.release()


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"", "got an empty file"),
        (b"{not json", "invalid JSON"),
        (b"\xff\xfe", "invalid JSON"),
        (b"[1, 2]", "got list [1, 2]"),
        (b'{"run_id": "x"}', "missing 'pid'"),
        (
            json.dumps(
                {
                    "run_id": "x",
                    "pid": "12",
                    "pid_started": 1.0,
                    "owner": "o",
                    "names": [],
                    "started": 1.0,
                    "live": "/tmp/x",
                }
            ).encode(),
            "'pid': expected a positive integer, got str '12'",
        ),
    ],
)
def test_a_damaged_lock_is_reported_and_treated_as_stale(
    tmp_path: Path, content: bytes, what: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / LOCK_NAME).write_bytes(content)
    registry = RunRegistry(tmp_path)
    assert registry.current() is None
    assert "is damaged" in caplog.text
    claim = registry.claim(["auth_burst"], "terminal")
    assert claim is not None
    try:
        assert len(claim.notes) == 1
        note = claim.notes[0]
        assert str(tmp_path / LOCK_NAME) in note and "is damaged" in note and what in note
        assert "treated it as stale" in note
        assert (tmp_path / (LOCK_NAME + ".damaged")).read_bytes() == content  # evidence kept
        assert registry.current() == claim.info
    finally:
        claim.release()


def test_an_unusable_state_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file, not a folder")
    with pytest.raises(RegistryError, match=r"cannot use the state folder .*state"):
        RunRegistry(blocker).claim(["a"], "terminal")


# --- following a run ---------------------------------------------------------------------------


def test_a_second_process_follows_while_the_first_publishes(tmp_path: Path) -> None:
    go, result = SPAWN.Event(), SPAWN.Queue()
    owner = SPAWN.Process(target=_publish_run, args=(str(tmp_path), 6, go, result))
    owner.start()
    run_id = result.get(timeout=WAIT)
    registry = RunRegistry(tmp_path)
    info = registry.current()
    assert info is not None and info.run_id == run_id and info.pid == owner.pid
    seen: list[LiveView | RunEnded] = []

    def tail() -> None:
        seen.extend(registry.follow(info, poll=0.02))

    follower = threading.Thread(target=tail)
    follower.start()
    go.set()
    follower.join(WAIT)
    owner.join(WAIT)
    assert not follower.is_alive() and owner.exitcode == 0
    assert seen == [*(sample_view(i) for i in range(6)), RunEnded(run_id, False, seen[-1].summary)]
    assert seen[-1].summary == "summary text\n  ✓ p(99)<200" and not seen[-1].lost
    # A tab that opens after the end still replays the whole run from the start.
    assert list(registry.follow(info)) == seen
    assert registry.current() is None


def test_a_follower_in_another_process_sees_the_whole_run(tmp_path: Path) -> None:
    attached, result = SPAWN.Event(), SPAWN.Queue()
    with RunRegistry(tmp_path).claim(["auth_burst"], "terminal") as claim:
        assert claim is not None
        claim.publish(sample_view(0))  # before the follower attaches: it must still see it
        follower = SPAWN.Process(target=_follow_current, args=(str(tmp_path), attached, result))
        follower.start()
        assert attached.wait(WAIT)
        for i in range(1, 4):
            claim.publish(sample_view(i))
            time.sleep(0.05)
        claim.finish("done", ok=True)
    items = result.get(timeout=WAIT)
    follower.join(WAIT)
    assert follower.exitcode == 0
    views = [live_view_from_dict(i) for i in items[:-1]]
    assert views == [sample_view(i) for i in range(4)]
    assert items[-1] == RunEnded(claim.info.run_id, True, "done")


def test_following_a_run_whose_owner_dies_ends_as_lost(tmp_path: Path) -> None:
    result = SPAWN.Queue()
    child = SPAWN.Process(target=_claim_and_die, args=(str(tmp_path), 2, result))
    child.start()
    run_id = result.get(timeout=WAIT)
    child.join(WAIT)
    registry = RunRegistry(tmp_path)
    lock = json.loads((tmp_path / LOCK_NAME).read_text())
    info = RunInfo(
        run_id,
        lock["pid"],
        lock["pid_started"],
        lock["owner"],
        tuple(lock["names"]),
        lock["started"],
        Path(lock["live"]),
    )
    items = list(registry.follow(info, poll=0.01))
    assert items[:2] == [sample_view(0), sample_view(1)]
    end = items[2]
    assert isinstance(end, RunEnded) and end.lost and not end.ok
    assert f"pid {child.pid}" in end.reason and "is gone" in end.reason
    assert len(items) == 3


def test_release_without_finish_ends_followers_as_failed(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path)
    claim = registry.claim(["a"], "terminal")
    assert claim is not None
    claim.publish(sample_view())
    claim.release()
    claim.release()  # idempotent
    with pytest.raises(RuntimeError, match="already released"):
        claim.publish(sample_view())
    items = list(registry.follow(claim.info))
    assert items[0] == sample_view()
    assert items[1] == RunEnded(
        claim.info.run_id, False, "", reason="the run ended without a result"
    )


def test_finish_twice_is_refused(tmp_path: Path) -> None:
    with RunRegistry(tmp_path).claim(["a"], "terminal") as claim:
        claim.finish("one", ok=True)
        with pytest.raises(RuntimeError, match="already finished"):
            claim.finish("two", ok=True)
        with pytest.raises(RuntimeError, match="already finished"):
            claim.publish(sample_view())
    assert list(RunRegistry(tmp_path).follow(claim.info))[-1].summary == "one"


def test_follow_stops_when_asked_and_skips_a_torn_line(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path)
    with registry.claim(["a"], "terminal") as claim:
        claim.publish(sample_view(0))
        with open(claim.info.live_path, "a", encoding="utf-8") as live:
            live.write('{"type":"view","view":{"elapsed"\n')  # a torn record from a crash
        claim.publish(sample_view(1))
        stop = threading.Event()
        seen: list[LiveView | RunEnded] = []

        def tail() -> None:
            for item in registry.follow(claim.info, poll=0.01, stop=stop):
                seen.append(item)

        thread = threading.Thread(target=tail)
        thread.start()
        deadline = time.monotonic() + WAIT
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        thread.join(WAIT)
        assert not thread.is_alive()
        assert seen == [sample_view(0), sample_view(1)]  # no RunEnded: the follower stopped


def test_follow_of_a_missing_live_file_ends_as_lost(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path)
    with registry.claim(["a"], "terminal") as claim:
        claim.info.live_path.unlink()
        items = list(registry.follow(claim.info))
    assert len(items) == 1 and isinstance(items[0], RunEnded)
    assert items[0].lost and "is missing" in items[0].reason


def test_old_live_files_are_pruned_to_the_last_runs(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path)
    infos = []
    for i in range(KEEP_RUNS + 3):
        with registry.claim([f"s{i}"], "terminal") as claim:
            claim.finish(f"run {i}", ok=True)
        infos.append(claim.info)
        # Distinct, increasing modification times, whatever the file system's clock granularity.
        os.utime(claim.info.live_path, (1_000_000 + i, 1_000_000 + i))
    with registry.claim(["last"], "terminal") as last:
        files = sorted(p.name for p in registry.runs_dir.glob("*.jsonl"))
        assert len(files) == KEEP_RUNS
        assert last.info.live_path.name in files
        kept = {info.live_path.name for info in infos[-(KEEP_RUNS - 1) :]}
        assert kept <= set(files)
        assert not any(info.live_path.exists() for info in infos[: -(KEEP_RUNS - 1)])


def test_default_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STATE_DIR_ENV, raising=False)
    assert default_state_dir(tmp_path / "scenarios.toml") == tmp_path.resolve() / ".ccplate"
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "elsewhere"))
    assert default_state_dir("scenarios.toml") == tmp_path / "elsewhere"


def test_o_excl_keeps_one_run_even_when_the_guard_is_bypassed(tmp_path: Path) -> None:
    class Blind(RunRegistry):
        """Sees no lock, as a writer that raced past the guard would."""

        def _read_lock(self) -> RunInfo | str | None:
            return None

    with RunRegistry(tmp_path).claim(["a"], "first") as first:
        assert first is not None
        assert Blind(tmp_path).claim(["b"], "second") is None
        assert [p.name for p in (tmp_path / "load-runs").glob("*.jsonl")] == [
            first.info.live_path.name
        ]
