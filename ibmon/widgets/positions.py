"""Open positions across every connection."""

from __future__ import annotations

from collections.abc import Iterable

from ibmon.model import Position
from ibmon.store import Store
from ibmon.widgets.format import money, number, sign_role
from ibmon.widgets.live_table import Column, LiveTable

COLUMNS = (
    Column("Connection", 12, max_width=20), Column("Account", 10, max_width=14), Column("Symbol", 10, max_width=18), Column("Side", 4),
    Column("Volume", 9, "right", 14), Column("Open", 11, "right", 14), Column("Current", 11, "right", 14),
    Column("Profit", 12, "right", 16),
)


class PositionsTable(LiveTable):
    """Rows keyed by (connection, account, position id)."""

    def __init__(self, store: Store, **kwargs) -> None:
        super().__init__(COLUMNS, empty_text="no open positions", **kwargs)
        self.store = store

    def apply(self, changed: Iterable[tuple[str, object]]) -> None:
        with self.batch():
            for conn, key in changed:
                account, position_id = key  # type: ignore[misc]
                position = self.store.positions.get(conn, {}).get((account, position_id))
                if position is None:
                    self.remove_row((conn, account, position_id))
                else:
                    self._show(conn, position)
        subtitle = f"{self.row_count} open"
        if self.border_subtitle != subtitle:  # a new subtitle repaints the whole panel
            self.border_subtitle = subtitle

    def _show(self, conn: str, p: Position) -> None:
        cells = [conn, p.account, p.symbol, (p.side, "up" if p.side == "buy" else "down"),
                 number(p.volume), number(p.open_price), number(p.current_price),
                 (money(p.profit), sign_role(p.profit))]
        self.set_row((conn, p.account, p.id), cells, (conn, p.account, p.symbol, p.id))

    def selected(self) -> tuple[str, Position] | None:
        """The connection and position under the cursor."""
        if self.cursor_key is None:
            return None
        conn, account, position_id = self.cursor_key  # type: ignore[misc]
        position = self.store.positions.get(conn, {}).get((account, position_id))
        return (conn, position) if position is not None else None
