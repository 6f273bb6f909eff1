"""The `exclusive` marker (tests/conftest.py): under pytest-xdist such a test never overlaps
another test, while ordinary tests do run side by side."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

WORK = """
import json, os, time
from pathlib import Path
import pytest

LOG = Path(__file__).parent / "spans.jsonl"

def _span(name, seconds):
    start = time.monotonic()
    time.sleep(seconds)
    with LOG.open("a") as log:
        log.write(json.dumps([name, start, time.monotonic()]) + "\\n")
"""


def test_an_exclusive_test_runs_alone_and_the_others_in_parallel(tmp_path: Path) -> None:
    shutil.copy(Path(__file__).parent / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    exclusive: alone\n", encoding="utf-8"
    )
    for module in ("a", "b"):
        body = WORK + "".join(
            f"\ndef test_{module}{i}():\n    _span('{module}{i}', 0.4)\n" for i in range(4)
        )
        (tmp_path / f"test_{module}.py").write_text(body, encoding="utf-8")
    (tmp_path / "test_c.py").write_text(
        WORK + "\n@pytest.mark.exclusive\ndef test_alone():\n    _span('alone', 0.8)\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "3",
            "--dist=loadfile",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    spans = [json.loads(line) for line in (tmp_path / "spans.jsonl").read_text().splitlines()]
    assert len(spans) == 9
    alone = next(s for s in spans if s[0] == "alone")
    others = [s for s in spans if s[0] != "alone"]
    assert all(end <= alone[1] or start >= alone[2] for _, start, end in others), spans
    # The ordinary tests of the two files did overlap: the lock is shared, not a queue.
    a = [s for s in others if s[0].startswith("a")]
    b = [s for s in others if s[0].startswith("b")]
    assert any(x[1] < y[2] and y[1] < x[2] for x in a for y in b), spans
