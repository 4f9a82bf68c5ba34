"""The B2Core screen on a minimal Textual app, driven by Pilot against the real simulator."""

from __future__ import annotations

from collections import defaultdict
from contextlib import asynccontextmanager
from decimal import Decimal

from textual.app import App
from textual.widgets import DataTable, Input, Select, Static

from dataclasses import replace

from ibmon.errors import ProviderError
from ibmon.testing import ScreenHarness
from ibmon.widgets.format import money
from ibmon_b2core.records import ACCOUNT_TYPES, REQUESTS
from ibmon_b2core.screens import AccountDetailScreen, AccountsScreen, AddAccountScreen
from test_b2core_support import PROVIDER, session_for, sim_of, simulator

DECLARED = replace(PROVIDER, requests=REQUESTS)


class HostStandIn:
    """What the host does with `ctx.run_action`: ask (typing the text when the action wants it),
    then run the action through the feed runtime (which stores what it answers) and report."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.questions: list[str] = []
        self.typed: list[str] = []
        self.reports: list[str] = []
        self.harness: ScreenHarness | None = None

    async def run_action(self, action, target) -> None:
        self.questions.append(action.question(target))
        if action.typed_confirmation is not None:
            self.typed.append(action.typed_confirmation(target))
        if not self.answer:
            return
        try:
            self.reports.append(await self.harness.runtime.run_action(self.harness.name, action, target))
        except ProviderError as exc:
            self.reports.append(exc.message)


class ScreenApp(App):
    def __init__(self, screen) -> None:
        super().__init__()
        self.start_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.start_screen)


@asynccontextmanager
async def opened(accounts: int = 60, answer: bool = True, **settings):
    async with simulator(accounts=accounts, **settings) as running:
        session = session_for(running, page_size=25)
        host = HostStandIn(answer)
        host.harness = harness = ScreenHarness(DECLARED, session, run_action=host.run_action)
        await harness.poll()  # the feed's poll: the screen reads what it stored
        screen = AccountsScreen(harness.context())
        app = ScreenApp(screen)
        try:
            async with app.run_test(size=(160, 30)) as pilot:
                await until(pilot, lambda: screen.loads >= 1)
                yield pilot, screen, running, host
        finally:
            await session.close()


async def until(pilot, predicate, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"not reached: {predicate}")


def table_numbers(screen) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def status_text(screen) -> str:
    return str(screen.query_one("#status", Static).render())


def select_row(screen, account_id: str) -> None:
    table = screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(account_id))


async def test_lists_sorts_and_searches_accounts_with_totals_per_currency():
    async with opened(accounts=60) as (pilot, screen, running, _):
        sim = sim_of(running)
        assert screen.query_one(DataTable).row_count == 60
        assert sorted(table_numbers(screen)) == sorted(a["number"] for a in sim.accounts().values())
        totals = str(screen.query_one("#totals", Static).render())
        expected = defaultdict(Decimal)
        for account in sim.accounts().values():
            expected[account["currency"]] += Decimal(sim.snapshot(account["accountId"])["balance"])
        lines = totals.splitlines()
        assert len(lines) == len(expected)  # one line per currency, no grand total across them
        for currency, balance in expected.items():
            line = next(line for line in lines if line.startswith(currency + " "))
            assert f"balance {money(balance, currency)}" in line  # to the currency's minor units

        # sorting: by number first, reversed with O, by a money column, then the next column with o
        numbers = table_numbers(screen)
        assert numbers == sorted(numbers, key=int)
        await pilot.press("O")
        assert table_numbers(screen) == sorted(numbers, key=int, reverse=True)
        screen.sort_by("balance", reverse=True)
        by_number = {a["number"]: a for a in sim.accounts().values()}
        balances = [by_number[n]["balance"] for n in table_numbers(screen)]
        assert balances == sorted(balances, reverse=True)
        await pilot.press("o")  # the column after balance: equity, ascending
        assert screen.sort_column == "equity" and not screen.sort_reverse
        equities = [by_number[n]["equity"] for n in table_numbers(screen)]
        assert equities == sorted(equities)

        # search by number narrows the table (and its totals)
        await pilot.press("slash")
        assert isinstance(screen.focused, Input)
        await pilot.press(*"50000")
        expected_numbers = sorted(n for n in by_number if "50000" in n)
        assert sorted(table_numbers(screen)) == expected_numbers and 0 < len(expected_numbers) < 60
        shown_currencies = {by_number[n]["currency"] for n in expected_numbers}
        assert len(str(screen.query_one("#totals", Static).render()).splitlines()) == len(shown_currencies)


async def test_each_filter_shows_only_matching_rows_without_asking_the_server_again():
    async with opened(accounts=60) as (pilot, screen, running, _):
        sim = sim_of(running)
        lists = len([r for r in running.control.log() if r.path.endswith("/accounts")])
        platform_id, platform = next(iter(sim.platforms().items()))
        cases = [
            ("platformId", platform_id, lambda a: a["platformId"] == platform_id),
            ("currency", "BTC", lambda a: a["currency"] == "BTC"),
            ("type", "7", lambda a: a["type"] == 7),
            ("archived", "1", lambda a: a["archived"]),
            ("enabled", "0", lambda a: not a["enabled"]),
        ]
        for select_id, value, predicate in cases:
            select = screen.query_one(f"#{select_id}", Select)
            select.value = value
            expected = sorted(a["number"] for a in sim.accounts().values() if predicate(a))
            await until(pilot, lambda: sorted(table_numbers(screen)) == expected)
            assert expected, select_id
            select.clear()
            await until(pilot, lambda: screen.query_one(DataTable).row_count == 60)
        # the store's accounts were filtered on screen: no second fetch of the list
        assert len([r for r in running.control.log() if r.path.endswith("/accounts")]) == lists


async def test_detail_shows_metrics_profile_and_contacts():
    async with opened(accounts=20) as (pilot, screen, running, _):
        sim = sim_of(running)
        raw = next(iter(sim.accounts().values()))
        sim.set_trades(raw["accountId"], 4321)
        select_row(screen, raw["accountId"])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(screen.app.screen, AccountDetailScreen))
        detail = screen.app.screen
        await until(pilot, lambda: "trades: 4321" in str(detail.query_one("#detail", Static).render()))
        text = str(detail.query_one("#detail", Static).render())
        profile = sim.profiles()[raw["profileId"]]
        assert raw["number"] in text and profile["lastName"] in text and profile["contacts"]["email"] in text
        assert ACCOUNT_TYPES[raw["type"]] in text
        await pilot.press("escape")
        assert screen.app.screen is screen


async def test_disable_enable_and_delete_go_through_the_host_confirmation():
    async with opened(accounts=30) as (pilot, screen, running, host):
        sim = sim_of(running)
        raw = next(a for a in sim.accounts().values() if a["enabled"])
        select_row(screen, raw["accountId"])
        loads = screen.loads
        await pilot.press("d")
        await until(pilot, lambda: screen.loads > loads)
        assert sim.accounts()[raw["accountId"]]["enabled"] is False
        assert raw["number"] in host.questions[-1] and host.questions[-1].startswith("Disable")
        row = [str(cell) for cell in screen.query_one(DataTable).get_row(raw["accountId"])]
        assert row[10] == "no"

        select_row(screen, raw["accountId"])
        loads = screen.loads
        await pilot.press("e")
        await until(pilot, lambda: screen.loads > loads)
        assert sim.accounts()[raw["accountId"]]["enabled"] is True
        assert host.questions[-1].startswith("Enable")

        # delete: the host makes the user type the account number
        select_row(screen, raw["accountId"])
        loads = screen.loads
        await pilot.press("delete")
        await until(pilot, lambda: screen.loads > loads)
        assert host.typed == [raw["number"]]
        assert raw["accountId"] not in sim.accounts()
        assert raw["number"] not in table_numbers(screen)


async def test_declined_confirmation_changes_nothing():
    async with opened(accounts=10, answer=False) as (pilot, screen, running, host):
        raw = next(a for a in sim_of(running).accounts().values() if a["enabled"])
        select_row(screen, raw["accountId"])
        await pilot.press("d")
        await until(pilot, lambda: host.questions)
        await pilot.pause(0.1)
        assert sim_of(running).accounts()[raw["accountId"]]["enabled"] is True


async def test_add_account_form_validates_then_shows_server_errors_then_adds():
    async with opened(accounts=10) as (pilot, screen, running, host):
        sim = sim_of(running)
        existing = next(iter(sim.accounts().values()))
        await pilot.press("a")
        await until(pilot, lambda: isinstance(screen.app.screen, AddAccountScreen))
        form = screen.app.screen

        def label(name):
            return str(form.query_one(f"#{name}", Static).render())

        posts = running.control.requests("/api/v2/ib/accounts")
        await pilot.press(*"12a", "enter")
        assert "digits only" in label("number-error")
        assert "choose the platform" in label("platformId-error") and "required" in label("profileId-error")
        assert running.control.requests("/api/v2/ib/accounts") == posts  # nothing was sent

        form.query_one("#number", Input).value = existing["number"]
        form.query_one("#platform", Select).value = existing["platformId"]
        form.query_one("#profile", Input).value = existing["profileId"]
        await pilot.click("#add")
        await until(pilot, lambda: "already been taken" in label("number-error"))
        assert "The given data was invalid." in label("form-error")
        assert isinstance(screen.app.screen, AddAccountScreen)

        form.query_one("#number", Input).value = "8800123"
        form.query_one("#number", Input).focus()
        loads = screen.loads
        await pilot.press("enter")
        await until(pilot, lambda: screen.loads > loads)
        assert screen.app.screen is screen
        assert "8800123" in host.questions[-1]
        created = [a for a in sim.accounts().values() if a["number"] == "8800123"]
        assert len(created) == 1 and created[0]["profileId"] == existing["profileId"]
        assert "8800123" in table_numbers(screen)


async def test_poll_errors_are_shown_in_place_and_escape_closes():
    async with opened(accounts=10) as (pilot, screen, running, host):
        harness = host.harness
        running.control.set_faults(error_rate=1.0)
        await harness.poll()  # the feed's next poll fails: the connection's health says why
        await until(pilot, lambda: "simulated internal error" in status_text(screen))
        assert screen.query_one("#status", Static).has_class("error")
        assert screen.query_one(DataTable).row_count == 10  # the last good list stays
        running.control.set_faults(error_rate=0.0)
        await harness.poll()
        await until(pilot, lambda: "simulated internal error" not in status_text(screen))
        assert not screen.query_one("#status", Static).has_class("error")

        await pilot.press("escape")
        assert screen.app.screen is not screen


async def test_opens_on_the_account_selected_on_the_dashboard():
    async with simulator(accounts=20) as running:
        session = session_for(running)
        harness = ScreenHarness(DECLARED, session)
        await harness.poll()
        chosen = sorted(harness.view.records("account", harness.name).values(), key=lambda a: a.id)[7]
        context = harness.context(selected=chosen)
        assert "client_secret" not in context.options and context.options["page_size"] == 1000  # no secrets
        screen = AccountsScreen(context)
        try:
            async with ScreenApp(screen).run_test(size=(160, 30)) as pilot:
                await until(pilot, lambda: screen.loads >= 1)
                assert screen.selected_account() == chosen
                assert table_numbers(screen) == sorted(table_numbers(screen), key=int)  # sorted as ever
        finally:
            await session.close()
