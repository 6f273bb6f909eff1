"""Config values that parse but cannot work: each found by a hostile tester (issue 15) gives a
clear error naming the key (exit 2 from the CLI), never a traceback, a hang or a silent run.
Plus the run-level bounds: VUs this machine cannot hold, an arrival rate the workers cannot
serve, a worker that dies."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import parse_config
from ccplate_tui.load.capacity import CapacityError, check_capacity
from tests.http_fixtures import FixtureServer, fixture_server
from tests.test_checklist_config import with_step

HEAD = '[target]\nbase_url = "http://127.0.0.1:8787"\n'
HUGE = "9" * 400


def scenario(body: str, request: str = 'path = "/ok"') -> str:
    return f"{HEAD}[scenarios.a]\n{body}\n[[scenarios.a.requests]]\n{request}\n"


CONSTANT = 'executor = "constant-vus"\nduration = "1s"'
RAMPING = 'executor = "ramping-vus"\nstages = [{ duration = "1s", target = 2 }]'


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        # 400-digit durations everywhere a duration is read: infinity, then OverflowError.
        (scenario(f'executor = "constant-vus"\nduration = "{HUGE}s"'), "scenarios.a.duration",
         "expected a duration up to 2562047h"),
        (scenario(f'{CONSTANT}\ngracefulStop = "{HUGE}s"'), "scenarios.a.gracefulStop",
         "(401 chars)"),
        (scenario(f'{CONSTANT}\nstartTime = "{HUGE}ms"'), "scenarios.a.startTime",
         "k6's longest"),
        (scenario(f'executor = "ramping-vus"\nstages = [{{ duration = "{HUGE}s", target = 2 }}]'),
         "scenarios.a.stages[0].duration", "k6's longest"),
        (with_step(f'duration = "{HUGE}s"', kind="timer"), "checklist.phases[0].steps[0].duration",
         "k6's longest"),
        # Nesting: a check's parentheses, the TOML's arrays (RecursionError before).
        (scenario(CONSTANT, 'path = "/ok"\nchecks = { deep = "' + "(" * 400 + "status == 200"
                  + ")" * 400 + '" }'), "scenarios.a.requests[0].checks.deep",
         "expected at most 32 nested"),
        (scenario(CONSTANT, 'path = "/ok"\njson = ' + "[" * 100 + "]" * 100),
         "scenarios.a.requests", "at most 64 levels"),
        # A home folder that does not exist (RuntimeError before).
        (HEAD + scenario(CONSTANT).removeprefix(HEAD) + '[sentry]\nproject = "~nouser_ccplate/x"\n',
         "sentry.project", "no home folder for nouser_ccplate"),
        # Accepted though they could never work.
        (scenario(CONSTANT, 'path = "/ok\\r\\nX-Injected: 1"'), "scenarios.a.requests[0].path",
         "without spaces or control characters"),
        (scenario(CONSTANT, 'path = "/api/my files"'), "scenarios.a.requests[0].path",
         "write a space as %20"),
        (scenario(f'{CONSTANT}\nthresholds = {{ http_req_duration = ["p(99)<２００"] }}'),
         "scenarios.a.thresholds.http_req_duration[0]", "got '２００'"),
        (scenario(f'{CONSTANT}\nthresholds = {{ http_req_duration = ["p(99)<inf"] }}'),
         "scenarios.a.thresholds.http_req_duration[0]", "a limit at infinity"),
        (scenario(CONSTANT).replace(":8787", ":0"), "target.base_url",
         "expected a port from 1 to 65535, got 0"),
        (scenario('executor = "constant-arrival-rate"\nrate = 1e9\ntimeUnit = "1ms"\n'
                  'duration = "1s"\npreAllocatedVUs = 2\nmaxVUs = 4'), "scenarios.a.rate",
         "expected at most 1,000,000 iterations/s"),
    ],
)  # fmt: skip
def test_a_value_that_cannot_work_is_a_config_error(text: str, key: str, fragment: str) -> None:
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "bounds.toml")
    message = str(caught.value)
    assert key in message and fragment in message, message
    assert len(message.splitlines()[0]) < 400, "a 400-digit value is cut in the message"
    assert time.monotonic() - started < 5


def test_500_nested_toml_arrays_are_an_error_not_a_recursion_error() -> None:
    with pytest.raises(ConfigError, match="nested deeper than Python can read"):
        parse_config(scenario(CONSTANT, 'path = "/ok"\njson = ' + "[" * 500 + "]" * 500))


# -- VUs this machine cannot hold --------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        'executor = "constant-vus"\nvus = 1_000_000_000_000_000\nduration = "1s"',
        'executor = "ramping-vus"\nstartVUs = 9223372036854775807\n'
        'stages = [{ duration = "1s", target = 1 }]',
        'executor = "ramping-vus"\nstages = [{ duration = "1s", target = 9223372036854775807 }]',
        'executor = "constant-arrival-rate"\nrate = 1\nduration = "1s"\n'
        "preAllocatedVUs = 1\nmaxVUs = 1_000_000_000_000_000",
    ],
)
def test_more_vus_than_the_machine_holds_are_refused_before_any_worker(body: str) -> None:
    spec = parse_config(scenario(body)).scenarios["a"]
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with pytest.raises(CapacityError) as caught:
        check_capacity((spec,), workers=2)
    message = str(caught.value)
    assert "more than the" in message and "--max-vus" in message
    assert "per VU" in message or "sockets each" in message  # what bounds it, with the numbers
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before
    check_capacity((spec,), workers=2, max_vus_flag=10**19)  # an explicit bound lets it through


def test_the_cli_refuses_a_huge_vu_count_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "scenarios.toml"
    config.write_text(
        scenario('executor = "constant-vus"\nvus = 1_000_000_000_000_000\nduration = "1s"')
    )
    done = subprocess.run(
        [sys.executable, "-m", "ccplate_tui", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "1,000,000,000,000,000 VUs" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / ".ccplate").exists()  # refused before any run was claimed or recorded


# -- a run always stops; a failed worker fails the run -------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    with fixture_server() as srv:
        yield srv


def _start(config: Path, *extra: str, limit_memory: int | None = None) -> subprocess.Popen[str]:
    def limit() -> None:
        if limit_memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_memory, limit_memory))

    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ccplate_tui",
            "run",
            "--workers",
            "1",
            "--config",
            str(config),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limit,  # only setrlimit, before exec
    )


@pytest.mark.slow
def test_one_sigterm_ends_a_run_that_is_far_behind_its_arrival_rate(
    server: FixtureServer, tmp_path: Path
) -> None:
    """A million iterations/s on 4 VUs: the schedule is always behind, and the worker's loop
    used to count drops without ever yielding; now one SIGTERM ends it, workers included."""
    config = tmp_path / "scenarios.toml"
    config.write_text(
        scenario(
            'executor = "constant-arrival-rate"\nrate = 1000\ntimeUnit = "1ms"\n'
            'duration = "300s"\npreAllocatedVUs = 2\nmaxVUs = 4'
        ).replace("http://127.0.0.1:8787", server.url)
    )
    proc = _start(config, "-q")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not psutil.Process(proc.pid).children():
            time.sleep(0.1)
        time.sleep(3)  # the worker is in its loop, far behind
        workers = psutil.Process(proc.pid).children(recursive=True)
        assert workers
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, err
    assert "terminated (SIGTERM)" in out and "dropped_iterations" in out
    _gone, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive, f"workers left behind: {alive}"


@pytest.mark.slow
def test_a_worker_that_runs_out_of_memory_fails_the_run(
    server: FixtureServer, tmp_path: Path
) -> None:
    """A real MemoryError (the address space capped at 3 GB, a hundred million VUs allowed by
    --max-vus): the run exits 1 and says the engine failed; it never ends as a clean 0."""
    config = tmp_path / "scenarios.toml"
    config.write_text(
        scenario('executor = "constant-vus"\nvus = 100_000_000\nduration = "2s"').replace(
            "http://127.0.0.1:8787", server.url
        )
    )
    proc = _start(config, "-q", "--max-vus", "1000000000", limit_memory=3 * 10**9)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, (out, err)
    assert "ERROR worker 0" in err
    assert "the engine hit an error" in out
