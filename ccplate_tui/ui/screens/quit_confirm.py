"""Asks before quitting while a load run is active: quitting stops the run."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label

from ccplate_tui.ui.screens.keys import key_label


class QuitConfirmScreen(ModalScreen[bool]):
    """Yes/No before quitting with a run active; dismisses with True for yes."""

    AUTO_FOCUS = "#quit-no"
    """The safe answer has the focus from the first frame: an accidental Enter keeps the run."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", tooltip="Stop the run and quit"),
        Binding("n,escape", "answer(False)", "No", tooltip="Keep the run going"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__(id="quit-confirm")
        self.question = question
        """What is at stake, e.g. which run would be stopped."""

    def compose(self) -> ComposeResult:
        with Grid(id="quit-dialog"):
            yield Label(self.question, id="quit-question")
            yield Button(key_label("y", "Stop the run and quit"), variant="error", id="quit-yes")
            yield Button(key_label("n", "Keep running"), variant="primary", id="quit-no")
        yield Footer()  # the dialog's keys, not the dashboard's

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "quit-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
