"""The B2Core screen: the connection's client accounts with sort, filters and search; account
detail; add and delete.

The accounts are the connection's account records in the store (what the feed's polls deliver):
sorting, filters and search work on them locally, so the screen never fetches the list again.
An account's detail and metrics are asked for on demand (`b2core.account_detail`), in a worker,
and a failure is shown in place. Changes (enable, disable, add, delete) go through
`ScreenContext.run_action`, so the host confirms them (typing the account number for a delete)
and refuses them on read-only connections; the accounts the API answers with reach the store (and
this screen) at once. Every text from the server is shown literally, through `ibmon.safe`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, Select, Static

from ibmon.sdk import Account, Action, ActionResult, HealthState, ProviderError, ScreenContext, describe_exception, safe_text
from ibmon.sdk.ui import money, safe_rich, watch_store

from .client import B2CoreError
from .records import ACCOUNT_TYPES, AccountDetail, NewAccount, facts

#: (column key, heading)
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


def value_of(account: Account, key: str) -> str:
    """The text of column `key` of an account (its facts, as the session read them)."""
    if key == "currency":
        return account.currency or ""
    if key == "number":
        return facts(account).get("number") or account.number
    return facts(account).get(key) or ""


def cell(account: Account, key: str) -> Text:
    """What the table shows for `key` of an account, as safe text."""
    if key in MONEY_COLUMNS:
        value = getattr(account, key)
        return safe_rich("" if value is None else money(value, account.currency), justify="right")
    return safe_rich(value_of(account, key))


def sort_key(key: str) -> Callable[[Account], Any]:
    def by(account: Account) -> Any:
        if key in MONEY_COLUMNS:
            return getattr(account, key) or Decimal(0)
        if key == "number":
            number = value_of(account, "number")
            return (0, int(number), "") if number.isdigit() else (1, 0, number)
        return value_of(account, key)

    return by


#: The filters: select id -> how an account's value compares with the chosen one.
FILTERS: dict[str, Callable[[Account, str], bool]] = {
    "platformId": lambda a, v: facts(a).get("platform_id") == v,
    "currency": lambda a, v: a.currency == v,
    "type": lambda a, v: facts(a).get("type") == ACCOUNT_TYPES.get(int(v), f"type {v}"),
    "archived": lambda a, v: facts(a).get("archived") == ("yes" if v == "1" else "no"),
    "enabled": lambda a, v: facts(a).get("enabled") == ("yes" if v == "1" else "no"),
}


def platform_options(platforms: dict[str, str]) -> list[tuple[Text, str]]:
    """(name as safe text, platform id), by name."""
    return [(safe_rich(name), pid) for name, pid in sorted((str(name), pid) for pid, name in platforms.items())]


def currency_totals(accounts: list[Account]) -> dict[str, dict[str, Decimal]]:
    """Balance, equity and profit summed per currency; different currencies are never added up."""
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for account in accounts:
        per = totals[account.currency or "?"]
        per["accounts"] += 1
        for name in ("balance", "equity", "profit"):
            per[name] += getattr(account, name) or Decimal(0)
    return {currency: dict(values) for currency, values in sorted(totals.items())}


def totals_text(accounts: list[Account]) -> str:
    lines = [f"{safe_text(currency)}  {int(values['accounts'])} accounts · "
             f"balance {money(values['balance'], currency)} · equity {money(values['equity'], currency)} · "
             f"profit {money(values['profit'], currency)}"
             for currency, values in currency_totals(accounts).items()]
    return "\n".join(lines) or "no accounts"


async def run_through_host(ctx: ScreenContext, action: Action, target: Any) -> tuple[str | None, ProviderError | None]:
    """Run `action` through the host (which confirms it) and learn how it ended: (message, None),
    (None, error), or (None, None) when the user declined."""
    outcome: dict[str, Any] = {}

    async def run(value: Any) -> Any:
        try:
            result = await action.run(value)
        except ProviderError as exc:
            outcome["error"] = exc
            raise
        except Exception as exc:
            outcome["error"] = ProviderError(f"{action.title} failed: {describe_exception(exc)}")
            raise
        outcome["message"] = result.message if isinstance(result, ActionResult) else result
        return result

    try:
        await ctx.run_action(replace(action, run=run), target)
    except ProviderError as exc:  # a host that reports by raising (e.g. read-only refusals)
        outcome.setdefault("error", exc)
    return outcome.get("message"), outcome.get("error")


def action_of(ctx: ScreenContext, action_id: str) -> Action:
    return next(a for a in ctx.actions() if a.id == action_id)


class AccountsScreen(Screen):
    """All client accounts of the connection, as its polls deliver them."""

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
        self.accounts: list[Account] = []
        self.shown: list[Account] = []
        self.platforms: dict[str, str] = {}
        self.sort_column = "number"
        self.sort_reverse = False
        #: Times the table was rebuilt from the store.
        self.loads = 0
        self.message = ""
        self.message_is_error = False
        self._preselect = ctx.selected.id if isinstance(ctx.selected, Account) else None
        self._watcher = watch_store(self, ctx.view, ("account", "health"), self.load_accounts)

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
        yield Static("waiting for the first poll…", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.load_accounts()

    def on_unmount(self) -> None:
        self.ctx.view.unwatch(self._watcher)

    # -- the store -------------------------------------------------------------------------------

    def load_accounts(self) -> None:
        """The connection's accounts from the store, into the table (when they changed)."""
        watcher = self._watcher
        watcher.rearm()
        changed = watcher.drain("account")
        health_changed = watcher.drain("health")
        if changed or not self.loads:
            self.accounts = list(self.ctx.view.records("account", self.ctx.connection).values())
            self.loads += 1
            self._learn_choices(self.accounts)
            self.refresh_table()
        if changed or health_changed or self.loads == 1:
            self.set_status(self.summary())

    def _learn_choices(self, accounts: list[Account]) -> None:
        """Fill the platform and currency choices from the accounts seen (they do not change often)."""
        platforms = {facts(a)["platform_id"]: facts(a).get("platform") or facts(a)["platform_id"]
                     for a in accounts if facts(a).get("platform_id")}
        if platforms.keys() - self.platforms.keys():
            self.platforms.update(platforms)
            self.query_one("#platformId", Select).set_options(platform_options(self.platforms))
            currencies = sorted({a.currency for a in accounts if a.currency})
            self.query_one("#currency", Select).set_options([(safe_rich(c), c) for c in currencies])

    def filters(self) -> dict[str, str]:
        """The screen's filter selections (the connection's own `filters` narrowed what is polled)."""
        return {select.id: str(select.value) for select in self.query(Select)
                if select.id in FILTERS and select.value is not Select.NULL}

    def refresh_table(self) -> None:
        table = self.query_one(DataTable)
        search = self.query_one("#search", Input).value.strip()
        chosen = self.filters()
        shown = [a for a in self.accounts if search in value_of(a, "number")
                 and all(FILTERS[name](a, value) for name, value in chosen.items())]
        shown.sort(key=sort_key(self.sort_column), reverse=self.sort_reverse)
        self.shown = shown
        selected = self.selected_account()
        wanted = self._preselect or (selected.id if selected is not None else None)
        table.clear()
        for account in shown:
            table.add_row(*(cell(account, key) for key, _ in COLUMNS), key=account.id)
        index = next((i for i, a in enumerate(shown) if a.id == wanted), None)
        if index is not None:
            table.move_cursor(row=index)
            self._preselect = None
        self.query_one("#totals", Static).update(safe_rich(totals_text(shown), limit=DETAIL_LIMIT, multiline=True))

    def summary(self) -> str:
        order = " (descending)" if self.sort_reverse else ""
        text = f"{len(self.shown)} of {len(self.accounts)} accounts · sorted by {self.sort_column}{order}"
        health = self.ctx.view.health(self.ctx.connection)
        if health is not None and health.state is not HealthState.LIVE:
            text += f" · {health.describe()}"
        return f"{self.message} · {text}" if self.message else text

    def set_status(self, text: str, *, error: bool = False) -> None:
        health = self.ctx.view.health(self.ctx.connection)
        error = error or self.message_is_error or (
            health is not None and health.state in (HealthState.ERROR, HealthState.RECONNECTING))
        widget = self.query_one("#status", Static)
        widget.update(safe_rich(text))
        widget.set_class(error, "error")

    def say(self, message: str, *, error: bool = False) -> None:
        """A message of the screen's own (an action's outcome), kept on the status line."""
        self.message, self.message_is_error = message, error
        self.set_status(self.summary())

    def selected_account(self) -> Account | None:
        table = self.query_one(DataTable)
        if not self.shown or table.row_count == 0:
            return None
        index = table.cursor_row
        return self.shown[index] if 0 <= index < len(self.shown) else None

    # -- events ------------------------------------------------------------------------------------

    @on(Select.Changed)
    def _filter_changed(self) -> None:
        self.refresh_table()
        self.set_status(self.summary())

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
        account = self.selected_account()
        if account is not None:
            self.app.push_screen(AccountDetailScreen(self.ctx, account))

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

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_sort(self) -> None:
        """Sort by the next column (clicking a heading sorts by that one)."""
        keys = [key for key, _ in COLUMNS]
        self.sort_by(keys[(keys.index(self.sort_column) + 1) % len(keys)], reverse=False)

    def action_reverse(self) -> None:
        self.sort_by(self.sort_column, reverse=not self.sort_reverse)

    def action_switch(self, enable: bool) -> None:
        account = self.selected_account()
        if account is None:
            return
        action = action_of(self.ctx, f"b2core.{'enable' if enable else 'disable'}")
        if not action.is_available(account):
            self.say(f"account {safe_text(value_of(account, 'number'))} is already "
                     f"{'enabled' if enable else 'disabled'}")
            return
        self.run_change(action, account)

    def action_delete(self) -> None:
        account = self.selected_account()
        if account is not None:
            self.run_change(action_of(self.ctx, "b2core.delete"), account)

    def action_add(self) -> None:
        def added(message: str | None) -> None:
            if message:
                self.say(message)

        self.app.push_screen(AddAccountScreen(self.ctx, dict(self.platforms)), added)

    @work(exclusive=True, group="change")
    async def run_change(self, action: Action, target: Any) -> None:
        message, error = await run_through_host(self.ctx, action, target)
        if error is not None:
            self.say(error.message, error=True)
        elif message:
            self.say(message)


