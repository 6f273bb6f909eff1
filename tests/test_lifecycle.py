"""Issue 11: whatever ends a command-line owner, everything it started ends with it.

Each case starts a real `ccplate-tui` process (the owner), waits until its run or step has
demonstrably started, kills it with SIGTERM, SIGINT, SIGHUP or SIGKILL at a seeded random moment
and checks, within 10 s of the kill: no process it started is alive, no port they opened still
listens, and the run or step is recorded as ended with nothing acknowledged lost. Load goes only
to loopback servers this test starts (the fixture server, or the demo target the owner starts).
The seed of each case is printed and named in its failures (replay with CCPLATE_LIFECYCLE_SEED).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.lifecycle_fixtures import (
    SIGNALS,
    START_TIMEOUT,
    CliOwner,
    ProcessWatch,
    assert_cleaned_up,
    assert_run_recorded,
    ccplate_argv,
    committed_intervals,
    fixture_target,
    free_port,
    kill_at_random_moment,
    make_case,
    new_marker,
    scenario_toml,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

TIME_SCALE = "0.05"
"""The scenario's 100 s at 1/20: a 5 s run, longer than the start-to-kill window (at most
about 1.5 s after the first committed interval), so the kill always lands mid-run."""

_RUNNING = re.compile(r"^running \((?:(\d+)m)?([\d.]+)s\)", re.MULTILINE)


def _printed_elapsed(stderr: str) -> float:
    """The latest `running (…)` progress line's elapsed seconds (each is printed only after
    its interval was committed to the history)."""
    found = [(int(m or 0) * 60 + float(s)) for m, s in _RUNNING.findall(stderr)]
    return max(found, default=0.0)


def _run_case(
    sig: signal.Signals, tmp_path: Path, base_url: str, *, start_target: bool, path: str
) -> None:
    case = make_case("run --start-target" if start_target else "run", sig)
    config = tmp_path / "scenarios.toml"
    config.write_text(scenario_toml(base_url, path=path))
    state = tmp_path / "state"
    argv = ccplate_argv(
        "run", "smoke", "--config", str(config), "--state", str(state),
        "--time-scale", TIME_SCALE, "--workers", "2",
    )  # fmt: skip
    if start_target:
        argv.append("--start-target")
    marker = new_marker()
    owner = CliOwner.start(argv, tmp_path, marker)
    with ProcessWatch(owner.process.pid, marker) as watch:
        try:
            # Demonstrably started: a progress line printed, so an interval is committed.
            wait_for(
                lambda: committed_intervals(state)[1] >= 1 and _RUNNING.search(owner.err()),
                "the run's first committed interval and progress line",
                alive=owner.process,
                context=owner.output,
            )
            killed_at = kill_at_random_moment(owner.process, case)
            run_id, acknowledged = committed_intervals(state)
            printed = _printed_elapsed(owner.err())
        finally:
            code = owner.reap()
        case.note(f"owner exit {code}")
        cleanup = assert_cleaned_up(watch, killed_at, case)
        workers = [s for s in cleanup.seen if "multiprocessing.spawn" in s.cmdline]
        assert len(workers) >= 2, f"{case}: the engine workers were never seen: {cleanup.summary()}"
        if start_target:
            port = int(base_url.rsplit(":", 1)[1])
            assert {item.port for item in watch.listeners} >= {port}, (
                f"{case}: the demo target's listening port {port} was never seen"
            )
            assert any("ccplate_tui.target" in s.cmdline for s in cleanup.seen), case
    assert run_id is not None, case
    run = assert_run_recorded(state, run_id, acknowledged, case)
    assert run.elapsed >= printed - 0.051, (
        f"{case}: progress was printed for {printed:.1f} s but the history ends at "
        f"{run.elapsed:.2f} s"
    )
    # Ctrl+C and SIGTERM (and SIGHUP, where `run` catches it) stop the run: the partial summary
    # prints and the run is recorded by the owner itself. Anything else kills it outright.
    handled = "stopping (" in owner.err()
    assert handled or sig not in (signal.SIGINT, signal.SIGTERM), f"{case}\n{owner.output()}"
    if handled:
        assert code == 1 and "run recorded" in owner.err(), f"{case}\n{owner.output()}"
    else:
        assert code == -sig, f"{case}\n{owner.output()}"
    assert "Traceback" not in owner.err(), f"{case}\n{owner.output()}"


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_run_against_a_fixture_server(sig: signal.Signals, tmp_path: Path) -> None:
    with fixture_target() as url:
        _run_case(sig, tmp_path, url, start_target=False, path="/ok")


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_run_with_start_target(sig: signal.Signals, tmp_path: Path) -> None:
    _run_case(
        sig, tmp_path, f"http://127.0.0.1:{free_port()}", start_target=True, path="/api/health"
    )


# --- checklist run STEP -----------------------------------------------------------------------

# The step's command: starts a child that listens on a loopback port and a `sleep`, prints
# their pids and the port, then waits for them.
_SPAWNER = textwrap.dedent(
    """
    import subprocess, sys
    listener = subprocess.Popen(
        [sys.executable, "-c",
         "import socket, time\\n"
         "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\\n"
         "print(s.getsockname()[1], flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True,
    )
    port = int(listener.stdout.readline())
    sleeper = subprocess.Popen(["sleep", "120"])
    with open(sys.argv[1], "w") as out:
        out.write(f"{listener.pid} {sleeper.pid} {port}\\n")
    print(f"step started: listener {listener.pid} on port {port}, sleeper {sleeper.pid}",
          flush=True)
    sleeper.wait()
    """
)


def _checklist_toml(base_url: str, script: Path, pids: Path) -> str:
    return scenario_toml(base_url) + textwrap.dedent(
        f"""
        [checklist]
        title = "Lifecycle"

        [[checklist.phases]]
        id = "pre"
        title = "Pre-deploy"
        gate = "blocking"

        [[checklist.phases.steps]]
        id = "spawner"
        title = "A step whose command starts children"
        kind = "command"
        argv = [{json.dumps(sys.executable)}, {json.dumps(str(script))}, {json.dumps(str(pids))}]
        timeout = "300s"
        """
    )


def _step_status(config: Path, state: Path) -> dict:
    done = subprocess.run(
        ccplate_argv(
            "checklist", "status", "--json", "--config", str(config), "--state", str(state)
        ),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert done.returncode in (0, 1), done
    document = json.loads(done.stdout)
    return next(s for p in document["phases"] for s in p["steps"] if s["id"] == "spawner")


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_checklist_run_of_a_command_step(sig: signal.Signals, tmp_path: Path) -> None:
    case = make_case("checklist run", sig)
    script, pids = tmp_path / "spawner.py", tmp_path / "step.pids"
    script.write_text(_SPAWNER)
    config = tmp_path / "scenarios.toml"
    config.write_text(_checklist_toml("http://127.0.0.1:9", script, pids))  # never loaded
    state = tmp_path / "state"
    argv = ccplate_argv(
        "checklist", "run", "spawner", "--yes", "--as", "alice",
        "--config", str(config), "--state", str(state),
    )  # fmt: skip
    marker = new_marker()
    owner = CliOwner.start(argv, tmp_path, marker)
    with ProcessWatch(owner.process.pid, marker) as watch:
        try:
            # Demonstrably started: the command's children are up and the owner showed its
            # output (the CLI prints the step's first output line at once).
            wait_for(
                lambda: (
                    pids.exists()
                    and pids.read_text().endswith("\n")
                    and "step started" in owner.out()
                ),
                "the step's children and its first output line",
                alive=owner.process,
                context=owner.output,
            )
            listener, sleeper, port = map(int, pids.read_text().split())
            wait_for(lambda: {listener, sleeper} <= {s.pid for s in watch.processes()},
                     "the watch seeing the step's children")  # fmt: skip
            wait_for(lambda: port in {item.port for item in watch.listeners},
                     "the watch seeing the step's listening port")  # fmt: skip
            killed_at = kill_at_random_moment(owner.process, case)
        finally:
            code = owner.reap()
        case.note(f"owner exit {code}")
        cleanup = assert_cleaned_up(watch, killed_at, case)
        assert any("process_lifetime" in s.cmdline for s in cleanup.seen), (
            f"{case}: the step's guard was never seen: {cleanup.summary()}"
        )
    step = _step_status(config, state)
    case.note(f"step {step['status']}")
    # Ctrl+C (SIGINT) cancels the step, as the README says; any other end leaves it interrupted.
    expected = "cancelled" if sig == signal.SIGINT else "interrupted"
    assert (step["status"], step["done"], step["by"]) == (expected, False, "alice"), (
        f"{case}: {step}\n{owner.output()}"
    )
    if sig == signal.SIGINT:
        assert code == 1, f"{case}\n{owner.output()}"
        assert "step started" in (step["evidence"] or {}).get("output", ""), step
    else:
        assert code == -sig, f"{case}\n{owner.output()}"
