"""The ibkr_flex session against the simulator: accounts and positions as the dashboard and the
snapshot get them, through the plugin host and the feed runtime."""

from __future__ import annotations

import secrets

import pytest

from ibmon.api import Provider
from ibmon.feeds import FeedRuntime
from ibmon.model import HealthState
from ibmon.store import Store
from ibmon.testing import make_context, simulator_in_thread, wait_for
from ibmon_ibkr_flex import OPTIONS, PROVIDER
from ibmon_ibkr_flex.kinds import KINDS, STATEMENT
from ibmon_ibkr_flex.ratelimit import RateLimiter
from ibmon_ibkr_flex.session import FlexSession
from ibmon_ibkr_flex.sim import start


@pytest.fixture(scope="module")
def sim():
    with simulator_in_thread(start, pending_polls=1, min_interval=0, max_per_minute=10_000, interval=3600,
                             seed=5) as running:
        yield running


def provider():
    from ibmon.plugins import PluginHost

    host = PluginHost()
    host.load(only=["ibkr_flex"], entry_points=True)
    return host.providers[PROVIDER]


def connection(sim, **overrides):
    options = {key: value for key, value in sim.connections[0].items() if key not in ("name", "provider")}
    options.update(overrides)
    return options


def fast_provider() -> Provider:
    """The plugin's provider with sessions whose client does not hold tests back a second per request."""
    return Provider(name=PROVIDER, title="IBKR Flex", options=OPTIONS, kinds=KINDS,
                    connect=lambda ctx: FlexSession(ctx, limiter=RateLimiter(0, 10_000, margin=0), first_delay=0.01))


async def run_once(provider: Provider, options: dict) -> tuple[Store, FeedRuntime]:
    """A feed runtime with one connection, after its first poll settled (data or an error)."""
    store = Store()
    runtime = FeedRuntime(store, watchdog_interval=None)
    runtime.add(provider, make_context(provider, name="flex", **options))
    await runtime.start()
    await wait_for(lambda: store.health["flex"].state in (HealthState.LIVE, HealthState.ERROR,
                                                          HealthState.RECONNECTING), timeout=10)
    return store, runtime


async def test_poll_delivers_accounts_and_positions(sim):
    store, runtime = await run_once(fast_provider(), connection(sim))
    session = runtime.connections["flex"].session
    await runtime.stop()
    assert store.health["flex"].state is HealthState.LIVE, store.health["flex"].detail
    accounts, positions = store.accounts["flex"], store.positions["flex"]
    portfolio = sim.control.portfolio()
    assert session.poll_interval == sim.connections[0]["poll_seconds"]
    assert set(accounts) == {account.id for account in portfolio.accounts}
    for book in portfolio.accounts:
        account = accounts[book.id]
        assert account.balance == portfolio.nav(book)  # NAV, in base currency
        assert account.currency == book.base and dict(account.extra)["holder"] == book.name
        cash = sum((portfolio.to_base(a, c, book.base) for c, a in book.cash.items())).quantize(account.balance)
        assert dict(account.extra)["cash"] == str(cash)
        for holding in book.holdings.values():
            instrument = portfolio.instruments[holding.symbol]
            position = positions[(book.id, instrument.conid)]
            assert position.symbol == holding.symbol
            assert position.side == ("buy" if holding.quantity > 0 else "sell")
            assert position.volume == abs(holding.quantity)
            assert position.current_price == instrument.price
            assert position.open_price == holding.cost_price
            assert position.profit == portfolio.value(holding) - portfolio.cost_money(holding)
    assert len(positions) == sum(len(book.holdings) for book in portfolio.accounts)
    statements = store.tables[STATEMENT.name]["flex"]
    assert set(statements) == {book.id for book in portfolio.accounts}
    assert all(statements[book.id].nav == portfolio.nav(book) for book in portfolio.accounts)
    assert any(position.side == "sell" for position in positions.values())


async def test_expired_token_shows_on_the_connection(sim):
    store, runtime = await run_once(fast_provider(), connection(sim, token="200000000000000000000001"))
    await runtime.stop()
    health = store.health["flex"]
    assert health.state is HealthState.ERROR  # permanent: the user must act
    assert "1012" in health.detail and "generate a new token in Client Portal" in health.detail
    assert "200000000000000000000001" not in health.detail


def test_options_declare_the_issue_defaults():
    options = {option.name: option for option in OPTIONS}
    assert options["token"].secret and options["token"].required and options["query_id"].required
    assert options["base_url"].default == "https://ndcdyn.interactivebrokers.com/AccountManagement/FlexWebService"
    assert options["poll_seconds"].default == 900
    assert options["user_agent"].default.startswith("ibmon/")


async def test_runtime_fills_the_store_through_the_plugin_host():
    """The path `ibmon demo` and `ibmon snapshot` take: entry point → provider → feed runtime → store,
    with the client's real rate limits (a fresh token, so no other test shares its limiter)."""
    token = secrets.token_hex(12)
    running = await start(tokens=[token], pending_polls=0, interval=3600)
    try:
        store, runtime = await run_once(provider(), connection(running))
        assert store.health["flex"].state is HealthState.LIVE, store.health["flex"].detail
        assert len(store.accounts["flex"]) == 3
        assert len(store.positions["flex"]) == 12
        assert token not in repr(runtime.connections["flex"].session.client)
    finally:
        await runtime.stop()
        await running.stop()
