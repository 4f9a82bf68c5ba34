"""`?`: the bindings in force (after the user's keymap), with what they do, and what the marks on
the dashboard mean. Plugins name some bindings (screen titles, quick actions): every cell is shown
literally, through `ibmon.safe`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll

from ibmon.model import HealthState
from ibmon.safe import safe_rich
from ibmon.screens.sheet import Sheet
from ibmon.widgets.format import COMPUTED, MISSING
from ibmon.widgets.health_bar import MARKERS, MEANINGS
from ibmon.widgets.live_table import ASCENDING, DESCENDING
from ibmon.widgets.rendered import Rendered
from ibmon.widgets.tick_board import DOWN, FLAT, UP

#: Marks the tables use, beside the status line's (see `legend_rows`).
TABLE_MARKS = (
    (f"{UP[0]} {DOWN[0]} {FLAT[0]}", "Ticks: the bid rose, fell or stayed since the previous quote"),
    ("▁▃▅▇", "Trend: the last quotes' mid price (Ticks) or the account's equity (Balances), oldest "
             "first, scaled from lowest to highest"),
    (COMPUTED, "a figure ibmon worked out (e.g. equity from open positions), not one the provider sent"),
    (MISSING, "the provider does not report this figure"),
    ("Σ", "a total of the rows shown (after the filter), per currency"),
    ("+?", "a partial total: some rows shown have no figure for this column"),
    (f"{ASCENDING} {DESCENDING}", "the column the panel is sorted by, ascending or descending (o, O, or click the header)"),
    ("/", "the panel's filter: only rows containing the typed text are shown"),
    ("…", "text cut to fit; narrow screens drop the least needed columns first (z shows more)"),
)


def legend_rows() -> list[tuple[str, str]]:
    """(mark, meaning) for the status line's marks and the tables' marks."""
    return [(f"{MARKERS[state]}", f"status: {MEANINGS[state]}") for state in HealthState] + list(TABLE_MARKS)


class HelpScreen(Sheet):
    """Rows of (keys, description, binding id)."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close help")]

    DEFAULT_CSS = """
    HelpScreen #help-table, HelpScreen #help-legend { width: 100%; }
    HelpScreen #help-legend { margin-top: 1; }
    """

    def __init__(self, rows: Sequence[tuple[str, str, str]], legend: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__()
        self.rows = list(rows)
        self.legend = list(legend)

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("Key", style="bold")
        table.add_column("Does")
        table.add_column("Binding id", style="dim")
        for keys, description, binding_id in self.rows:
            table.add_row(safe_rich(keys), safe_rich(description), safe_rich(binding_id))
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys in force · remap them by binding id in the config's \\[keys]"
            yield Rendered(table, id="help-table")
            if self.legend:
                marks = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
                marks.add_column("Mark", style="bold", no_wrap=True)
                marks.add_column("Means")
                for mark, meaning in self.legend:
                    marks.add_row(safe_rich(mark), safe_rich(meaning))
                yield Rendered(marks, id="help-legend")

    def help_text(self) -> str:
        """The rows and the legend as plain text (for tests and screen readers)."""
        return "\n".join(["  ".join(row) for row in self.rows] + ["  ".join(row) for row in self.legend])
