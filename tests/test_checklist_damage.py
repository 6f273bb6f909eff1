"""Damage to either copy of the checklist log loses no acknowledged event, and says so.

The real CLI (`ccplate_tui.cli.main`, in process and as real processes), real files in tmp_path:
eight acknowledged events (ticks, a note, approvals, revocations), then each damage kind applied
to each copy in turn; `status --json`, `report` and later loads must hold all eight events and
name the recovery in `state_problem`. No mocks.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ccplate_tui.checklist.state import PAIR_MARK, ChecklistStore, read_state_file
from ccplate_tui.checklist.state_format import render
from ccplate_tui.cli import main

ROOT = Path(__file__).resolve().parent.parent
WAIT = 120.0
"""Generous bound for child processes (imports, four writers on two cores); never a timing assert."""

CONFIG = """
[target]
base_url = "http://127.0.0.1:9"

[scenarios.smoke]
executor = "constant-vus"
vus = 1
duration = "1s"
[[scenarios.smoke.requests]]
path = "/ok"

[checklist]
title = "Damage drill"

[[checklist.phases]]
id = "pre"
title = "Pre-deploy"
gate = "blocking"

[[checklist.phases.steps]]
id = "audit"
title = "Security audit"
kind = "manual"
approvers = ["*"]

[[checklist.phases.steps]]
id = "docs"
title = "Docs updated"
kind = "manual"
"""

ACTS: list[tuple[str, ...]] = [
    ("tick", "audit", "--as", "alice", "--note", "SOC2 ok"),
    ("note", "audit", "report filed as SEC-12", "--as", "alice"),
    ("approve", "audit", "--as", "bob"),
    ("revoke", "audit", "--reason", "bob was on leave", "--as", "carol"),
    ("approve", "audit", "--as", "dave"),
    ("tick", "docs", "--as", "alice"),
    ("revoke", "docs", "--reason", "wrong page", "--as", "alice"),
    ("tick", "docs", "--as", "erin", "--note", "the right page this time"),
]
EXPECTED = [
    ("ticked", "alice"),
    ("noted", "alice"),
    ("approved", "bob"),
    ("revoked", "carol"),
    ("approved", "dave"),
    ("ticked", "alice"),
    ("revoked", "alice"),
    ("ticked", "erin"),
]
"""(action, who) of the eight acknowledged events, in order; the last is the one a `.bak` holding
the previous state used to lose."""


def random_middle(data: bytes) -> bytes:
    """64 random bytes over the middle of the file (seeded; never a no-op)."""
    rng = random.Random(len(data))
    mid = len(data) // 2
    noise = bytes(rng.randrange(256) for _ in range(64))
    damaged = data[:mid] + noise + data[mid + 64 :]
    assert damaged != data
    return damaged


def torn_last_line(data: bytes) -> bytes:
    """The file cut halfway through its last line, as a write cut short would leave it."""
    body = data.rstrip(b"\n")
    start = body.rfind(b"\n") + 1
    return body[: start + max(1, (len(body) - start) // 2)]


DAMAGES: dict[str, Callable[[bytes], bytes] | None] = {
    "random bytes in the middle": random_middle,
    "truncated to half": lambda data: data[: len(data) // 2],
    "zero bytes": lambda data: b"",
    "deleted": None,
    "torn last line": torn_last_line,
}
FILES = ("checklist.toml", "checklist.toml.bak")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "scenarios.toml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CCPLATE_TUI_STATE_DIR", raising=False)
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["checklist", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def acknowledge_all(capsys: pytest.CaptureFixture[str]) -> None:
    """The eight acts, each acknowledged (exit 0) by the CLI."""
    for act in ACTS:
        code, out, err = cli(capsys, *act)
        assert code == 0, (act, out, err)
        assert err == "", err


def status(capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    code, out, _ = cli(capsys, "status", "--json")
    assert code == 0, out  # both steps done
    return json.loads(out)


def report(capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    code, out, _ = cli(capsys, "report", "--format", "json")
    assert code == 0
    return json.loads(out)


def timeline(document: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(e["action"], e["who"]) for e in document["timeline"]]


def damage(path: Path, how: Callable[[bytes], bytes] | None) -> bytes | None:
    """Apply the damage; the damaged bytes (None: deleted)."""
    if how is None:
        path.unlink()
        return None
    damaged = how(path.read_bytes())
    path.write_bytes(damaged)
    return damaged


def assert_whole(state: Path) -> None:
    """Both copies intact again and holding the eight events."""
    for name in FILES:
        events = read_state_file(state / name)
        assert [(e.action, e.who) for e in events] == EXPECTED, name


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("kind", DAMAGES)
def test_damage_to_one_copy_loses_no_acknowledged_event(
    env: Path, capsys: pytest.CaptureFixture[str], kind: str, name: str
) -> None:
    acknowledge_all(capsys)
    state = env / ".ccplate"
    damaged = damage(state / name, DAMAGES[kind])

    document = status(capsys)
    problem = document["state_problem"]
    assert problem, "a recovery must be reported in status --json"
    assert name in problem
    assert ("is missing" if damaged is None else "is damaged (") in problem
    other = FILES[1 - FILES.index(name)]
    assert f"resumed from {other}, the intact copy (8 events)" in problem
    assert document["progress"] == {"done": 2, "total": 2}
    steps = {s["id"]: s for s in document["phases"][0]["steps"]}
    assert steps["audit"]["approved_by"] == "dave"
    assert steps["docs"]["by"] == "erin"  # the latest acknowledged event is there
    if damaged is not None:
        (kept,) = state.glob(f"{name}.damaged-*")
        assert kept.read_bytes() == damaged
        assert kept.name in problem
    assert_whole(state)

    # Later loads (the report, the tab's poll, the verdict's view) still name the recovery.
    full = report(capsys)
    assert timeline(full) == EXPECTED
    assert full["state_problem"] and "recovered at" in full["state_problem"]
    assert name in full["state_problem"]
    code, markdown, _ = cli(capsys, "report")
    assert code == 0 and "> State file: the checklist log was recovered at" in markdown
    assert ChecklistStore(state).load().problem is not None


@pytest.mark.parametrize("name", FILES)
def test_a_write_recovers_first_and_the_recovery_is_still_reported(
    env: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """The damage is found by an append (a note), not by a status: nothing lost, still named."""
    acknowledge_all(capsys)
    state = env / ".ccplate"
    damage(state / name, random_middle)
    code, _, err = cli(capsys, "note", "docs", "after the damage", "--as", "alice")
    assert code == 0
    assert "warning: " in err and "is damaged (" in err
    document = report(capsys)
    assert timeline(document) == [*EXPECTED, ("noted", "alice")]
    assert document["state_problem"] and name in document["state_problem"]


@pytest.mark.parametrize("kind", ["zero bytes", "random bytes in the middle", "deleted"])
def test_both_copies_damaged_is_a_clear_report_never_a_silent_empty_start(
    env: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    acknowledge_all(capsys)
    state = env / ".ccplate"
    damage(state / "checklist.toml", DAMAGES["truncated to half"])
    damage(state / "checklist.toml.bak", DAMAGES[kind])

    code, out, err = cli(capsys, "status", "--json")
    assert code == 1  # nothing done any more
    problem = json.loads(out)["state_problem"]
    assert problem and "no intact copy of the checklist log is left" in problem
    assert "warning: " in err
    kept = sorted(p.name for p in state.glob("*.damaged-*"))
    assert kept and all(n in problem for n in kept)  # names what was kept aside
    assert len(kept) == (1 if kind == "deleted" else 2)
    if kind == "deleted":
        assert "checklist.toml.bak is missing" in problem

    # Acting on, the loss stays named in every status and report until the log is deleted.
    assert cli(capsys, "tick", "docs", "--as", "alice")[0] == 0
    later = json.loads(cli(capsys, "status", "--json")[1])["state_problem"]
    assert later and "no intact copy" in later and kept[0] in later
    assert "no intact copy" in cli(capsys, "report")[1]
    (state / "checklist.recovery.log").unlink()
    assert json.loads(cli(capsys, "status", "--json")[1])["state_problem"] is None


def test_files_from_before_two_copies_load_and_are_then_protected(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The old layout: the main file holds every event, the .bak the state before the latest.

    The first load brings the .bak up to date (quietly: nothing is wrong); from then on damage to
    the main file loses nothing, the latest event included."""
    acknowledge_all(capsys)
    state = env / ".ccplate"
    events = read_state_file(state / "checklist.toml")
    main_file, bak = state / "checklist.toml", state / "checklist.toml.bak"
    # An old single file (one batch append never made a .bak) is no damage.
    main_file.write_bytes(render(events))  # no pair mark: written as before
    bak.unlink()
    assert status(capsys)["state_problem"] is None
    assert_whole(state)
    # An old pair: the .bak one append behind.
    main_file.write_bytes(render(events))
    bak.write_bytes(render(events[:-1]))
    assert status(capsys)["state_problem"] is None
    assert_whole(state)
    # Migrated: both copies are marked as a pair, so a missing one is now damage.
    assert main_file.read_bytes() == bak.read_bytes() == PAIR_MARK + render(events)

    damage(state / "checklist.toml", DAMAGES["zero bytes"])
    after = report(capsys)
    assert timeline(after) == EXPECTED
    assert after["state_problem"] and "checklist.toml is damaged" in after["state_problem"]


