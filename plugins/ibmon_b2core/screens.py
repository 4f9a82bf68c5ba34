"""The B2Core screen: client accounts with sort, filters and search; account detail; add and delete.

Every network call runs in a worker and its failure is shown in place. Changes (enable, disable,
add, delete) go through `ScreenContext.run_action`, so the host confirms them (typing the account
number for a delete) and refuses them on read-only connections. Every text from the server is
shown literally, through `ibmon.safe`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, Select, Static

from ibmon.sdk import Action, ProviderError, ScreenContext, dec_or_none, describe_exception, safe_text
from ibmon.sdk.ui import money, safe_rich

from .client import B2CoreError
from .records import ACCOUNT_TYPES, MONEY_FIELDS, to_account, type_name, yes_no

if TYPE_CHECKING:  # pragma: no cover
    from .session import B2CoreSession

#: (column key, heading, how a row shows it, how a row sorts by it)
COLUMNS: list[tuple[str, str]] = [
    ("number", "Number"), ("platform", "Platform"), ("group", "Group"), ("type", "Type"),
    ("environment", "Env"), ("currency", "Cur"), ("balance", "Balance"), ("equity", "Equity"),
    ("credit", "Credit"), ("profit", "Profit"), ("enabled", "Enabled"), ("archived", "Archived"),
]
MONEY_COLUMNS = ("balance", "equity", "credit", "profit")
YES_NO = [("yes", "1"), ("no", "0")]
#: Characters of the account detail and of the totals (each value in them is bounded too).
DETAIL_LIMIT = 20_000


def amount(value: Decimal | None) -> str:
    """Every digit the server sent, grouped by thousands (never rounded, never in exponent form)."""
    return "" if value is None else f"{value:,f}"


def cell(row: dict[str, Any], key: str) -> Text:
    """What the table shows for `key` of an account, as safe text."""
    if key in MONEY_COLUMNS:
        value = dec_or_none(row.get(key), key)
        return safe_rich("" if value is None else money(value, row.get("currency")), justify="right")
    if key == "platform":
        value = row.get("platformName")
    elif key == "group":
        value = row.get("platformGroupName")
    elif key == "type":
        value = type_name(row.get("type"))
    elif key in ("enabled", "archived"):
        value = yes_no(row.get(key))
    else:
        value = row.get(key)
    return safe_rich(value or "")


def sort_key(key: str) -> Callable[[dict[str, Any]], Any]:
    def by(row: dict[str, Any]) -> Any:
        if key in MONEY_COLUMNS:
            return dec_or_none(row.get(key), key) or Decimal(0)
        if key == "number":
            number = str(row.get("number") or "")
            return (0, int(number), "") if number.isdigit() else (1, 0, number)
        return cell(row, key).plain

    return by


def platform_options(platforms: dict[str, str]) -> list[tuple[Text, str]]:
    """(name as safe text, platform id), by name."""
    return [(safe_rich(name), pid) for name, pid in sorted((str(name), pid) for pid, name in platforms.items())]


def currency_totals(rows: list[dict[str, Any]]) -> dict[str, dict[str, Decimal]]:
    """Balance, equity and profit summed per currency; different currencies are never added up."""
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        per = totals[row.get("currency") or "?"]
        per["accounts"] += 1
        for name in ("balance", "equity", "profit"):
            per[name] += dec_or_none(row.get(name), name) or Decimal(0)
    return {currency: dict(values) for currency, values in sorted(totals.items())}


def totals_text(rows: list[dict[str, Any]]) -> str:
    lines = [f"{safe_text(currency)}  {int(values['accounts'])} accounts · "
             f"balance {money(values['balance'], currency)} · equity {money(values['equity'], currency)} · "
             f"profit {money(values['profit'], currency)}"
             for currency, values in currency_totals(rows).items()]
    return "\n".join(lines) or "no accounts"


async def run_through_host(ctx: ScreenContext, action: Action, target: Any) -> tuple[str | None, ProviderError | None]:
    """Run `action` through the host (which confirms it) and learn how it ended: (message, None),
    (None, error), or (None, None) when the user declined."""
    outcome: dict[str, Any] = {}

    async def run(value: Any) -> str:
        try:
            outcome["message"] = await action.run(value)
        except ProviderError as exc:
            outcome["error"] = exc
            raise
        except Exception as exc:
            outcome["error"] = ProviderError(f"{action.title} failed: {describe_exception(exc)}")
            raise
        return outcome["message"]

    try:
        await ctx.run_action(replace(action, run=run), target)
    except ProviderError as exc:  # a host that reports by raising (e.g. read-only refusals)
        outcome.setdefault("error", exc)
    return outcome.get("message"), outcome.get("error")


class AccountsScreen(Screen):
    """All client accounts of the connection, as the API lists them."""

    DEFAULT_CSS = """
    AccountsScreen #filters { height: auto; }
    AccountsScreen #filters Input { width: 20; }
    AccountsScreen #filters Select { width: 22; }
    AccountsScreen #accounts { height: 1fr; }
    AccountsScreen #totals { height: auto; max-height: 8; padding: 0 1; border-top: solid $primary; }
    AccountsScreen #status { height: auto; padding: 0 1; }
    AccountsScreen #status.error { color: $error; text-style: bold; }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("r", "reload", "Reload"),
        Binding("slash", "search", "Search"),
        Binding("o", "sort", "Sort: next column"),
        Binding("O", "reverse", "Reverse order"),
        Binding("e", "switch(True)", "Enable"),
        Binding("d", "switch(False)", "Disable"),
        Binding("a", "add", "Add account"),
        Binding("delete,D", "delete", "Delete"),
    ]

    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.session: B2CoreSession = ctx.session  # type: ignore[assignment]
        self.rows: list[dict[str, Any]] = []
        self.shown: list[dict[str, Any]] = []
        self.platforms: dict[str, str] = {}
        self.sort_column = "number"
        self.sort_reverse = False
        self.loads = 0

    def compose(self) -> ComposeResult:
        yield Static(safe_rich(f"B2Core accounts · {self.ctx.connection}"), id="title")
        with Horizontal(id="filters"):
            yield Input(placeholder="Search number", id="search")
            yield Select([], prompt="Platform", id="platformId")
            yield Select([], prompt="Currency", id="currency")
            yield Select([(name, str(code)) for code, name in ACCOUNT_TYPES.items()], prompt="Type", id="type")
            yield Select(YES_NO, prompt="Archived", id="archived")
            yield Select(YES_NO, prompt="Enabled", id="enabled")
        table: DataTable = DataTable(id="accounts", cursor_type="row", zebra_stripes=True)
        for key, heading in COLUMNS:
            table.add_column(heading, key=key)
        yield table
        yield Static("", id="totals")
        yield Static("loading…", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.load_accounts()

    # -- loading -----------------------------------------------------------------------------------

    def filters(self) -> dict[str, Any]:
        """The connection's own filters, then the screen's selections over them."""
        chosen = dict(self.session.filters)
        for select in self.query(Select):
            if select.id and select.value is not Select.NULL:
                chosen[select.id] = select.value
        return chosen

    @work(exclusive=True, group="load")
    async def load_accounts(self) -> None:
        self.set_status("loading…")
        try:
            rows = await self.session.client.list_accounts(filters=self.filters())
        except ProviderError as exc:
            self.set_status(exc.message, error=True)
            return
        self.rows = rows
        self.loads += 1
        self._learn_choices(rows)
        self.refresh_table()
        self.set_status(self.summary())

    def _learn_choices(self, rows: list[dict[str, Any]]) -> None:
        """Fill the platform and currency choices from the first list (they do not change often)."""
        if self.platforms:
            return
        self.platforms = {row["platformId"]: row.get("platformName") or row["platformId"]
                          for row in rows if row.get("platformId")}
        self.query_one("#platformId", Select).set_options(platform_options(self.platforms))
        currencies = sorted({str(row["currency"]) for row in rows if row.get("currency")})
        self.query_one("#currency", Select).set_options([(safe_rich(c), c) for c in currencies])

    def refresh_table(self) -> None:
        table = self.query_one(DataTable)
        search = self.query_one("#search", Input).value.strip()
        shown = [row for row in self.rows if search in str(row.get("number", ""))]
        shown.sort(key=sort_key(self.sort_column), reverse=self.sort_reverse)
        self.shown = shown
        selected = self.selected_row()
        table.clear()
        for row in shown:
            table.add_row(*(cell(row, key) for key, _ in COLUMNS), key=row["accountId"])
        if selected is not None:
            index = next((i for i, row in enumerate(shown) if row["accountId"] == selected["accountId"]), None)
            if index is not None:
                table.move_cursor(row=index)
        self.query_one("#totals", Static).update(safe_rich(totals_text(shown), limit=DETAIL_LIMIT, multiline=True))

    def summary(self) -> str:
        order = " (descending)" if self.sort_reverse else ""
        return f"{len(self.shown)} of {len(self.rows)} accounts · sorted by {self.sort_column}{order}"

    def set_status(self, text: str, *, error: bool = False) -> None:
        widget = self.query_one("#status", Static)
        widget.update(safe_rich(text))
        widget.set_class(error, "error")

    def selected_row(self) -> dict[str, Any] | None:
        table = self.query_one(DataTable)
        if not self.shown or table.row_count == 0:
            return None
        index = table.cursor_row
        return self.shown[index] if 0 <= index < len(self.shown) else None

    # -- events ------------------------------------------------------------------------------------

    @on(Select.Changed)
    def _filter_changed(self) -> None:
        self.load_accounts()

    @on(Input.Changed, "#search")
    def _search_changed(self) -> None:
        self.refresh_table()
        self.set_status(self.summary())

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.query_one(DataTable).focus()

    @on(DataTable.HeaderSelected)
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        self.sort_by(str(event.column_key.value))

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        row = self.selected_row()
        if row is not None:
            self.app.push_screen(AccountDetailScreen(self.session, row))

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        """Sort by `column`; choosing the same column again reverses the order."""
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_reverse = reverse
        self.sort_column = column
        self.refresh_table()
        self.set_status(self.summary())

    # -- actions -----------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.load_accounts()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_sort(self) -> None:
        """Sort by the next column (clicking a heading sorts by that one)."""
        keys = [key for key, _ in COLUMNS]
        self.sort_by(keys[(keys.index(self.sort_column) + 1) % len(keys)], reverse=False)

    def action_reverse(self) -> None:
        self.sort_by(self.sort_column, reverse=not self.sort_reverse)

    def action_switch(self, enable: bool) -> None:
        row = self.selected_row()
        if row is None:
            return
        action = next(a for a in self.session.actions() if a.id == f"b2core.{'enable' if enable else 'disable'}")
        account = to_account(row)
        if not action.is_available(account):
            self.set_status(f"account {safe_text(row.get('number'))} is already {'enabled' if enable else 'disabled'}")
            return
        self.run_change(action, account)

    def action_delete(self) -> None:
        row = self.selected_row()
        if row is not None:
            self.run_change(self.session.delete_action(), to_account(row))

    def action_add(self) -> None:
        def added(message: str | None) -> None:
            if message:
                self.set_status(message)
                self.load_accounts()

        self.app.push_screen(AddAccountScreen(self.ctx, dict(self.platforms)), added)

    @work(exclusive=True, group="change")
    async def run_change(self, action: Action, target: Any) -> None:
        message, error = await run_through_host(self.ctx, action, target)
        if error is not None:
            self.set_status(error.message, error=True)
        elif message:
            self.set_status(message)
            self.load_accounts()


class AccountDetailScreen(ModalScreen[None]):
    """One account with its platform, profile, contacts and metrics, as far as the API gives them."""

    DEFAULT_CSS = """
    AccountDetailScreen { align: center middle; }
    AccountDetailScreen > VerticalScroll { width: 90; height: 80%; border: thick $primary; padding: 0 1;
                                           background: $surface; }
    AccountDetailScreen .error { color: $error; text-style: bold; }
    """
    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(self, session: B2CoreSession, row: dict[str, Any]) -> None:
        super().__init__()
        self.session = session
        self.row = row

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.describe(self.row, None), id="detail")
            yield Static("loading details…", id="detail-status")

    def on_mount(self) -> None:
        self.load_detail()

    @work(exclusive=True)
    async def load_detail(self) -> None:
        status = self.query_one("#detail-status", Static)
        try:
            detail = await self.session.client.account(self.row["accountId"])
            metrics = await self.session.client.metrics(self.row["accountId"])
        except ProviderError as exc:
            status.update(safe_rich(exc.message))
            status.add_class("error")
            return
        self.query_one("#detail", Static).update(self.describe(detail, metrics))
        status.update("")

    @staticmethod
    def describe(item: dict[str, Any], metrics: dict[str, Any] | None) -> Text:
        """The account as lines of safe text (each value on one line, bounded)."""
        def get(key: str) -> str:
            return safe_text(item.get(key))

        lines = [f"Account {get('number')} · {get('platformName')} · {get('platformGroupName')}",
                 f"id {get('accountId')} · profile {get('profileId')}",
                 f"type {safe_text(type_name(item.get('type')))} · {get('environment')} · "
                 f"enabled {yes_no(item.get('enabled'))} · archived {yes_no(item.get('archived'))}",
                 f"currency {get('currency')}", ""]
        for name in MONEY_FIELDS:
            lines.append(f"{name:<12} {amount(dec_or_none(item.get(name), name))}")
        lines.append(f"created {get('createTime')} · updated {get('updateTime')}")
        if item.get("uuid"):
            lines.append(f"uuid {get('uuid')}")
        if metrics is not None:
            lines += ["", "Metrics", *(f"  {safe_text(key)}: {safe_text(value)}" for key, value in metrics.items())]
        for section in ("platform", "profile", "contacts"):
            value = item.get(section)
            if isinstance(value, dict) and value:
                lines += ["", section.capitalize(),
                          *(f"  {safe_text(key)}: {safe_text(val)}" for key, val in value.items())]
        return safe_rich("\n".join(lines), limit=DETAIL_LIMIT, multiline=True)


