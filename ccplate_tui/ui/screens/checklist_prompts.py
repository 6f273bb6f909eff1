"""The Checklist tab's dialogs: confirm a command before it runs, and ask for a note or a reason.

Every button names its key (`[y] Run`, `[n] Cancel`), Enter presses the focused button, and each
dialog has its own footer, so the keys shown are the dialog's and not the dashboard's behind it.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from ccplate_tui.ui.screens.keys import key_label

_DIALOG_CSS = """
{name} {{
    align: center middle;
}}
{name} > Vertical {{
    width: 84;
    height: auto;
    padding: 1 2;
    border: thick $primary;
    background: $surface;
}}
{name} .question {{ text-style: bold; width: 1fr; }}
{name} .detail {{ color: $text-muted; width: 1fr; margin-top: 1; }}
{name} .command {{
    width: 1fr;
    margin-top: 1;
    padding: 0 1;
    background: $boost;
    color: $text-primary;
    text-style: bold;
}}
{name} Input {{ margin-top: 1; }}
{name} .error {{ color: $text-error; text-style: bold; height: auto; }}
{name} .buttons {{ height: auto; margin-top: 1; align-horizontal: right; }}
{name} .buttons Button {{ margin-left: 2; }}
"""


class ConfirmRunScreen(ModalScreen[bool]):
    """Asks "Run `npm test` in examples/ccplate-app?" with `[y] Run` / `[n] Cancel`; True to run.

    Cancel has the focus, so Enter runs the command only once Tab has moved the focus to Run;
    `y` runs it from anywhere in the dialog, `n` and escape cancel.
    """

    DEFAULT_CSS = _DIALOG_CSS.format(name="ConfirmRunScreen")
    AUTO_FOCUS = "#confirm-cancel"
    """The safe answer has the focus from the first frame: an Enter typed ahead runs nothing."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Run", tooltip="Run it now"),
        Binding("n,escape", "answer(False)", "Cancel", tooltip="Do not run it"),
    ]

    def __init__(self, question: str, details: list[str]) -> None:
        super().__init__(id="checklist-confirm")
        self.question = question
        """What will run and where, e.g. "Run `npm test` in examples/ccplate-app?"."""
        self.details = details
        """The command line and its options (timeout, shell, env names), secrets masked."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(self.question), classes="question", id="confirm-question")
            yield Static(Content("\n".join(self.details)), classes="command")
            yield Static(
                "It runs here, in its own process group, and can be cancelled with c. "
                "Enter presses the focused button (Tab moves between them).",
                classes="detail",
            )
            with Horizontal(classes="buttons"):
                yield Button(key_label("y", "Run"), variant="warning", id="confirm-run")
                yield Button(key_label("n", "Cancel"), variant="primary", id="confirm-cancel")
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-run")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class TextPromptScreen(ModalScreen[str | None]):
    """Ask for one line of text (a note, an override's reason); dismisses None on cancel.

    With `required`, an empty answer is refused in the dialog itself, which stays open.
    """

    DEFAULT_CSS = _DIALOG_CSS.format(name="TextPromptScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Close without doing anything"),
    ]

    def __init__(
        self,
        question: str,
        *,
        detail: str = "",
        placeholder: str = "",
        required: bool = False,
        submit: str = "OK",
        missing: str = "this cannot be empty",
    ) -> None:
        super().__init__(id="checklist-prompt")
        self.question = question
        self.detail = detail
        self.placeholder = placeholder
        self.required = required
        self.submit_label = submit
        self.missing = missing
        """What the dialog says when a required answer is empty."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(self.question), classes="question", id="prompt-question")
            if self.detail:
                yield Static(Content(self.detail), classes="detail", id="prompt-detail")
            yield Input(placeholder=self.placeholder, id="prompt-input")
            yield Static("", markup=False, classes="error", id="prompt-error")
            with Horizontal(classes="buttons"):
                yield Button(
                    key_label("enter", self.submit_label), variant="primary", id="prompt-submit"
                )
                yield Button(key_label("esc", "Cancel"), id="prompt-cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#prompt-error").display = False
        self.query_one(Input).focus()

    @property
    def error_text(self) -> str:
        return str(self.query_one("#prompt-error", Static).render())

    def _submit(self) -> None:
        text = self.query_one(Input).value.strip()
        if self.required and not text:
            error = self.query_one("#prompt-error", Static)
            error.update(f"✗ {self.missing}")
            error.display = True
            self.query_one(Input).focus()
            return
        self.dismiss(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "prompt-submit":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


def tick_prompt(title: str, help_text: str = "") -> TextPromptScreen:
    """Before ticking a manual step: an optional note."""
    return TextPromptScreen(
        f"Tick “{title}”",
        detail=help_text,
        placeholder="Note (optional): what was done, a link, a ticket",
        submit="Tick",
    )


def note_prompt(title: str) -> TextPromptScreen:
    """A note on a step (required text)."""
    return TextPromptScreen(
        f"Note on “{title}”",
        detail="Notes go into the state file and the report.",
        placeholder="What happened, a link, a ticket",
        required=True,
        submit="Add note",
        missing="a note needs some text",
    )


def revoke_prompt(title: str, what: str) -> TextPromptScreen:
    """Revoking a step's tick, pass or sign-off: the reason is required and recorded."""
    return TextPromptScreen(
        f"Revoke {what} on “{title}”",
        detail="The step reads as not done again (a revoked sign-off: awaiting one again). "
        "Nothing is erased: the revoked event, who revoked it and why stay in the state file "
        "and the report.",
        placeholder="Reason (required), e.g. ticked the wrong step",
        required=True,
        submit="Revoke",
        missing="a revoke needs a reason",
    )


def override_prompt(title: str, waiting: str) -> TextPromptScreen:
    """Opening a locked phase: the reason is required and recorded."""
    return TextPromptScreen(
        f"Override the gate of “{title}”",
        detail=f"Still waiting for: {waiting}. The override, who made it and why go into the "
        "state file and the report.",
        placeholder="Reason (required), e.g. tests ran in CI, see build #1234",
        required=True,
        submit="Override",
        missing="an override needs a reason",
    )
