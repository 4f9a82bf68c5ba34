"""`n`: the recent notifications, newest first, with when, how serious, and from which connection.
Their text came from providers and plugins: every cell is shown literally, through `ibmon.safe`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from ibmon.notices import Notice
from ibmon.safe import safe_rich
from ibmon.screens.sheet import Sheet

MARKS = {"information": ("·", "green"), "warning": ("!", "yellow"), "error": ("✖", "bold red")}


class NoticesScreen(Sheet):
    """The notifications as they were when the list opened (bounded by `ibmon.notices.RECENT_LIMIT`)."""

    BINDINGS = [Binding("escape,q,n", "dismiss", "Close")]

    DEFAULT_CSS = """
    NoticesScreen > VerticalScroll { width: 120; }
    NoticesScreen #notices-table { width: 100%; }
    """

    def __init__(self, notices: Sequence[Notice], format_time: Callable[[float], str]) -> None:
        super().__init__()
        self.notices = list(notices)
        self.format_time = format_time

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = f"Notifications · {len(self.notices)}, newest first · escape closes"
            if not self.notices:
                yield Static(safe_rich("No notifications yet.", "italic"), id="notices-table")
                return
            table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
            table.add_column("When", no_wrap=True, style="dim")
            table.add_column("", no_wrap=True)
            table.add_column("From", no_wrap=True, max_width=28, style="bold")
            table.add_column("What", ratio=1)
            for notice in self.notices:
                mark, style = MARKS.get(notice.severity, MARKS["information"])
                table.add_row(safe_rich(self.format_time(notice.at)), safe_rich(mark, style), safe_rich(notice.title),
                              safe_rich(notice.message, limit=None, multiline=True))
            yield Static(table, id="notices-table")

    def rows_text(self) -> list[str]:
        """Each notification as one plain line (for tests and screen readers)."""
        return [f"{self.format_time(n.at)}  {n.severity}  {n.title}  {n.message}" for n in self.notices]
