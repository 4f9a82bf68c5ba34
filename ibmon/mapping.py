"""Provider items → records, one at a time: one item that fails never hides the others.

A session maps what the provider sent into records through these helpers and hands the result to
the sink as it is. An item whose mapping raises becomes a `Rejected` placeholder; the sink reports it
on the connection's health line and in the log (naming the record and the reason) and, in a
replace-all call, keeps the record's previously shown version:

    sink.accounts(map_each(to_account, items, key=lambda item: str(item["accountId"])))
    sink.account(map_one(to_account, item, key=lambda item: str(item["accountId"])))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from ibmon.errors import describe_exception

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Rejected:
    """Stands in for a record that could not be built. `key` is the key the record would have had
    (an account id; (account, position id) for a position) when it could be read, else None."""

    reason: str
    key: Any = None


def map_one(convert: Callable[[T], R], item: T, *, key: Callable[[T], Any] | None = None) -> R | Rejected:
    """`convert(item)`, or a `Rejected` naming why it failed (and the record's key, from `key(item)`)."""
    try:
        return convert(item)
    except Exception as exc:  # any mapping bug or bad value: local to this one record
        return Rejected(_reason(exc), _key(key, item))


def map_each(convert: Callable[[T], R | None], items: Iterable[T], *,
             key: Callable[[T], Any] | None = None) -> list[R | Rejected]:
    """`convert` applied to every item; a failure becomes a `Rejected` in its place, a None result
    (an item with nothing to show) is left out."""
    results: list[R | Rejected] = []
    for item in items:
        result = map_one(convert, item, key=key)
        if result is not None:
            results.append(result)
    return results


def _reason(exc: Exception) -> str:
    if type(exc) is KeyError and exc.args:
        return describe_exception(ValueError(f"missing field {exc.args[0]!r}"))[len("ValueError: "):]
    if type(exc) is ValueError and str(exc).strip():  # dec() and friends name the field already
        return describe_exception(exc)[len("ValueError: "):]
    return describe_exception(exc)


def _key(key: Callable[[Any], Any] | None, item: Any) -> Any:
    if key is None:
        return None
    try:
        return key(item)
    except Exception:
        return None
