"""The IBKR Flex screen: one account of the latest statement at a time (n / p switch), with its NAV
over the statement's period, open positions, cash by currency, recent trades, and when the
statement was generated and fetched. It reads the store (the account's "ibkr_flex.statement"
record and its positions), which the feed runtime's polls fill: the screen itself never calls IB
(every request counts against the token's rate limit). Every text from the statement is shown
literally, through `ibmon.safe`."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Sparkline, Static

from ibmon.sdk import Account, Position, ScreenContext, dec_or_none, format_age, safe_text
from ibmon.sdk.ui import MISSING, money, number, safe_rich, watch_store, when

from ibmon_ibkr_flex.dates import as_eastern
from ibmon_ibkr_flex.kinds import STATEMENT, Statement
from ibmon_ibkr_flex.session import NAV_SECTIONS


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
        self.poll_seconds = float(ctx.options.get("poll_seconds") or 0)
        self.index = 0
        #: The account to show first: the one selected on the dashboard, if any.
        selected = ctx.selected
        self._wanted = selected.id if isinstance(selected, Account) else \
            selected.account if isinstance(selected, Position) else None
        self._shown: tuple[Statement, tuple] | None = None
        self._watcher = watch_store(self, ctx.view, (STATEMENT.name, "position"), self.refresh_view)

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
        self.set_interval(1.0, self.refresh_view)  # the ages

    def on_unmount(self) -> None:
        self.ctx.view.unwatch(self._watcher)

    # -- actions ---------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss()

    def action_account(self, step: int) -> None:
        statements = self.statements()
        if statements:
            self.index = (self.index + step) % len(statements)
            self.refresh_view()

    # -- rendering -------------------------------------------------------------------------------

    def statements(self) -> list[Statement]:
        """The statement records of the connection, in the statement's order."""
        return list(self.ctx.view.records(STATEMENT.name, self.ctx.connection).values())

    def positions(self, account_id: str) -> list[Position]:
        return [p for p in self.ctx.view.records("position", self.ctx.connection).values() if p.account == account_id]

    def refresh_view(self) -> None:
        """Redraw the tables when a new statement arrived or the account changed; the ages every time."""
        self._watcher.rearm()
        self._watcher.drain(STATEMENT.name)
        self._watcher.drain("position")
        statements = self.statements()
        if not statements:
            self._line("#header", f"IBKR Flex · {self.ctx.connection}")
            self._line("#summary", f"waiting for the first statement (polled every {self.poll_seconds:g} s)")
            return
        if self._wanted is not None:
            ids = [statement.account_id for statement in statements]
            self.index = ids.index(self._wanted) if self._wanted in ids else self.index
            self._wanted = None
        self.index %= len(statements)
        statement = statements[self.index]
        positions = self.positions(statement.account_id)
        shown = (statement, (self.index, len(statements), tuple(positions)))
        if self._shown != shown:
            self._shown = shown
            self._show(statement, len(statements), positions)
        self._line("#age", self._ages(statement))

    def _line(self, selector: str, text: str) -> None:
        self.query_one(selector, Static).update(safe_rich(text))

    def _show(self, statement: Statement, count: int, positions: list[Position]) -> None:
        self._line("#header", f"{safe_text(statement.account_id, 40)} · {safe_text(statement.name, 80)} · account "
                              f"{self.index + 1} of {count}" + (" (n / p: next / previous)" if count > 1 else ""))
        period = f"{safe_text(statement.from_date or '?')} – {safe_text(statement.to_date or '?')}"
        self._line("#summary", f"{_nav(statement)} · cash {_cash(statement)} · {len(positions)} positions · "
                               f"{statement.trade_count} trades · period {period}")
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
        self._fill_positions(positions)
        self._fill_cash(statement)
        self._fill_trades(statement)

    def _fill_positions(self, positions: list[Position]) -> None:
        table = self.query_one("#positions", DataTable)
        table.clear()
        for row in sorted(positions, key=lambda p: (dict(p.extra).get("asset") or "", p.symbol)):
            facts = dict(row.extra)
            quantity = row.volume if row.side == "buy" else -row.volume
            table.add_row(*map(safe_rich, (
                row.symbol, facts.get("asset") or MISSING, row.currency or MISSING,
                _side(row), number(quantity), number(row.current_price),
                money(dec_or_none(facts.get("value"))), money(dec_or_none(facts.get("cost_basis"))),
                money(row.profit))))

    def _fill_cash(self, statement: Statement) -> None:
        table = self.query_one("#cash", DataTable)
        table.clear()
        for cash in statement.cash:
            table.add_row(*map(safe_rich, (cash.currency, money(cash.ending_cash), money(cash.ending_settled_cash))))

    def _fill_trades(self, statement: Statement) -> None:
        table = self.query_one("#trades", DataTable)
        table.clear()
        for trade in statement.trades:  # newest first
            table.add_row(*map(safe_rich, (
                when(as_eastern(datetime.fromisoformat(trade.when))) if trade.when else MISSING, trade.symbol,
                (trade.buy_sell or MISSING).lower(), number(trade.quantity), number(trade.price),
                money(trade.proceeds), money(trade.commission), trade.currency or MISSING)))

    def _ages(self, statement: Statement) -> str:
        parts = []
        if statement.generated is not None:
            generated = as_eastern(datetime.fromisoformat(statement.generated))
            age = datetime.now(timezone.utc) - generated
            parts.append(f"generated {when(generated)} ({format_age(age.total_seconds())} ago)")
        else:
            parts.append("generation time not in the statement")
        parts.append(f"fetched {format_age(time.time() - statement.fetched_at / 1000)} ago")
        parts.append(f"polled every {format_age(self.poll_seconds)}")
        return " · ".join(parts)


def _nav(statement: Statement) -> str:
    if statement.nav is None:
        return f"NAV unknown (add {NAV_SECTIONS} to the Flex query)"
    return f"NAV {money(statement.nav)} {safe_text(statement.base_currency)}"


def _cash(statement: Statement) -> str:
    """The base-currency total, else each currency's cash (a statement without a base summary)."""
    if statement.base_cash is not None:
        return f"{money(statement.base_cash)} {safe_text(statement.base_currency)}"
    amounts = [f"{money(cash.ending_cash)} {safe_text(cash.currency, 12)}" for cash in statement.cash]
    return " + ".join(amounts) if amounts else MISSING


def _side(row: Position) -> str:
    side = "long" if row.side == "buy" else "short"
    lots = dict(row.extra).get("lots")
    return f"{side} ({lots} lots)" if lots else side
