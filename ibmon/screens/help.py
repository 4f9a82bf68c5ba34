"""`?`: the bindings in force (after the user's keymap), with what they do. Plugins name some of
them (screen titles, quick actions): every cell is shown literally, through `ibmon.safe`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ibmon.safe import safe_rich


class HelpScreen(ModalScreen[None]):
    """Rows of (keys, description, binding id)."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close help")]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background; }
    HelpScreen > VerticalScroll {
        width: 100; max-width: 95%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    HelpScreen #help-table { width: 100%; }
    """

    def __init__(self, rows: Sequence[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = list(rows)

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("Key", style="bold")
        table.add_column("Does")
        table.add_column("Binding id", style="dim")
        for keys, description, binding_id in self.rows:
            table.add_row(safe_rich(keys), safe_rich(description), safe_rich(binding_id))
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys in force · remap them by binding id in the config's \\[keys]"
            yield Static(table, id="help-table")

    def help_text(self) -> str:
        """The rows as plain text (for tests and screen readers)."""
        return "\n".join("  ".join(row) for row in self.rows)
