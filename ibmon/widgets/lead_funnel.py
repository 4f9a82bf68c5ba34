"""The CRM lead funnel: leads → registrations → transactions per connection and window, with the
change since the previous poll."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from operator import attrgetter

from ibmon.model import LeadCounts
from ibmon.store import StoreView
from ibmon.widgets.format import signed, sign_role
from ibmon.widgets.live_table import Cell, Column, LiveTable

COLUMNS = (
    Column("Connection", 6), Column("Window", 6), Column("From → to", 10, cut=False, drop=1),
    Column("Leads", 5, "right", value=attrgetter("leads")), Column("Δ", 3, "right", sortable=False),
    Column("→ Regs", 6, "right", value=attrgetter("registrations")), Column("Δ", 3, "right", sortable=False),
    Column("→ Tx", 4, "right", value=attrgetter("transactions")), Column("Δ", 3, "right", sortable=False),
)
STAGES = ("leads", "registrations", "transactions")


class LeadFunnel(LiveTable):
    """Rows keyed (connection, window), narrowest window first."""

    def __init__(self, view: StoreView, **kwargs) -> None:
        super().__init__(COLUMNS, empty_text="no lead counts", **kwargs)
        self.view = view

    def apply(self, changed: Iterable[tuple[str, object]]) -> None:
        with self.batch():
            for conn, window in changed:
                counts = self.view.get("leads", conn, str(window))
                if counts is None:
                    self.remove_row((conn, window))
                else:
                    self._show(conn, counts, self.view.previous("leads", conn, counts.window))

    def _show(self, conn: str, now: LeadCounts, before: LeadCounts | None) -> None:
        cells: list[Cell] = [conn, now.window, f"{now.date_from} → {now.date_to}"]
        for stage in STAGES:
            value = getattr(now, stage)
            cells.append(str(value))
            if before is None:
                cells.append(("", ""))
            else:
                delta = value - getattr(before, stage)
                cells.append((signed(delta), sign_role(delta) or "muted"))
        self.set_row((conn, now.window), cells, (conn, -_ordinal(now.date_from), now.window), record=now)


def _ordinal(iso: str) -> int:
    try:
        return date.fromisoformat(iso).toordinal()
    except ValueError:
        return 0
