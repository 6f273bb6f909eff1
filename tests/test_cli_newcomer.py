"""A newcomer's first minutes: `init`, the no-config message, `did you mean`, `--help` exit
codes, progress lines every interval with the generator's figures, and a `history compare`
that tells noise from change. Real CLI calls in tmp folders; traffic only to a demo target on
loopback.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import re
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ccplate_tui.cli import main
from ccplate_tui.config.loader import load_config, parse_config
from ccplate_tui.config.model import Config, ExecutorSpec, OptionsSpec, ScenarioSpec, TargetSpec
from ccplate_tui.config.thresholds import ThresholdExpr, ThresholdSpec
from ccplate_tui.headless import ProgressPrinter
from ccplate_tui.history.compare import Flags, RunFigures, compare_runs
from ccplate_tui.history.rows import FinishedRun, StoredThreshold
from ccplate_tui.history.store import HistoryStore, history_path
from ccplate_tui.init_command import shipped_text, starter_text
from ccplate_tui.load.engine import RunUpdate
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.progress import failed_scenarios, progress_lines
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.snapshot import IntervalSnapshot, ScenarioProgress, WorkerHealth
from ccplate_tui.load.summary import render_summary
from ccplate_tui.load.thresholds import ThresholdResult

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`ccplate-tui ARGV` in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- init -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_init_in_an_empty_folder_then_run_auth_burst_works(tmp_path: Path) -> None:
    """The done-when: `init` in an empty folder, then the README's first run, exit 0."""
    url = f"http://127.0.0.1:{free_port()}"

    def ccplate(*argv: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ccplate_tui", *argv],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    made = ccplate("init", "--url", url, timeout=60)
    assert made.returncode == 0, made.stderr
    assert f"wrote {tmp_path / 'scenarios.toml'}" in made.stdout
    assert "ccplate-tui run auth_burst --time-scale 0.05 --start-target" in made.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["scenarios.toml"]

    run = ccplate("run", "auth_burst", "--time-scale", "0.05", "--start-target", timeout=120)
    assert f"demo target started on {url}" in run.stderr
    if run.returncode == 99:
        # Only an overloaded host may cost a threshold (p99 < 200ms), and then the progress
        # lines said so; every request must still have succeeded.
        assert "[!] " in run.stderr, run.stdout + run.stderr
        assert "'http_req_failed" not in run.stderr, run.stdout + run.stderr
        assert "auth_burst ✗ [ 100% ]" in run.stdout
    else:
        assert run.returncode == 0, run.stdout + run.stderr
        assert "auth_burst ✓ [ 100% ]" in run.stdout
    # Progress: a line every interval (no skipped second), each with the generator's figures.
    running = [line for line in run.stderr.splitlines() if line.startswith("running (")]
    assert len(running) >= 12
    assert all(re.search(r"gen CPU \d+% lag (<1ms|\d+ms)", line) for line in running)
    clocks = [float(re.match(r"running \((\d+\.\d)s\)", line).group(1)) for line in running]  # type: ignore[union-attr]
    assert all(0 < later - earlier < 1.5 for earlier, later in itertools.pairwise(clocks))
    assert "run recorded: r1" in run.stderr


def test_init_writes_the_shipped_plan_aimed_at_the_url(tmp_path: Path, capsys) -> None:
    code, out, err = cli(capsys, "init", str(tmp_path / "new"), "--url", "http://localhost:9001/")
    assert code == 0, err
    path = tmp_path / "new" / "scenarios.toml"
    assert f"wrote {path}" in out and f"cd {tmp_path / 'new'}" in out
    text = path.read_text()
    config = load_config(path)
    shipped = parse_config(shipped_text())
    assert list(config.scenarios) == list(shipped.scenarios)
    assert list(config.suites) == list(shipped.suites)
    assert config.checklist is not None and shipped.checklist is not None
    assert [s.id for s in config.checklist.steps()] == [s.id for s in shipped.checklist.steps()]
    assert config.target.base_url == "http://localhost:9001"
    assert config.sources["db_cpu"].url == "http://localhost:9001/metrics"  # type: ignore[attr-defined]
    assert config.availability is not None
    # The tool's own example app is not there: the starter's app is the file's folder.
    assert "examples/ccplate-app" not in text
    assert config.sentry.project == str(path.parent.resolve())
    assert tomllib.loads(text)["target"]["allow_remote"] is False
    assert text.startswith("# ccplate-tui scenarios: a starter written by `ccplate-tui init`")


def test_the_packaged_plan_is_the_repositorys_scenarios_toml() -> None:
    """`init` derives the starter from the packaged copy: it must be the shipped file itself
    (after editing scenarios.toml: cp scenarios.toml ccplate_tui/data/scenarios.toml)."""
    assert shipped_text() == (ROOT / "scenarios.toml").read_text()
    starter = starter_text()
    # Every edit found its anchor in the shipped text.
    assert 'project = "."' in starter and 'cwd = "examples' not in starter
    assert starter.count('cwd = "." # the app') == shipped_text().count('cwd = "examples/')


def test_init_refuses_to_overwrite_without_force(tmp_path: Path, capsys) -> None:
    path = tmp_path / "scenarios.toml"
    path.write_text("# mine\n")
    code, out, err = cli(capsys, "init", str(tmp_path))
    assert code == 2 and out == ""
    assert f"{path} already exists; pass --force" in err
    assert path.read_text() == "# mine\n"
    code, _, err = cli(capsys, "init", str(tmp_path), "--force")
    assert code == 0, err
    assert path.read_text() == starter_text()


def test_init_refuses_a_remote_url_unless_allowed(tmp_path: Path, capsys) -> None:
    code, _, err = cli(capsys, "init", str(tmp_path), "--url", "https://staging.example.com")
    assert code == 2
    assert "not a loopback address" in err and "--allow-remote" in err
    assert not (tmp_path / "scenarios.toml").exists()
    code, out, err = cli(
        capsys, "init", str(tmp_path), "--url", "https://staging.example.com", "--allow-remote"
    )
    assert code == 0, err
    data = tomllib.loads((tmp_path / "scenarios.toml").read_text())
    assert data["target"] == {
        "base_url": "https://staging.example.com",
        "allow_remote": True,
        "timeout": "60s",
    }
    assert data["sources"]["db_cpu"]["allow_remote"] is True
    assert "--start-target" not in out and "[sources.db_cpu]" in out


@pytest.mark.parametrize("url", ["ftp://127.0.0.1", "127.0.0.1:8787", "http://127.0.0.1:x/"])
def test_init_refuses_a_url_that_is_not_one(tmp_path: Path, capsys, url: str) -> None:
    code, _, err = cli(capsys, "init", str(tmp_path), "--url", url)
    assert code == 2 and "--url:" in err
    assert not (tmp_path / "scenarios.toml").exists()


# --- no config ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("run", "auth_burst"),
        ("checklist", "status"),
        ("verdict",),
        ("history", "recheck", "r1"),
        ("export", "k6"),
    ],
)
def test_no_config_names_the_path_config_and_init(tmp_path, monkeypatch, capsys, argv) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, *argv)
    assert code == 2
    assert err.strip() == (
        f"{tmp_path / 'scenarios.toml'}: cannot read the config: no such file; pass --config "
        "FILE to use another, or write a starter one here with `ccplate-tui init`"
    )


