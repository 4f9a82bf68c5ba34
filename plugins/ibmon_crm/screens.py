"""The CRM screen: leads, registrations (with trading accounts), transactions, servers and closed
positions, over a date range, each list read page by page as the cursor nears its end.

Each page is asked for on demand (`ctx.request`: crm.leads, crm.registrations, crm.transactions,
crm.positions, crm.servers) in a Textual worker; errors show in the status line of the screen.
The date range starts as the lead funnel's widest window in the store (the connection's
lookback). Every text from the CRM is shown literally, through `ibmon.safe`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Select, Static, TabbedContent, TabPane

from ibmon.sdk import ScreenContext, describe_exception
from ibmon.sdk.ui import MISSING, money, number, safe_rich, when

from ibmon_crm.pages import MAX_PAGE_ROWS
from ibmon_crm.records import ClosedPosition, Lead, Registration, Transaction
from ibmon_crm.session import utc_today

#: Rows left below the cursor when the next page is fetched.
PREFETCH_MARGIN = 10
#: The most rows the screen asks for at a time: more than any terminal shows, and quick to lay out
#: (a DataTable takes about a second to add 1000 rows of eight columns).
SCREEN_PAGE_SIZE = MAX_PAGE_ROWS


Cell = str | Text


def _right(text: str) -> Text:
    return Text(text, justify="right")


def _when(stamp: str) -> str:
    return when(stamp) if stamp else MISSING


def lead_row(lead: Lead) -> tuple[Cell, ...]:
    return (lead.id, lead.name, lead.email, lead.country, _when(lead.registered), _when(lead.modified),
            lead.utm_text, lead.tags_text)


def registration_row(customer: Registration) -> tuple[Cell, ...]:
    return (customer.id, customer.name, customer.email, customer.country, _when(customer.registered),
            customer.accounts_text or MISSING)


def transaction_row(tx: Transaction) -> tuple[Cell, ...]:
    return (tx.id, _when(tx.date), tx.type, _right(money(tx.amount)), tx.currency, tx.customer,
            tx.product or "N/A", "fake" if tx.is_fake else "")


def position_row(position: ClosedPosition) -> tuple[Cell, ...]:
    return (position.ticket, position.login, position.symbol, position.side, _right(number(position.volume)),
            _right(number(position.open_price)), _right(number(position.close_price)),
            _right(money(position.profit)), _when(position.open_time), _when(position.close_time))


class LazyTable(DataTable):
    """A DataTable filled from an async iterator of pages, one page whenever the cursor (or the
    scroll position) comes within PREFETCH_MARGIN rows of the end."""

    class Status(Message):
        def __init__(self, table: "LazyTable", text: str, error: bool = False) -> None:
            super().__init__()
            self.table = table
            self.text = text
            self.error = error

    def __init__(self, columns: tuple[str, ...], row: Callable[[Any], tuple[Cell, ...]], **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._columns = columns
        self._row = row
        self._pages: AsyncIterator[Any] | None = None
        self.total: int | None = None
        self.exhausted = True
        self.loading = False
        self.what = ""

    def on_mount(self) -> None:
        self.add_columns(*self._columns)

    def show(self, pages: AsyncIterator[Any], what: str) -> None:
        """Start over with a new list; fetch its first page."""
        self.workers.cancel_group(self, "pages")
        self._pages = None  # first: clearing moves the cursor, which must not fetch from the old list
        self.clear()
        self._pages, self.what, self.total = pages, what, None
        self.exhausted, self.loading = False, False
        self.load_more()

    def load_more(self) -> None:
        if self._pages is not None and not self.exhausted and not self.loading:
            self.loading = True
            self._fetch(self._pages)

    @work(group="pages", exit_on_error=False)
    async def _fetch(self, pages: AsyncIterator[Any]) -> None:
        try:
            page = await anext(pages)
        except StopAsyncIteration:
            page = None
        except Exception as exc:  # shown in place; the user may retry with reload
            if pages is self._pages:
                self.loading, self.exhausted = False, True
                self.post_message(self.Status(self, f"{self.what}: {describe_exception(exc)} (r: retry)",
                                              error=True))
            return
        if pages is not self._pages:  # the list was replaced meanwhile
            return
        if page is None:
            self.exhausted = True
        else:
            self.total = page.total
            self.add_rows(tuple(map(safe_rich, self._row(item))) for item in page.items)
            self.exhausted = page.last
        self.loading = False  # only now: adding rows moves the cursor, which asks for more
        self.post_message(self.Status(self, self.progress()))
        if not self.exhausted and self._cursor_near_end():  # a short page, or the user kept going
            self.load_more()

    def progress(self) -> str:
        if self.total is None:
            return f"{self.what}: loading…" if self.loading else f"{self.what}: nothing loaded"
        total = f"{self.total:,}"
        more = "" if self.exhausted else " · more as you scroll"
        return f"{self.what}: {self.row_count:,} of {total} loaded{more}"

    def _cursor_near_end(self) -> bool:
        return self.cursor_row >= self.row_count - PREFETCH_MARGIN

    def watch_cursor_coordinate(self, old: Any, new: Any) -> None:
        super().watch_cursor_coordinate(old, new)
        if self._cursor_near_end():
            self.load_more()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # scrolling with the mouse leaves the cursor behind: look at the last visible line instead
        bottom = new_value + self.scrollable_content_region.height
        if new_value > old_value and bottom >= self.virtual_size.height - PREFETCH_MARGIN:
            self.load_more()


class CrmScreen(Screen):
    """Impact CRM records of one connection."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("d", "focus_dates", "Dates"),
        Binding("r", "reload", "Reload"),
        Binding("1", "tab('leads')", "Leads", show=False),
        Binding("2", "tab('registrations')", "Registrations", show=False),
        Binding("3", "tab('transactions')", "Transactions", show=False),
        Binding("4", "tab('servers')", "Servers", show=False),
        Binding("5", "tab('positions')", "Positions", show=False),
    ]

    AUTO_FOCUS = "#leads-table"

    DEFAULT_CSS = """
    CrmScreen #filters { height: 3; padding: 0 1; }
    CrmScreen #filters Label { padding: 1 1 0 0; }
    CrmScreen #filters Input { width: 16; }
    CrmScreen #filters Select { width: 24; margin-left: 2; }
    CrmScreen #status { height: 1; padding: 0 1; }
    CrmScreen #status.error { color: $error; }
    """

    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.date_from, self.date_to = self._lookback()
        self.server_tag: str = ctx.options.get("server_tag") or ""
        self._shown: dict[str, tuple[Any, ...]] = {}  # tab → the filter its table shows

    def compose(self) -> ComposeResult:
        yield Static(safe_rich(f"Impact CRM · {self.ctx.connection}"), id="title")
        with Horizontal(id="filters"):
            yield Label("From")
            yield Input(self.date_from.isoformat(), id="date-from", placeholder="YYYY-MM-DD")
            yield Label("to")
            yield Input(self.date_to.isoformat(), id="date-to", placeholder="YYYY-MM-DD")
            yield Select([], prompt="server", id="server", allow_blank=True)
        with TabbedContent(id="tabs", initial="leads"):
            with TabPane("Leads", id="leads"):
                yield LazyTable(("ID", "Name", "Email", "Country", "Registered", "Modified", "UTM", "Tags"),
                                lead_row, id="leads-table")
            with TabPane("Registrations", id="registrations"):
                yield LazyTable(("ID", "Name", "Email", "Country", "Registered", "Trading accounts"),
                                registration_row, id="registrations-table")
            with TabPane("Transactions", id="transactions"):
                yield LazyTable(("ID", "Date", "Type", "Amount", "Currency", "Customer", "Product", "Fake"),
                                transaction_row, id="transactions-table")
            with TabPane("Servers", id="servers"):
                yield DataTable(cursor_type="row", id="servers-table")
            with TabPane("Positions", id="positions"):
                yield LazyTable(("Ticket", "Login", "Symbol", "Side", "Volume", "Open", "Close", "Profit",
                                 "Opened", "Closed"), position_row, id="positions-table")
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#servers-table", DataTable).add_columns("Platform", "Server tag")
        self.load_servers()
        self.show_tab("leads")

    def _lookback(self) -> tuple[date, date]:
        """The widest window of the lead funnel in the store, else the lookback up to today (UTC)."""
        windows = list(self.ctx.view.records("leads", self.ctx.connection).values())
        if windows:
            widest = min(windows, key=lambda w: (w.date_from, w.date_to))
            try:
                return date.fromisoformat(widest.date_from), date.fromisoformat(widest.date_to)
            except ValueError:
                pass
        today = utc_today()
        return today - timedelta(days=int(self.ctx.options.get("lookback_days") or 30) - 1), today

    # -- what each tab shows ---------------------------------------------------------------------

    def _params(self, tab: str) -> dict[str, Any] | None:
        """The request's parameters for a tab's list (None: the tab cannot list yet)."""
        params: dict[str, Any] = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat(),
                                  "page_size": min(int(self.ctx.options.get("page_size") or SCREEN_PAGE_SIZE),
                                                   SCREEN_PAGE_SIZE)}
        if tab == "positions":
            if not self.server_tag:
                return None
            params["server_tag"] = self.server_tag
        return params

    async def _pages(self, tab: str, params: dict[str, Any]) -> AsyncIterator[Any]:
        """The pages of a tab's list, each asked for when the table wants it."""
        number = 1
        while True:
            answer = await self.ctx.request(f"crm.{tab}", page=number, **params)
            if not answer:
                raise ValueError(f"the CRM's {tab} page {number} could not be read")
            yield answer[0]
            if answer[0].last:
                return
            number += 1

    def show_tab(self, tab: str, force: bool = False) -> None:
        if tab == "servers":
            if force:
                self.load_servers()
            return
        wanted = (self.date_from, self.date_to, self.server_tag if tab == "positions" else None)
        table = self.query_one(f"#{tab}-table", LazyTable)
        if not force and self._shown.get(tab) == wanted:
            self.set_status(table.progress())
            return
        params = self._params(tab)
        if params is None:
            self.set_status("positions: pick a server (the server list is in the Servers tab)")
            return
        self._shown[tab] = wanted
        span = f"{self.date_from} → {self.date_to}"
        what = f"{tab} {span}" + (f" on {self.server_tag}" if tab == "positions" else "")
        table.show(self._pages(tab, params), what)
        self.set_status(table.progress())

    @work(group="servers", exclusive=True, exit_on_error=False)
    async def load_servers(self) -> None:
        try:
            servers = await self.ctx.request("crm.servers")
        except Exception as exc:
            self.set_status(f"servers: {describe_exception(exc)}", error=True)
            return
        table = self.query_one("#servers-table", DataTable)
        table.clear()
        table.add_rows((safe_rich(server.platform), safe_rich(server.tag)) for server in servers)
        tags = [server.tag for server in servers]
        if self.server_tag not in tags:
            self.server_tag = tags[0] if tags else ""
        select = self.query_one("#server", Select)
        select.set_options((safe_rich(tag), tag) for tag in tags)
        if self.server_tag:
            select.value = self.server_tag
        if self.active_tab == "positions":
            self.show_tab("positions")

    @property
    def active_tab(self) -> str:
        return self.query_one("#tabs", TabbedContent).active

    def set_status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(safe_rich(text))
        status.set_class(error, "error")

    # -- events ----------------------------------------------------------------------------------

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id:
            self.show_tab(event.pane.id)

    @on(LazyTable.Status)
    def _table_status(self, event: LazyTable.Status) -> None:
        if event.table.id == f"{self.active_tab}-table":
            self.set_status(event.text, event.error)

    @on(Select.Changed, "#server")
    def _server_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.server_tag:
            self.server_tag = event.value
            if self.active_tab == "positions":
                self.show_tab("positions")

    @on(Input.Submitted)
    def _dates_submitted(self, event: Input.Submitted) -> None:
        try:
            first = date.fromisoformat(self.query_one("#date-from", Input).value.strip())
            last = date.fromisoformat(self.query_one("#date-to", Input).value.strip())
        except ValueError:
            self.set_status("dates must be written YYYY-MM-DD", error=True)
            return
        if first > last:
            self.set_status("the first date is after the last one", error=True)
            return
        self.date_from, self.date_to = first, last
        self.show_tab(self.active_tab)
        self.query_one(f"#{self.active_tab}-table").focus()

    # -- actions ---------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss()

    def action_focus_dates(self) -> None:
        self.query_one("#date-from", Input).focus()

    def action_reload(self) -> None:
        self.show_tab(self.active_tab, force=True)

    def action_tab(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab
        self.query_one(f"#{tab}-table").focus()
