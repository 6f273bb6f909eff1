"""A hostile client gets a 4xx with a short JSON reason from the demo target, never a 500: deep
JSON, ids no row can have, fault values out of bounds (over HTTP and on the command line)."""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import aiohttp
import brotli
import pytest

from ccplate_tui.cli import main
from ccplate_tui.target import parse_faults
from ccplate_tui.target.command import add_target_parser
from ccplate_tui.target.faults import MAX_DELAY_S, MAX_RULES, faults_from_mapping
from ccplate_tui.target.json_body import (
    MAX_JSON_DEPTH,
    JsonBodyError,
    JsonTooDeep,
    json_depth,
    loads_bounded,
)
from ccplate_tui.target.request_guard import MAX_ID_DIGITS, parse_path_id
from tests.test_target import call, db_path, session, target

DEEP = b"[" * 100_000
POST_ROUTES = [
    ("POST", "/api/auth/login"),
    ("POST", "/api/files"),
    ("POST", "/api/component-builder/generate"),
    ("POST", "/api/schema-builder/apply"),
    ("PUT", "/__admin/faults"),
    ("PATCH", "/__admin/faults"),
]

__all__ = ["db_path", "session", "target"]  # fixtures, imported for pytest


# JSON depth ---------------------------------------------------------------------------------


def _nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + "1" + closer * depth


def test_json_nested_up_to_the_limit_is_read_and_one_level_more_is_refused() -> None:
    assert json_depth(loads_bounded(_nested(MAX_JSON_DEPTH))) == MAX_JSON_DEPTH
    assert json_depth(loads_bounded(_nested(MAX_JSON_DEPTH, '{"a":', "}"))) == MAX_JSON_DEPTH
    with pytest.raises(JsonTooDeep, match=f"^JSON nested deeper than {MAX_JSON_DEPTH} levels$"):
        loads_bounded(_nested(MAX_JSON_DEPTH + 1))
    with pytest.raises(JsonTooDeep):
        loads_bounded(_nested(MAX_JSON_DEPTH + 1, '{"a":', "}").encode())
    with pytest.raises(JsonTooDeep):  # Python's own parser gives up here: RecursionError
        loads_bounded(DEEP)
    # Many brackets side by side are not deep.
    assert loads_bounded("[" + ",".join(["[]"] * 1000) + "]") == [[]] * 1000


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff\xfe{", "not UTF-8 text"),
        (b'{"a": NaN}', "NaN is not JSON"),
        (b"[Infinity]", "Infinity is not JSON"),
        (b"9" * 5000, "malformed JSON"),  # int() refuses 4,300+ digits: a ValueError, not a 500
        (b"{", "malformed JSON"),
    ],
)
def test_bad_json_raises_one_error_type(raw: bytes, message: str) -> None:
    with pytest.raises(JsonBodyError, match=message):
        loads_bounded(raw)


def test_constants_are_allowed_on_request() -> None:
    assert str(loads_bounded(b"[NaN]", allow_constants=True)[0]) == "nan"


@pytest.mark.parametrize(("method", "path"), POST_ROUTES)
async def test_deep_json_answers_400_on_every_json_route(
    target: str, session: aiohttp.ClientSession, method: str, path: str
) -> None:
    headers = {"Content-Type": "application/json"}
    for body in (b"[" * 50_000, _nested(MAX_JSON_DEPTH + 1, '{"a":', "}").encode()):
        status, answer = await call(session, method, target + path, data=body, headers=headers)
        assert (status, answer) == (
            400,
            {"error": f"malformed JSON body: JSON nested deeper than {MAX_JSON_DEPTH} levels"},
        )
    # 100,000 brackets are more than an admin body may hold (64 KiB): refused before parsing.
    status, _ = await call(session, method, target + path, data=DEEP, headers=headers)
    assert status == (413 if path.startswith("/__admin/") else 400)


async def test_deep_preferences_sent_as_a_form_field_answer_400(
    target: str, session: aiohttp.ClientSession
) -> None:
    form = {"description": "A button", "mock": "true", "preferences": "[" * 5000}
    status, answer = await call(
        session, "POST", f"{target}/api/component-builder/generate", data=form
    )
    assert (status, answer["error"]) == (400, "preferences: JSON nested deeper than 64 levels")


async def test_deep_json_to_the_sentry_ingest_answers_400(
    target: str, session: aiohttp.ClientSession
) -> None:
    url = f"{target}/__sentry/api/1/envelope/?sentry_key=abc"
    status, answer = await call(session, "POST", url, data=DEEP)
    assert status == 400 and "nested deeper than 64" in answer["causes"][0]