# --- did you mean ---------------------------------------------------------------------------


def test_unknown_commands_get_a_suggestion_when_one_is_close(capsys) -> None:
    code, _, err = cli(capsys, "histroy")
    assert code == 2 and "invalid choice: 'histroy'" in err
    assert err.rstrip().endswith("; did you mean 'history'?")
    code, _, err = cli(capsys, "checklist", "stauts")
    assert code == 2 and "did you mean 'status'?" in err
    code, _, err = cli(capsys, "xyzzy")
    assert code == 2 and "invalid choice: 'xyzzy'" in err and "did you mean" not in err


@pytest.fixture
def starter(tmp_path: Path) -> Path:
    path = tmp_path / "scenarios.toml"
    path.write_text(starter_text(f"http://127.0.0.1:{free_port()}"))
    return path


def test_unknown_scenarios_get_a_suggestion(starter: Path, capsys) -> None:
    code, _, err = cli(capsys, "run", "auth_brust", "--config", str(starter))
    assert code == 2
    assert "no scenario or suite named 'auth_brust'" in err
    assert "did you mean 'auth_burst'? (known: auth_burst, " in err
    code, _, err = cli(capsys, "run", "nothing_like_it", "--config", str(starter))
    assert code == 2 and "did you mean" not in err and "(known: auth_burst" in err
    code, _, err = cli(capsys, "export", "k6", "mixed_wrokload", "--config", str(starter))
    assert code == 2 and "did you mean 'mixed_workload'?" in err


def test_unknown_checklist_steps_and_phases_get_a_suggestion(starter: Path, capsys) -> None:
    state = str(starter.parent / "state")
    common = ("--config", str(starter), "--state", state)
    code, _, err = cli(capsys, "checklist", "run", "helth_check", *common)
    assert code == 2
    assert "no checklist step 'helth_check'; did you mean 'health_check'? (steps: " in err
    code, _, err = cli(capsys, "checklist", "run", "qqq", *common)
    assert code == 2 and "no checklist step 'qqq' (steps: " in err
    code, _, err = cli(capsys, "checklist", "override", "stagin", "--reason", "x", *common)
    assert code == 2 and "did you mean 'staging'?" in err


