"""A small modal list to pick one item: quick actions, or one of a connection's screens.

Every text it shows (title, subject, labels, reasons) may come from a plugin or a provider: each is
shown literally, through `ibmon.safe`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from ibmon.safe import safe_rich

T = TypeVar("T")


@dataclass(frozen=True)
class Choice(Generic[T]):
    label: str
    value: T
    #: Why it cannot be picked (shown beside it), None when it can.
    disabled_reason: str | None = None


class Picker(ModalScreen[Any]):
    """Enter picks (dismisses with the choice's value), escape cancels (None). Disabled choices
    are listed with their reason and cannot be picked."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    DEFAULT_CSS = """
    Picker { align: center middle; background: $background; }
    Picker > Vertical {
        width: 72; height: auto; max-height: 80%; border: round $primary; background: $surface;
        padding: 0 1;
    }
    Picker #subject { width: 100%; color: $text-muted; margin-bottom: 1; }
    Picker OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, title: str, subject: str, choices: Sequence[Choice]) -> None:
        super().__init__()
        self.title_text = title
        self.subject = subject
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        options = [Option(safe_rich(c.label + (f"  ({c.disabled_reason})" if c.disabled_reason else "")),
                          id=str(index), disabled=c.disabled_reason is not None)
                   for index, c in enumerate(self.choices)]
        with Vertical() as box:
            box.border_title = safe_rich(self.title_text)
            yield Label(safe_rich(self.subject), id="subject")
            yield OptionList(*options)

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        option_list.focus()
        enabled = [i for i, c in enumerate(self.choices) if c.disabled_reason is None]
        if enabled:
            option_list.highlighted = enabled[0]

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        choice = self.choices[int(event.option.id or 0)]
        if choice.disabled_reason is None:
            self.dismiss(choice.value)
