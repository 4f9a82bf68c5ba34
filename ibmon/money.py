"""Exact money: decode provider data into `Decimal` without passing through float.

Every number from a provider is bounded before it becomes a Decimal in the model: finite, at most
`MAX_DIGITS` significant digits, below 10^(MAX_MAGNITUDE + 1) and no finer than 10^-MAX_PLACES.
A 17-byte `1e999999999` is a valid Decimal whose fixed-point text is a gigabyte; these bounds keep
every number printable in a few dozen characters. `dec()` and the sink's check
(`ibmon.validate`) share them.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation
from typing import Any

#: Significant digits a number may have.
MAX_DIGITS = 40
#: Largest power of ten a number may reach (|x| < 10^25).
MAX_MAGNITUDE = 24
#: Most decimal places a number may have.
MAX_PLACES = 30
#: Longest decimal string `dec()` reads (longer ones cannot be within the bounds above).
MAX_NUMBER_TEXT = 100


def loads(text: str | bytes) -> Any:
    """json.loads with every JSON number that has a fraction or exponent decoded as Decimal, so
    100.10 stays 100.10 (integers stay int)."""
    return json.loads(text, parse_float=Decimal)


def number_problem(value: Decimal) -> str | None:
    """Why `value` is outside the bounds every provider number must keep (None when it is inside)."""
    if not value.is_finite():
        return "not a finite number"
    _sign, digits, exponent = value.as_tuple()
    if len(digits) > MAX_DIGITS:
        return f"more than {MAX_DIGITS} significant digits"
    if value.adjusted() > MAX_MAGNITUDE:
        return f"out of range (10^{MAX_MAGNITUDE + 1} or more)"
    if exponent < -MAX_PLACES:  # type: ignore[operator]  (finite: the exponent is an int)
        return f"more than {MAX_PLACES} decimal places"
    return None


def shown(value: Any, limit: int = 40) -> str:
    """A short repr of a provider value for an error message."""
    if isinstance(value, Decimal):
        text = str(value)
    elif isinstance(value, (str, int, float)):
        text = repr(value) if not isinstance(value, int) or value.bit_length() < 200 else "a huge integer"
    else:
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dec(value: Any, field: str = "value") -> Decimal:
    """A Decimal from a provider value: decimal strings, ints and Decimals exactly; a float by its
    shortest repr (the digits the provider's JSON showed). Raises ValueError naming `field` for
    anything else, and for numbers outside the bounds above (NaN, Infinity, 1e999999999...)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{field}: expected a number, got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_TEXT:
            raise ValueError(f"{field}: a number of more than {MAX_NUMBER_TEXT} characters: {shown(value)}")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{field}: not a decimal number: {shown(value)}") from None
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{field}: not a finite number: {shown(value)}")
        result = Decimal(repr(value))
    else:
        raise ValueError(f"{field}: expected a number, got {type(value).__name__}")
    problem = number_problem(result)
    if problem:
        raise ValueError(f"{field}: {problem}: {shown(value)}")
    return result


def dec_or_none(value: Any, field: str = "value") -> Decimal | None:
    return None if value is None or value == "" else dec(value, field)


def from_cents(value: Any, field: str = "value") -> Decimal:
    """Integer cents (e.g. cTrader's 123456789) as an exact Decimal amount (1234567.89)."""
    return dec(value, field).scaleb(-2)


def with_places(price: Decimal | None, places: Any) -> Decimal | None:
    """A price with the instrument's decimal places (JSON numbers drop trailing zeros: 1.0903 with 5
    places is 1.09030). Only zeros are added; a price with more digits is left as sent, and places
    that are not a count (missing, negative, not an int) leave it as it is."""
    if price is None or not isinstance(places, int) or isinstance(places, bool) or not 0 <= places <= 18:
        return price
    exponent = price.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -places:
        return price.quantize(Decimal(1).scaleb(-places))
    return price


def dumps_default(value: Any) -> Any:
    """`default=` for json.dumps: Decimals become decimal strings."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
