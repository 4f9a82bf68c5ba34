"""The Flex simulator's query settings (lot detail, no NAV sections, no base-currency cash summary,
trade times as tradeDate and tradeTime) against the real client and session."""

from __future__ import annotations

import pytest

from ibmon.api import Provider
from ibmon.errors import ConfigError
from ibmon.testing import RecordingSink, make_context
from ibmon_ibkr_flex import OPTIONS, PROVIDER
from ibmon_ibkr_flex.kinds import KINDS
from ibmon_ibkr_flex.ratelimit import RateLimiter
from ibmon_ibkr_flex.session import FlexSession
from ibmon_ibkr_flex.sim import start


@pytest.fixture
async def flex():
    """A simulator with the given query settings (the market stands still) and a session on it."""
    started = []

    async def run(**settings):
        running = await start(pending_polls=0, min_interval=0, max_per_minute=10_000, interval=3600, seed=7,
                              **settings)
        options = {k: v for k, v in running.connections[0].items() if k not in ("name", "provider")}
        provider = Provider(name=PROVIDER, title="IBKR Flex", connect=lambda ctx: None, options=OPTIONS)
        session = FlexSession(make_context(provider, name="flex", **options), limiter=RateLimiter(0, 10_000, margin=0),
                              first_delay=0)
        started.append((running, session))
        sink = RecordingSink(KINDS)
        await session.poll(sink)
        report = await session.client.fetch()  # the parsed statement, as the poll read it (the market stands still)
        return running.control.portfolio(), report, sink

    yield run
    for running, session in started:
        await session.close()
        await running.stop()


async def test_a_lot_level_statement_shows_each_holding_as_the_sum_of_its_lots(flex):
    portfolio, report, sink = await flex(position_detail="lot")
    several = 0
    for statement, book in zip(report.statements, portfolio.accounts):
        held = {h.symbol: h for h in book.holdings.values() if h.quantity}
        assert {p.symbol for p in statement.positions} == set(held)
        for position in statement.positions:
            holding = held[position.symbol]
            lot_values = [portfolio.value(lot, holding.symbol) for lot in holding.lots]
            assert position.lots == len(holding.lots)
            assert position.quantity == holding.quantity
            assert position.mark_price == portfolio.instruments[holding.symbol].price
            assert position.position_value == sum(lot_values)
            assert position.cost_basis_money == portfolio.cost_money(holding)
            assert position.unrealized_pnl == sum(lot_values) - portfolio.cost_money(holding)
            several += len(holding.lots) > 1
    assert several >= 2  # the books hold contracts bought more than once
    assert len(sink.position_records) == sum(len(b.holdings) for b in portfolio.accounts)


@pytest.mark.parametrize("detail", ["summary", "summary+lot"])
async def test_summary_rows_are_the_positions_whether_or_not_lots_follow(flex, detail):
    portfolio, report, sink = await flex(position_detail=detail)
    for statement, book in zip(report.statements, portfolio.accounts):
        for position in statement.positions:
            holding = book.holdings[position.symbol]
            assert (position.lots, position.quantity, position.position_value, position.cost_basis_price) == (
                0, holding.quantity, portfolio.value(holding), holding.cost_price)
    assert len(sink.position_records) == sum(len(b.holdings) for b in portfolio.accounts)


async def test_without_nav_sections_balances_are_unknown_and_the_health_line_says_why(flex):
    portfolio, report, sink = await flex(nav_sections=False)
    ids = [book.id for book in portfolio.accounts]
    assert sink.notes == (f"balance unknown for {', '.join(ids)}: add the 'Net Asset Value (NAV) in Base' or "
                          "'Change in NAV' section to the Flex query",)
    for book in portfolio.accounts:
        account = sink.account_records[book.id]
        assert account.balance is None and account.currency == book.base
        assert "cash" in dict(account.extra)  # the BASE_SUMMARY row is still there
    assert len(sink.position_records) == sum(len(b.holdings) for b in portfolio.accounts)
    assert all(statement.trades for statement in report.statements)


async def test_without_a_base_summary_the_accounts_report_cash_per_currency(flex):
    portfolio, _, sink = await flex(nav_sections=False, base_summary=False)
    for book in portfolio.accounts:
        facts = dict(sink.account_records[book.id].extra)
        assert "cash" not in facts
        assert {key[5:]: value for key, value in facts.items() if key.startswith("cash ")} == {
            currency: str(amount) for currency, amount in book.cash.items()}


async def test_trades_timed_by_trade_date_and_trade_time(flex):
    portfolio, report, _ = await flex(trade_times="tradeDate+tradeTime")
    for statement, book in zip(report.statements, portfolio.accounts):
        assert [t.when for t in statement.trades] == sorted(t.when for t in book.trades)
        assert all("dateTime" not in t.attrs and t.attrs["tradeTime"] for t in statement.trades)
        assert any(t.when.hour or t.when.minute for t in statement.trades)  # not midnight


@pytest.mark.parametrize("setting, value, message", [
    ("position_detail", "lots", '"position_detail" must be one of summary, lot, summary+lot, not \'lots\''),
    ("nav_sections", "no", '"nav_sections" must be true or false, not a string'),
    ("date_format", "dd.MM.yyyy", '"date_format" must be one of yyyyMMdd, '),
    ("trade_times", "tradeTime", '"trade_times" must be one of dateTime, tradeDate+tradeTime, not \'tradeTime\''),
])
async def test_a_bad_setting_is_named(setting, value, message):
    with pytest.raises(ConfigError) as caught:
        await start(**{setting: value})
    [problem] = caught.value.problems
    assert problem.startswith('simulator "ibkr_flex": setting ') and message in problem

