"""The command and http runners, and the dispatch: real subprocesses, real HTTP on loopback."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from ccplate_tui.checklist.model import CommandSpec, HttpProbe
from ccplate_tui.checklist.runners import run_step
from ccplate_tui.checklist.runners.command import LINE_LIMIT, OUTPUT_LIMIT, TAIL_LINES, clean_line
from ccplate_tui.masking import MASK
from tests.checklist_runner_fixtures import (
    Background,
    all_gone,
    live_children,
    make_ctx,
    make_step,
    toml_ready,
    wait_until,
)
from tests.http_fixtures import FixtureServer, free_port

PY = sys.executable


def command(*argv: str, **kw: object) -> CommandSpec:
    return CommandSpec(argv=tuple(argv), **kw)  # type: ignore[arg-type]


def run_cmd(tmp_path: Path, spec: CommandSpec):
    return run_step(make_step("command", command=spec), make_ctx(tmp_path), threading.Event())


# --- command: results -----------------------------------------------------------------------------


def test_command_passes_on_exit_zero_with_evidence(tmp_path: Path) -> None:
    outcome = run_cmd(
        tmp_path, command(PY, "-c", "print('hello'); import sys; print('warn', file=sys.stderr)")
    )
    assert outcome.result == "passed"
    assert outcome.summary.startswith("exit 0 in ")
    ev = outcome.evidence
    assert ev["exit_code"] == 0
    assert ev["argv"][0] == PY
    assert ev["output"].splitlines() == ["hello", "warn"]
    assert ev["lines"] == 2
    assert ev["truncated"] is False
    assert isinstance(ev["duration_s"], float)
    assert toml_ready(outcome)


def test_command_fails_on_a_nonzero_exit(tmp_path: Path) -> None:
    outcome = run_cmd(tmp_path, command(PY, "-c", "print('boom'); raise SystemExit(3)"))
    assert outcome.result == "failed"
    assert outcome.summary.startswith("exit 3 in ")
    assert outcome.evidence["exit_code"] == 3
    assert outcome.evidence["output"] == "boom"
    assert outcome.evidence["reason"] == outcome.summary


def test_command_killed_by_a_signal_says_which(tmp_path: Path) -> None:
    outcome = run_cmd(
        tmp_path, command(PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    )
    assert outcome.result == "failed"
    assert "SIGSEGV" in outcome.summary
    assert outcome.evidence["exit_code"] < 0


def test_missing_program_is_a_failed_step_not_a_crash(tmp_path: Path) -> None:
    outcome = run_cmd(tmp_path, command("no-such-program-ccplate", "--version"))
    assert outcome.result == "failed"
    assert "could not start no-such-program-ccplate" in outcome.summary


def test_cwd_is_resolved_beside_the_config_and_a_missing_one_fails(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    outcome = run_cmd(tmp_path, command(PY, "-c", "import os; print(os.getcwd())", cwd="app"))
    assert outcome.result == "passed"
    assert Path(outcome.evidence["output"]).resolve() == (tmp_path / "app").resolve()
    missing = run_cmd(tmp_path, command(PY, "-c", "pass", cwd="nowhere"))
    assert missing.result == "failed"
    assert "nowhere does not exist" in missing.summary


def test_empty_argv_is_refused(tmp_path: Path) -> None:
    outcome = run_cmd(tmp_path, CommandSpec(argv=()))
    assert outcome.result == "failed"
    assert "argv is empty" in outcome.summary


def test_env_reaches_the_command(tmp_path: Path) -> None:
    spec = command(
        PY,
        "-c",
        "import os; print(os.environ['CCPLATE_STAGE'])",
        env=(("CCPLATE_STAGE", "staging"),),
    )
    assert run_cmd(tmp_path, spec).evidence["output"] == "staging"


# --- command: shell --------------------------------------------------------------------------------


def test_no_shell_by_default_a_semicolon_is_just_a_character(tmp_path: Path) -> None:
    outcome = run_cmd(tmp_path, command("echo", "one; echo two"))
    assert outcome.result == "passed"
    assert outcome.evidence["output"] == "one; echo two"
    assert outcome.evidence["shell"] is False


def test_shell_true_runs_through_the_shell(tmp_path: Path) -> None:
    outcome = run_cmd(tmp_path, CommandSpec(argv=("echo one; echo two | tr a-z A-Z",), shell=True))
    assert outcome.result == "passed"
    assert outcome.evidence["output"].splitlines() == ["one", "TWO"]
    assert outcome.evidence["shell"] is True


# --- command: timeout, cancel, process groups --------------------------------------------------------

SPAWNS_A_CHILD = (
    "import subprocess, time; child = subprocess.Popen(['sleep', '60']); "
    "print(child.pid, flush=True); time.sleep(60)"
)


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    before = live_children()
    outcome = run_cmd(tmp_path, command(PY, "-c", SPAWNS_A_CHILD, timeout=1.5))
    assert outcome.result == "failed"
    assert outcome.summary == "timed out after 1.5 s (process group killed)"
    assert outcome.evidence["timed_out"] is True
    assert toml_ready(outcome)
    child = int(outcome.evidence["output"].splitlines()[0])
    assert all_gone({child}) == set(), "the command's child sleep outlived the timeout"
    assert all_gone(live_children() - before) == set()


def test_a_command_ignoring_sigterm_is_killed_anyway(tmp_path: Path) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)"
    )
    before = live_children()
    outcome = run_cmd(tmp_path, command(PY, "-c", code, timeout=0.5))
    assert outcome.result == "failed"
    assert outcome.evidence["exit_code"] == -9
    assert all_gone(live_children() - before) == set()


def test_cancel_from_another_thread_kills_the_group(tmp_path: Path) -> None:
    before = live_children()
    run = Background(
        make_step("command", command=command(PY, "-c", SPAWNS_A_CHILD)), make_ctx(tmp_path)
    )
    wait_until(lambda: run.lines, "the child's pid on the output")
    child = int(run.lines[0])
    assert child in live_children()
    run.cancel.set()
    outcome = run.result()
    assert outcome.result == "cancelled"
    assert outcome.summary.startswith("cancelled after ")
    assert all_gone({child}) == set()
    assert all_gone(live_children() - before) == set()


def test_processes_left_running_after_exit_are_killed(tmp_path: Path) -> None:
    before = live_children()
    spec = CommandSpec(argv=("sleep 60 & echo started $!",), shell=True, timeout=20)
    outcome = run_cmd(tmp_path, spec)
    assert outcome.result == "passed"
    assert outcome.evidence["leftovers_killed"] is True
    leftover = int(outcome.evidence["output"].split()[-1])
    assert all_gone({leftover}) == set()
    assert all_gone(live_children() - before) == set()


# --- command: output ---------------------------------------------------------------------------------


def test_keeps_the_last_200_of_10000_lines(tmp_path: Path) -> None:
    outcome = run_cmd(tmp_path, command(PY, "-c", "for i in range(10000): print(f'line {i}')"))
    assert outcome.result == "passed"
    lines = outcome.evidence["output"].splitlines()
    assert len(lines) == TAIL_LINES == 200
    assert lines[0] == "line 9800"
    assert lines[-1] == "line 9999"
    assert outcome.evidence["lines"] == 10000
    assert outcome.evidence["truncated"] is True


def test_huge_interleaved_output_does_not_deadlock(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "chunk = 'x' * 1023 + '\\n'\n"
        "for i in range(20000):\n"
        "    (sys.stdout if i % 2 else sys.stderr).write(chunk)\n"
        "sys.stdout.flush(); print('done', flush=True)\n"
        "sys.stdout.write('y' * 3_000_000)\n"  # one 3 MB line without a newline
    )
    outcome = run_cmd(tmp_path, command(PY, "-c", code, timeout=120))
    assert outcome.result == "passed"
    lines = outcome.evidence["output"].splitlines()
    assert lines[-2] == "done"
    assert len(lines[-1]) == LINE_LIMIT
    assert lines[-1].endswith("…")
    assert outcome.evidence["lines"] >= 20002
    assert len(outcome.evidence["output"]) <= OUTPUT_LIMIT  # the state file stays small
    assert outcome.evidence["truncated"] is True


def test_progress_gets_output_lines(tmp_path: Path) -> None:
    lines: list[str] = []
    step = make_step("command", command=command(PY, "-c", "print('first line', flush=True)"))
    run_step(step, make_ctx(tmp_path), threading.Event(), lines.append)
    assert lines == ["first line"]


def test_clean_line_strips_colours_and_keeps_the_last_redraw() -> None:
    assert clean_line(b"\x1b[32mPASS\x1b[0m tests/a.test.ts") == "PASS tests/a.test.ts"
    assert clean_line(b" 10%\r 50%\r100% done\r") == "100% done"
    assert clean_line(b"caf\xc3\xa9 \xff") == "café \ufffd"


# --- command: secrets --------------------------------------------------------------------------------


def test_secrets_are_masked_in_output_and_argv(tmp_path: Path) -> None:
    token = "tok-4f9a8b7c6d5e"
    code = (
        "import os, sys; print('token is', os.environ['DEPLOY_TOKEN']); "
        "print('password=hunter2'); print('argv', sys.argv[1:])"
    )
    spec = command(
        PY, "-c", code, "--api-token", "argv-s3cret-value", env=(("DEPLOY_TOKEN", token),)
    )
    outcome = run_cmd(tmp_path, spec)
    assert outcome.result == "passed"
    text = repr(outcome.evidence)
    for secret in (token, "hunter2", "argv-s3cret-value"):
        assert secret not in text
    assert outcome.evidence["argv"][-2:] == ["--api-token", MASK]
    assert f"token is {MASK}" in outcome.evidence["output"]


def test_secrets_of_our_own_environment_are_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENTRY_AUTH_TOKEN", "sntrys_ambient_0123456789")
    outcome = run_cmd(
        tmp_path, command(PY, "-c", "import os; print(os.environ['SENTRY_AUTH_TOKEN'][::-1][::-1])")
    )
    assert "sntrys_ambient_0123456789" not in outcome.evidence["output"]


# --- http ----------------------------------------------------------------------------------------


def probe_step(url: str, **kw: object):
    return make_step("http", probe=HttpProbe(url=url, **kw))  # type: ignore[arg-type]


def run_probe(tmp_path: Path, url: str, **kw: object):
    return run_step(probe_step(url, **kw), make_ctx(tmp_path), threading.Event())


@pytest.fixture(scope="module")
def server():
    with FixtureServer() as url:
        yield url


def test_http_passes_on_status_and_body(tmp_path: Path, server: str) -> None:
    outcome = run_probe(
        tmp_path, f"{server}/ok", body_contains='"ok"', body_matches=r'"ok":\s*true'
    )
    assert outcome.result == "passed"
    assert outcome.summary.startswith("HTTP 200 in ")
    assert "body has '\"ok\"'" in outcome.summary
    ev = outcome.evidence
    assert ev["status"] == 200
    assert ev["method"] == "GET"
    assert ev["url"] == f"{server}/ok"
    assert '"ok": true' in ev["body_excerpt"]
    assert isinstance(ev["elapsed_ms"], float)
    assert "status 200" in ev["expected"]
    assert toml_ready(outcome)


def test_http_wrong_status_fails(tmp_path: Path, server: str) -> None:
    outcome = run_probe(tmp_path, f"{server}/status/500")
    assert outcome.result == "failed"
    assert outcome.evidence["status"] == 500
    assert "expected status 200" in outcome.summary
    assert run_probe(tmp_path, f"{server}/status/503", expect_status=(200, 503)).result == "passed"


def test_http_post_method_is_used(tmp_path: Path, server: str) -> None:
    outcome = run_probe(tmp_path, f"{server}/echo", method="POST", body_contains='"method": "POST"')
    assert outcome.result == "passed", outcome.summary


def test_http_body_contains_miss_fails(tmp_path: Path, server: str) -> None:
    outcome = run_probe(tmp_path, f"{server}/ok", body_contains="healthy")
    assert outcome.result == "failed"
    assert outcome.evidence["reason"] == "the body does not contain 'healthy'"
    assert outcome.evidence["status"] == 200


def test_http_body_matches_miss_fails(tmp_path: Path, server: str) -> None:
    outcome = run_probe(tmp_path, f"{server}/ok", body_matches=r'"ok":\s*false')
    assert outcome.result == "failed"
    assert "does not match" in outcome.evidence["reason"]


def test_http_connection_refused_fails(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/api/health"
    outcome = run_probe(tmp_path, url, timeout=5.0)
    assert outcome.result == "failed"
    assert outcome.summary == f"connection refused: {url}"
    assert "status" not in outcome.evidence
    assert toml_ready(outcome)


def test_http_timeout_on_a_hanging_handler_fails(tmp_path: Path, server: str) -> None:
    outcome = run_probe(tmp_path, f"{server}/sleep/2000", timeout=0.3)
    assert outcome.result == "failed"
    assert outcome.summary.startswith("timed out after 0.3 s waiting for the answer")


def test_http_bad_url_fails(tmp_path: Path) -> None:
    outcome = run_probe(tmp_path, "ftp://127.0.0.1/x")
    assert outcome.result == "failed"
    assert "bad URL" in outcome.summary


def test_http_cancel_stops_a_hanging_probe(tmp_path: Path, server: str) -> None:
    run = Background(probe_step(f"{server}/sleep/3000", timeout=30.0), make_ctx(tmp_path))
    wait_until(lambda: run.lines, "the probe to start")
    run.cancel.set()
    assert run.result().result == "cancelled"


def test_http_masks_url_credentials_and_secret_headers(tmp_path: Path, server: str) -> None:
    url = f"http://ops:pa55-w0rd@127.0.0.1:{server.rsplit(':', 1)[1]}/echo?token=q-s3cret-42"
    outcome = run_probe(
        tmp_path,
        url,
        headers=(("Authorization", "Bearer hdr-s3cret-77"), ("X-Test", "hdr-s3cret-77")),
        body_contains="nope",
    )
    assert outcome.result == "failed"  # the body echoes the header: it must be masked there too
    text = repr(outcome.evidence) + outcome.summary
    for secret in ("pa55-w0rd", "q-s3cret-42", "hdr-s3cret-77"):
        assert secret not in text
    assert "/echo?token=***" in outcome.evidence["url"]
    assert '"header": "***"' in outcome.evidence["body_excerpt"]


# --- dispatch ------------------------------------------------------------------------------------


def test_manual_steps_are_not_run(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ticked, not run"):
        run_step(make_step("manual"), make_ctx(tmp_path), threading.Event())


def test_steps_without_their_spec_fail_cleanly(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    assert run_step(make_step("command"), ctx, threading.Event()).result == "failed"
    assert run_step(make_step("http"), ctx, threading.Event()).result == "failed"
    assert run_step(make_step("timer", duration=1.0), ctx, threading.Event()).result == "failed"
    assert run_step(make_step("load"), ctx, threading.Event()).result == "failed"
