"""The cTrader screen: deals and cash-flow history over the API's cursor ("load more"), and a
trendbar chart of a symbol. The accounts are the connection's account records in the store; the
history and the bars are asked for on demand (`ctx.request`: ctrader.deals, ctrader.cashflow,
ctrader.trendbars), in workers; errors show in place. Every text from the server is shown
literally, through `ibmon.safe`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Select, Sparkline, Static, TabbedContent, TabPane

from ibmon.sdk import Account, Position, ScreenContext, Tick, describe_exception, safe_text
from ibmon.sdk.ui import safe_rich, when

from ibmon_ctrader.history import CashFlow, Deal, Trendbar

PAGE = 50
#: Bars drawn per chart.
BARS = 120


def _when(ms: Any) -> str:
    return "" if ms is None else when(ms)


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:,}"


def _deal_row(deal: Deal) -> tuple[str, ...]:
    return (_when(deal.time), deal.deal_id, deal.position_id, deal.side, deal.symbol, f"{deal.volume:,}",
            "" if deal.price is None else str(deal.price), _money(deal.commission), _money(deal.profit),
            _money(deal.balance))


def _cashflow_row(entry: CashFlow) -> tuple[str, ...]:
    return (_when(entry.time), entry.type, _money(entry.delta), _money(entry.balance), _money(entry.equity))


@dataclass
class History:
    """One cursor-backed table: the request for its pages, how a row reads, where the next page starts."""

    request: str
    table_id: str
    columns: tuple[str, ...]
    row: Any
    next: str | None = None
    loaded: int = 0


class CTraderScreen(Screen):
    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("m", "load_more", "Load more"),
        Binding("r", "reload", "Reload"),
        Binding("1", "tab('deals')", "Deals"),
        Binding("2", "tab('cashflow')", "Cash flow"),
        Binding("3", "tab('chart')", "Chart"),
        Binding("d", "demo('ctrader.demo_deposit')", "Demo deposit"),
        Binding("w", "demo('ctrader.demo_withdraw')", "Demo withdraw"),
    ]

    DEFAULT_CSS = """
    CTraderScreen #bar { height: auto; }
    CTraderScreen #account { width: 48; }
    CTraderScreen .status { height: auto; color: $text-muted; padding: 0 1; }
    CTraderScreen .status.error { color: $text-error; }
    CTraderScreen #chart-form { height: auto; }
    CTraderScreen #symbol { width: 20; }
    CTraderScreen #period { width: 14; }
    CTraderScreen Sparkline { height: 12; margin: 1 0; }
    """

    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__()
        self.ctx = ctx
        selected = ctx.selected
        #: The account (and symbol) to open on: the record selected on the dashboard, if any.
        self._account_id = selected.id if isinstance(selected, Account) else \
            selected.account if isinstance(selected, Position) else None
        self._symbol = selected.symbol if isinstance(selected, (Tick, Position)) else None
        self.histories = {
            "deals": History("ctrader.deals", "deals", ("time (UTC)", "deal", "position", "side", "symbol", "volume",
                                                "price", "commission", "profit", "balance"), _deal_row),
            "cashflow": History("ctrader.cashflow", "cashflow", ("time (UTC)", "type", "amount", "balance",
                                                                "equity"), _cashflow_row),
        }

    # -- layout ------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="bar"):
            yield Select(self._account_options(), prompt="account", id="account", allow_blank=True)
            yield Static("", id="account-status", classes="status")
        with TabbedContent(initial="deals", id="tabs"):
            for key, title in (("deals", "Deals"), ("cashflow", "Cash flow")):
                with TabPane(title, id=key):
                    yield Static("", id=f"{key}-status", classes="status")
                    yield DataTable(id=f"{key}-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Chart", id="chart"):
                with Horizontal(id="chart-form"):
                    yield Input(value=self._first_symbol(), placeholder="symbol", id="symbol")
                    yield Select([("m1", "m1"), ("h1", "h1")], value="h1", allow_blank=False, id="period")
                with Vertical():
                    yield Static("", id="chart-status", classes="status")
                    yield Sparkline([], id="sparkline")
        yield Footer()

    def on_mount(self) -> None:
        self.title = safe_text(f"cTrader · {self.ctx.connection}")
        for history in self.histories.values():
            self.query_one(f"#{history.table_id}-table", DataTable).add_columns(*history.columns)
        accounts = self._accounts()
        if accounts:
            ids = [a.id for a in accounts]
            self.query_one("#account", Select).value = self._account_id if self._account_id in ids else ids[0]
            if self._symbol and self._account_id is None:  # a tick: open on its chart
                self.action_tab("chart")
        else:
            self._status("account", "no account yet: waiting for the first poll (r reloads)")

    def _accounts(self) -> list[Account]:
        return list(self.ctx.view.records("account", self.ctx.connection).values())

    def _account_options(self) -> list[tuple[Text, str]]:
        return [(safe_rich(f"{safe_text(a.name or a.id)} · {safe_text(a.currency)} · "
                           f"{safe_text(dict(a.extra).get('type'))}"), a.id)
                for a in self._accounts()]

    def _first_symbol(self) -> str:
        watchlist = self.ctx.options.get("symbols") or ["EURUSD"]
        return self._symbol or str(watchlist[0])

    @property
    def account(self) -> Account | None:
        value = self.query_one("#account", Select).value
        return self.ctx.view.get("account", self.ctx.connection, value) if isinstance(value, str) else None

    def _status(self, key: str, text: str, error: bool = False) -> None:
        status = self.query_one(f"#{key}-status", Static)
        status.update(safe_rich(text))
        status.set_class(error, "error")

    # -- history tables --------------------------------------------------------------------------

    @on(Select.Changed, "#account")
    def _account_changed(self) -> None:
        self._load_all()

    def action_reload(self) -> None:
        """Pick up accounts the feed found since, keep the selection, and load everything afresh."""
        select = self.query_one("#account", Select)
        options = self._account_options()
        ids = [value for _label, value in options]
        current = select.value
        select.set_options(options)
        if ids:
            select.value = current if current in ids else ids[0]
            self._status("account", "")
        self._load_all()

    def _load_all(self) -> None:
        for key in self.histories:
            self._load(key, fresh=True)
        self._chart()

    def action_load_more(self) -> None:
        active = self.query_one("#tabs", TabbedContent).active
        if active not in self.histories:
            return
        if self.histories[active].next is None:
            self._status(active, f"{self.histories[active].loaded} entries · no more")
            return
        self._load(active, fresh=False)

    def _load(self, key: str, *, fresh: bool) -> None:
        account = self.account
        if account is None:
            return
        self._status(key, "loading…")
        # the page is fetched only if this worker starts (an exclusive worker may be cancelled first)
        self.run_worker(partial(self._fetch_page, key, account.id, fresh), group=key, exclusive=True)

    async def _fetch_page(self, key: str, account_id: str, fresh: bool) -> None:
        history = self.histories[key]
        table = self.query_one(f"#{history.table_id}-table", DataTable)
        cursor = {} if fresh or history.next is None else {"cursor": history.next}
        try:
            answer = await self.ctx.request(history.request, account_id=account_id, limit=PAGE, **cursor)
            if not answer:
                raise ValueError("the page could not be read")
        except Exception as exc:  # shown in place; the screen stays usable
            self._status(key, describe_exception(exc), error=True)
            return
        page = answer[0]
        items = page.deals if key == "deals" else page.entries
        if fresh:
            table.clear()
            history.loaded = 0
        table.add_rows(tuple(map(safe_rich, history.row(item))) for item in items)
        history.next, history.loaded = page.next, history.loaded + len(items)
        more = "m loads more" if page.next else "no more"
        self._status(key, f"{history.loaded} entries, newest first · {more}")

    # -- chart -------------------------------------------------------------------------------------

    @on(Input.Submitted, "#symbol")
    @on(Select.Changed, "#period")
    def _chart_changed(self) -> None:
        self._chart()

    def _chart(self) -> None:
        account = self.account
        symbol = self.query_one("#symbol", Input).value.strip().upper()
        if account is None or not symbol:
            return
        period = str(self.query_one("#period", Select).value)
        self._status("chart", f"loading {symbol} {period}…")
        self._fetch_bars(account.id, symbol, period)

    @work(exclusive=True, group="chart")
    async def _fetch_bars(self, account_id: str, symbol: str, period: str) -> None:
        try:
            bars: list[Trendbar] = await self.ctx.request("ctrader.trendbars", account_id=account_id, symbol=symbol,
                                                          period=period, bars=BARS)
        except Exception as exc:
            self.query_one("#sparkline", Sparkline).data = []
            self._status("chart", describe_exception(exc), error=True)
            return
        closes = [bar.close for bar in bars]
        # The sparkline only draws; the figures beside it stay exact.
        self.query_one("#sparkline", Sparkline).data = [float(close) for close in closes]
        if closes:
            self._status("chart", f"{symbol} {period} · {len(closes)} bars since {_when(bars[0].time)} UTC · "
                                  f"last {closes[-1]} · high {max(closes)} · low {min(closes)}")
        else:
            self._status("chart", f"{symbol} {period}: no bars in the last {BARS} periods")

    # -- keys --------------------------------------------------------------------------------------

    def action_tab(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab

    def action_close(self) -> None:
        self.app.pop_screen()

    def action_demo(self, action_id: str) -> None:
        account = self.account
        action = next((a for a in self.ctx.actions() if a.id == action_id), None)
        if account is None or action is None:
            return
        if not action.is_available(account):
            self.notify(safe_text(f"{action.title}: demo accounts only ({account.name or account.id} is live)"),
                        severity="warning", markup=False)
            return
        self._run_action(action, account)

    @work(group="action")
    async def _run_action(self, action: Any, account: Account) -> None:
        # In a worker: the host may wait for its confirmation screen here.
        await self.ctx.run_action(action, account)
        self._load("cashflow", fresh=True)
