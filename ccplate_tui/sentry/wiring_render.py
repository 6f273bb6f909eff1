"""The wiring report as JSON (`wiring` in `sentry check --json`), as text, and as advice steps.

All of it reads a WiringReport; nothing is judged here.
"""

from __future__ import annotations

from typing import Any

from ccplate_tui.sentry.wiring import MARKS, FixLine, WiringPath, WiringReport, describe
from ccplate_tui.sentry.wiring_scan import DisabledCall


def _disabled_json(d: DisabledCall) -> dict[str, Any]:
    return {"file": d.file, "line": d.line, "call": d.call, "how": d.how, "text": d.text}


def path_to_json(path: WiringPath) -> dict[str, Any]:
    return {
        "key": path.key,
        "label": path.label,
        "status": path.status,
        "file": path.file,
        "line": path.line,
        "detail": path.detail,
        "fix": [{"file": f.file, "place": f.place, "code": f.code} for f in path.fix],
        "disabled": [_disabled_json(d) for d in path.disabled],
    }


def wiring_to_json(report: WiringReport) -> dict[str, Any]:
    """The wiring as plain JSON (the `wiring` key of `sentry check --json`)."""
    return {
        "layout": report.layout,
        "next_version": report.next_version,
        "sdk_version": report.sdk_version,
        "complete": report.complete,
        "paths": [path_to_json(p) for p in report.paths],
        "build": path_to_json(report.build),
        "disabled_calls": [_disabled_json(d) for d in report.disabled],
        "verdict_cap": report.cap,
        "notes": list(report.notes),
    }


def where(path: WiringPath) -> str:
    if path.file and path.line:
        return f"{path.file}:{path.line}"
    return path.file or ""


def fix_groups(fix: tuple[FixLine, ...]) -> list[tuple[str, str, list[str]]]:
    """Consecutive fix lines with the same file and place: (file, place, codes)."""
    groups: list[tuple[str, str, list[str]]] = []
    for line in fix:
        if groups and groups[-1][:2] == (line.file, line.place):
            groups[-1][2].append(line.code)
        else:
            groups.append((line.file, line.place, [line.code]))
    return groups


LAYOUTS = {
    "ccplate": "CCPLATE layout: initSentry() / captureError() helpers",
    "wizard": "standard layout (the Sentry wizard's files)",
}


def render_wiring(report: WiringReport) -> list[str]:
    """The wiring section of `sentry check`'s text report, one path per block."""
    versions = (
        f"Next.js {report.next_version or 'unknown'}, "
        f"@sentry/nextjs {report.sdk_version or 'not installed'}"
    )
    layout = LAYOUTS.get(report.layout, report.layout)
    out = [f"Error paths to Sentry ({versions}) - {layout}:"]
    previous: WiringPath | None = None
    for path in (*report.paths, report.build):
        optional = path.key == "build_config" and path.status != "ok"
        mark = "·" if optional else MARKS[path.status]
        place = where(path)
        text = f"{place}  {path.detail}" if place and place not in path.detail else path.detail
        out.append(f"  {path.label:<20}{mark:<12}{text}".rstrip())
        for extra in path.disabled[1:]:
            out.append(f"  {'':<32}also {extra.file}:{extra.line}  {describe(extra)}")
        same = previous is not None and path.fix and path.fix == previous.fix
        label = previous.label if previous is not None else ""
        previous = path
        if path.status in ("ok", "not_needed"):
            continue
        if same:
            out.append(f"  {'':<32}same lines as {label}")
            continue
        for file, spot, codes in fix_groups(path.fix):
            if spot == "new file":
                out.append(f"  {'':<32}new file {file}:")
                out += [f"  {'':<34}{code}" for code in codes]
            else:
                where_in = f"{file}, {spot}" if spot else file
                out += [f"  {'':<32}add to {where_in}:  {code}" for code in codes]
    if report.disabled:
        out.append(f"  Disabled Sentry calls ({len(report.disabled)}):")
        out += [f"    {d.file}:{d.line}  {d.text}  ({d.how})" for d in report.disabled]
    out += [f"  note: {note}" for note in report.notes]
    return out


def _fix_summary(fix: tuple[FixLine, ...]) -> str:
    """`add `a` (at the top) and `b` (in register()) to f.ts; create g.ts with `c``."""
    by_file: dict[str, list[tuple[str, list[str]]]] = {}
    for file, spot, codes in fix_groups(fix):
        by_file.setdefault(file, []).append((spot, codes))
    parts = []
    for file, groups in by_file.items():
        if all(spot == "new file" for spot, _ in groups):
            codes = [code for _, group in groups for code in group]
            key = next((c for c in reversed(codes) if "Sentry" in c or "capture" in c), codes[-1])
            parts.append(f"create {file} with `{key.strip()}`")
            continue
        lines = [
            f"`{code}`" + (f" ({spot})" if spot else "") for spot, codes in groups for code in codes
        ]
        parts.append(f"add {' and '.join(lines)} to {file}")
    return "; ".join(parts)


def wiring_advice(report: WiringReport) -> list[str]:
    """One step per path that does not reach Sentry (merged when the fix is the same)."""
    steps: dict[tuple[FixLine, ...], list[WiringPath]] = {}
    for path in (*report.paths, report.build):
        if path.status not in ("ok", "not_needed") and path.fix:
            steps.setdefault(path.fix, []).append(path)
    advice = []
    for fix, paths in steps.items():
        first = paths[0]
        labels = " and ".join(p.label for p in paths)
        verb = "Re-enable" if first.status == "disabled" else "Wire"
        head = f"{verb} {labels} ({where(first) or first.detail})"
        if first.key == "build_config":
            head = "Optional, for readable stack traces: wrap next.config in withSentryConfig"
        advice.append(f"{head}: {_fix_summary(fix)}")
    return advice
