"""The latest result of each Sentry check, kept in the state folder for the verdict and the tab.

JSON files written atomically under `<state>/sentry/`; a damaged file reads as "not run" (the
check can simply be run again), never as a pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ccplate_tui.atomic_file import write_atomic

COMPATIBILITY_FILE = "compatibility.json"
CAPTURE_FILE = "capture.json"


def results_dir(state_dir: Path) -> Path:
    return state_dir / "sentry"


def save_result(state_dir: Path, name: str, document: dict[str, Any]) -> Path:
    """Store one check's JSON document (already masked) as the latest of its kind."""
    path = results_dir(state_dir) / name
    write_atomic(path, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())
    return path


def load_result(state_dir: Path, name: str) -> dict[str, Any] | None:
    """The latest stored document of that check, or None when absent or unreadable."""
    try:
        document = json.loads((results_dir(state_dir) / name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return document if isinstance(document, dict) else None
