from decimal import Decimal as D

from ibmon.model import Account, LeadCounts, Position
from ibmon.testing import RecordingSink


def test_recording_sink_takes_full_refreshes_and_single_records():
    sink = RecordingSink()
    sink.accounts([Account(id="1", balance=D("1.00")), Account(id="2", balance=D("2.00"))])
    sink.account(Account(id="3", balance=D("3.00")))
    assert set(sink.account_records) == {"1", "2", "3"}
    sink.accounts([Account(id="9", balance=D("9.00"))])
    assert list(sink.account_records) == ["9"]
    p = lambda acc, pid: Position(account=acc, id=pid, symbol="X", side="buy", volume=D(1))
    sink.positions([p("A", "1"), p("B", "2")])
    sink.positions([p("A", "3")], account="A")
    assert set(sink.position_records) == {("A", "3"), ("B", "2")}
    sink.position_closed("B", "2")
    assert set(sink.position_records) == {("A", "3")}
    sink.leads(LeadCounts("7d", "2026-01-01", "2026-01-07", 1, 0, 0))
    assert sink.lead_records["7d"].leads == 1


def test_recording_sink_keeps_declared_kinds_and_refuses_others_as_the_host_does():
    from dataclasses import dataclass

    from ibmon.api import RecordKind

    @dataclass(frozen=True)
    class Bar:
        symbol: str
        close: D

    bars = RecordKind("demo.bar", Bar, "symbol")
    sink = RecordingSink(kinds=(bars,))
    sink.put("demo.bar", Bar("EURUSD", D("1.1")))
    sink.put(bars, Bar("GOLD", D("nan")))  # not finite: rejected, as the host's sink rejects it
    sink.put("demo.other", Bar("X", D(1)))
    sink.put("account", Account("1", D("5")))  # the built-in kinds by name reach their shorthand
    assert sink.records["demo.bar"] == {"EURUSD": Bar("EURUSD", D("1.1"))}
    assert sink.account_records["1"].balance == D("5")
    assert [(kind, key) for kind, key, _why in sink.rejections] == [("demo.bar", "GOLD"), ("unknown kind", "demo.other")]
    sink.replace("demo.bar", [])
    assert sink.records["demo.bar"] == {}
