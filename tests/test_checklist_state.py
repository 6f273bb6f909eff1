"""ChecklistStore: round trips, concurrent writers, kill -9 mid-write, damaged and unwritable state.

Real files, real processes (`sys.executable -c`), real SIGKILL; every wait is a bounded poll.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import random
import re
import select
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import tomli_w

from ccplate_tui.checklist import state as state_module
from ccplate_tui.checklist.state import (
    ACTIONS,
    PAIR_MARK,
    ChecklistStore,
    Event,
    EventDraft,
    LoadedState,
    StateError,
    read_state_file,
)

ROOT = Path(__file__).resolve().parent.parent
WAIT = 60.0
"""Generous bound for a child to start (imports) and make progress; never a timing assert."""

MULTI_LINE = "\n".join(
    [
        "$ npm test",
        "  PASS  src/auth.test.ts (1.2 s)",
        '  quotes " and \'single\' and """triple""" and \\backslash\\',
        "\ttabs\tand trailing spaces   ",
        "\r\ncarriage returns\r",
        "control \x00 \x07 \x1b[31mred\x1b[0m \x7f",
        "unicode: héllo — 日本語 — 🚀 — ∑",
        "",
    ]
)


def full_draft(**changes: object) -> EventDraft:
    """A draft with every field set, evidence nesting tables, arrays of tables and odd strings."""
    draft = EventDraft(
        who="alice",
        action="passed",
        phase="pre_deploy",
        step="health_check",
        fingerprint="0123456789abcdef",
        checklist="f" * 64,
        note="looks good — ✓",
        reason="second try after the fix",
        pid=4242,
        pid_started=1795751764.04,
        evidence={
            "exit_code": 0,
            "duration_s": 1.25,
            "truncated": False,
            "output": MULTI_LINE,
            "argv": ("npm", "test"),
            "status": 200,
            "nested": {"deeper": {"value": -3, "ratio": 0.5, "list": [1, 2, 3]}},
            "probes": [
                {"url": "http://127.0.0.1:1/api/health", "status": 200, "ok": True},
                {"argv": ["true"], "exit_code": 0, "ok": True},
            ],
            "when": datetime(2026, 11, 27, 4, 10, tzinfo=UTC),
            "day": date(2026, 11, 27),
            "clé unicode": "valeur",
            "": "empty key",
            "big": 2**62,
        },
    )
    return dataclasses.replace(draft, **changes)  # type: ignore[arg-type]


def child(code: str, *args: str) -> subprocess.Popen[str]:
    """A real Python process running `code` with the repository importable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.001)


def three_appends(store: ChecklistStore) -> tuple[Event, ...]:
    """Three appends (one event each): both copies hold the 3 events."""
    return tuple(store.append(full_draft(action="noted", note=f"note {i}"))[0] for i in range(1, 4))


def aside(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f"{name}.damaged-*"))


# -- round trip ---------------------------------------------------------------------------------


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path / "state")
    before = datetime.now(UTC)
    (stored,) = store.append(full_draft())
    after = datetime.now(UTC)

    assert stored.seq == 1
    assert stored.at.tzinfo is not None and stored.at.utcoffset() == timedelta(0)
    assert before <= stored.at <= after
    draft = full_draft()
    for f in dataclasses.fields(EventDraft):
        if f.name != "evidence":
            assert getattr(stored, f.name) == getattr(draft, f.name), f.name
    assert stored.evidence["output"] == MULTI_LINE
    assert stored.evidence["argv"] == ["npm", "test"]  # tuples are stored as arrays

    # A fresh store (as another process would) reads exactly what append returned.
    loaded = ChecklistStore(tmp_path / "state").load()
    assert loaded == LoadedState((stored,), None)
    assert loaded.events[0].evidence == stored.evidence
    assert loaded.events[0].evidence["probes"][1]["argv"] == ["true"]
    assert loaded.events[0].evidence["when"] == datetime(2026, 11, 27, 4, 10, tzinfo=UTC)

    doc = tomllib.loads(store.path.read_text(encoding="utf-8"))
    assert doc["format"] == 1
    assert re.fullmatch(r"[0-9a-f]{64}", doc["digest"])
    assert doc["events"][0]["action"] == "passed"
    assert doc["events"][0]["evidence"]["nested"]["deeper"]["list"] == [1, 2, 3]