WRITER = """
import sys, time
from pathlib import Path
from ccplate_tui.cli import main
name, count, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
deadline = time.monotonic() + 120
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.001)
for i in range(count):
    code = main(["checklist", "note", "audit", f"{name}-{i}", "--as", name])
    assert code == 0, code
print("done", flush=True)
"""


def test_four_concurrent_cli_writers_lose_nothing_and_both_copies_agree(env: Path) -> None:
    go, count, names = env / "go", 12, ("w1", "w2", "w3", "w4")
    child_env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, name, str(count), str(go)],
            cwd=env,
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    time.sleep(0.2)
    go.touch()
    try:
        for proc in writers:
            out, err = proc.communicate(timeout=WAIT)
            assert proc.returncode == 0, err
            assert out.strip().endswith("done")
    finally:
        for proc in writers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    state = env / ".ccplate"
    loaded = ChecklistStore(state).load()
    assert loaded.problem is None
    assert [e.seq for e in loaded.events] == list(range(1, len(names) * count + 1))
    for name in names:
        assert [e.note for e in loaded.events if e.who == name] == [
            f"{name}-{i}" for i in range(count)
        ]
    assert read_state_file(state / "checklist.toml.bak") == loaded.events
    assert not list(state.glob(".checklist.toml*.tmp"))


def test_the_verdict_names_the_recovery_too(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`verdict --json`: the checklist row keeps every event and says its state was recovered."""
    acknowledge_all(capsys)
    damage(env / ".ccplate" / "checklist.toml", random_middle)
    main(["verdict", "--json"])
    document = json.loads(capsys.readouterr().out)
    row = next(c for c in document["criteria"] if c["name"] == "Deploy checklist")
    assert row["value"] == "2 of 2 steps" and row["status"] == "pass"
    assert "state_problem:" in row["evidence"]["detail"]
    assert "checklist.toml.damaged-" in row["evidence"]["detail"]
