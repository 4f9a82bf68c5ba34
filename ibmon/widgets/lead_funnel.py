"""The CRM lead funnel: leads → registrations → transactions per connection and window, with the
change since the previous poll."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ibmon.model import LeadCounts
from ibmon.store import Store
from ibmon.widgets.format import signed, sign_role
from ibmon.widgets.live_table import Cell, Column, LiveTable

COLUMNS = (
    Column("Connection", 12, max_width=20), Column("Window", 6), Column("From → to", 23), Column("Leads", 7, "right"),
    Column("Δ", 5, "right"), Column("→ Regs", 7, "right"), Column("Δ", 5, "right"),
    Column("→ Tx", 6, "right"), Column("Δ", 5, "right"),
)
STAGES = ("leads", "registrations", "transactions")


class LeadFunnel(LiveTable):
    """Rows keyed (connection, window), narrowest window first."""

    def __init__(self, store: Store, **kwargs) -> None:
        super().__init__(COLUMNS, empty_text="no lead counts", **kwargs)
        self.store = store

    def apply(self, changed: Iterable[tuple[str, object]]) -> None:
        with self.batch():
            for conn, window in changed:
                counts = self.store.leads.get(conn, {}).get(str(window))
                if counts is None:
                    self.remove_row((conn, window))
                else:
                    self._show(conn, counts, self.store.previous_leads.get(conn, {}).get(counts.window))

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
        self.set_row((conn, now.window), cells, (conn, -_ordinal(now.date_from), now.window))


def _ordinal(iso: str) -> int:
    try:
        return date.fromisoformat(iso).toordinal()
    except ValueError:
        return 0