def test_optional_fields_are_left_out_and_read_back_as_none(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    (stored,) = store.append(EventDraft(who="bob", action="overridden", phase="staging"))
    table = tomllib.loads(store.path.read_text(encoding="utf-8"))["events"][0]
    assert set(table) == {"seq", "at", "who", "action", "phase"}
    (loaded,) = store.events()
    assert loaded == stored
    assert loaded.step is None and loaded.pid is None and loaded.evidence == {}


def test_seqs_continue_across_appends_and_one_call_shares_its_time(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    first = store.append(EventDraft(who="a", action="reset", reason="new deploy"))
    batch = store.append(*(EventDraft(who="a", action="reset", phase=p) for p in "xyz"))
    assert [e.seq for e in first + batch] == [1, 2, 3, 4]
    assert len({e.at for e in batch}) == 1
    assert store.events() == first + batch
    assert store.append() == ()
    assert len(store.events()) == 4


def test_every_action_round_trips(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    stored = store.append(*(EventDraft(who="w", action=a) for a in sorted(ACTIONS)))  # type: ignore[arg-type]
    assert [e.action for e in store.events()] == sorted(ACTIONS)
    assert store.events() == stored


def test_evidence_none_entries_are_dropped_and_bad_values_refused(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    (stored,) = store.append(
        EventDraft(who="w", action="failed", evidence={"why": None, "t": {"x": None, "y": 1}})
    )
    assert stored.evidence == {"t": {"y": 1}}
    assert store.events()[0].evidence == {"t": {"y": 1}}

    bad: list[EventDraft] = [
        EventDraft(who="w", action="exploded"),  # type: ignore[arg-type]
        EventDraft(who="  ", action="noted"),
        EventDraft(who="w", action="noted", evidence={"probes": [1, None]}),
        EventDraft(who="w", action="noted", evidence={"obj": object()}),
        EventDraft(who="w", action="noted", evidence={"x": {1: "int key"}}),
        EventDraft(who="w", action="started", pid="1234"),  # type: ignore[arg-type]
        EventDraft(who="w", action="noted", step=7),  # type: ignore[arg-type]
        EventDraft(who="w", action="started", pid_started=True),  # type: ignore[arg-type]
    ]
    messages = []
    for draft in bad:
        with pytest.raises(ValueError) as info:
            store.append(EventDraft(who="w", action="noted"), draft)
        messages.append(str(info.value))
    assert "exploded" in messages[0]
    assert "who" in messages[1]
    assert "evidence.probes" in messages[2]
    assert "evidence.obj" in messages[3] and "object" in messages[3]
    assert "evidence.x" in messages[4]
    # Wrong field types are refused before writing: the file never reads back as damaged.
    assert "`pid` must be an integer" in messages[5]
    assert "`step` must be a string" in messages[6]
    assert "`pid_started` must be a number" in messages[7]
    assert len(store.events()) == 1  # a refused batch writes nothing, not even its good half


def test_undecodable_output_is_stored_with_replacement(tmp_path: Path) -> None:
    output = b"ok \xff\xfe done".decode("utf-8", "surrogateescape")
    store = ChecklistStore(tmp_path)
    (stored,) = store.append(EventDraft(who="w", action="failed", evidence={"output": output}))
    assert stored.evidence["output"] == "ok ?? done"
    assert store.events() == (stored,)


def test_times_are_utc_even_when_written_with_another_offset(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    store.append(EventDraft(who="w", action="noted"))
    doc = tomllib.loads(store.path.read_text(encoding="utf-8"))
    original = doc["events"][0]["at"]
    assert original.utcoffset() == timedelta(0)
    (event,) = store.events()
    assert event.at == original and event.at.tzinfo == UTC
    # The same instant written at +02:00 is the same event, read back in UTC.
    doc["events"][0]["at"] = original.astimezone(timezone(timedelta(hours=2)))
    store.path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    assert "+02:00" in store.path.read_text(encoding="utf-8")
    assert ChecklistStore(tmp_path).load() == LoadedState((event,), None)
    assert store.events()[0].at.tzinfo == UTC
    # A different instant is an edit.
    doc["events"][0]["at"] = original + timedelta(seconds=1)
    store.path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    assert "edited by hand" in (ChecklistStore(tmp_path).load().problem or "")


def test_a_missing_folder_is_an_empty_state_and_is_not_created(tmp_path: Path) -> None:
    folder = tmp_path / "never" / "made"
    store = ChecklistStore(folder)
    assert store.load() == LoadedState((), None)
    assert store.events() == ()
    assert not folder.exists()
    assert store.path == folder / "checklist.toml"


def test_update_decides_under_the_lock_and_may_refuse(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    store.append(EventDraft(who="w", action="started", step="s"))

    def refuse_if_running(events: tuple[Event, ...]) -> list[EventDraft]:
        if events and events[-1].action == "started":
            raise RuntimeError("already running")
        return [EventDraft(who="w", action="started", step="s")]

    with pytest.raises(RuntimeError, match="already running"):
        store.update(refuse_if_running)
    assert len(store.events()) == 1
    store.append(EventDraft(who="w", action="passed", step="s"))
    (started,) = store.update(refuse_if_running)
    assert started.seq == 3
    assert store.update(lambda events: []) == ()


# -- concurrency --------------------------------------------------------------------------------

APPENDER = """
import sys, time
from pathlib import Path
from ccplate_tui.checklist.state import ChecklistStore, EventDraft
folder, name, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.001)
store = ChecklistStore(folder)
for i in range(count):
    store.append(EventDraft(who=name, action="noted", note=f"{name}-{i}", evidence={"i": i}))
print("done", flush=True)
"""


def test_two_processes_appending_lose_no_event(tmp_path: Path) -> None:
    folder, go, count = tmp_path / "state", tmp_path / "go", 40
    writers = [child(APPENDER, str(folder), name, str(count), str(go)) for name in ("cli", "tab")]
    go.touch()
    try:
        for proc in writers:
            out, err = proc.communicate(timeout=WAIT)
            assert proc.returncode == 0, err
            assert out.strip() == "done"
    finally:
        for proc in writers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    loaded = ChecklistStore(folder).load()
    assert loaded.problem is None
    assert [e.seq for e in loaded.events] == list(range(1, 2 * count + 1))
    for name in ("cli", "tab"):
        notes = [e.note for e in loaded.events if e.who == name]
        assert notes == [f"{name}-{i}" for i in range(count)]  # all there, in each writer's order
    assert not list(folder.glob(".checklist.toml*.tmp"))


def test_threads_of_one_process_also_exclude_each_other(tmp_path: Path) -> None:
    import threading

    store_dir, count = tmp_path / "state", 25

    def write(name: str) -> None:
        store = ChecklistStore(store_dir)  # its own lock handle, as the tab's workers have
        for i in range(count):
            store.append(EventDraft(who=name, action="watch", note=str(i)))

    threads = [threading.Thread(target=write, args=(f"t{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive()
    events = ChecklistStore(store_dir).events()
    assert [e.seq for e in events] == list(range(1, 3 * count + 1))
    for n in range(3):
        assert [e.note for e in events if e.who == f"t{n}"] == [str(i) for i in range(count)]


LOCK_HOLDER = """
import fcntl, sys, time
handle = open(sys.argv[1], "a+b")
fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(120)
"""


def test_a_lock_held_too_long_is_a_clear_state_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ChecklistStore(tmp_path)
    holder = child(LOCK_HOLDER, str(store.lock_path))
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(state_module, "LOCK_WAIT", 0.2)
        with pytest.raises(StateError) as info:
            store.append(EventDraft(who="w", action="noted"))
        assert str(store.lock_path) in str(info.value)
        assert "another process" in str(info.value)
    finally:
        holder.kill()
        holder.wait()
    # The lock dies with its holder.
    assert store.append(EventDraft(who="w", action="noted"))[0].seq == 1


# -- kill -9 while writing ----------------------------------------------------------------------

TIGHT_LOOP = """
import sys
from pathlib import Path
from ccplate_tui.checklist.state import ChecklistStore, EventDraft
store = ChecklistStore(Path(sys.argv[1]))
n = len(store.events())
output = "\\n".join(f"line {i}: " + "x" * 60 for i in range(200))
while True:
    n += 1
    store.append(EventDraft(who="killer", action="watch", note=str(n),
                            evidence={"output": output, "n": n, "probes": [{"round": n}]}))
    print(n, flush=True)
"""


def read_confirmed(proc: subprocess.Popen[str], at_least: int) -> int:
    """Read the child's confirmed appends until at least `at_least` (bounded)."""
    assert proc.stdout is not None
    last, deadline = 0, time.monotonic() + WAIT
    while last < at_least:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"the writer confirmed only {last} appends")
        ready, _, _ = select.select([proc.stdout], [], [], remaining)
        if ready:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"the writer died: {proc.stderr.read() if proc.stderr else ''}")
            last = int(line)
    return last


def test_kill_9_while_appending_leaves_a_good_file_each_time(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    store = ChecklistStore(folder)
    rng = random.Random(5)
    for round_ in range(6):
        start = len(store.events())
        proc = child(TIGHT_LOOP, str(folder))
        try:
            confirmed = read_confirmed(proc, start + 3)
            if round_ % 2:
                # Kill the moment a temp file shows: the writer is inside its atomic write.
                wait_for(lambda: any(folder.glob(".checklist.toml*.tmp")), "a write in flight")
            else:
                time.sleep(rng.uniform(0, 0.05))  # anywhere in the loop
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(WAIT)
            assert proc.returncode == -signal.SIGKILL
            assert proc.stdout is not None
            rest = proc.stdout.read().split()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if rest:
            confirmed = int(rest[-1])

        loaded = ChecklistStore(folder).load()
        assert loaded.problem is None
        events = loaded.events
        # Every confirmed append survived; at most the one being written when killed follows.
        assert confirmed <= len(events) <= confirmed + 1
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert all(e.note == str(e.seq) for e in events)  # a prefix of what was written
        assert all(e.evidence["probes"] == [{"round": e.seq}] for e in events[start:])
        # The load (under the lock) brought the second copy up to date: a writer killed
        # between its two renames leaves it one event behind, and that is no damage.
        assert read_state_file(store.backup) == events
    # A later writer carries on from there and the killed writers' temp files are gone.
    (last,) = store.append(EventDraft(who="after", action="noted"))
    assert last.seq == len(store.events())
    assert not list(folder.glob(".checklist.toml*.tmp"))


# -- damaged files ------------------------------------------------------------------------------


def edit_event(key: str, value: object, index: int = 2) -> Callable[[bytes], bytes]:
    """A damage that rewrites one event's key (keeping the digest, so the type check speaks)."""

    def damage(data: bytes) -> bytes:
        doc = tomllib.loads(data.decode())
        doc["events"][index][key] = value
        return tomli_w.dumps(doc).encode()

    return damage


def hand_edit(data: bytes) -> bytes:
    return data.replace(b'note = "note 3"', b'note = "note 3, all fine"')


def seq_gap(data: bytes) -> bytes:
    doc = tomllib.loads(data.decode())
    del doc["events"][1]
    return tomli_w.dumps(doc).encode()


DAMAGES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "garbage": (lambda data: b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "not UTF-8 text"),
    "not toml": (lambda data: b"this is [not toml\n", "not valid TOML"),
    "truncated": (lambda data: data[: len(data) * 2 // 3], "not valid TOML"),
    "empty": (lambda data: b"", "`format` is None"),
    "format 2": (lambda data: data.replace(b"format = 1", b"format = 2"), "`format` is 2"),
    "seq as text": (edit_event("seq", "3"), "expected seq 3"),
    "seq gap": (seq_gap, "expected seq 2"),
    "seq reordered": (edit_event("seq", 7), "expected seq 3"),
    "naive time": (edit_event("at", datetime(2026, 1, 1, 4, 0)), "`at` must be a date-time"),
    "who not text": (edit_event("who", 7), "`who` must be a non-empty string"),
    "pid as text": (edit_event("pid", "1234"), "`pid` must be an integer"),
    "evidence not table": (edit_event("evidence", "ok"), "`evidence` must be a table"),
    "unknown action": (edit_event("action", "exploded"), "unknown action 'exploded'"),
    "unknown key": (edit_event("colour", "red"), "unknown key `colour`"),
    "hand edit": (hand_edit, "edited by hand"),
}


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_file_is_kept_aside_and_the_other_copy_resumed(
    tmp_path: Path, damage: str
) -> None:
    make_damage, expected = DAMAGES[damage]
    store = ChecklistStore(tmp_path)
    written = three_appends(store)
    damaged = make_damage(store.path.read_bytes())
    store.path.write_bytes(damaged)

    loaded = ChecklistStore(tmp_path).load()
    assert loaded.events == written  # the other copy holds every acknowledged event
    assert loaded.problem is not None
    assert loaded.problem.startswith(f"{store.path} is damaged (")
    assert expected in loaded.problem
    (kept,) = aside(tmp_path, "checklist.toml")
    assert re.fullmatch(r"checklist\.toml\.damaged-\d{8}T\d{6}Z", kept.name)
    assert kept.read_bytes() == damaged  # kept exactly as found, for a post-mortem
    assert f"kept it as {kept.name}" in loaded.problem
    assert "resumed from checklist.toml.bak, the intact copy (3 events)" in loaded.problem
    assert "rewrote checklist.toml from it" in loaded.problem

    # Resumed: the good state is back in both copies; later loads still name the recovery...
    again = ChecklistStore(tmp_path).load()
    assert again.events == written
    assert again.problem is not None and "recovered at" in again.problem
    assert "checklist.recovery.log" in again.problem
    # ...and the next append writes both copies carrying on from it.
    (new,) = store.append(EventDraft(who="bob", action="noted", note="after"))
    assert new.seq == 4
    assert ChecklistStore(tmp_path).load().events == (*written, new)
    assert read_state_file(store.backup) == (*written, new)
    # Deleting the recovery log (once checked) clears the notice.
    (tmp_path / "checklist.recovery.log").unlink()
    assert ChecklistStore(tmp_path).load() == LoadedState((*written, new), None)


def test_the_message_names_the_line_of_a_toml_error(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    three_appends(store)
    lines = store.path.read_text(encoding="utf-8").splitlines()
    lines[11] = "who = = broken"
    store.path.write_text("\n".join(lines), encoding="utf-8")
    problem = store.load().problem or ""
    assert "not valid TOML" in problem and "line 12" in problem


def test_both_damaged_gives_an_empty_state_and_keeps_both_aside(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    three_appends(store)
    store.path.write_bytes(b"garbage = [")
    store.backup.write_bytes(b"format = 1\n")

    loaded = store.load()
    assert loaded.events == ()
    problem = loaded.problem or ""
    assert problem.startswith(f"{store.path} is damaged (not valid TOML")
    assert "checklist.toml.bak is damaged (`digest` is missing" in problem
    assert "no intact copy of the checklist log is left" in problem
    (main_kept,) = aside(tmp_path, "checklist.toml")
    (bak_kept,) = aside(tmp_path, "checklist.toml.bak")
    assert main_kept.read_bytes() == b"garbage = ["
    assert bak_kept.read_bytes() == b"format = 1\n"
    assert f"kept it as {main_kept.name}" in problem and f"kept it as {bak_kept.name}" in problem
    assert not store.path.exists() and not store.backup.exists()

    # Never a quiet fresh start: every later load names the loss until the log is deleted.
    later = store.load()
    assert later.events == () and "no intact copy" in (later.problem or "")
    (first,) = store.append(EventDraft(who="w", action="noted"))
    assert first.seq == 1
    after = ChecklistStore(tmp_path).load()
    assert after.events == (first,) and main_kept.name in (after.problem or "")


def test_a_damaged_file_without_its_copy_is_named_not_quietly_emptied(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    store.append(EventDraft(who="w", action="noted"))  # the first write makes both copies
    assert read_state_file(store.backup) == store.events()
    store.backup.unlink()
    store.path.write_bytes(b"\xff\xfe not utf-8")
    loaded = store.load()
    assert loaded.events == ()
    problem = loaded.problem or ""
    assert "not UTF-8" in problem and "checklist.toml.bak is missing" in problem
    assert "no intact copy" in problem
    assert len(aside(tmp_path, "checklist.toml")) == 1


def test_a_deleted_file_is_resumed_from_the_backup(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    written = three_appends(store)
    store.path.unlink()
    loaded = store.load()
    assert loaded.events == written
    assert loaded.problem == (
        f"{store.path} is missing; resumed from checklist.toml.bak, the intact copy (3 events) "
        "and rewrote checklist.toml from it (noted in checklist.recovery.log; delete it once "
        "checked)"
    )
    assert read_state_file(store.path) == written


def test_an_append_recovers_too_and_reports_it(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    written = three_appends(store)
    store.path.write_bytes(b"nonsense")
    (new,) = store.append(EventDraft(who="w", action="noted"))
    assert new.seq == 4
    assert "resumed from checklist.toml.bak" in (store.last_problem or "")
    loaded = store.load()
    assert loaded.events == (*written, new)
    assert "recovered at" in (store.last_problem or "")  # reported after the append too
    assert len(aside(tmp_path, "checklist.toml")) == 1


def test_two_damages_in_one_second_keep_both_copies(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    three_appends(store)
    for text in (b"first damage", b"second damage"):
        store.path.write_bytes(text)
        assert store.load().problem is not None
    kept = {p.read_bytes() for p in aside(tmp_path, "checklist.toml")}
    assert kept == {b"first damage", b"second damage"}


def test_read_state_file_names_the_file_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "checklist.toml.bak"
    path.write_text('format = 1\ndigest = "x"\n[[events]]\nseq = 1\n', encoding="utf-8")
    with pytest.raises(StateError, match=r"checklist\.toml\.bak is damaged \(events\[0\]"):
        read_state_file(path)
    with pytest.raises(StateError, match="cannot read"):
        read_state_file(tmp_path / "missing.toml")


# -- unwritable state folders -------------------------------------------------------------------


def test_a_state_folder_that_is_a_file_is_a_clear_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("not a folder", encoding="utf-8")
    for folder in (blocker, blocker / "below"):
        store = ChecklistStore(folder)
        assert store.load() == LoadedState((), None)
        with pytest.raises(StateError) as info:
            store.append(EventDraft(who="w", action="noted"))
        message = str(info.value)
        assert message.startswith(f"cannot use the checklist state folder {folder}: ")
        assert "exists" in message or "Not a directory" in message


def test_an_unwritable_state_file_is_a_clear_state_error(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    store.append(EventDraft(who="w", action="noted"))
    # The main file replaced by a folder: the rename cannot land, whoever runs the test.
    store.path.unlink()
    store.path.mkdir()
    (store.path / "x").touch()
    with pytest.raises(StateError) as info:
        store.append(EventDraft(who="w", action="noted"))
    assert str(info.value).startswith("cannot ")
    assert str(store.path) in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_state_folder_is_a_clear_state_error(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path / "state")
    (first,) = store.append(EventDraft(who="w", action="noted"))
    (tmp_path / "state" / "checklist.lock").unlink()
    (tmp_path / "state").chmod(0o555)
    try:
        assert store.load() == LoadedState((first,), None)  # still readable
        with pytest.raises(StateError, match="Permission denied"):
            store.append(EventDraft(who="w", action="noted"))
    finally:
        (tmp_path / "state").chmod(0o755)


def test_the_lock_file_is_a_real_flock(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    store.append(EventDraft(who="w", action="noted"))
    with open(store.lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # free between appends
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


OLD_FILE = """\
format = 1
digest = "156c80c75f5b990ac7dfb3d2e7821e7571243e26e6003e0ba40194392925c723"

[[events]]
seq = 1
at = 2026-11-27 04:02:00+00:00
who = "alice"
action = "ticked"
phase = "pre"
step = "audit"
note = "SOC2 ok"

[[events]]
seq = 2
at = 2026-11-27 04:05:00+00:00
who = "bob"
action = "approved"
phase = "pre"
step = "audit"
"""
"""A state file as written before the `revoked` action existed."""


def test_a_file_from_before_revoke_loads_and_takes_a_revoke(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    store.path.write_text(OLD_FILE, encoding="utf-8")
    loaded = store.load()
    assert loaded.problem is None
    assert [(e.seq, e.action) for e in loaded.events] == [(1, "ticked"), (2, "approved")]
    assert "revoked" in ACTIONS
    (new,) = store.append(
        EventDraft(
            who="carol",
            action="revoked",
            phase="pre",
            step="audit",
            reason="bob was on leave",
            evidence={"revoked": "approved", "revoked_seq": 2, "revoked_who": "bob"},
        )
    )
    assert new.seq == 3
    assert store.events()[:2] == loaded.events
    # Both copies now hold the whole log, the old events exactly as they were.
    assert read_state_file(store.path) == read_state_file(store.backup) == store.events()
    assert store.events()[:2] == read_state_file_text(OLD_FILE, tmp_path)


def read_state_file_text(text: str, folder: Path) -> tuple[Event, ...]:
    path = folder / "old.toml"
    path.write_text(text, encoding="utf-8")
    return read_state_file(path)


def test_an_old_pair_whose_bak_is_the_previous_state_migrates_quietly(tmp_path: Path) -> None:
    """Before two copies, the .bak held the state before the latest append (a prefix)."""
    store = ChecklistStore(tmp_path)
    store.path.write_text(OLD_FILE, encoding="utf-8")
    first_only = OLD_FILE[: OLD_FILE.index("\n[[events]]\nseq = 2")] + "\n"
    doc = tomllib.loads(first_only)
    doc["digest"] = state_module.digest(read_state_file_text(OLD_FILE, tmp_path)[:1])
    store.backup.write_text(tomli_w.dumps(doc), encoding="utf-8")
    assert len(read_state_file(store.backup)) == 1
    loaded = store.load()
    assert loaded.problem is None
    assert [e.seq for e in loaded.events] == [1, 2]
    assert read_state_file(store.backup) == loaded.events  # brought up to date under the lock
    # Both copies are marked as a pair from now on, the old events kept byte for byte.
    assert store.path.read_bytes() == store.backup.read_bytes() == PAIR_MARK + OLD_FILE.encode()


def test_an_older_main_file_put_back_is_caught_up_from_the_other_copy(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    first = store.append(EventDraft(who="w", action="noted", note="1"))
    older = store.path.read_bytes()
    later = store.append(EventDraft(who="w", action="noted", note="2"))
    store.path.write_bytes(older)  # e.g. restored from a file backup
    loaded = store.load()
    assert loaded.events == first + later
    assert "held only 1 event (an older copy?)" in (loaded.problem or "")
    assert read_state_file(store.path) == first + later


def test_copies_that_disagree_keep_the_longer_and_set_the_other_aside(tmp_path: Path) -> None:
    store = ChecklistStore(tmp_path)
    written = three_appends(store)
    # A valid copy (its own digest matches) whose second event differs from the main file's.
    other = (written[0], dataclasses.replace(written[1], note="another history"))
    store.backup.write_bytes(state_module.render(other))
    assert read_state_file(store.backup) == other
    loaded = store.load()
    assert loaded.events == written
    problem = loaded.problem or ""
    assert "checklist.toml.bak disagrees with checklist.toml from event 2 on" in problem
    (kept,) = aside(tmp_path, "checklist.toml.bak")
    assert kept.name in problem
    assert read_state_file(store.backup) == written