def test_unknown_run_ids_get_a_suggestion(tmp_path: Path, capsys) -> None:
    state = tmp_path / "state"
    state.mkdir()
    with HistoryStore(history_path(state)) as store:
        store.import_finished(
            [
                FinishedRun(
                    id="20261127T000000Z-abc",
                    names=("quick",),
                    started_at=1.0,
                    ended_at=2.0,
                    status="finished",
                    requests=10,
                    p99_ms=1.0,
                    error_fraction=0.0,
                    thresholds=(StoredThreshold("http_reqs", "count>1", True, 10.0),),
                )
            ]
        )
    code, _, err = cli(capsys, "history", "show", "latset", "--state", str(state))
    assert code == 2 and "no run 'latset'" in err and "did you mean 'latest'?" in err
    code, _, err = cli(capsys, "history", "show", "zzzzzz", "--state", str(state))
    assert code == 2 and "no run 'zzzzzz'" in err and "did you mean" not in err


# --- help -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        (),
        ("init",),
        ("run",),
        ("target",),
        ("sentry",),
        ("checklist",),
        ("verdict",),
        ("history",),
        ("export",),
        ("watch",),
        ("serve",),
    ],
)
def test_help_lists_exit_codes_and_an_example(capsys, command: tuple[str, ...]) -> None:
    code, out, _ = cli(capsys, *command, "--help")
    assert code == 0
    epilog = out[out.index("exit codes") :]
    assert re.search(r"^  0 ", epilog, re.MULTILINE) or "0 supported" in epilog
    assert re.search(r"^  2 ", epilog, re.MULTILINE) or "2 bad" in epilog
    assert "\n  ccplate-tui" in epilog or "ccplate-tui watch" in epilog  # an example
    assert re.search(r"^(examples?:|new here)", epilog, re.MULTILINE)


# --- history compare: noise or change ----------------------------------------------------------


def figures(p99_ms: float, *, requests: int = 2000, failed: int = 0, seconds: float = 60.0):
    """A run of `requests` requests: all at 0.1 ms but the slowest 1 % at `p99_ms`."""
    metrics = MetricSet()
    tags = (("name", "login"),)
    slow = requests // 100 + 1
    for index in range(requests):
        ms = p99_ms if index < slow else 0.1
        # One series, as the engine tags every request; run-wide rows merge them.
        metrics.sink("http_req_duration", tags).add(ms)  # type: ignore[union-attr]
        metrics.sink("http_reqs", tags).value += 1  # type: ignore[union-attr]
        metrics.sink("http_req_failed", tags).add(index < failed)  # type: ignore[union-attr]
    return RunFigures(metrics, seconds)


def _rows(comparison, label: str):  # type: ignore[no-untyped-def]
    return [r for r in (*comparison.metrics, *comparison.requests) if r.label.endswith(label)]


def test_a_sub_millisecond_move_is_noise_however_large_in_percent() -> None:
    comparison = compare_runs(figures(0.13), figures(1.0))
    p99 = _rows(comparison, "p(99)")
    assert p99 and all(r.change_pct and r.change_pct > 600 for r in p99)
    assert not any(r.regression for r in p99)
    assert all(r.within_noise for r in p99)
    assert comparison.regressions == ()
    assert any(
        n.startswith("within the noise floor (latency 1ms, rates 0.1 pp)") for n in comparison.notes
    )
    # Past the floor it is a regression again; a floor of 0 flags the noise as before.
    assert all(r.regression for r in _rows(compare_runs(figures(0.13), figures(5.0)), "p(99)"))
    zero = compare_runs(figures(0.13), figures(1.0), Flags(min_latency_ms=0))
    assert all(r.regression for r in _rows(zero, "p(99)"))


def test_a_rate_must_move_past_its_floor_too() -> None:
    flags = Flags(error_pp=0.0)
    # 1 failure in 2,000 is +0.05 pp: past --error-pp 0, not past the 0.1 pp floor.
    noise = compare_runs(figures(1.0), figures(1.0, failed=1), flags)
    assert not any(r.regression for r in _rows(noise, "rate"))
    change = compare_runs(figures(1.0), figures(1.0, failed=10), flags)
    failed = [r for r in change.metrics if r.label == "http_req_failed rate"]
    assert failed[0].regression


