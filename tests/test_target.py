"""The demo target's endpoints, schema lock, process helper and CLI, over real loopback HTTP."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import socket
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from ccplate_tui.loopback import is_loopback_host
from ccplate_tui.target import running_target, start_target_process, stop_target_process
from ccplate_tui.target.app import MAX_UPLOAD_BYTES
from ccplate_tui.target.command import add_target_parser, run_target_command
from ccplate_tui.target.store import DEMO_EMAIL, DEMO_PASSWORD, STALE_LOCK_S, TargetStore

CREDENTIALS = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "target.db"


@pytest.fixture
async def target(db_path: Path) -> AsyncIterator[str]:
    async with running_target(db_path=db_path) as url:
        yield url


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def call(
    session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, Any]:
    async with session.request(method, url, **kwargs) as response:
        text = await response.text()
        assert response.content_type == "application/json", text
        return response.status, json.loads(text)


def schema_problems(db: Path) -> list[str]:
    """Half-applied models (not 3 fields and 1 index) and applies whose rows interleave."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT m.id, m.name, "
            "(SELECT COUNT(*) FROM schema_fields f WHERE f.model_id = m.id), "
            "(SELECT COUNT(*) FROM schema_indexes i WHERE i.model_id = m.id) "
            "FROM schema_models m"
        ).fetchall()
        field_owners = [
            row[0] for row in conn.execute("SELECT model_id FROM schema_fields ORDER BY id")
        ]
    problems = [
        f"{name} (#{mid}): {fields} fields, {indexes} indexes"
        for mid, name, fields, indexes in rows
        if (fields, indexes) != (3, 1)
    ]
    if field_owners != sorted(field_owners):  # two applies ran at once under "the lock"
        problems.append(f"field rows of different models interleave: {field_owners}")
    return problems


def lock_row(db: Path) -> tuple[Any, Any]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT holder, since FROM schema_lock WHERE id = 1").fetchone()


# health, auth, users ------------------------------------------------------------------------


async def test_health_reports_ok_with_a_real_db_round_trip(
    target: str, session: aiohttp.ClientSession
) -> None:
    status, body = await call(session, "GET", f"{target}/api/health")
    assert status == 200
    assert body["status"] == "ok" and body["db"] == "ok"
    assert body["uptime_s"] >= 0


async def test_login_accepts_json_and_form_fields(
    target: str, session: aiohttp.ClientSession
) -> None:
    status, body = await call(session, "POST", f"{target}/api/auth/login", json=CREDENTIALS)
    assert status == 200
    assert body["user"]["email"] == DEMO_EMAIL and body["token"]
    status, form_body = await call(session, "POST", f"{target}/api/auth/login", data=CREDENTIALS)
    assert status == 200 and form_body["user"] == body["user"]


@pytest.mark.parametrize(
    "payload",
    [
        {"email": DEMO_EMAIL, "password": "wrong"},
        {"email": "nobody@example.com", "password": DEMO_PASSWORD},
        {"email": DEMO_EMAIL, "password": ""},
    ],
)
async def test_login_rejects_bad_credentials_with_401(
    target: str, session: aiohttp.ClientSession, payload: dict[str, str]
) -> None:
    status, body = await call(session, "POST", f"{target}/api/auth/login", json=payload)
    assert (status, body) == (401, {"error": "invalid credentials"})


@pytest.mark.parametrize(
    ("kwargs", "message_part"),
    [
        ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, "malformed JSON"),
        ({"json": ["a", "list"]}, "expected a JSON object"),
        ({"json": {"email": DEMO_EMAIL}}, "'email' and 'password'"),
        ({"json": {"email": 42, "password": DEMO_PASSWORD}}, "'email' and 'password'"),
        ({"data": b"hello", "headers": {"Content-Type": "text/plain"}}, "expected a JSON object"),
    ],
)
async def test_login_rejects_malformed_bodies_with_400(
    target: str, session: aiohttp.ClientSession, kwargs: dict[str, Any], message_part: str
) -> None:
    status, body = await call(session, "POST", f"{target}/api/auth/login", **kwargs)
    assert status == 400
    assert message_part in body["error"]


