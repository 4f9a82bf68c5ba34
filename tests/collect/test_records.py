"""The record codec: every record type of the model survives to_data -> JSON -> from_data unchanged,
and data that does not fit is refused naming the field."""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ibmon.model import RECORD_KINDS, Account, Health, HealthState, LeadCounts, Position, Tick
from ibmon.records import RecordError, from_data, to_data

#: Every record type the host defines: the store's kinds and the health record.
RECORD_TYPES = sorted({kind.cls for kind in RECORD_KINDS.values()} | {Health}, key=lambda cls: cls.__name__)

TEXT = st.text(max_size=12)
MONEY = st.decimals(allow_nan=False, allow_infinity=False, places=None, min_value=-10**12, max_value=10**12)


def strategy(hint) -> st.SearchStrategy:
    """Values of a declared field type, built from the annotation as the codec reads it."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Decimal:
        return MONEY
    if hint is str:
        return TEXT
    if hint is int:
        return st.integers(min_value=0, max_value=10**15)
    if hint is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if hint is bool:
        return st.booleans()
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(list(hint))
    if dataclasses.is_dataclass(hint):
        return records(hint)
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(st.none() if arg is type(None) else strategy(arg) for arg in args))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy(args[0]), max_size=4).map(tuple)
        return st.tuples(*(strategy(arg) for arg in args))
    if origin is frozenset:
        return st.frozensets(strategy(args[0]), max_size=4)
    raise TypeError(hint)


def records(cls) -> st.SearchStrategy:
    hints = typing.get_type_hints(cls)
    return st.builds(cls, **{f.name: strategy(hints[f.name]) for f in dataclasses.fields(cls)})


@pytest.mark.parametrize("cls", RECORD_TYPES, ids=lambda cls: cls.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_record_type_round_trips_through_json(cls, data):
    record = data.draw(records(cls))
    wire = json.dumps(to_data(record))
    back = from_data(cls, json.loads(wire))
    assert back == record
    assert type(back) is cls


def test_money_travels_as_exact_decimal_strings():
    account = Account(id="7", balance=Decimal("1000.10"), equity=Decimal("0.000000001"), currency="USD",
                      computed=frozenset({"equity", "balance"}), extra=(("type", "demo"),))
    data = to_data(account)
    assert data["balance"] == "1000.10" and data["equity"] == "1E-9"
    assert data["computed"] == ["balance", "equity"]  # sets as sorted lists: equal sets encode alike
    assert data["extra"] == [["type", "demo"]]
    back = from_data(Account, json.loads(json.dumps(data)))
    assert back.balance == Decimal("1000.10") and str(back.balance) == "1000.10"


@dataclasses.dataclass(frozen=True)
class Leg:
    symbol: str
    price: Decimal


@dataclasses.dataclass(frozen=True)
class Spread:
    """A record kind a plugin might declare: nested records, an enum, an optional record."""

    legs: tuple[Leg, ...]
    state: HealthState
    best: Leg | None = None


def test_nested_records_and_enums():
    spread = Spread(legs=(Leg("A", Decimal("1.5")), Leg("B", Decimal("-2"))), state=HealthState.STALE)
    data = to_data(spread)
    assert data == {"legs": [{"symbol": "A", "price": "1.5"}, {"symbol": "B", "price": "-2"}],
                    "state": "stale", "best": None}
    assert from_data(Spread, json.loads(json.dumps(data))) == spread


@pytest.mark.parametrize("cls, data, named", [
    (Tick, {"symbol": "EURUSD", "bid": 1.1, "ask": "1.2", "time": 1}, "Tick.bid: expected a decimal string"),
    (Tick, {"symbol": "EURUSD", "bid": "NaN", "ask": "1.2", "time": 1}, "Tick.bid: not a finite number"),
    (Tick, {"symbol": "EURUSD", "bid": "1", "ask": "1.2", "time": True}, "Tick.time: expected int"),
    (Tick, {"symbol": "EURUSD", "bid": "1", "ask": "1.2"}, "Tick.time: missing"),
    (Tick, {"symbol": "X", "bid": "1", "ask": "1", "time": 1, "spy": 1}, "Tick: unknown field 'spy'"),
    (Position, {"account": "1", "id": "2", "symbol": "X", "side": "short", "volume": "1"}, "Position.side"),
    (LeadCounts, {"window": "7d", "date_from": "a", "date_to": "b", "leads": 1, "registrations": 0,
                  "transactions": 0, "amounts": [["USD", "deposits"]]}, "LeadCounts.amounts: item 1"),
    (Health, {"state": "asleep"}, "Health.state: not a HealthState"),
    (Account, ["not", "an", "object"], "Account: expected an object"),
])
def test_data_that_does_not_fit_is_refused_naming_the_field(cls, data, named):
    with pytest.raises(RecordError) as caught:
        from_data(cls, data)
    assert named in str(caught.value)