async def test_an_unreadable_multipart_body_answers_400_and_the_next_request_works(
    target: str, session: aiohttp.ClientSession
) -> None:
    body = b"--x\r\n" + b"a" * 9000 + b"\r\n\r\n"  # a part header over aiohttp's 8 KB line
    headers = {"Content-Type": "multipart/form-data; boundary=x"}
    for path in ("/api/auth/login", "/api/files"):
        status, answer = await call(session, "POST", target + path, data=body, headers=headers)
        assert (status, answer["error"]) == (400, "malformed request body")
        assert answer["detail"].startswith("Got more than 8190 bytes")
    status, _ = await call(session, "GET", f"{target}/api/health")
    assert status == 200


@pytest.mark.parametrize(
    ("encoding", "body"),
    [("gzip", b"\x00not gzip"), ("deflate", b"{}"), ("br", b"{}"), ("zstd", b"{}")],
)
async def test_a_compressed_body_answers_415_at_once(
    target: str, session: aiohttp.ClientSession, encoding: str, body: bytes
) -> None:
    """A truncated deflate body used to leave the request waiting for ever inside aiohttp."""
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
    for method, path in (("POST", "/api/auth/login"), ("PATCH", "/__admin/faults")):
        status, answer = await asyncio.wait_for(
            call(session, method, target + path, data=body, headers=headers), timeout=5
        )
        assert (status, answer["content_encoding"]) == (415, encoding)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
async def test_the_sentry_ingest_still_reads_compressed_envelopes(
    target: str, session: aiohttp.ClientSession, encoding: str
) -> None:
    """The target leaves bodies as sent; the ingest decodes what the SDKs compress."""
    event_id = "9ec79c33ec9942ab8353589fcb2e04dc"
    envelope = f'{{"event_id":"{event_id}"}}\n{{"type":"event"}}\n{{"message":"hi"}}\n'.encode()
    body = {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "br": brotli.compress,
    }[encoding](envelope)
    url = f"{target}/__sentry/api/1/envelope/?sentry_key=abc"
    headers = {"Content-Encoding": encoding}
    assert await call(session, "POST", url, data=body, headers=headers) == (200, {"id": event_id})
    broken = await call(session, "POST", url, data=b"\x00 not compressed", headers=headers)
    assert broken[0] == 400


async def test_a_form_with_an_unknown_charset_answers_400(
    target: str, session: aiohttp.ClientSession
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=no-such-charset"}
    status, answer = await call(
        session, "POST", f"{target}/api/auth/login", data=b"email=a", headers=headers
    )
    assert status == 400 and "no-such-charset" in answer["error"]


async def test_an_oversized_admin_body_answers_413(
    target: str, session: aiohttp.ClientSession
) -> None:
    body = json.dumps({"paths": "/x" * 40_000}).encode()
    status, answer = await call(session, "PATCH", f"{target}/__admin/faults", data=body)
    assert (status, answer["limit"]) == (413, 64 * 1024)


# ids in paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("007", 7),
        ("9" * MAX_ID_DIGITS, int("9" * MAX_ID_DIGITS)),
        ("9" * (MAX_ID_DIGITS + 1), None),
        ("9" * 5000, None),
        ("", None),
        ("٣", None),  # an Arabic-Indic digit: `\d` matches it, no id is made of it
        ("１", None),
        ("-1", None),
    ],
)
def test_parse_path_id(text: str, expected: int | None) -> None:
    assert parse_path_id(text) == expected


@pytest.mark.parametrize("file_id", ["9" * 5000, "9" * 19, "9223372036854775808", "٣"])
async def test_file_ids_no_row_can_have_answer_404(
    target: str, session: aiohttp.ClientSession, file_id: str
) -> None:
    for suffix in ("", "/content"):
        status, answer = await call(session, "GET", f"{target}/api/files/{file_id}{suffix}")
        assert (status, answer) == (
            404,
            {"error": "file not found", "detail": f"ids are 1 to {MAX_ID_DIGITS} digits"},
        )
    status, answer = await call(session, "GET", f"{target}/api/files/{'9' * MAX_ID_DIGITS}")
    assert (status, answer["error"]) == (404, "file not found")  # a valid id, just no such file


async def test_a_sentry_project_id_no_project_can_have_answers_404(
    target: str, session: aiohttp.ClientSession
) -> None:
    url = f"{target}/__sentry/api/{'1' * 5000}/envelope/?sentry_key=abc"
    status, answer = await call(session, "POST", url, data=b'{"event_id": "a"}\n')
    assert status == 404 and "ids are 1 to 18 digits" in answer["detail"]


