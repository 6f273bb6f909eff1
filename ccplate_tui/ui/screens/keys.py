"""What the dialogs share: button labels that name their key."""

from __future__ import annotations

from textual.content import Content


def key_label(key: str, text: str) -> Content:
    """A button label naming its key: `[y] Run` (plain text: brackets are not markup here)."""
    return Content.assemble((f"[{key}]", "bold"), f" {text}")