async def test_me_works_without_a_token_with_a_valid_one_and_refuses_a_forged_one(
    target: str, session: aiohttp.ClientSession
) -> None:
    status, anonymous = await call(session, "GET", f"{target}/api/users/me")
    assert status == 200 and anonymous["email"] == DEMO_EMAIL
    _, login = await call(session, "POST", f"{target}/api/auth/login", json=CREDENTIALS)
    headers = {"Authorization": f"Bearer {login['token']}"}
    status, me = await call(session, "GET", f"{target}/api/users/me", headers=headers)
    assert status == 200 and me["id"] == login["user"]["id"]
    forged = login["token"][:-1] + ("0" if login["token"][-1] != "0" else "1")
    status, body = await call(
        session, "GET", f"{target}/api/users/me", headers={"Authorization": f"Bearer {forged}"}
    )
    assert (status, body) == (401, {"error": "invalid token"})


async def test_unknown_paths_and_methods_answer_json(
    target: str, session: aiohttp.ClientSession
) -> None:
    status, body = await call(session, "GET", f"{target}/api/nothing-here")
    assert (status, body) == (404, {"error": "not found", "path": "/api/nothing-here"})
    status, body = await call(session, "GET", f"{target}/api/auth/login")
    assert status == 405 and body["allowed"] == ["POST"]


# files --------------------------------------------------------------------------------------


async def test_json_upload_is_stored_and_its_metadata_served(
    target: str, session: aiohttp.ClientSession
) -> None:
    status, created = await call(
        session, "POST", f"{target}/api/files", json={"filename": "notes.txt", "content": "héllo"}
    )
    assert status == 201
    assert created["size"] == len("héllo".encode())
    assert created["sha256"] == hashlib.sha256("héllo".encode()).hexdigest()
    status, meta = await call(session, "GET", f"{target}/api/files/{created['id']}")
    assert status == 200 and meta == created


async def test_concurrent_1mb_multipart_uploads_are_stored_with_the_right_sha256(
    target: str, session: aiohttp.ClientSession, db_path: Path
) -> None:
    payloads = [bytes([n]) * 1_000_000 for n in range(25)]

    async def upload(index: int) -> tuple[int, Any]:
        form = aiohttp.FormData()
        form.add_field("file", io.BytesIO(payloads[index]), filename=f"blob-{index}.bin")
        return await call(session, "POST", f"{target}/api/files", data=form)

    results = await asyncio.gather(*(upload(i) for i in range(25)))
    assert {status for status, _ in results} == {201}
    for index, (_, body) in enumerate(results):
        assert body["filename"] == f"blob-{index}.bin"
        assert body["size"] == 1_000_000
        assert body["sha256"] == hashlib.sha256(payloads[index]).hexdigest()
    first = results[0][1]
    with sqlite3.connect(db_path) as conn:
        stored = conn.execute("SELECT content FROM files WHERE id = ?", (first["id"],)).fetchone()
    assert hashlib.sha256(stored[0]).hexdigest() == first["sha256"]
    async with session.get(f"{target}/api/files/{first['id']}/content") as response:
        assert await response.read() == payloads[0]


async def test_uploads_over_10mb_are_refused_with_413(
    target: str, session: aiohttp.ClientSession
) -> None:
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(b"x" * (MAX_UPLOAD_BYTES + 1)), filename="big.bin")
    status, body = await call(session, "POST", f"{target}/api/files", data=form)
    assert status == 413 and body["limit_bytes"] == MAX_UPLOAD_BYTES
    big_json = {"filename": "big.txt", "content": "y" * (MAX_UPLOAD_BYTES + 1)}
    status, _ = await call(
        session,
        "POST",
        f"{target}/api/files",
        data=io.BytesIO(json.dumps(big_json).encode()),
        headers={"Content-Type": "application/json"},
    )
    assert status == 413


@pytest.mark.parametrize(
    ("kwargs", "message_part"),
    [
        ({"json": {"content": "no name"}}, "'filename'"),
        ({"json": {"filename": "a.txt", "content": 12}}, "'content'"),
        ({"data": aiohttp.FormData({"other": "field"})}, "part named 'file'"),
    ],
)
async def test_uploads_without_the_needed_fields_are_refused_with_400(
    target: str, session: aiohttp.ClientSession, kwargs: dict[str, Any], message_part: str
) -> None:
    if isinstance(kwargs.get("data"), aiohttp.FormData):  # FormData can only be sent once
        form = aiohttp.FormData()
        form.add_field("other", "field")
        form.add_field("ignored", b"bytes", filename="x.bin")
        kwargs = {"data": form}
    status, body = await call(session, "POST", f"{target}/api/files", **kwargs)
    assert status == 400 and message_part in body["error"]


async def test_missing_files_answer_404(target: str, session: aiohttp.ClientSession) -> None:
    status, body = await call(session, "GET", f"{target}/api/files/999")
    assert (status, body["error"]) == (404, "file not found")
    status, _ = await call(session, "GET", f"{target}/api/files/not-a-number")
    assert status == 404


