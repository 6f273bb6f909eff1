"""Printing benchmark results: Markdown tables (pasteable into benchmarks/README.md) and JSON."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path

from benchmarks.loadtools import ToolResult


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table with columns padded so it also reads well in a terminal."""
    cells = [[str(h) for h in headers], *[[fmt(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def fmt(value: object) -> str:
    """Numbers as people read them: thousands separators, 2 decimals below 100."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
    return str(value)


def machine_line() -> str:
    """Cores, CPU model and kernel, so numbers are read against the machine that made them."""
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Linux {platform.release()}, Python {platform.python_version()}"


def write_json(path: Path, payload: dict[str, object]) -> None:
    """Results as JSON (dataclasses flattened), for later comparison."""

    def default(obj: object) -> object:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            out = dataclasses.asdict(obj)
            if isinstance(obj, ToolResult):
                out["requests_per_s"] = obj.requests_per_s
                out["requests_per_cpu_s"] = obj.requests_per_cpu_s
                out["cpu_s"] = obj.usage.cpu_s
            return out
        if isinstance(obj, Path):
            return str(obj)
        raise TypeError(f"not JSON serializable: {type(obj).__name__}")

    path.write_text(json.dumps(payload, default=default, indent=2) + "\n")
    print(f"results written to {path}")
