from decimal import Decimal

import pytest

from ibmon.errors import ProviderError, describe_exception
from ibmon.model import Account, Position, Tick
from ibmon.money import dec, from_cents, loads, with_places
from ibmon.secrets import Secret, redact


def test_json_floats_decode_with_the_digits_sent():
    data = loads('{"balance": 100.10, "equity": 0.1, "big": 12345678901234567.890123, "n": 3}')
    assert data["balance"] == Decimal("100.10") and str(data["balance"]) == "100.10"
    assert str(data["big"]) == "12345678901234567.890123"
    assert data["n"] == 3 and isinstance(data["n"], int)


def test_cents_convert_exactly():
    assert str(from_cents(123456789)) == "1234567.89"
    assert str(from_cents(100000)) == "1000.00"
    assert str(from_cents(-5)) == "-0.05"


def test_dec_keeps_eighteen_decimals_and_names_bad_fields():
    assert str(dec("3.000000000000000000")) == "3.000000000000000000"
    with pytest.raises(ValueError, match="balance"):
        dec("abc", "balance")
    with pytest.raises(ValueError, match="balance"):
        dec("NaN", "balance")


def test_records_refuse_float_money():
    with pytest.raises(TypeError, match="Account.balance must be a Decimal"):
        Account(id="1", balance=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Tick.bid"):
        Tick("EURUSD", 1.1, Decimal("1.2"), 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="side"):
        Position(account="1", id="2", symbol="X", side="long", volume=Decimal(1))  # type: ignore[arg-type]


def test_redact_masks_known_secrets_and_url_credentials():
    Secret("s3cr3t-token-value")
    text = redact("GET https://api.example/x?access_token=abc123&limit=5 failed with s3cr3t-token-value")
    assert "abc123" not in text and "s3cr3t-token-value" not in text
    assert "limit=5" in text
    assert "ws://***@host" in redact("ws://user:pw@host/x")
    assert "t=***" in redact("GetStatement?q=1&t=123456&v=3")


def test_errors_are_redacted_and_short():
    Secret("hunter2-password")
    error = ProviderError("login refused for hunter2-password", code="BE005")
    assert "hunter2-password" not in str(error) and error.code == "BE005"
    assert describe_exception(RuntimeError("x" * 1000)).endswith("...")
    assert describe_exception(RuntimeError("boom hunter2-password")) == "RuntimeError: boom ***"


@pytest.mark.parametrize("price,places,shown", [
    ("1.0903", 5, "1.09030"), ("151", 3, "151.000"), ("1.234567", 5, "1.234567"), ("2.5", None, "2.5"),
    ("2.5", -1, "2.5"), ("2.5", True, "2.5"), ("2.5", "5", "2.5"), ("2.5", 10**6, "2.5"), ("-0.7", 2, "-0.70"),
])
def test_prices_get_the_instruments_places_back_without_rounding(price, places, shown):
    assert str(with_places(Decimal(price), places)) == shown
