"""The IBKR Flex screen: one account of the latest statement at a time (n / p switch), with its NAV
over the statement's period, open positions, cash by currency, recent trades, and when the
statement was generated and fetched. It reads the session's latest report, polled by the feed
runtime: the screen itself never calls IB (every request counts against the token's rate limit).
Every text from the statement is shown literally, through `ibmon.safe`."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Sparkline, Static

from ibmon.sdk import ScreenContext, format_age, safe_text
from ibmon.sdk.ui import MISSING, money, number, safe_rich, when

from ibmon_ibkr_flex.dates import as_eastern
from ibmon_ibkr_flex.session import NAV_SECTIONS
from ibmon_ibkr_flex.statement import FlexPosition, FlexReport, FlexStatement

#: Trades shown, newest first.
TRADES = 50


class FlexScreen(Screen):
    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("n", "account(1)", "Next account"),
        Binding("p", "account(-1)", "Previous account"),
    ]

    DEFAULT_CSS = """
    FlexScreen .line { height: auto; padding: 0 1; }
    FlexScreen #summary { color: $text; }
    FlexScreen .muted { color: $text-muted; }
    FlexScreen .title { text-style: bold; padding: 0 1; height: 1; }
    FlexScreen #nav { height: 5; margin: 0 1; }
    FlexScreen #middle { height: 1fr; }
    FlexScreen #positions-box { width: 3fr; }
    FlexScreen #cash-box { width: 1fr; min-width: 30; }
    FlexScreen #trades { height: 1fr; }
    """

    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.session = ctx.session
        self.index = 0
        self._shown: tuple[FlexReport | None, int] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="header", classes="line title")
        yield Static("", id="summary", classes="line")
        yield Static("", id="age", classes="line muted")
        yield Static("", id="nav-label", classes="line muted")
        yield Sparkline([], id="nav")
        with Horizontal(id="middle"):
            with Vertical(id="positions-box"):
                yield Static("Open positions", classes="title")
                yield DataTable(id="positions", cursor_type="row", zebra_stripes=True)
            with Vertical(id="cash-box"):
                yield Static("Cash by currency", classes="title")
                yield DataTable(id="cash", cursor_type="row")
        yield Static("Recent trades (newest first)", classes="title")
        yield DataTable(id="trades", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = safe_text(f"IBKR Flex · {self.ctx.connection}")
        self.query_one("#positions", DataTable).add_columns(
            "symbol", "asset", "ccy", "side", "quantity", "mark", "value", "cost basis", "unrealized P/L")
        self.query_one("#cash", DataTable).add_columns("currency", "ending cash", "settled")
        self.query_one("#trades", DataTable).add_columns(
            "time (ET)", "symbol", "side", "quantity", "price", "proceeds", "commission", "ccy")
        self.refresh_view()
        self.set_interval(1.0, self.refresh_view)

    # -- actions ---------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss()

    def action_account(self, step: int) -> None:
        report = self.session.report
        if report and report.statements:
            self.index = (self.index + step) % len(report.statements)
            self.refresh_view()

    # -- rendering -------------------------------------------------------------------------------

    def refresh_view(self) -> None:
        """Redraw the tables when a new report arrived or the account changed; the ages every time."""
        report: FlexReport | None = self.session.report
        if report is None or not report.statements:
            self._line("#header", f"IBKR Flex · {self.ctx.connection}")
            self._line("#summary", f"waiting for the first statement (polled every {self.session.poll_interval:g} s)")
            return
        self.index %= len(report.statements)
        statement = report.statements[self.index]
        if self._shown != (report, self.index):
            self._shown = (report, self.index)
            self._show(report, statement)
        self._line("#age", self._ages(statement))

    def _line(self, selector: str, text: str) -> None:
        self.query_one(selector, Static).update(safe_rich(text))

    def _show(self, report: FlexReport, statement: FlexStatement) -> None:
        count = len(report.statements)
        self._line("#header", f"{safe_text(statement.account_id, 40)} · {safe_text(statement.name, 80)} · account "
                              f"{self.index + 1} of {count}" + (" (n / p: next / previous)" if count > 1 else ""))
        period = f"{safe_text(statement.from_date or '?')} – {safe_text(statement.to_date or '?')}"
        self._line("#summary", f"{_nav(statement)} · cash {_cash(statement)} · {len(statement.positions)} positions · "
                               f"{len(statement.trades)} trades · period {period}")
        history = statement.nav_history
        self.query_one("#nav", Sparkline).data = [float(point.total) for point in history]  # a shape only
        if history:
            first, last = history[0], history[-1]
            change = (f" ({(last.total / first.total - 1) * 100:+.2f} %)" if first.total else "")
            low, high = min(p.total for p in history), max(p.total for p in history)
            self._line("#nav-label", f"NAV {first.day} → {last.day}: {money(first.total)} → {money(last.total)}"
                                     f"{change} · low {money(low)} · high {money(high)} · {len(history)} days")
        else:
            self._line("#nav-label", f"no NAV history: add {NAV_SECTIONS} to the Flex query")
        self._fill_positions(statement)
        self._fill_cash(statement)
        self._fill_trades(statement)

    def _fill_positions(self, statement: FlexStatement) -> None:
        table = self.query_one("#positions", DataTable)
        table.clear()
        for row in sorted(statement.positions, key=lambda p: (p.asset_category or "", p.symbol)):
            table.add_row(*map(safe_rich, (
                row.symbol, row.asset_category or MISSING, row.currency or MISSING,
                _side(row), number(row.quantity), number(row.mark_price),
                money(row.position_value), money(row.cost_basis_money), money(row.unrealized_pnl))))

    def _fill_cash(self, statement: FlexStatement) -> None:
        table = self.query_one("#cash", DataTable)
        table.clear()
        for cash in statement.cash:
            table.add_row(*map(safe_rich, (cash.currency, money(cash.ending_cash), money(cash.ending_settled_cash))))

    def _fill_trades(self, statement: FlexStatement) -> None:
        table = self.query_one("#trades", DataTable)
        table.clear()
        for trade in list(reversed(statement.trades))[:TRADES]:
            table.add_row(*map(safe_rich, (
                when(as_eastern(trade.when)) if trade.when else MISSING, trade.symbol,
                (trade.buy_sell or MISSING).lower(), number(trade.quantity), number(trade.price),
                money(trade.proceeds), money(trade.commission), trade.currency or MISSING)))

    def _ages(self, statement: FlexStatement) -> str:
        parts = []
        if statement.when_generated is not None:
            generated = as_eastern(statement.when_generated)
            age = datetime.now(timezone.utc) - generated
            parts.append(f"generated {when(generated)} ({format_age(age.total_seconds())} ago)")
        else:
            parts.append("generation time not in the statement")
        fetched = getattr(self.session, "fetched_at", None)
        if fetched is not None:
            parts.append(f"fetched {format_age(time.time() - fetched)} ago")
        parts.append(f"polled every {format_age(self.session.poll_interval)}")
        return " · ".join(parts)


def _nav(statement: FlexStatement) -> str:
    if statement.nav is None:
        return f"NAV unknown (add {NAV_SECTIONS} to the Flex query)"
    return f"NAV {money(statement.nav)} {safe_text(statement.base_currency)}"


def _cash(statement: FlexStatement) -> str:
    """The base-currency total, else each currency's cash (a statement without a base summary)."""
    if statement.base_cash is not None:
        return f"{money(statement.base_cash)} {safe_text(statement.base_currency)}"
    amounts = [f"{money(cash.ending_cash)} {safe_text(cash.currency, 12)}" for cash in statement.cash]
    return " + ".join(amounts) if amounts else MISSING


def _side(row: FlexPosition) -> str:
    side = "long" if row.quantity >= 0 else "short"
    return f"{side} ({row.lots} lots)" if row.lots > 1 else side
