"""The cTrader session against its simulator: records exact to the cent, computed equity, the
watchlist, demo deposit/withdraw actions, and failures as the feed runtime shows them."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

import ibmon_ctrader
from ibmon.errors import AuthError, ProviderError
from ibmon.feeds import Backoff, FeedRuntime
from ibmon.model import HealthState
from ibmon.store import Store
from ibmon.testing import make_context, simulator_in_thread, wait_for
from ibmon_ctrader.sim import SYMBOLS, start

LIVE_USD, DEMO_EUR, DEMO_GBP, LIVE_JPY, DELETED = 5_010_001, 5_010_002, 5_010_003, 5_010_004, 5_010_005


class Recorder:
    """A sink with the feed runtime's semantics over a real Store. (ibmon.testing.RecordingSink
    cannot take full refreshes: its dicts `accounts` and `positions` shadow the Sink methods
    `accounts()` and `positions()`.)"""

    def __init__(self) -> None:
        self.store = Store()
        self.notes: tuple[str, ...] = ()

    def accounts(self, accounts) -> None:
        self.store.replace_accounts("ct", accounts)

    def positions(self, positions, *, account=None) -> None:
        self.store.replace_positions("ct", positions, account)

    def tick(self, tick) -> None:
        self.store.set_tick("ct", tick)

    def note(self, *notes: str) -> None:
        self.notes = notes

    @property
    def account_map(self):
        return self.store.accounts.get("ct", {})

    @property
    def position_map(self):
        return self.store.positions.get("ct", {})

    @property
    def tick_map(self):
        return self.store.ticks.get("ct", {})


def provider():
    found = []
    ibmon_ctrader.ibmon_providers(found.append)
    return found[0]


@pytest.fixture(scope="module")
def shared():
    # One simulator for the module, on a loop of its own thread; its ticker stays still.
    with simulator_in_thread(start, interval=3600, seed=11) as running:
        yield running


@pytest.fixture
def running(shared):
    """The shared simulator with its knobs and clock reset and its request log emptied."""
    control = shared.control
    control.clear_faults()
    control.shift_clock(0)
    control.restore_token()
    control.clear_log()
    return shared


@pytest.fixture
def sim(running):
    return running.control


@pytest.fixture
def token(running):
    return running.connections[0]["access_token"]


def connect(running, **options):
    settings = {"base_url": running.endpoints["api"], "access_token": running.connections[0]["access_token"],
                "symbols": ["EURUSD", "USDJPY", "XAUUSD"], **options}
    return provider().connect(make_context(provider(), name="ct", **settings))


@pytest.fixture
async def session(running):
    session = connect(running)
    yield session
    await session.close()


def expected_result(sim, account_id):
    """Open positions' profit + swap + commission in cents, from the simulator's own view."""
    return sim.floating_result(account_id)


async def test_poll_delivers_accounts_exact_to_the_cent_with_computed_equity(sim, session):
    sim.set_account(DEMO_GBP, balance=123_456_789)
    sink = Recorder()
    await session.poll(sink)

    assert set(sink.account_map) == {str(LIVE_USD), str(DEMO_EUR), str(DEMO_GBP), str(LIVE_JPY)}  # deleted one left out
    gbp = sink.account_map[str(DEMO_GBP)]
    assert gbp.balance == Decimal("1234567.89") and str(gbp.balance) == "1234567.89"
    assert gbp.currency == "GBP" and gbp.computed == frozenset({"equity", "profit"})
    for account_id in (LIVE_USD, DEMO_EUR, DEMO_GBP, LIVE_JPY):
        account = sink.account_map[str(account_id)]
        result = Decimal(expected_result(sim, account_id)).scaleb(-2)
        assert account.balance == Decimal(sim.account(account_id).balance).scaleb(-2)
        assert account.profit == result and account.equity == account.balance + result
    extra = dict(sink.account_map[str(LIVE_JPY)].extra)
    assert extra["type"] == "live" and extra["leverage"] == "1:100" and extra["broker"]
    assert dict(sink.account_map[str(DEMO_EUR)].extra)["type"] == "demo"


async def test_positions_map_side_volume_prices_and_profit(sim, session):
    sink = Recorder()
    await session.poll(sink)
    raw = {str(p["positionId"]): (str(a.id), p) for a in sim.accounts().values() if not a.deleted
           for p in sim.positions_json(a.id)}
    assert {key[1] for key in sink.position_map} == set(raw)
    for (account_id, position_id), position in sink.position_map.items():
        owner, p = raw[position_id]
        assert account_id == owner and position.symbol == p["symbolName"]
        assert position.side == {"BUY": "buy", "SELL": "sell"}[p["tradeSide"]]
        assert position.volume == Decimal(p["volume"]).scaleb(-2)
        assert position.open_price == Decimal(repr(p["entryPrice"]))
        assert position.current_price == Decimal(repr(p["currentPrice"]))
        assert -position.current_price.as_tuple().exponent == SYMBOLS[p["symbolName"]].digits
        assert position.profit == Decimal(p["profit"]).scaleb(-2)
        assert dict(position.extra)["swap"] == str(Decimal(p["swap"]).scaleb(-2))


async def test_profit_and_equity_follow_moving_prices(sim, session):
    sink = Recorder()
    await session.poll(sink)
    before = sink.account_map[str(LIVE_USD)].equity
    sim.shift_clock(5_400_000)  # an hour and a half later
    await session.poll(sink)
    after = sink.account_map[str(LIVE_USD)]
    assert after.equity != before
    assert after.equity == after.balance + Decimal(expected_result(sim, LIVE_USD)).scaleb(-2)


async def test_watchlist_ticks_carry_the_last_quotes_and_the_poll_time(running, sim):
    session = connect(running, symbols=["EURUSD", "XAUUSD", "NOPE"])
    sink = Recorder()
    try:
        await session.poll(sink)
    finally:
        await session.close()
    assert set(sink.tick_map) == {"EURUSD", "XAUUSD"}
    for name, tick in sink.tick_map.items():
        assert (tick.bid, tick.ask) == sim.quotes()[name] and tick.ask > tick.bid
        # JSON numbers drop trailing zeros; ticks show the symbol's digits again
        assert str(tick.bid) == str(sim.quotes()[name][0]) and str(tick.ask) == str(sim.quotes()[name][1])
        assert abs(tick.time - sim.now()) < 10_000
    assert any("NOPE" in note for note in sink.notes)


async def test_accounts_option_filters_and_notes_missing_ones(running):
    session = connect(running, accounts=[str(DEMO_EUR), str(LIVE_JPY), "42"])
    sink = Recorder()
    try:
        await session.poll(sink)
    finally:
        await session.close()
    assert set(sink.account_map) == {str(DEMO_EUR), str(LIVE_JPY)}
    assert {key[0] for key in sink.position_map} == {str(DEMO_EUR), str(LIVE_JPY)}
    assert any("42" in note for note in sink.notes)


async def test_no_configured_account_found_is_a_permanent_error(running):
    session = connect(running, accounts=["42", str(DELETED)])
    try:
        with pytest.raises(ProviderError) as caught:
            await session.poll(Recorder())
    finally:
        await session.close()
    assert caught.value.permanent and "accounts option" in caught.value.message


async def test_an_account_gone_from_the_trading_server_is_noted_and_the_others_go_on(sim, session):
    sink = Recorder()
    await session.poll(sink)
    kept = {key: p for key, p in sink.position_map.items() if key[0] == str(DEMO_GBP)}
    sim.set_account(DEMO_GBP, lost=True)
    try:
        await session.poll(sink)
        gbp = sink.account_map[str(DEMO_GBP)]
        assert gbp.balance == Decimal(sim.account(DEMO_GBP).balance).scaleb(-2)
        assert gbp.equity is None and gbp.profit is None and not gbp.computed
        assert kept and {k: p for k, p in sink.position_map.items() if k[0] == str(DEMO_GBP)} == kept
        assert any("CH_TRADER_ACCOUNT_NOT_FOUND" in note for note in sink.notes)
        assert sink.account_map[str(DEMO_EUR)].equity is not None
        for account_id in sim.accounts():
            sim.set_account(account_id, lost=True)
        with pytest.raises(ProviderError, match="CH_TRADER_ACCOUNT_NOT_FOUND"):
            await session.poll(sink)
    finally:
        for account_id in sim.accounts():
            sim.set_account(account_id, lost=False)


# -- quick actions -----------------------------------------------------------------------------------

def action(session, action_id):
    return next(a for a in session.actions() if a.id == action_id)


async def test_demo_deposit_then_withdraw(running, sim):
    session = connect(running, demo_amount=250.5)
    sink = Recorder()
    try:
        await session.poll(sink)
        eur = sink.account_map[str(DEMO_EUR)]
        deposit = action(session, "ctrader.demo_deposit")
        assert deposit.mutating and deposit.target == "account"
        assert deposit.is_available(eur) and not deposit.is_available(sink.account_map[str(LIVE_USD)])
        question = deposit.question(eur)
        assert "250.50 EUR" in question and eur.name in question and str(DEMO_EUR) in question

        before = sim.account(DEMO_EUR).balance
        message = await deposit.run(eur)
        assert sim.account(DEMO_EUR).balance == before + 25_050
        assert "250.50 EUR" in message and str(Decimal(before + 25_050).scaleb(-2)) in message
        assert sim.account(DEMO_EUR).cashflow[-1]["delta"] == 25_050

        await session.poll(sink)
        assert sink.account_map[str(DEMO_EUR)].balance == Decimal(before + 25_050).scaleb(-2)

        await action(session, "ctrader.demo_withdraw").run(sink.account_map[str(DEMO_EUR)])
        assert sim.account(DEMO_EUR).balance == before
        assert sim.account(DEMO_EUR).cashflow[-1]["type"] == "WITHDRAW"
    finally:
        await session.close()


async def test_live_account_refuses_a_deposit_even_when_called(running, sim, session):
    sink = Recorder()
    await session.poll(sink)
    live = sink.account_map[str(LIVE_USD)]
    before = sim.account(LIVE_USD).balance
    for action_id in ("ctrader.demo_deposit", "ctrader.demo_withdraw"):
        with pytest.raises(ProviderError, match="live account"):
            await action(session, action_id).run(live)
    assert sim.account(LIVE_USD).balance == before
    assert not running.control.log(method="POST")


async def test_an_amount_finer_than_cents_is_refused(running, sim):
    session = connect(running, demo_amount=0.015)
    sink = Recorder()
    try:
        await session.poll(sink)
        with pytest.raises(ProviderError, match="2 decimals"):
            await action(session, "ctrader.demo_deposit").run(sink.account_map[str(DEMO_EUR)])
    finally:
        await session.close()


# -- through the feed runtime ------------------------------------------------------------------------

async def run_feed(running, **options):
    store = Store()
    runtime = FeedRuntime(store, backoff=Backoff(base=0.05, cap=0.2, jitter=0), watchdog_interval=None)
    settings = {"base_url": running.endpoints["api"], "access_token": running.connections[0]["access_token"],
                "poll_seconds": 0.5, **options}
    runtime.add(provider(), make_context(provider(), name="ct", **settings))
    await runtime.start()
    return store, runtime


async def test_feed_goes_live_then_shows_a_revoked_token_without_revealing_it(running, sim, token):
    store, runtime = await run_feed(running)
    try:
        await wait_for(lambda: store.state("ct") is HealthState.LIVE, 5)
        assert store.accounts["ct"] and store.ticks["ct"]
        sim.revoke_token()
        await wait_for(lambda: store.state("ct") is HealthState.ERROR, 5)
        detail = store.health["ct"].detail
        assert "CH_ACCESS_TOKEN_INVALID" in detail and "new access token" in detail and token not in detail
    finally:
        await runtime.stop()


async def test_feed_reconnects_through_internal_errors(running, sim, token):
    sim.set_faults(error_rate=1.0)
    store, runtime = await run_feed(running)
    try:
        await wait_for(lambda: store.state("ct") is HealthState.RECONNECTING, 5)
        assert "UNKNOWN_ERROR" in store.health["ct"].detail and token not in store.health["ct"].detail
        sim.set_faults(error_rate=0.0)
        await wait_for(lambda: store.state("ct") is HealthState.LIVE, 5)
    finally:
        await runtime.stop()


async def test_simulator_connection_reaches_it_and_the_market_moves():
    running = await start(interval=0.01, seed=3)
    sim = running.control
    try:
        session = connect(running)
        first, later = Recorder(), Recorder()
        await session.poll(first)
        deals_before = sum(len(a.deals) + len(a.cashflow) for a in sim.accounts().values())
        await wait_for(lambda: sum(len(a.deals) + len(a.cashflow) for a in sim.accounts().values()) > deals_before, 5)
        await asyncio.sleep(0.3)
        await session.poll(later)
        await session.close()
        assert first.tick_map["EURUSD"].bid != later.tick_map["EURUSD"].bid or \
            first.tick_map["XAUUSD"].bid != later.tick_map["XAUUSD"].bid
    finally:
        await running.stop()


def test_options_are_declared_once_with_a_secret_token():
    options = {o.name: o for o in provider().options}
    assert options["access_token"].secret and options["access_token"].required
    assert options["base_url"].default == "https://api.spotware.com"
    assert {"accounts", "symbols", "poll_seconds", "demo_amount"} <= set(options)


async def test_auth_error_type_on_poll(running):
    session = connect(running, access_token="ctrader-some-other-token-99")
    try:
        with pytest.raises(AuthError):
            await session.poll(Recorder())
    finally:
        await session.close()
