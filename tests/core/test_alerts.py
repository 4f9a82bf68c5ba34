"""Every alert kind fires once, holds, and clears only past its hysteresis, on a fake clock; rules
are validated with one line per mistake."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ibmon.alerts import KINDS, AlertEngine, parse_rules
from ibmon.model import Account, Health, HealthState, LeadCounts, Position, Tick
from ibmon.store import Store

D = Decimal


def engine_for(**rule):
    problems: list[str] = []
    rules = parse_rules([rule], ["Broker"], problems)
    assert problems == []
    store = Store()
    return store, AlertEngine(rules, store)


def states(engine, now):
    return [("fired" if a.active else "cleared", format((a.figure if a.active else a.clear_figure).normalize(), "f"))
            for a in engine.evaluate(now)]


def acct(balance="1000", equity="1000", level="300") -> Account:
    return Account("A1", D(balance), "USD", equity=D(equity), margin_level=D(level), name="7001")


def test_margin_level_below_fires_once_holds_and_clears_past_the_hysteresis():
    store, engine = engine_for(kind="margin_level_below", threshold=100)  # clears at 105 or more
    steps = [("150", []), ("99", [("fired", "99")]), ("95", []), ("104", []), ("99", []), ("105", [("cleared", "105")]),
             ("99.5", [("fired", "99.5")])]
    for now, (level, expected) in enumerate(steps):
        store.set_account("Broker", acct(level=level))
        assert states(engine, now) == expected, level
    [alert] = engine.active()
    assert alert.summary() == "margin level below 100.00 %: Broker 7001 at 99.50 %"


def test_balance_below_and_a_removed_account_clears_its_alert():
    store, engine = engine_for(kind="balance_below", threshold=500, hysteresis=10, currency="USD")
    store.set_account("Broker", acct(balance="499.99"))
    assert states(engine, 0) == [("fired", "499.99")]
    store.set_account("Broker", acct(balance="549.99"))  # below 550: still firing
    assert states(engine, 1) == []
    store.replace_accounts("Broker", [])
    assert [a.active for a in engine.evaluate(2)] == [False]


def test_equity_drop_within_the_window_and_it_clears_as_the_high_leaves_the_window():
    store, engine = engine_for(kind="equity_drop", threshold=5, window=60)
    for now, equity in ((0, "1000"), (10, "980"), (20, "940")):
        store.set_account("Broker", acct(equity=equity))
        result = states(engine, now)
    assert result == [("fired", "6")]  # 6 % below the window's high of 1000
    assert states(engine, 50) == []  # the high is still in the window
    assert states(engine, 81) == [("cleared", "0")]  # 1000 and 980 left the window: 940 is the high


def test_position_loss_over_an_amount_and_the_closed_position_clears():
    store, engine = engine_for(kind="position_loss", threshold=100, symbol="EURUSD")

    def position(profit):
        return Position("A1", "P1", "EURUSD", "buy", D(1), profit=D(profit), currency="USD")

    store.set_position("Broker", Position("A1", "P2", "GOLD", "buy", D(1), profit=D(-500)))  # not this symbol
    store.set_position("Broker", position("-100.01"))
    assert states(engine, 0) == [("fired", "100.01")]
    store.set_position("Broker", position("-96"))
    assert states(engine, 1) == []
    store.remove_position("Broker", "A1", "P1")
    assert [a.active for a in engine.evaluate(2)] == [False]


def test_price_move_either_way_within_the_window():
    store, engine = engine_for(kind="price_move", threshold=1, window=30, hysteresis=50)
    for now, mid in ((0, "100"), (10, "99.5"), (20, "98.9")):
        store.set_tick("Broker", Tick("EURUSD", D(mid), D(mid), 0))
        result = states(engine, now)
    assert result == [("fired", "1.1")]
    store.set_tick("Broker", Tick("EURUSD", D("99.4"), D("99.4"), 0))  # 0.6 % from 100: above the 0.5 band
    assert states(engine, 25) == []
    [(state, figure)] = states(engine, 45)  # the window now starts at 99.5 (t=10)
    assert state == "cleared" and D(figure) == D("0.1") / D("99.5") * 100


def test_connection_down_for_n_seconds_and_back_live():
    store, engine = engine_for(kind="connection_down", threshold=30, connection="Broker")
    store.set_health("Broker", Health(HealthState.LIVE))
    assert states(engine, 0) == []
    store.set_health("Broker", Health(HealthState.RECONNECTING, attempt=1))
    assert states(engine, 10) == []
    store.set_health("Broker", Health(HealthState.ERROR, "refused"))  # still down: counted from the first
    assert states(engine, 39) == []
    assert states(engine, 40) == [("fired", "30")]
    assert states(engine, 100) == []
    store.set_health("Broker", Health(HealthState.LIVE))
    assert states(engine, 101) == [("cleared", "0")]


def leads(count, regs=0, deposits="0", withdrawals="0", day="2027-01-05"):
    return LeadCounts("today", day, day, count, regs, 0,
                      amounts=(("USD", "deposits", D(deposits)), ("USD", "withdrawals", D(withdrawals))))


@pytest.mark.parametrize("kind, grow", [("new_leads", lambda n: leads(10 + n)),
                                        ("new_registrations", lambda n: leads(10, regs=n))])
def test_new_leads_and_registrations_over_n_within_the_window(kind, grow):
    store, engine = engine_for(kind=kind, threshold=3, window=60)
    store.set_leads("CRM", grow(0))
    assert states(engine, 0) == []
    store.set_leads("CRM", grow(2))
    assert states(engine, 10) == []
    store.set_leads("CRM", grow(4))
    assert states(engine, 20) == [("fired", "4")]
    store.set_leads("CRM", grow(4))  # the next poll: nothing new
    assert states(engine, 30) == []
    assert states(engine, 71) == [("cleared", "2")]  # the first two left the window: 2 in it
    store.set_leads("CRM", LeadCounts("today", "2027-01-06", "2027-01-06", 0, 0, 0))  # a new day is no loss
    assert states(engine, 72) == []


@pytest.mark.parametrize("kind, key", [("deposit_over", "deposits"), ("withdrawal_over", "withdrawals")])
def test_a_deposit_or_withdrawal_over_an_amount_within_the_window(kind, key):
    store, engine = engine_for(kind=kind, threshold=1000, window=300, currency="USD")
    store.set_leads("CRM", leads(1, **{key: "500"}))
    assert states(engine, 0) == []
    store.set_leads("CRM", leads(1, **{key: "1200"}))  # 700 moved: under the threshold
    assert states(engine, 5) == []
    store.set_leads("CRM", leads(1, **{key: "2500.50"}))
    assert states(engine, 10) == [("fired", "1300.5")]
    assert states(engine, 309) == []
    assert states(engine, 311) == [("cleared", "0")]


def test_every_kind_is_tested_here():
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    assert all(f'"{kind}"' in source or f"={kind}" in source for kind in KINDS)


@pytest.mark.parametrize("rule, problem", [
    ({"kind": "margin_below", "threshold": 1}, 'not \'margin_below\' (did you mean "margin_level_below"?)'),
    ({"kind": "balance_below"}, 'key "threshold" must be a number'),
    ({"kind": "balance_below", "threshold": 1, "window": "5m"}, "has no window"),
    ({"kind": "price_move", "threshold": 1, "window": "soon"}, 'key "window" must be a number of seconds'),
    ({"kind": "price_move", "threshold": 1, "account": "7001"}, 'key "account": a price_move rule is not about one account'),
    ({"kind": "balance_below", "threshold": 1, "connection": "Brokr"}, '(did you mean "Broker"?)'),
    ({"kind": "balance_below", "threshold": 1, "hysteresis": 150}, 'key "hysteresis" must be a percent'),
    ({"kind": "balance_below", "threshold": 1, "command": 5}, 'key "command" must be a program'),
    ({"kind": "balance_below", "threshold": 1, "command_timeout": 0}, 'key "command_timeout" must be'),
    ({"kind": "balance_below", "threshold": 1, "treshold": 1}, 'unknown key "treshold" (did you mean "threshold"?)'),
])
def test_rule_mistakes_are_one_line_each_naming_the_rule_and_key(rule, problem):
    problems: list[str] = []
    assert parse_rules([{"name": "R", **rule}], ["Broker"], problems) == []
    assert len(problems) == 1 and problems[0].startswith('alert "R": ') and problem in problems[0], problems


def test_rules_need_distinct_names_and_tables():
    problems: list[str] = []
    parse_rules([{"name": "R", "kind": "balance_below", "threshold": 1}] * 2, [], problems)
    assert problems == ['alert "R": another rule has this name (names tell alerts apart)']
    problems.clear()
    parse_rules({"kind": "x"}, [], problems)
    assert problems == ["alerts must be written as [[alerts]] tables"]
