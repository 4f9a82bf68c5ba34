"""The XTB screen: symbol search over getAllSymbols, a candle chart of the chosen symbol
(getChartRangeRequest, then the getCandles stream) and the account's trade history.

Everything it asks of the connection goes through `ScreenContext.request` (xtb.symbols, xtb.chart,
xtb.watch_candles, xtb.trade_history); streamed candles arrive in the store as xtb.candle records,
which the chart watches. Each request runs in a worker; a failure is shown in place, never raised
into the app.
Every text from the server is shown literally, through `ibmon.safe`.
Keys: type to search, up/down and enter to chart a symbol, tab between panes, escape closes.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from ibmon.sdk import Position, ScreenContext, Tick, describe_exception, safe_text
from ibmon.sdk.ui import safe_rich, watch_store

from ibmon_xtb.kinds import CANDLE, Candle, ClosedTrade, SymbolInfo

MAX_MATCHES = 200
CHART_MINUTES = 120


class CandleChart(Widget):
    """A block candle chart: one column per candle (the latest at the right), wick │, body █."""

    DEFAULT_CSS = "CandleChart { height: 1fr; min-height: 8; border: round $primary; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.symbol = ""
        self.bars: list[Candle] = []
        self.updates = 0  # candles received from the stream (for the status line and tests)

    def show(self, symbol: str, bars: list[Candle]) -> None:
        self.symbol, self.bars = symbol, list(bars)
        self.border_title = safe_rich(f"{safe_text(symbol)} · 1 min")
        self.refresh()

    def candle(self, bar: Candle) -> None:
        """A streamed candle: replaces the candle of the same minute or adds a new one."""
        if self.bars and self.bars[-1].time == bar.time:
            self.bars[-1] = bar
        elif not self.bars or bar.time > self.bars[-1].time:
            self.bars.append(bar)
        self.updates += 1
        self.refresh()

    def render(self) -> Text:
        width, height = max(1, self.size.width - 12), max(1, self.size.height)
        bars = self.bars[-width:]
        if not bars:
            return Text("Choose a symbol on the left to chart it.", style="dim")
        top, bottom = max(b.high for b in bars), min(b.low for b in bars)
        span = (top - bottom) or Decimal(1)

        def row_of(price: Decimal) -> int:
            return int((top - price) / span * (height - 1))

        lines = []
        for row in range(height):
            label = top - span * row / max(1, height - 1)
            text = Text(f"{_short(label):>11} ", style="dim")
            for bar in bars:
                body = sorted((row_of(bar.open), row_of(bar.close)))
                style = "green" if bar.close >= bar.open else "red"
                if body[0] <= row <= body[1]:
                    text.append("█", style)
                elif row_of(bar.high) <= row <= row_of(bar.low):
                    text.append("│", style)
                else:
                    text.append(" ")
            lines.append(text)
        return Text("\n").join(lines)


def _short(price: Decimal) -> str:
    return f"{price:.5g}" if abs(price) < 10 else f"{price:.2f}"


class XtbScreen(Screen):
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("slash", "search", "Search"),
        Binding("ctrl+r", "reload", "Reload history"),
    ]
    DEFAULT_CSS = """
    XtbScreen #xtb-left { width: 38; }
    XtbScreen #xtb-symbols { height: 1fr; border: round $primary; }
    XtbScreen #xtb-history { height: 12; border: round $primary; }
    XtbScreen #xtb-status { height: 1; color: $text-muted; }
    XtbScreen .error { color: $error; }
    """

    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.symbols: list[SymbolInfo] = []
        #: The symbol whose candles the chart follows (asked with xtb.watch_candles).
        self._watching: str | None = None
        selected = ctx.selected  # a tick or a position selected on the dashboard opens its chart
        self._selected_symbol = selected.symbol if isinstance(selected, (Tick, Position)) else None
        self._candles = watch_store(self, ctx.view, (CANDLE.name,), self._show_candles)

    def compose(self) -> ComposeResult:
        yield Static(safe_rich(f"XTB · {self.ctx.connection}"), id="xtb-title")
        with Horizontal():
            with Vertical(id="xtb-left"):
                yield Input(placeholder="Search symbols (name or description)", id="xtb-search")
                yield OptionList(id="xtb-symbols")
            with Vertical():
                yield CandleChart(id="xtb-chart")
                yield DataTable(id="xtb-history", cursor_type="row", zebra_stripes=True)
        yield Static("", id="xtb-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#xtb-symbols", OptionList).border_title = "Symbols"
        history = self.query_one("#xtb-history", DataTable)
        history.border_title = "Trade history (30 days)"
        history.add_columns("Closed", "Symbol", "Side", "Volume", "Open", "Close", "Profit", "Position")
        self._show_candles()  # arms the candle watcher
        search = self.query_one("#xtb-search", Input)
        search.focus()
        if self._selected_symbol:
            search.value = self._selected_symbol
            self._chart(self._selected_symbol)
        self.run_worker(self._load_symbols, group="symbols", exclusive=True, exit_on_error=False)
        self.run_worker(self._load_history, group="history", exclusive=True, exit_on_error=False)

    def _status(self, message: str, error: bool = False) -> None:
        status = self.query_one("#xtb-status", Static)
        status.update(safe_rich(message))
        status.set_class(error, "error")

    # -- symbols ---------------------------------------------------------------------------------

    async def _load_symbols(self) -> None:
        try:
            self.symbols = sorted(await self.ctx.request("xtb.symbols"), key=lambda s: s.symbol)
        except Exception as exc:
            self._status(f"Symbols: {describe_exception(exc)}", error=True)
            return
        self._filter(self.query_one("#xtb-search", Input).value)
        self._status(f"{len(self.symbols)} symbols")

    def on_input_changed(self, event: Input.Changed) -> None:
        self._filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        options = self.query_one("#xtb-symbols", OptionList)
        if options.option_count:
            self._chart(options.get_option_at_index(options.highlighted or 0).id or "")

    def _filter(self, query: str) -> None:
        words = query.lower().split()
        matches = [s for s in self.symbols
                   if all(w in f"{s.symbol} {s.description} {s.category}".lower() for w in words)]
        options = self.query_one("#xtb-symbols", OptionList)
        options.clear_options()
        options.add_options(Option(_symbol_label(s), id=s.symbol) for s in matches[:MAX_MATCHES])
        if matches:
            options.highlighted = 0

    def on_key(self, event: Any) -> None:
        """Up/down in the search box move through the matches."""
        if self.focused is not self.query_one("#xtb-search", Input) or event.key not in ("up", "down"):
            return
        options = self.query_one("#xtb-symbols", OptionList)
        if options.option_count:
            current = options.highlighted or 0
            step = 1 if event.key == "down" else -1
            options.highlighted = max(0, min(options.option_count - 1, current + step))
            event.stop()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._chart(event.option.id or "")

    # -- chart -----------------------------------------------------------------------------------

    def _chart(self, symbol: str) -> None:
        if symbol:
            self.run_worker(partial(self._load_chart, symbol), group="chart", exclusive=True, exit_on_error=False)

    async def _load_chart(self, symbol: str) -> None:
        chart = self.query_one("#xtb-chart", CandleChart)
        self._status(f"Loading {symbol}…")
        try:
            await self._stop_watching()
            bars = await self.ctx.request("xtb.chart", symbol=symbol, minutes=CHART_MINUTES)
            chart.show(symbol, bars)
            await self.ctx.request("xtb.watch_candles", symbol=symbol)
            self._watching = symbol
        except Exception as exc:
            self._status(f"Chart of {symbol}: {describe_exception(exc)}", error=True)
            return
        self._status(f"{symbol}: {len(bars)} candles, following the candle stream")

    def _show_candles(self) -> None:
        """The charted symbol's latest candle, from the store."""
        self._candles.rearm()
        changed = self._candles.drain(CANDLE.name)
        chart = self.query_one("#xtb-chart", CandleChart)
        if (self.ctx.connection, chart.symbol) in changed and chart.symbol == self._watching:
            candle = self.ctx.view.get(CANDLE.name, self.ctx.connection, chart.symbol)
            if candle is not None:
                chart.candle(candle)

    async def _stop_watching(self) -> None:
        symbol, self._watching = self._watching, None
        if symbol is not None:
            try:
                await self.ctx.request("xtb.stop_candles", symbol=symbol)
            except Exception:  # the connection is down: nothing to stop
                pass

    # -- history ---------------------------------------------------------------------------------

    async def _load_history(self) -> None:
        table = self.query_one("#xtb-history", DataTable)
        try:
            trades: list[ClosedTrade] = await self.ctx.request("xtb.trade_history", days=30)
        except Exception as exc:
            self._status(f"Trade history: {describe_exception(exc)}", error=True)
            return
        table.clear()
        for trade in trades:
            table.add_row(*map(safe_rich, (
                trade.closed, trade.symbol, trade.side, _text(trade.volume), _text(trade.open_price),
                _text(trade.close_price), _profit(trade.profit), trade.position)))
        # a trade's profit is in the account currency, whatever the symbol is quoted in
        account = next(iter(self.ctx.view.records("account", self.ctx.connection).values()), None)
        currency = account.currency if account is not None else None
        table.border_title = safe_rich(f"Trade history (30 days): {len(trades)}"
                                       + (f" · profit in {safe_text(currency, 12)}" if currency else ""))

    # -- actions ---------------------------------------------------------------------------------

    def action_search(self) -> None:
        self.query_one("#xtb-search", Input).focus()

    def action_reload(self) -> None:
        self.run_worker(self._load_history, group="history", exclusive=True, exit_on_error=False)

    async def action_close(self) -> None:
        await self._stop_watching()
        self.dismiss()

    async def on_unmount(self) -> None:
        self.ctx.view.unwatch(self._candles)
        await self._stop_watching()


def _symbol_label(symbol: SymbolInfo) -> Text:
    """One line of the symbol list: name, category, base / quote currency (SYMBOL_RECORD currency and
    currencyProfit: EUR/USD, BTC/USD; one code when they are the same) and description, as safe text."""
    name, category, description, base, quote = (
        safe_text(value) for value in (symbol.symbol, symbol.category, symbol.description, symbol.currency,
                                       symbol.currency_profit))
    pair = base if base == quote else f"{base}/{quote}"
    return safe_rich(f"{name:<10} {category:<4} {pair:<7} {description}")


def _text(number: Decimal | None) -> str:
    return "" if number is None else str(number)


def _profit(number: Decimal | None) -> Text:
    if number is None:
        return Text("")
    return Text(str(number), style="green" if number >= 0 else "red")