def test_a_short_baseline_is_said_to_be_noisy() -> None:
    long = figures(1.0)
    assert not any("short" in n for n in compare_runs(long, figures(1.0)).notes)
    short = RunFigures(figures(1.0, requests=300, seconds=15.6).totals, 15.6, "r1")
    notes = compare_runs(short, RunFigures(long.totals, 60.0, "r2")).notes
    assert any(
        n.startswith(
            "the base r1 is a single short run (15.6s, 300 requests): its figures are noisy"
        )
        for n in notes
    )


def test_compare_takes_the_floors_from_the_command_line(capsys, tmp_path: Path) -> None:
    code, _, err = cli(capsys, "history", "compare", "r2", "--min-change", "soon")
    assert code == 2 and "--min-change" in err
    code, _, err = cli(capsys, "history", "compare", "r2", "--min-rate-change", "-1")
    assert code == 2 and "expected a number >= 0" in err


# --- progress lines and the final line -------------------------------------------------------


def _snapshot(index: int, health: WorkerHealth | None) -> IntervalSnapshot:
    progress = (ScenarioProgress("steady", "running", float(index), 10.0, 2, 5, index, 0, 0),)
    return IntervalSnapshot(
        index=index,
        start=index - 1.0,
        end=float(index),
        metrics=MetricSet(),
        progress=progress,
        health=health,
    )


def test_every_progress_line_carries_the_generators_cpu_and_loop_lag() -> None:
    calm = progress_lines(_snapshot(2, WorkerHealth(2, 12.4, 0.3)), 2.0)[0]
    assert calm.endswith(" | 0.0 req/s  p95=-  errors -  gen CPU 12% lag <1ms")
    busy = progress_lines(_snapshot(2, WorkerHealth(2, 97.0, 80.0)), 2.0)[0]
    assert "errors -  gen CPU 97% lag 80ms  [!] generator saturated: worker CPU 97%" in busy
    # No figures where no worker reports them (k6's stream has none).
    assert progress_lines(_snapshot(2, None), 2.0)[0].endswith("errors -")


def test_the_printer_prints_every_interval_however_close_they_arrive() -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream, ())
    for index in (1, 2, 3):  # delivered back to back, as after a late interval
        snapshot = _snapshot(index, WorkerHealth(1, 5.0, 2.0))
        printer(RunUpdate(snapshot, MetricSet(), [], float(index)))
    clocks = re.findall(r"^running \((\d+\.\d)s\)", stream.getvalue(), re.MULTILINE)
    assert clocks == ["1.0", "2.0", "3.0"]


def _threshold(key: str, tags: tuple[tuple[str, str], ...], ok: bool) -> ThresholdResult:
    expr = ThresholdExpr("rate<0.01", "rate", None, "<", 0.01, None)
    return ThresholdResult(ThresholdSpec(key, key.split("{")[0], tags, expr), ok, 0.5)


def test_failed_thresholds_mark_their_scenarios() -> None:
    own = _threshold("http_req_failed{scenario:a}", (("scenario", "a"),), False)
    a = ScenarioSpec(
        name="a",
        executor=ExecutorSpec(executor="constant-vus", vus=1, duration=1.0),
        requests=(),
        thresholds=(own.spec,),
    )
    b = ScenarioSpec(
        name="b", executor=ExecutorSpec(executor="constant-vus", vus=1, duration=1.0), requests=()
    )
    assert failed_scenarios([own.spec], [a, b], ["a", "b"]) == {"a"}
    tagged = _threshold("http_req_failed{scenario:b}", (("scenario", "b"),), False).spec
    assert failed_scenarios([tagged], [a, b], ["a", "b"]) == {"b"}
    run_wide = _threshold("http_req_failed", (), False).spec
    assert failed_scenarios([run_wide], [a, b], ["a", "b"]) == {"a", "b"}

    config = Config(
        path="scenarios.toml",
        target=TargetSpec(),
        options=OptionsSpec(),
        scenarios={"a": a, "b": b},
    )
    done = tuple(ScenarioProgress(n, "done", 1.0, 1.0, 0, 1, 5, 0, 0) for n in ("a", "b"))
    result = RunResult(
        config=config,
        scenario_names=("a", "b"),
        totals=MetricSet(),
        duration=1.0,
        thresholds=[own],
        progress=done,
        started_at=1_700_000_000.0,
    )
    last = render_summary(result).splitlines()[-2:]
    assert last[0].startswith("a ✗ [ 100% ]") and last[1].startswith("b ✓ [ 100% ]")
    passed = dataclasses.replace(result, thresholds=[dataclasses.replace(own, ok=True)])
    assert render_summary(passed).splitlines()[-2].startswith("a ✓ [ 100% ]")
