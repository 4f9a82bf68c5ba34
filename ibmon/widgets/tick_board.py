"""The tick board: the latest quote per (connection, symbol), repainting only the rows that moved."""

from __future__ import annotations

import time
from collections.abc import Iterable
from operator import attrgetter
from typing import Any

from ibmon.model import Tick, format_age
from ibmon.store import StoreView
from ibmon.widgets.format import number
from ibmon.widgets.live_table import Cell, Column, LiveTable
from ibmon.widgets.sparkline import sparkline

COLUMNS = (
    Column("Symbol", 6, cut=False), Column("Connection", 6), Column("Bid", 6, "decimal", value=attrgetter("bid")),
    Column("Ask", 6, "decimal", value=attrgetter("ask")),
    Column("Spread", 6, "decimal", value=lambda tick: tick.ask - tick.bid), Column("", 1, sortable=False),
    Column("Trend", 10, sortable=False, drop=1), Column("Age", 5, "right", value=lambda tick: -tick.time),
)
UP, DOWN, FLAT = ("▲", "up"), ("▼", "down"), ("·", "muted")
AGE = len(COLUMNS) - 1
TREND = AGE - 1


class TickBoard(LiveTable):
    """Rows keyed by (connection, symbol), sorted by symbol then connection."""

    def __init__(self, view: StoreView, history: Any = None, **kwargs) -> None:
        super().__init__(COLUMNS, empty_text="no quotes yet", **kwargs)
        self.view = view
        #: History (ibmon.history.History) when there is one: the trend starts with earlier minutes' closes.
        self.history = history
        self._last: dict[tuple[str, str], tuple[Tick, tuple[str, str]]] = {}

    def apply(self, changed: Iterable[tuple[str, object]], now: float | None = None) -> None:
        """Show the latest quote of each changed (connection, symbol); many ticks, one row."""
        now_ms = (time.time() if now is None else now) * 1000
        with self.batch():
            for conn, symbol in changed:
                tick = self.view.get("tick", conn, symbol)
                key = (conn, symbol)
                if tick is None:
                    self.remove_row(key)
                    self._last.pop(key, None)  # type: ignore[arg-type]
                    continue
                self._show(key, tick, now_ms)  # type: ignore[arg-type]

    def _show(self, key: tuple[str, str], tick: Tick, now_ms: float) -> None:
        previous = self._last.get(key)
        direction = FLAT
        if previous is not None:
            before, direction = previous
            if tick.bid > before.bid:
                direction = UP
            elif tick.bid < before.bid:
                direction = DOWN
        self._last[key] = (tick, direction)
        conn, symbol = key
        role = direction[1] if direction is not FLAT else ""
        shown = self.get_cells(key)  # the trend moves once a second (refresh_ages), not per quote
        cells: list[Cell] = [
            symbol, conn, (number(tick.bid), role), (number(tick.ask), role),
            number(tick.ask - tick.bid), direction,
            shown[TREND] if shown is not None else self._trend(key),
            (_age(tick, now_ms), "muted"),
        ]
        self.set_row(key, cells, (symbol, conn), record=tick)

    def _trend(self, key: tuple[str, str]) -> Cell:
        conn, symbol = key
        live = self.view.history(conn, "mid", symbol)
        return (sparkline(self.history.trend(conn, "mid", symbol, live) if self.history is not None else live), "accent")

    def refresh_ages(self, now: float | None = None) -> None:
        """Once a second: rewrite the age and the trend of rows where they changed (only those
        cells repaint)."""
        now_ms = (time.time() if now is None else now) * 1000
        with self.batch():
            for key, (tick, _direction) in self._last.items():
                cells = self.get_cells(key)
                if cells is None:
                    continue
                trend, age = self._trend(key), (_age(tick, now_ms), "muted")
                if cells[TREND] != trend or cells[AGE] != age:
                    self.set_row(key, (*cells[:TREND], trend, age), (key[1], key[0]), record=tick)


def _age(tick: Tick, now_ms: float) -> str:
    return format_age((now_ms - tick.time) / 1000)
