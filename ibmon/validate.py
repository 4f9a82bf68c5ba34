"""The check every record passes before the store: driven by the record classes' declared field types.

For each record class (the built-in `ibmon.model.RECORD_KINDS` and every kind a plugin declares) the
field annotations are read once and turned into one check per field: text is a `str` of at most `MAX_TEXT` characters, money a finite `Decimal`
within `ibmon.money`'s bounds, an `int` a count (non-negative, at most `MAX_COUNT`), a `Literal` one
of its values, a `tuple[...]` / `frozenset[...]` at most `MAX_ITEMS` items each checked in turn, and
`X | None` either None or an X, a nested frozen dataclass each of its fields in turn. A new record
class with these kinds of fields is checked as is; `check_record_type` refuses one with any other
field type when its kind is declared.

    problem(ACCOUNT, account)  -> "balance: not a finite number: NaN" or None
    screen_all(ACCOUNT, accounts, shown_now) -> (accounts to store, {account id: reason})
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable
from decimal import Decimal
from itertools import islice
from typing import Any

from ibmon.mapping import Rejected
from ibmon.model import RecordKind
from ibmon.money import number_problem, shown

#: Characters in any text field of a record.
MAX_TEXT = 1000
#: Items in a tuple or set field (extra facts, amounts per currency...).
MAX_ITEMS = 200
#: Largest count (lead counts, times in milliseconds).
MAX_COUNT = 10**15
#: Records in one replace-all call (sink.accounts / sink.positions).
MAX_RECORDS = 100_000

Check = Callable[[Any], "str | None"]

_schemas: dict[type, tuple[tuple[str, Check], ...]] = {}


def problem(kind: RecordKind, record: Any) -> str | None:
    """Why `record` may not be stored as a `kind` record ("field: reason"), or None when it may."""
    if isinstance(record, Rejected):
        return record.reason
    return _problem_of(kind.record, record)


def check_record_type(cls: type) -> None:
    """Raise TypeError naming the field when `cls` has a field type the check cannot read."""
    _schema(cls)


def _problem_of(cls: type, record: Any) -> str | None:
    if type(record) is not cls and not isinstance(record, cls):
        return f"not {_article(cls.__name__)} (got {type(record).__name__})"
    for name, check in _schema(cls):
        try:
            value = getattr(record, name)
        except AttributeError:
            return f"{name}: missing"
        why = check(value)
        if why is not None:
            return f"{name}: {why}"
    return None


def checked(kind: RecordKind, record: Any) -> tuple[Any, str | None]:
    """(the record to store, None) or (None, why not). Text past `MAX_TEXT` in a field that is not
    part of the record's key is cut (a 100 kB group name must not hide the account's balance); any
    other problem rejects the record."""
    why = problem(kind, record)
    if why is not None and TOO_LONG in why and isinstance(record, kind.cls):
        record = _clipped(record, kind.key)
        why = problem(kind, record)
    return (record, None) if why is None else (None, why)


def key_of(kind: RecordKind, record: Any) -> Any:
    """The record's key (an account id, (account, position id)...), or None when it cannot be read
    as text (a Rejected placeholder gives the key its plugin knew)."""
    if isinstance(record, Rejected):
        key = record.key
    else:
        try:
            key = kind.key_of(record)
        except AttributeError:
            return None
    parts = key if isinstance(key, tuple) else (key,)
    if len(parts) != len(kind.key) or not all(isinstance(p, str) and len(p) <= MAX_TEXT for p in parts):
        return None
    return key


def screen_all(kind: RecordKind, records: Iterable[Any],
               current: dict[Any, Any]) -> tuple[list[Any], dict[Any, str]]:
    """A replace-all call's records, checked: (what to store, {key: reason} of the rejected ones).

    What to store holds the good records and, for a rejected record, the version in `current` (the
    one shown now) if there is one. A key listed twice is rejected the second time (the first one
    counts). Records without a readable key are reported under the key None."""
    fresh: dict[Any, Any] = {}
    rejected: dict[Any, str] = {}
    batch = list(islice(records, MAX_RECORDS + 1))
    if len(batch) > MAX_RECORDS:
        batch.pop()
        rejected[None] = f"more than {MAX_RECORDS} in one refresh: the rest were ignored"
    seen: set[Any] = set()
    for record in batch:
        key = key_of(kind, record)
        if key is not None and key in seen:
            rejected[key] = "listed twice in one refresh (the first one counts)"
            continue
        record, why = checked(kind, record)
        if key is None:
            rejected[None] = why or "no readable id"
            continue
        seen.add(key)
        if why is None:
            fresh[key] = record
        else:
            rejected[key] = why
            if key in current:
                fresh[key] = current[key]
    return list(fresh.values()), rejected


def label(kind: RecordKind | str, key: Any) -> str:
    """How messages name a record: "account 12345", "position 12345/678", "tick EURUSD"."""
    name = kind if isinstance(kind, str) else kind.name
    if key is None:
        return f"{name} (no readable id)"
    text = "/".join(map(str, key)) if isinstance(key, tuple) else str(key)
    return f"{name} {text if len(text) <= 60 else text[:57] + '...'}"


# -- building the checks from the annotations ------------------------------------------------------


def _schema(cls: type) -> tuple[tuple[str, Check], ...]:
    schema = _schemas.get(cls)
    if schema is None:
        hints = typing.get_type_hints(cls)
        checks = []
        for f in dataclasses.fields(cls):
            try:
                checks.append((f.name, _check_for(hints[f.name])))
            except TypeError as exc:
                raise TypeError(f"{cls.__name__}.{f.name}: {exc}") from None
        schema = _schemas[cls] = tuple(checks)
    return schema


def _check_for(hint: Any) -> Check:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is str:
        return _text
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        _schema(hint)  # a nested record: its own fields are checked the same way
        return lambda value, cls=hint: _problem_of(cls, value)
    if hint is bool:
        return lambda value: None if type(value) is bool else f"expected true or false, got {_type(value)}"
    if hint is int:
        return _count
    if hint is Decimal:
        return _number
    if origin is typing.Literal:
        allowed = frozenset(args)
        return lambda value: None if _hashable(value) and value in allowed else \
            f"must be one of {', '.join(map(repr, args))}, not {shown(value)}"
    if origin in (typing.Union, types.UnionType):
        inner = [_check_for(arg) for arg in args if arg is not type(None)]
        optional = len(inner) < len(args)
        if len(inner) != 1:
            raise TypeError(f"cannot check a field of type {hint}")
        only = inner[0]
        return (lambda value: None if value is None else only(value)) if optional else only
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _collection(tuple, _check_for(args[0]))
        return _fixed_tuple([_check_for(arg) for arg in args])
    if origin is frozenset:
        return _collection(frozenset, _check_for(args[0]))
    raise TypeError(f"cannot check a field of type {hint}")


TOO_LONG = f"text longer than {MAX_TEXT} characters"


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"expected text, got {_type(value)}"
    if len(value) > MAX_TEXT:
        return TOO_LONG
    return None


def _clipped(record: Any, key: tuple[str, ...]) -> Any:
    """`record` with every over-long text outside its key fields cut to MAX_TEXT characters."""
    changes = {}
    for field in dataclasses.fields(record):
        if field.name not in key:
            value = getattr(record, field.name)
            clipped = _clip(value)
            if clipped is not value:
                changes[field.name] = clipped
    return dataclasses.replace(record, **changes) if changes else record


def _clip(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _clipped(value, ())
    if isinstance(value, (tuple, frozenset)) and len(value) <= MAX_ITEMS:
        items = [_clip(item) for item in value]
        if any(new is not old for new, old in zip(items, value)):
            return type(value)(items)
    return value


def _count(value: Any) -> str | None:
    if type(value) is not int:
        return f"expected a whole number, got {_type(value)}"
    if value < 0:
        return f"negative count ({value})"
    if value > MAX_COUNT:
        return f"count out of range ({shown(value)})"
    return None


def _number(value: Any) -> str | None:
    if type(value) is not Decimal:
        return f"expected a Decimal, got {_type(value)}"
    why = number_problem(value)
    return None if why is None else f"{why}: {shown(value)}"


def _collection(kind: type, item: Check) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, kind):
            return f"expected a {kind.__name__}, got {_type(value)}"
        if len(value) > MAX_ITEMS:
            return f"more than {MAX_ITEMS} items"
        for index, element in enumerate(value):
            why = item(element)
            if why is not None:
                return f"item {index + 1}: {why}"
        return None

    return check


def _fixed_tuple(items: list[Check]) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, tuple) or len(value) != len(items):
            return f"expected {len(items)} values, got {_type(value)}"
        for index, (element, item) in enumerate(zip(value, items)):
            why = item(element)
            if why is not None:
                return f"value {index + 1}: {why}"
        return None

    return check


def _type(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _hashable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, type(None)))


def _article(name: str) -> str:
    return f"an {name}" if name[0] in "AEIOU" else f"a {name}"