# fault bounds -------------------------------------------------------------------------------

BAD_FAULTS = [
    ("latency=1e300", "latency: expected a duration"),
    ("latency=100000h", "latency: expected a duration"),
    ("latency=" + "9" * 400, "latency: expected a duration"),
    ("latency=" + "9" * 400 + "s", "latency: expected a duration"),
    ("latency=60001", "latency: expected a duration"),
    ("latency=1e999", "latency: expected a duration"),
    ("latency=inf", "latency: expected a duration"),
    ("jitter=61s", "jitter: expected a duration"),
    ("jitter=１s", "jitter: expected a duration"),  # full-width digit
    ("slow=/api/files:2m", "slow: expected PATH:DURATION"),
    ("slow=/" + "a" * 300 + ":1s", "slow: expected PATH:DURATION"),
    ("error_rate=1e999", "error_rate: expected a number between 0 and 1"),
    ("error_rate=-0.1", "error_rate: expected a number between 0 and 1"),
    ("error_rate=0." + "1" * 400, "error_rate: expected a number between 0 and 1"),
    ("seed=" + "9" * 400, "seed: expected an integer"),
    ("seed=9223372036854775808", "seed: expected an integer between"),
    ("paths=" + ";".join(f"/p{i}" for i in range(MAX_RULES + 1)), "paths: expected at most 64"),
    ("paths=/" + "a" * 300, "paths: expected path globs"),
    ("db_slow=1s", "db_slow: expected a CPU time"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FAULTS)
def test_fault_values_out_of_bounds_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message) as raised:
        parse_faults(text)
    assert len(str(raised.value)) < 300  # a 400-digit value is cut in the message


def test_fault_values_at_the_bounds_are_accepted() -> None:
    faults = parse_faults("latency=60s,jitter=60000,slow=/api/files:1m,seed=-9223372036854775807")
    assert (faults.latency, faults.jitter, faults.slow[0].delay) == (MAX_DELAY_S,) * 3
    assert parse_faults(faults.to_text()) == faults
    assert parse_faults("error_rate=1e-2,drop_rate=1").error_rate == 0.01


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"latency": 1e300}, "latency: expected a duration .* up to 60s, got 1e\\+300"),
        ({"latency": 10**400}, "latency: expected a duration .* got an integer of about 401"),
        ({"error_rate": 10**400}, "error_rate: expected a number between 0 and 1"),
        ({"seed": 10**400}, "seed: expected an integer between"),
        ({"slow": {"/api/files": 10**400}}, "slow: expected PATH:DURATION"),
        ({"jitter": "100000h"}, "jitter: expected a duration"),
    ],
)
def test_fault_mappings_out_of_bounds_are_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message):
        faults_from_mapping(data)


@pytest.mark.parametrize(
    "body",
    [
        b'{"latency": 1e300}',
        b'{"latency": "100000h"}',
        b'{"latency": ' + b"9" * 400 + b"}",
        b'{"latency": "' + b"9" * 400 + b's"}',
        b'{"error_rate": NaN}',
    ],
)
async def test_the_admin_route_answers_400_to_fault_values_out_of_bounds(
    target: str, session: aiohttp.ClientSession, body: bytes
) -> None:
    status, answer = await call(session, "PATCH", f"{target}/__admin/faults", data=body)
    assert status == 400 and len(answer["error"]) < 300, answer
    status, current = await call(session, "GET", f"{target}/__admin/faults")
    assert (status, current["latency"], current["active"]) == (200, "0s", False)


def _target_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ccplate-tui")
    add_target_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["target", *argv])


@pytest.mark.parametrize("spec", ["latency=1e300", "latency=100000h", "latency=" + "9" * 400])
def test_target_faults_out_of_bounds_exit_2(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = _target_args(["--faults", spec])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert "--faults: latency: expected a duration" in err and "up to 60s" in err


def test_run_target_faults_out_of_bounds_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "scenarios.toml").write_text(
        '[target]\nbase_url = "http://127.0.0.1:9"\n'
        '[scenarios.s]\nexecutor = "constant-vus"\nvus = 1\nduration = "1s"\n'
        '[[scenarios.s.requests]]\npath = "/api/health"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CCPLATE_TUI_STATE_DIR", str(tmp_path / "state"))
    code = main(["run", "--quiet", "--start-target", "--target-faults", "latency=100000h"])
    assert code == 2
    assert "latency: expected a duration" in capsys.readouterr().err