# component builder --------------------------------------------------------------------------


async def test_mock_generation_is_fast_and_recorded(
    target: str, session: aiohttp.ClientSession, db_path: Path
) -> None:
    request = {
        "description": "A button component",
        "preferences": {"type": "client", "styling": "tailwind"},
        "mock": True,
    }
    started = time.monotonic()
    status, body = await call(
        session, "POST", f"{target}/api/component-builder/generate", json=request
    )
    assert time.monotonic() - started < 1.0
    assert status == 200
    assert "export function Button" in body["component"] and "'use client'" in body["component"]
    assert 10 <= body["duration_ms"] < 1000
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT component_name, mock FROM builder_analytics").fetchall()
    assert rows == [("Button", 1)]


async def test_real_generation_takes_at_least_a_second(
    target: str, session: aiohttp.ClientSession
) -> None:
    started = time.monotonic()
    status, body = await call(
        session,
        "POST",
        f"{target}/api/component-builder/generate",
        data={"description": "A pricing card", "preferences": "{}"},  # k6 sends form fields
    )
    assert status == 200
    assert time.monotonic() - started >= 1.0
    assert body["duration_ms"] >= 1000 and "PricingCard" in body["component"]


@pytest.mark.parametrize(
    ("payload", "message_part"),
    [
        ({"preferences": {}}, "'description'"),
        ({"description": "x", "preferences": ["not", "an", "object"]}, "preferences"),
        ({"description": "x", "mock": "yes"}, "mock"),
    ],
)
async def test_generation_rejects_bad_input_with_400(
    target: str, session: aiohttp.ClientSession, payload: dict[str, Any], message_part: str
) -> None:
    status, body = await call(
        session, "POST", f"{target}/api/component-builder/generate", json=payload
    )
    assert status == 400 and message_part in body["error"]


# schema lock --------------------------------------------------------------------------------


async def test_concurrent_applies_get_200_or_423_and_never_half_apply(
    target: str, session: aiohttp.ClientSession, db_path: Path
) -> None:
    async def apply(vu: int) -> tuple[int, str]:
        async with session.post(
            f"{target}/api/schema-builder/apply", json={"model": f"LoadTest{vu}"}
        ) as response:
            return response.status, await response.text()

    results = await asyncio.gather(*(apply(vu) for vu in range(30)))
    statuses = [status for status, _ in results]
    assert set(statuses) == {200, 423}, statuses
    for status, text in results:
        assert "concurrent modification" not in text
        body = json.loads(text)
        if status == 423:
            assert body["error"] == "locked" and body["holder"].startswith("LoadTest")
        else:
            assert body["applied"].startswith("LoadTest") and body["version"] >= 1
    assert schema_problems(db_path) == []
    with sqlite3.connect(db_path) as conn:
        (models,) = conn.execute("SELECT COUNT(*) FROM schema_models").fetchone()
    assert models == statuses.count(200)
    assert lock_row(db_path) == (None, None)


async def test_the_lock_lives_in_the_database_and_a_stale_one_is_taken_over(
    target: str, session: aiohttp.ClientSession, db_path: Path
) -> None:
    with sqlite3.connect(db_path) as conn:  # another process holds the lock right now
        conn.execute("UPDATE schema_lock SET holder = 'Other@elsewhere', since = ?", (time.time(),))
    status, body = await call(
        session, "POST", f"{target}/api/schema-builder/apply", json={"model": "Blocked"}
    )
    assert status == 423 and body["holder"] == "Other@elsewhere"
    with sqlite3.connect(db_path) as conn:  # ... and then it died 31 s ago
        stale = time.time() - STALE_LOCK_S - 1
        conn.execute("UPDATE schema_lock SET since = ?", (stale,))
    status, body = await call(
        session, "POST", f"{target}/api/schema-builder/apply", json={"model": "Recovered"}
    )
    assert status == 200 and body["applied"] == "Recovered"
    assert lock_row(db_path) == (None, None)
    with sqlite3.connect(db_path) as conn:  # a hand-edited row without a time is stale too
        conn.execute("UPDATE schema_lock SET holder = 'Other@elsewhere', since = NULL")
    status, _ = await call(
        session, "POST", f"{target}/api/schema-builder/apply", json={"model": "Again"}
    )
    assert status == 200 and lock_row(db_path) == (None, None)


