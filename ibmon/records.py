"""Records as JSON-able data and back, driven by the record classes' declared fields.

What travels between a collector and its attached dashboards (and whatever else writes records as
JSON) is built here, from each frozen dataclass's field annotations, never by a hand-written
per-record mapping, so a record kind a plugin declares is carried as is:

* `str`, `int`, `bool` and `float` as themselves; `Decimal` as its decimal string (exact: money never
  becomes a float here); `X | None` as null or an X; a `Literal` as its value; an `Enum` as its value;
* `tuple[X, ...]` and fixed tuples as lists, `frozenset[X]` as a sorted list;
* a nested frozen dataclass as an object of its fields.

    to_data(account)            -> {"id": "1", "balance": "10.50", ..., "computed": []}
    from_data(Account, data)    -> Account(...)   (RecordError naming the field when it does not fit)

Decoding is strict: data from the network is untrusted, so a value of the wrong type, a field the
class does not have, or a missing field without a default is refused with one line naming the field.
The result still passes the sink's own checks (`ibmon.validate`) before it reaches a store.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

Encode = Callable[[Any], Any]
Decode = Callable[[Any], Any]

#: Characters of a decimal string accepted on decoding (money is never longer).
MAX_DECIMAL_TEXT = 100


class RecordError(ValueError):
    """Data that does not make a record of the wanted class: the message names the field."""


def to_data(record: Any) -> dict[str, Any]:
    """The record as a dict of JSON-able values (see the module's docstring)."""
    return _codec(type(record))[0](record)


def from_data(cls: type, data: Any) -> Any:
    """A `cls` record built from `to_data`'s output; RecordError when `data` does not fit."""
    return _codec(cls)[1](data)


# -- building codecs from the annotations ----------------------------------------------------------

_codecs: dict[Any, tuple[Encode, Decode]] = {}


def _codec(hint: Any) -> tuple[Encode, Decode]:
    try:
        cached = _codecs.get(hint)
    except TypeError:  # an unhashable annotation: build it each time
        cached = None
    if cached is None:
        cached = _build(hint)
        try:
            _codecs[hint] = cached
        except TypeError:
            pass
    return cached


def _build(hint: Any) -> tuple[Encode, Decode]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Decimal:
        return str, _decimal
    if hint in (str, int, bool, float):
        return _same, _plain(hint)
    if hint is type(None):
        return _same, _none
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return (lambda value: value.value), _enum(hint)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _dataclass(hint)
    if origin is typing.Literal:
        return _same, _literal(args)
    if origin in (typing.Union, types.UnionType):
        return _union(args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            encode, decode = _codec(args[0])
            return (lambda value: [encode(item) for item in value]), _sequence(tuple, decode)
        return _fixed_tuple([_codec(arg) for arg in args])
    if origin is frozenset:
        encode, decode = _codec(args[0])
        return (lambda value: sorted((encode(item) for item in value), key=_order)), _sequence(frozenset, decode)
    raise TypeError(f"records.py cannot carry a field of type {hint!r}")


def _dataclass(cls: type) -> tuple[Encode, Decode]:
    hints = typing.get_type_hints(cls)
    fields = [(f.name, *_codec(hints[f.name])) for f in dataclasses.fields(cls) if f.init]
    names = {name for name, _e, _d in fields}
    required = {f.name for f in dataclasses.fields(cls) if f.init and f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING}

    def encode(record: Any) -> dict[str, Any]:
        return {name: enc(getattr(record, name)) for name, enc, _dec in fields}

    def decode(data: Any) -> Any:
        if not isinstance(data, dict):
            raise RecordError(f"{cls.__name__}: expected an object, got {_type(data)}")
        unknown = [key for key in data if key not in names]
        if unknown:
            raise RecordError(f"{cls.__name__}: unknown field {str(unknown[0])[:60]!r}")
        missing = [name for name in required if name not in data]
        if missing:
            raise RecordError(f"{cls.__name__}.{missing[0]}: missing")
        values = {}
        for name, _enc, dec in fields:
            if name in data:
                try:
                    values[name] = dec(data[name])
                except RecordError as exc:
                    raise RecordError(f"{cls.__name__}.{name}: {exc}") from None
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:  # the class's own checks (__post_init__)
            raise RecordError(f"{cls.__name__}: {exc}") from None

    return encode, decode


def _same(value: Any) -> Any:
    return value


def _plain(kind: type) -> Decode:
    def decode(value: Any) -> Any:
        if kind is float and type(value) is int:
            return float(value)
        if type(value) is not kind:
            raise RecordError(f"expected {kind.__name__}, got {_type(value)}")
        return value

    return decode


def _none(value: Any) -> None:
    if value is not None:
        raise RecordError(f"expected null, got {_type(value)}")
    return None


def _decimal(value: Any) -> Decimal:
    if not isinstance(value, str) or len(value) > MAX_DECIMAL_TEXT:
        raise RecordError(f"expected a decimal string, got {_type(value)}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise RecordError(f"not a decimal number: {value[:40]!r}") from None
    if not number.is_finite():
        raise RecordError(f"not a finite number: {value[:40]!r}")
    return number


def _enum(cls: type[enum.Enum]) -> Decode:
    def decode(value: Any) -> Any:
        try:
            return cls(value)
        except (ValueError, TypeError):
            raise RecordError(f"not a {cls.__name__}: {str(value)[:40]!r}") from None

    return decode


def _literal(allowed: tuple[Any, ...]) -> Decode:
    def decode(value: Any) -> Any:
        if not isinstance(value, (str, int, bool)) or value not in allowed:
            raise RecordError(f"must be one of {', '.join(map(repr, allowed))}")
        return value

    return decode


def _union(args: tuple[Any, ...]) -> tuple[Encode, Decode]:
    """`X | None`: null or an X. (A union of two record types would be ambiguous on the wire.)"""
    inner = [arg for arg in args if arg is not type(None)]
    if len(inner) != 1:
        raise TypeError(f"records.py cannot carry a union of {args!r}")
    encode, decode = _codec(inner[0])
    return ((lambda value: None if value is None else encode(value)),
            (lambda value: None if value is None else decode(value)))


def _sequence(kind: type, item: Decode) -> Decode:
    def decode(value: Any) -> Any:
        if not isinstance(value, list):
            raise RecordError(f"expected a list, got {_type(value)}")
        return kind(_items(value, item))

    return decode


def _items(values: list[Any], decode: Decode) -> list[Any]:
    out = []
    for index, value in enumerate(values):
        try:
            out.append(decode(value))
        except RecordError as exc:
            raise RecordError(f"item {index + 1}: {exc}") from None
    return out


def _fixed_tuple(parts: list[tuple[Encode, Decode]]) -> tuple[Encode, Decode]:
    def encode(value: Any) -> list[Any]:
        return [enc(item) for (enc, _dec), item in zip(parts, value)]

    def decode(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list) or len(value) != len(parts):
            raise RecordError(f"expected a list of {len(parts)} values, got {_type(value)}")
        out = []
        for index, ((_enc, dec), item) in enumerate(zip(parts, value)):
            try:
                out.append(dec(item))
            except RecordError as exc:
                raise RecordError(f"value {index + 1}: {exc}") from None
        return tuple(out)

    return encode, decode


def _order(value: Any) -> tuple[str, str]:
    """A total order over encoded set items (of one declared type), so equal sets encode alike."""
    return (type(value).__name__, repr(value))


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__
