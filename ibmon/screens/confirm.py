"""Confirmation before an action that changes anything (k9s style: nothing happens without a yes).

The question, the title and the text to type come from plugins and carry provider strings (symbols,
account numbers): each is shown literally, through `ibmon.safe`, so clicking it can do nothing."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from ibmon.safe import safe_rich, safe_text

#: Characters of a question shown (it may hold several lines).
QUESTION_LIMIT = 2_000


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses True only on an explicit yes (and, when `typed` is set, that exact text typed, or
    the text as shown when it holds characters shown as escapes)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("n", "cancel", "No", show=False),
                Binding("y", "confirm", "Yes", show=False)]

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; background: $background; }
    ConfirmScreen > Vertical {
        width: 64; height: auto; border: thick $warning; background: $surface; padding: 1 2;
    }
    ConfirmScreen #question { width: 100%; margin-bottom: 1; text-style: bold; }
    ConfirmScreen #typed-hint { color: $text-muted; }
    ConfirmScreen #typed-error { color: $text-error; height: auto; }
    ConfirmScreen Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    ConfirmScreen Button { margin-left: 2; }
    """

    def __init__(self, question: str, typed: str | None = None, title: str = "Confirm") -> None:
        super().__init__()
        self.question = question
        self.typed = typed
        #: `typed` as the screen shows it.
        self.typed_shown = None if typed is None else safe_text(typed, None)
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = safe_rich(self.title_text)
            yield Label(safe_rich(self.question, limit=QUESTION_LIMIT, multiline=True), id="question")
            if self.typed is not None:
                yield Label(safe_rich(f"Type '{self.typed_shown}' to confirm:"), id="typed-hint")
                yield Input(placeholder=safe_text(self.typed_shown), id="typed")
                yield Label("", id="typed-error")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Confirm", id="confirm", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#typed" if self.typed is not None else "#cancel").focus()

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_confirm(self) -> None:
        if self.typed is None:
            self.dismiss(True)
            return
        if self.query_one("#typed", Input).value.strip() in (self.typed, self.typed_shown):
            self.dismiss(True)
        else:
            self.query_one("#typed-error", Label).update(safe_rich(f"That is not '{self.typed_shown}'."))

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        self.action_confirm()

    @on(Input.Submitted, "#typed")
    def _typed_submitted(self) -> None:
        self.action_confirm()
