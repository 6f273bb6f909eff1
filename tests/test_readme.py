"""The README works verbatim: every shell block is run in order, in one shell, in a fresh copy of
the project, as a user pasting them would; every command must succeed, and every `echo "exit $?"`
must print the exit code the README shows.

Only these changes are made to what is pasted, all listed here: the demo target's port (8787 may
be taken on a shared machine), shorter time scales for the slow runs (SPEEDUPS), the venv is
this test's own instead of a new one, and blocks marked `<!-- readme-test: skip … -->` (the
interactive dashboard, the test suite itself) are left out.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.ui.app_fixtures import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\b")
EXPECT = re.compile(r"#\s*->\s*exit\s+(\d+)")
EXIT_LINE = re.compile(r"^exit (\d+)$", re.M)
ECHO_EXIT = 'echo "exit $?"'
LOAD_RUN = re.compile(r"ccplate-tui run\b")
SPEEDUPS = (
    ("run mixed_workload;", "run mixed_workload --time-scale 0.02;"),
    ("--time-scale 0.1;", "--time-scale 0.02;"),
    ("--time-scale 0.05", "--time-scale 0.02"),
    ("--time-scale 0.01", "--time-scale 0.002"),
)
"""Slow runs shortened: a 5-minute run at 0.02 still sends the same kind of traffic for 6 s."""


@dataclass
class Block:
    line: int
    """Line number of the block's opening fence in README.md."""
    commands: list[str]
    skip: bool
    expected: list[int] = field(default_factory=list)
    """Exit codes the README shows after the block (`exit N` lines), in order."""


def readme_blocks(text: str) -> list[Block]:
    """The `sh` blocks in order, with the exit codes shown in the plain block right after each."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    after_sh = False
    while i < len(lines):
        fence = lines[i].strip()
        if not fence.startswith("```"):
            i += 1
            continue
        end = i + 1
        while lines[end].strip() != "```":
            end += 1
        body = lines[i + 1 : end]
        if fence == "```sh":
            skip = i > 0 and bool(SKIP.search(lines[i - 1]))
            commands = [ln for ln in body if ln.strip() and not ln.lstrip().startswith("#")]
            blocks.append(Block(i + 1, commands, skip))
            after_sh = True
        else:
            if fence == "```" and after_sh:
                blocks[-1].expected = [int(n) for n in EXIT_LINE.findall("\n".join(body))]
            after_sh = False
        i = end + 1
    return blocks


def expected_codes(block: Block) -> list[int]:
    """One code per `echo "exit $?"`: its `# -> exit N` comment, else the shown output's."""
    shown = iter(block.expected)
    codes = []
    for command in block.commands:
        if ECHO_EXIT in command:
            inline = EXPECT.search(command)
            code = int(inline.group(1)) if inline else next(shown, None)
            assert code is not None, f"README.md:{block.line}: no exit code shown for {command!r}"
            codes.append(code)
    return codes


def allowed(command: str, shown: int) -> set[int]:
    """The exit codes that match `shown`: a load run shown passing may also cross a latency
    threshold (99) on a busy machine, since latency is the machine's; nothing else may differ."""
    if shown == 0 and LOAD_RUN.search(command):
        return {0, 99}
    return {shown}


def adapted(command: str, port: int) -> str:
    if command.startswith("python3 -m venv .venv"):
        return "true  # the venv: this test's own, linked as .venv"
    command = command.replace("127.0.0.1:8787", f"127.0.0.1:{port}")
    command = re.sub(r"ccplate-tui target &", f"ccplate-tui target --port {port} &", command)
    for slow, fast in SPEEDUPS:
        command = command.replace(slow, fast)
    return command


def fresh_copy(tmp_path: Path, port: int) -> Path:
    """The tracked files of the project, the demo port replaced; `.venv` is this one."""
    folder = tmp_path / "ccplate-tui"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (t.decode() for t in tracked)):
        source, target = ROOT / name, folder / name
        if not source.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        if target.suffix in (".toml", ".json", "") or target.name.startswith(".env"):
            try:
                text = target.read_text("utf-8")
            except UnicodeDecodeError:
                continue
            if "127.0.0.1:8787" in text:
                target.write_text(text.replace("127.0.0.1:8787", f"127.0.0.1:{port}"), "utf-8")
    (folder / ".venv").symlink_to(Path(sys.prefix))
    return folder


def script(blocks: list[Block], port: int) -> str:
    """One bash script: each command between markers that carry its block, index and status."""
    out = ['cd "$1"']
    for b, block in enumerate(blocks):
        for c, command in enumerate(block.commands):
            out.append(f"printf '\\n@@begin {b} {c}\\n'")
            out.append(adapted(command, port))
            out.append(f"__rc=$?; printf '\\n@@rc {b} {c} %s\\n' \"$__rc\"")
    out.append("kill $(jobs -p) 2>/dev/null; wait")
    return "\n".join(out) + "\n"


@pytest.mark.exclusive  # the walk shows thresholds and a database CPU crossed or held
@pytest.mark.slow
@pytest.mark.timeout(1200)  # the whole README, load runs included: minutes, not the usual 120 s
def test_the_readme_runs_verbatim(tmp_path: Path) -> None:
    blocks = [b for b in readme_blocks(README.read_text("utf-8")) if not b.skip]
    assert len(blocks) >= 8, "the README's shell blocks were not found"
    port = free_port()
    folder = fresh_copy(tmp_path, port)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SENTRY_", "CCPLATE_"))
    }
    env["HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir()
    proc = subprocess.Popen(
        ["bash", "-c", script(blocks, port), "readme", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=1200)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    sections = re.split(r"^@@begin (\d+) (\d+)$", output, flags=re.M)
    results: dict[tuple[int, int], tuple[int | None, str]] = {}
    for b, c, body in zip(sections[1::3], sections[2::3], sections[3::3], strict=True):
        status = re.search(r"^@@rc \d+ \d+ (\d+)$", body, re.M)
        results[(int(b), int(c))] = (int(status.group(1)) if status else None, body)
    problems = []
    for b, block in enumerate(blocks):
        codes = iter(expected_codes(block))
        for c, command in enumerate(block.commands):
            rc, body = results.get((b, c), (None, ""))
            where = f"README.md:{block.line} `{command.strip()}`"
            if rc not in allowed(command, 0):
                problems.append(f"{where}: exit {rc}\n{body[-2000:]}")
            elif ECHO_EXIT in command:
                want = next(codes)
                printed = EXIT_LINE.findall(body)
                if not printed or int(printed[-1]) not in allowed(command, want):
                    problems.append(f"{where}: printed {printed}, the README shows exit {want}")
    assert not problems, "\n\n".join(problems)
