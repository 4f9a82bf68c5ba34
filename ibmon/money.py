"""Exact money: decode provider data into `Decimal` without passing through float."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

def loads(text: str | bytes) -> Any:
    """json.loads with every JSON number that has a fraction or exponent decoded as Decimal, so
    100.10 stays 100.10 (integers stay int)."""
    return json.loads(text, parse_float=Decimal)


def dec(value: Any, field: str = "value") -> Decimal:
    """A Decimal from a provider value: decimal strings, ints and Decimals exactly; a float by its
    shortest repr (the digits the provider's JSON showed). Raises ValueError naming `field`."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{field}: expected a number, got {value!r}")
    if isinstance(value, (int, str)):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{field}: not a decimal number: {value!r}") from None
        if not result.is_finite():
            raise ValueError(f"{field}: not a finite number: {value!r}")
        return result
    if isinstance(value, float):
        return Decimal(repr(value))
    raise ValueError(f"{field}: expected a number, got {type(value).__name__}")


def dec_or_none(value: Any, field: str = "value") -> Decimal | None:
    return None if value is None or value == "" else dec(value, field)


def from_cents(value: Any, field: str = "value") -> Decimal:
    """Integer cents (e.g. cTrader's 123456789) as an exact Decimal amount (1234567.89)."""
    return dec(value, field).scaleb(-2)


def dumps_default(value: Any) -> Any:
    """`default=` for json.dumps: Decimals become decimal strings."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
