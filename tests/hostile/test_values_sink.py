"""Values at the sink boundary, as a third-party plugin would send them: records built by hand with
NaN, Infinity, 1e999999999, objects where text belongs, negative counts and duplicate ids go through
the host's real sink into a real Store. Only the bad record is rejected, named with its connection and
field; the rest keep updating and the previously shown version stays."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal as D

import pytest

from ibmon.api import ConnectionContext, Provider, Session
from ibmon.feeds import FeedRuntime
from ibmon.mapping import Rejected, map_each
from ibmon.model import Account, LeadCounts, Position, Tick
from ibmon.money import MAX_DIGITS, dec
from ibmon.validate import MAX_TEXT
from ibmon.store import Store
from ibmon.testing import RecordingSink, wait_for

HUGE = D("1e999999999")


class Handing(Session):
    """Hands its sink to the test: the test plays a plugin that writes whatever it likes."""

    def __init__(self) -> None:
        self.sink = None

    async def stream(self, sink) -> None:
        self.sink = sink
        sink.ready()
        await asyncio.Event().wait()


@pytest.fixture
async def plugin():
    session = Handing()
    runtime = FeedRuntime(Store(), watchdog_interval=None, stall_seconds=None)
    runtime.add(Provider(name="third", title="Third party", connect=lambda ctx: session),
                ConnectionContext(name="Broker", provider="third", options={}))
    await runtime.start()
    await wait_for(lambda: session.sink is not None)
    yield session.sink, runtime
    await runtime.stop()


def account(id_: str, balance: str = "100.00", **fields) -> Account:
    return Account(id=id_, balance=D(balance), currency="USD", **fields)


def health_text(runtime: FeedRuntime) -> str:
    health = runtime.store.health["Broker"]
    return health.describe(health.since)


async def test_a_bad_account_in_a_refresh_keeps_its_shown_version_and_the_others_update(plugin, caplog):
    sink, runtime = plugin
    store = runtime.store
    sink.accounts([account("A", "1.00"), account("B", "2.00"), account("C", "3.00")])
    shown_b = store.accounts["Broker"]["B"]
    with caplog.at_level(logging.WARNING, logger="ibmon.feeds"):
        sink.accounts([account("A", "1.50"), account("B", "NaN"), account("C", "3.50")])
    accounts = store.accounts["Broker"]
    assert accounts["A"].balance == D("1.50") and accounts["C"].balance == D("3.50")
    assert accounts["B"] is shown_b  # kept, not removed
    assert runtime.connections["Broker"].rejected == {("account", "B"): "balance: not a finite number: NaN"}
    assert "rejected account B: balance: not a finite number: NaN" in health_text(runtime)
    assert health_text(runtime).startswith("live")
    assert [r.getMessage() for r in caplog.records] == ["Broker: rejected account B: balance: not a finite number: NaN"]

    sink.accounts([account("A", "1.50"), account("B", "2.25"), account("C", "3.50")])
    assert store.accounts["Broker"]["B"].balance == D("2.25")
    assert runtime.connections["Broker"].rejected == {}
    assert "rejected" not in health_text(runtime)


@pytest.mark.parametrize("bad, field, reason", [
    (lambda: account("X", balance="1e999999999"), "balance", "out of range"),
    (lambda: account("X", equity=D("-Infinity")), "equity", "not a finite number"),
    (lambda: account("X", credit=D("1." + "1" * 60)), "credit", f"more than {MAX_DIGITS} significant digits"),
    (lambda: account("X", profit=D("1e-999999999")), "profit", "more than 30 decimal places"),
    (lambda: Account(id="X", balance=D(1), currency={"code": "USD"}), "currency", "expected text, got dict"),
    (lambda: Account(id="X", balance=D(1), extra=(("type", 7),)), "extra", "item 1: value 2: expected text, got int"),
    (lambda: Account(id="X", balance=D(1), computed=frozenset({"equity", 3})), "computed", "item"),
])
async def test_each_kind_of_bad_field_rejects_that_account_only(plugin, bad, field, reason):
    sink, runtime = plugin
    sink.accounts([account("A"), bad()])
    assert list(runtime.store.accounts["Broker"]) == ["A"]
    [(slot, why)] = runtime.connections["Broker"].rejected.items()
    assert slot == ("account", "X") and why.startswith(f"{field}: {reason}")


async def test_over_long_text_outside_the_key_is_cut_and_the_record_kept(plugin):
    sink, runtime = plugin
    sink.accounts([account("A"), Account(id="B", balance=D("7.00"), name="n" * 100_000,
                                         extra=(("group", "g" * 5000), ("type", "real")))])
    shown = runtime.store.accounts["Broker"]["B"]
    assert shown.balance == D("7.00") and len(shown.name) == MAX_TEXT and shown.name.endswith("…")
    assert dict(shown.extra)["group"] == "g" * (MAX_TEXT - 1) + "…" and dict(shown.extra)["type"] == "real"
    assert runtime.connections["Broker"].rejected == {}

    sink.account(Account(id="C" * 5000, balance=D("1.00")))  # an id is never cut: two could become one
    assert runtime.connections["Broker"].rejected == {("account", None): "id: text longer than 1000 characters"}
    assert list(runtime.store.accounts["Broker"]) == ["A", "B"]


async def test_one_bad_tick_position_or_lead_count_is_rejected_alone(plugin):
    sink, runtime = plugin
    store = runtime.store
    sink.tick(Tick("EURUSD", D("1.1"), D("1.2"), 1))
    sink.tick(Tick("GOLD", HUGE, D("2400"), 2))
    sink.tick(Tick({"symbol": "OIL"}, D("70"), D("71"), 3))  # an object where text belongs
    sink.tick(Tick("EURUSD", D("1.3"), D("1.4"), 4))
    assert list(store.ticks["Broker"]) == ["EURUSD"] and store.ticks["Broker"]["EURUSD"].bid == D("1.3")

    sink.position(Position("A", "1", "EURUSD", "buy", D("1")))
    sink.position(Position("A", "2", ["EURUSD"], "buy", D("1")))  # type: ignore[arg-type]
    sink.leads(LeadCounts("30d", "2025-01-01", "2025-01-30", 10, 2, 1))
    sink.leads(LeadCounts("7d", "2025-01-24", "2025-01-30", -3, 2, 1))
    sink.leads(LeadCounts("today", "2025-01-30", "2025-01-30", True, 2, 1))  # type: ignore[arg-type]
    assert list(store.positions["Broker"]) == [("A", "1")]
    assert list(store.leads["Broker"]) == ["30d"]
    rejected = runtime.connections["Broker"].rejected
    assert rejected == {
        ("tick", "GOLD"): "bid: out of range (10^25 or more): 1E+999999999",
        ("tick", None): "symbol: expected text, got dict",
        ("position", ("A", "2")): "symbol: expected text, got list",
        ("leads", "7d"): "leads: negative count (-3)",
        ("leads", "today"): "leads: expected a whole number, got bool",
    }
    assert "5 records rejected (tick GOLD: bid: out of range" in health_text(runtime)


async def test_duplicate_ids_in_one_refresh_are_reported_and_the_first_counts(plugin):
    sink, runtime = plugin
    sink.positions([Position("A", "1", "EURUSD", "buy", D("1")), Position("A", "1", "EURUSD", "sell", D("9")),
                    Position("A", "2", "GOLD", "buy", D("2"))])
    positions = runtime.store.positions["Broker"]
    assert positions[("A", "1")].side == "buy" and ("A", "2") in positions
    assert runtime.connections["Broker"].rejected == {
        ("position", ("A", "1")): "listed twice in one refresh (the first one counts)"}
    assert "rejected position A/1: listed twice in one refresh" in health_text(runtime)


async def test_a_mapping_that_fails_keeps_the_shown_record_through_its_rejected_placeholder(plugin):
    sink, runtime = plugin

    def to_account(item: dict) -> Account:
        return Account(id=str(item["id"]), balance=dec(item["balance"], "balance"))

    items = [{"id": 1, "balance": "10"}, {"id": 2, "balance": "20"}]
    sink.accounts(map_each(to_account, items, key=lambda item: str(item["id"])))
    shown = runtime.store.accounts["Broker"]["2"]
    items = [{"id": 1, "balance": "11"}, {"id": 2, "balance": float("nan")}, {"balance": "5"}]
    sink.accounts(map_each(to_account, items, key=lambda item: str(item["id"])))
    accounts = runtime.store.accounts["Broker"]
    assert accounts["1"].balance == D("11") and accounts["2"] is shown and len(accounts) == 2
    assert runtime.connections["Broker"].rejected == {("account", "2"): "balance: not a finite number: nan",
                                                      ("account", None): "missing field 'id'"}


async def test_what_is_not_a_record_is_rejected_and_a_repeated_rejection_is_logged_once(plugin, caplog):
    sink, runtime = plugin
    with caplog.at_level(logging.WARNING, logger="ibmon.feeds"):
        sink.account({"id": "1", "balance": "5"})  # type: ignore[arg-type]
        for _ in range(500):
            sink.tick(Tick("GOLD", D("NaN"), D("1"), 1))
        sink.position_closed({"id": 1}, "2")  # type: ignore[arg-type]
    assert ("account", None) in runtime.connections["Broker"].rejected
    assert runtime.connections["Broker"].rejected[("account", None)] == "not an Account (got dict)"
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("Broker: rejected tick GOLD: bid: not a finite number: NaN") == 1
    assert any("position_closed: ids must be text" in m for m in messages)


def test_dec_refuses_what_the_sink_refuses_with_the_same_bounds():
    for text in ("NaN", "Infinity", "-inf", "1e999999999", "1e-999999999", "1" * 41, "9" * 200):
        with pytest.raises(ValueError, match="^balance: "):
            dec(text, "balance")
    for value in (float("nan"), float("inf"), 10**30, D("sNaN")):
        with pytest.raises(ValueError, match="^balance: "):
            dec(value, "balance")
    assert str(dec("12345678.123456789012345678")) == "12345678.123456789012345678"
    assert dec(10**24) == D(10**24)


async def test_the_recording_sink_for_plugin_tests_checks_records_the_same_way():
    sink = RecordingSink()
    sink.accounts([account("A"), account("B")])
    shown = sink.account_records["B"]
    sink.accounts([account("A", "5"), Rejected("balance: not a finite number: NaN", "B")])
    assert sink.account_records["B"] is shown and sink.account_records["A"].balance == D("5")
    sink.tick(Tick("X", HUGE, D(1), 0))
    assert sink.ticks == {} and sink.rejections == [
        ("account", "B", "balance: not a finite number: NaN"),
        ("tick", "X", "bid: out of range (10^25 or more): 1E+999999999")]


def test_xapi_packets_with_bad_values_reject_that_record_and_the_rest_is_applied():
    from ibmon.plugins import PluginHost
    from ibmon.testing import make_context
    from ibmon_xtb.session import XtbSession

    host = PluginHost()
    host.load(only=["xtb"])
    session = XtbSession(make_context(host.providers["xtb"], name="XTB", url="tcp://127.0.0.1:1",
                                      stream_url="tcp://127.0.0.1:2", user_id="1000123", password="pw"))
    sink = RecordingSink()
    for packet in (
        {"command": "balance", "data": {"balance": float("nan"), "equity": 5}},
        {"command": "tickPrices", "data": {"symbol": "EURUSD", "bid": float("inf"), "ask": 1.1, "level": 0}},
        {"command": "tickPrices", "data": {"symbol": "GOLD", "bid": 2400.1, "ask": 2400.5, "level": 0}},
        {"command": "trade", "data": {"cmd": 0, "order": 7, "position": 7, "symbol": "GOLD", "volume": HUGE}},
        {"command": "trade", "data": {"cmd": 1, "order": 8, "position": 8, "symbol": "GOLD", "volume": 1}},
    ):
        session._apply(packet, sink)
    assert list(sink.ticks) == ["GOLD"] and list(sink.position_records) == [("1000123", "8")]
    assert sink.rejections == [
        ("account", "1000123", "balance: not a finite number: nan"),
        ("tick", "EURUSD", "bid: not a finite number: inf"),
        ("position", ("1000123", "7"), "volume: out of range (10^25 or more): 1E+999999999"),
    ]