async def test_two_targets_sharing_a_db_file_exclude_each_other(
    db_path: Path, session: aiohttp.ClientSession
) -> None:
    async with running_target(db_path=db_path) as url_a, running_target(db_path=db_path) as url_b:

        async def apply(url: str, model: str) -> tuple[int, dict[str, Any]]:
            return await call(
                session, "POST", f"{url}/api/schema-builder/apply", json={"model": model}
            )

        cross_holders: list[str] = []
        statuses: set[int] = set()
        for round_no in range(20):  # bounded: stop as soon as B was refused because of A
            results = await asyncio.gather(
                apply(url_a, f"Alpha{round_no}"),
                *(apply(url_b, f"Beta{round_no}_{i}") for i in range(3)),
            )
            statuses |= {status for status, _ in results}
            cross_holders += [
                body["holder"]
                for status, body in results[1:]
                if status == 423 and body["holder"].startswith("Alpha")
            ]
            if cross_holders:
                break
    assert statuses <= {200, 423}
    assert cross_holders, "target B never saw the lock that target A held"
    assert schema_problems(db_path) == []
    assert lock_row(db_path) == (None, None)


async def test_a_cancelled_apply_rolls_back_and_frees_the_lock(db_path: Path) -> None:
    store = TargetStore(db_path)
    try:
        task = asyncio.create_task(store.apply_schema("Cancelled"))
        # Cancelled once it holds the lock, not after a guessed delay: the apply takes the lock
        # and opens its transaction without awaiting, so from then on it is inside its steps.
        deadline = time.monotonic() + 30
        while lock_row(db_path)[0] is None:
            assert not task.done(), f"the apply ended before it could be cancelled: {task}"
            assert time.monotonic() < deadline, "the apply never took the schema lock"
            await asyncio.sleep(0)
        assert str(lock_row(db_path)[0]).startswith("Cancelled@")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with sqlite3.connect(db_path) as conn:
            assert conn.execute("SELECT COUNT(*) FROM schema_models").fetchone() == (0,)
        assert lock_row(db_path) == (None, None)
        applied = await store.apply_schema("After")
        assert applied.model == "After" and schema_problems(db_path) == []
    finally:
        store.close()


@pytest.mark.parametrize("model", [None, "", "1abc", "has space", "x" * 65, 12])
async def test_apply_rejects_bad_model_names(
    target: str, session: aiohttp.ClientSession, model: Any
) -> None:
    payload = {} if model is None else {"model": model}
    status, body = await call(session, "POST", f"{target}/api/schema-builder/apply", json=payload)
    assert status == 400 and "model" in body["error"]


# running it ---------------------------------------------------------------------------------


def test_target_process_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "proc.db"
    proc, url = start_target_process(faults="error_rate=1,paths=/api/users/me", db_path=db)
    try:
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url, timeout=10) as client:
            assert client.get("/api/health").json()["db"] == "ok"
            assert client.get("/api/users/me").status_code == 500
            assert (
                client.post("/api/files", json={"filename": "a", "content": "b"}).status_code == 201
            )
    finally:
        code = stop_target_process(proc)
    assert code == 0  # SIGTERM is a graceful stop
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM files").fetchone() == (1,)


def test_target_process_reports_bad_faults_and_a_busy_port() -> None:
    with pytest.raises(RuntimeError, match=r"exit code 2.*latency: expected a duration"):
        start_target_process(faults="latency=soon")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=rf"exit code 1.*port {port} .* already in use"):
            start_target_process(port=port)


def _target_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ccplate-tui")
    add_target_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["target", *argv])


def test_target_subcommand_defaults() -> None:
    args = _target_args([])
    assert (args.host, args.port, args.faults, args.db) == ("127.0.0.1", 8787, "", None)
    assert args.func is run_target_command
    with pytest.raises(SystemExit):
        _target_args(["--port", "70000"])


@pytest.mark.parametrize(
    ("argv", "message_part"),
    [
        (["--faults", "error_rate=x"], "error_rate: expected a number between 0 and 1, got 'x'"),
        (["--host", "0.0.0.0"], "--allow-remote-bind"),
        (["--db", "/no/such/dir/target.db"], "does not exist"),
    ],
)
def test_target_subcommand_refuses_bad_usage_with_exit_2(
    argv: list[str], message_part: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _target_args(argv)
    assert args.func(args) == 2
    assert message_part in capsys.readouterr().err


def test_target_subcommand_exits_1_when_the_port_is_in_use(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = _target_args(["--port", str(port)])
        assert args.func(args) == 1
    assert f"port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("example.com", False),
    ],
)
def test_is_loopback_host(host: str, expected: bool) -> None:
    assert is_loopback_host(host) is expected
