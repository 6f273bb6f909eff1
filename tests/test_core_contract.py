"""The core never imports Textual: checked on the source and on a real import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import ccplate_tui

CORE = ("config", "load", "sentry", "checklist", "history", "k6", "target", "release")
ROOT = Path(ccplate_tui.__file__).parent


def _core_modules() -> list[Path]:
    return [p for package in CORE for p in (ROOT / package).rglob("*.py")]


def test_core_sources_do_not_import_textual() -> None:
    offenders = []
    for path in _core_modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}:{node.lineno}"
                for name in names
                if name.split(".")[0] in ("textual", "textual_plotext", "textual_serve")
                or name.startswith("ccplate_tui.ui")
            ]
    assert _core_modules(), "no core modules found"
    assert offenders == []


def test_importing_the_core_and_the_cli_loads_no_textual() -> None:
    modules = sorted(
        ".".join(p.relative_to(ROOT.parent).with_suffix("").parts)
        for p in _core_modules()
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "import ccplate_tui.headless\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'textual_plotext')]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
