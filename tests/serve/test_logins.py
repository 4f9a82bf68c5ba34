"""Logins of `ibmon serve`: failed attempts limited per client address (even the right password
waits), sessions ending when idle or logged out, and every table bounded."""

from __future__ import annotations

import pytest

from ibmon.secrets import Secret
from ibmon.serve import logins as logins_module
from ibmon.serve.logins import FAILURE_WINDOW_SECONDS, MAX_FAILURES, Logins, Refused, client_key

PASSWORD = "the right password"


@pytest.fixture
def logins(clock) -> Logins:
    return Logins(Secret(PASSWORD), idle_seconds=600, clock=clock)


def refused(logins: Logins, address: str, password: str) -> Refused:
    with pytest.raises(Refused) as caught:
        logins.log_in(address, password)
    return caught.value


def test_failed_logins_lock_the_address_even_for_the_right_password_until_the_window_passes(logins, clock):
    for attempt in range(MAX_FAILURES):
        answer = refused(logins, "192.0.2.7", f"guess {attempt}")
        assert answer.status == 401 and answer.message.startswith("Wrong password")
    assert "must now wait 15 minutes" in answer.message
    locked = refused(logins, "192.0.2.7", PASSWORD)
    assert locked.status == 429 and "Too many failed logins from this address" in locked.message
    assert 0 < locked.retry_after <= FAILURE_WINDOW_SECONDS + 1
    assert logins.valid(logins.log_in("192.0.2.8", PASSWORD)), "another address was locked out too"
    clock.now += FAILURE_WINDOW_SECONDS
    assert logins.valid(logins.log_in("192.0.2.7", PASSWORD))


def test_an_ipv6_client_counts_by_its_64_and_a_mapped_ipv4_as_itself():
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.7") == client_key("192.0.2.7") == "192.0.2.7"


def test_a_session_ends_when_idle_or_logged_out_and_activity_keeps_it(logins, clock):
    token = logins.log_in("127.0.0.1", PASSWORD)
    ended = []
    logins.valid(token).on_end.append(lambda: ended.append(token))
    clock.now += 599
    assert logins.valid(token, touch=True)
    clock.now += 599
    assert logins.sweep() == 0 and logins.valid(token)
    clock.now += 2
    assert logins.sweep() == 1 and ended == [token] and logins.valid(token) is None
    other = logins.log_in("127.0.0.1", PASSWORD)
    logins.end(other)
    assert logins.valid(other) is None and logins.valid("made-up") is None and logins.valid(None) is None


def test_an_overlong_password_is_refused_without_comparing(logins):
    answer = refused(logins, "127.0.0.1", PASSWORD + "x" * 5000)
    assert answer.status == 401


def test_the_tables_stay_bounded(logins, clock, monkeypatch):
    monkeypatch.setattr(logins_module, "MAX_LOGINS", 3)
    monkeypatch.setattr(logins_module, "MAX_ADDRESSES", 4)
    tokens = []
    for _ in range(5):
        clock.now += 1
        tokens.append(logins.log_in("127.0.0.1", PASSWORD))
    assert [logins.valid(t) is not None for t in tokens] == [False, False, True, True, True]
    for n in range(10):
        clock.now += 1
        refused(logins, f"198.51.100.{n}", "wrong")
    assert logins.failing_addresses() == 4