class AccountDetailScreen(ModalScreen[None]):
    """One account with its platform, profile, contacts and metrics, as far as the API gives them."""

    DEFAULT_CSS = """
    AccountDetailScreen { align: center middle; }
    AccountDetailScreen > VerticalScroll { width: 90; height: 80%; border: thick $primary; padding: 0 1;
                                           background: $surface; }
    AccountDetailScreen .error { color: $error; text-style: bold; }
    """
    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(self, ctx: ScreenContext, account: Account) -> None:
        super().__init__()
        self.ctx = ctx
        self.account = account

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.summary(self.account), id="detail")
            yield Static("loading details…", id="detail-status")

    def on_mount(self) -> None:
        self.load_detail()

    @work(exclusive=True)
    async def load_detail(self) -> None:
        status = self.query_one("#detail-status", Static)
        try:
            [detail] = await self.ctx.request("b2core.account_detail", account_id=self.account.id)
        except (ProviderError, ValueError) as exc:
            status.update(safe_rich(exc.message if isinstance(exc, ProviderError) else "no detail answered"))
            status.add_class("error")
            return
        self.query_one("#detail", Static).update(self.describe(detail))
        status.update("")

    @staticmethod
    def summary(account: Account) -> Text:
        """What the store knows of the account, until its detail arrives."""
        info = facts(account)
        lines = [f"Account {safe_text(info.get('number'))} · {safe_text(info.get('platform'))} · "
                 f"{safe_text(info.get('group'))}", f"id {safe_text(account.id)}",
                 f"currency {safe_text(account.currency)}"]
        return safe_rich("\n".join(lines), limit=DETAIL_LIMIT, multiline=True)

    @staticmethod
    def describe(detail: AccountDetail) -> Text:
        """The account as lines of safe text (each value on one line, bounded)."""
        info = dict(detail.facts)

        def get(key: str) -> str:
            return safe_text(info.get(key))

        lines = [f"Account {get('number')} · {get('platformName')} · {get('platformGroupName')}",
                 f"id {get('accountId')} · profile {get('profileId')}",
                 f"type {get('type')} · {get('environment')} · enabled {get('enabled')} · archived {get('archived')}",
                 f"currency {get('currency')}", ""]
        for name, value in detail.amounts:
            lines.append(f"{name:<12} {amount(value)}")
        lines.append(f"created {get('createTime')} · updated {get('updateTime')}")
        if info.get("uuid"):
            lines.append(f"uuid {get('uuid')}")
        if detail.metrics:
            lines += ["", "Metrics", *(f"  {safe_text(key)}: {safe_text(value)}" for key, value in detail.metrics)]
        for section in ("platform", "profile", "contacts"):
            items = [(key, value) for name, key, value in detail.sections if name == section]
            if items:
                lines += ["", section.capitalize(), *(f"  {safe_text(key)}: {safe_text(val)}" for key, val in items)]
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
        new = NewAccount(number, platform_id, self.platforms.get(platform_id, platform_id), profile_id)
        message, error = await run_through_host(self.ctx, action_of(self.ctx, "b2core.create"), new)
        if error is not None:
            fields = error.fields if isinstance(error, B2CoreError) else {}
            self.show_problems({name: " ".join(problems) for name, problems in fields.items()}, error.message)
        elif message:
            self.dismiss(message)