class AddAccountScreen(ModalScreen[str | None]):
    """Add an account (number, platform, profile); dismissed with the host's message once added."""

    DEFAULT_CSS = """
    AddAccountScreen { align: center middle; }
    AddAccountScreen > Vertical { width: 70; height: auto; border: thick $primary; padding: 1 2;
                                  background: $surface; }
    AddAccountScreen .field-error, AddAccountScreen #form-error { color: $error; height: auto; }
    AddAccountScreen #buttons { height: auto; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, ctx: ScreenContext, platforms: dict[str, str]) -> None:
        super().__init__()
        self.ctx = ctx
        self.session: B2CoreSession = ctx.session  # type: ignore[assignment]
        self.platforms = platforms

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Add an account to the IB module")
            yield Input(placeholder="Account number on the platform", id="number")
            yield Label("", id="number-error", classes="field-error")
            yield Select(platform_options(self.platforms), prompt="Platform", id="platform")
            yield Label("", id="platformId-error", classes="field-error")
            yield Input(placeholder="Profile id", id="profile")
            yield Label("", id="profileId-error", classes="field-error")
            yield Label("", id="form-error")
            with Horizontal(id="buttons"):
                yield Button("Add", variant="primary", id="add")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#number", Input).focus()

    def check_form(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        number = self.query_one("#number", Input).value.strip()
        if not number:
            problems["number"] = "the account number is required"
        elif not number.isdigit():
            problems["number"] = "the account number has digits only"
        if self.query_one("#platform", Select).value is Select.NULL:
            problems["platformId"] = "choose the platform"
        profile = self.query_one("#profile", Input).value.strip()
        if not profile:
            problems["profileId"] = "the profile id is required"
        elif any(ch.isspace() for ch in profile):
            problems["profileId"] = "the profile id has no spaces"
        return problems

    def show_problems(self, problems: dict[str, str], message: str = "") -> None:
        for name in ("number", "platformId", "profileId"):
            self.query_one(f"#{name}-error", Label).update(safe_rich(problems.get(name, "")))
        self.query_one("#form-error", Label).update(safe_rich(message))

    @on(Input.Submitted)
    @on(Button.Pressed, "#add")
    def submit_form(self) -> None:
        problems = self.check_form()
        self.show_problems(problems)
        if problems:
            return
        platform_id = str(self.query_one("#platform", Select).value)
        self.create_account(self.query_one("#number", Input).value.strip(), platform_id,
                    self.query_one("#profile", Input).value.strip())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @work(exclusive=True)
    async def create_account(self, number: str, platform_id: str, profile_id: str) -> None:
        action = self.session.create_action(number, platform_id, self.platforms.get(platform_id, platform_id),
                                            profile_id)
        message, error = await run_through_host(self.ctx, action, None)
        if error is not None:
            fields = error.fields if isinstance(error, B2CoreError) else {}
            self.show_problems({name: " ".join(problems) for name, problems in fields.items()}, error.message)
        elif message:
            self.dismiss(message)
