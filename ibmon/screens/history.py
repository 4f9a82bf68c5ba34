"""The history screen: one series of the selected account, symbol or lead window over 1h, 1d, 7d
or 30d, as a braille line chart, with its first, last, lowest and highest figures exactly.

The points are read from the history file in a worker thread (a read-only connection beside the
writer), never on the frame path. Keys: 1-4 the range, f the next figure, r read again, escape back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from ibmon.history.db import ACCOUNT_FIELDS, LEAD_FIELDS, HistoryError, Sample, read_series
from ibmon.safe import safe_text
from ibmon.widgets.format import exact_money, when
from ibmon.widgets.line_chart import LineChart

RANGES = (("1h", 3600), ("1d", 86400), ("7d", 7 * 86400), ("30d", 30 * 86400))
FIELDS = {"account": ACCOUNT_FIELDS, "symbol": ("close",), "leads": LEAD_FIELDS}
#: The figure first shown per kind (an account's equity).
FIRST_FIELD = {"account": 1, "symbol": 0, "leads": 0}


@dataclass(frozen=True)
class HistoryTarget:
    """What the screen charts: `kind` "account" (key: its id), "symbol" or "leads" (key: the window)."""

    connection: str
    kind: str
    key: str
    label: str


class HistoryScreen(Screen[None]):
    BINDINGS = [
        Binding("1", "range(0)", "1h"), Binding("2", "range(1)", "1d"), Binding("3", "range(2)", "7d"),
        Binding("4", "range(3)", "30d"), Binding("f", "next_field", "Figure"), Binding("r", "reload", "Reload"),
        Binding("escape,q", "close", "Back"),
    ]
    DEFAULT_CSS = """
    HistoryScreen #history-title { height: 1; text-style: bold; padding: 0 1; }
    HistoryScreen #history-ranges { height: 1; padding: 0 1; color: $text-muted; }
    HistoryScreen LineChart { height: 1fr; margin: 1 1 0 1; }
    HistoryScreen #history-summary { height: 2; padding: 0 1; }
    """

    def __init__(self, target: HistoryTarget, path: Path | None, off_reason: str | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.target = target
        self.path = path
        self.off_reason = off_reason
        self.clock = clock
        self.range_index = 0
        self.field_index = FIRST_FIELD[target.kind]
        self.samples: list[Sample] = []
        #: The (start, end) times of the points shown, once read.
        self.shown_range: tuple[float, float] | None = None

    @property
    def field(self) -> str:
        return FIELDS[self.target.kind][self.field_index]

    def compose(self) -> ComposeResult:
        yield Static(id="history-title")
        yield Static(id="history-ranges")
        yield LineChart(id="history-chart")
        yield Static(id="history-summary")
        yield Footer()

    def on_mount(self) -> None:
        self._headings()
        self.action_reload()

    def _headings(self) -> None:
        target = self.target
        title = f"History · {self.field.replace('_', ' ')} · {target.kind} {target.label} · {target.connection}"
        self.query_one("#history-title", Static).update(Text(safe_text(title, 200)))
        ranges = "  ".join(f"[{i + 1}] {name}" if i != self.range_index else f"▶{i + 1} {name}"
                           for i, (name, _seconds) in enumerate(RANGES))
        fields = FIELDS[target.kind]
        more = "   f: next figure" if len(fields) > 1 else ""
        self.query_one("#history-ranges", Static).update(Text(ranges + more))

    def action_range(self, index: int) -> None:
        self.range_index = index
        self.action_reload()

    def action_next_field(self) -> None:
        self.field_index = (self.field_index + 1) % len(FIELDS[self.target.kind])
        self._headings()
        self._draw()

    def action_reload(self) -> None:
        self._headings()
        if self.path is None:
            self._summary(f"History is off: {self.off_reason or 'history = false in the config'}")
            return
        self.run_worker(self._load, thread=True, exclusive=True, group="history", exit_on_error=False)

    def _load(self) -> None:
        now = self.clock()
        since = now - RANGES[self.range_index][1]
        target = self.target
        try:
            samples = read_series(self.path, target.connection, target.kind, target.key, since)  # type: ignore[arg-type]
        except HistoryError as exc:
            self.app.call_from_thread(self._summary, str(exc))
            return
        self.app.call_from_thread(self._loaded, samples, since, now)

    def _loaded(self, samples: list[Sample], since: float, now: float) -> None:
        self.samples, self.shown_range = samples, (since, now)
        self._draw()

    def _draw(self) -> None:
        if self.shown_range is None:
            return
        since, now = self.shown_range
        values = [(s.t, s.values[self.field]) for s in self.samples if s.values.get(self.field) is not None]
        points = [(t, float(v)) for t, v in values]
        seconds = RANGES[self.range_index][1]
        clock = "%H:%M" if seconds <= 86400 else "%m-%d %H:%M"
        self.query_one(LineChart).show(points, since, now, value_text=_short,
                                       time_text=lambda t: time.strftime(clock, time.localtime(t)))
        if not values:
            self._summary(f"No {self.field.replace('_', ' ')} recorded in the last {RANGES[self.range_index][0]}.")
            return
        exact = [v for _t, v in values]
        first, last = exact[0], exact[-1]
        change = last - first
        sign = "+" if change > 0 else ""
        self._summary(f"first {_figure(first)} ({when(values[0][0] * 1000)}) · last {_figure(last)} "
                      f"· change {sign}{_figure(change)}\nlow {_figure(min(exact))} · high {_figure(max(exact))} "
                      f"· {len(values)} points")

    def _summary(self, text: str) -> None:
        self.query_one("#history-summary", Static).update(Text(safe_text(text, 500, multiline=True)))

    def action_close(self) -> None:
        self.dismiss(None)


def _figure(value: Decimal | int) -> str:
    return exact_money(value) if isinstance(value, Decimal) else str(value)


def _short(value: float) -> str:
    """An axis label: a few significant digits."""
    return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"


def target_of(panel, store) -> HistoryTarget | None:
    """What the history screen charts for the row under a dashboard panel's cursor: an account, a
    symbol (a position's too), or a lead window; None when the row has no series."""
    key = getattr(panel, "cursor_key", None)
    panel_id = getattr(panel, "id", None)
    if not isinstance(key, tuple) or len(key) != 2:
        return None
    connection, item = key
    if panel_id == "accounts":
        return HistoryTarget(connection, "account", item, store.account_number(connection, item))
    if panel_id == "ticks":
        return HistoryTarget(connection, "symbol", item, item)
    if panel_id == "leads":
        return HistoryTarget(connection, "leads", item, f"window {item}")
    if panel_id == "positions":
        position = store.positions.get(connection, {}).get(item)
        return HistoryTarget(connection, "symbol", position.symbol, position.symbol) if position else None
    return None
