"""The dashboard's footer: Textual's Footer, made to keep the tab keys on a narrow terminal.

Textual lists the focused widget's keys first and the app's last, so at 80 columns a pane with
six keys pushed `1`-`4`, `h` and `^s` off the edge. Below `NARROW` columns this footer goes
compact, lists the app's own keys first, leaves out the keys that do nothing right now (shown
greyed when there is room) and the palette key (`ctrl+p` still works).
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer

NARROW = 130
"""Columns below which the footer is compact and app-keys-first."""


class DashboardFooter(Footer):
    """A Footer that puts the app's keys (tabs, history, screenshot, quit) first when narrow."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.narrow = False
        """Whether the last known width was below NARROW."""

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < NARROW
        if narrow != self.narrow:
            self.narrow = narrow
            self.compact = narrow
            self.show_command_palette = not narrow
            self.call_after_refresh(self.recompose)

    def compose(self) -> ComposeResult:
        keys: list[Widget] = list(super().compose())
        if not self.narrow:
            yield from keys
            return
        app_actions = {
            active.binding.action
            for active in self.screen.active_bindings.values()
            if active.node is self.app
        }
        shown = [key for key in keys if not key.has_class("-disabled")]
        # A stable sort: the app's keys in their order, then the focused pane's.
        yield from sorted(shown, key=lambda key: getattr(key, "action", None) not in app_actions)
