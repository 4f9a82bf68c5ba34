"""The real REST clients as the hostile tests drive them: how to make each against a server's URL,
one call that sends a data request, and the name its errors give that request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

from http_servers import answer
from ibmon.secrets import Secret

#: The request deadline the clients get (seconds).
DEADLINE = 0.5


@dataclass
class Case:
    """A real client, one call of it, and the request the error must name."""

    name: str
    make: Callable[..., object]  # (url, timeout=DEADLINE)
    call: Callable[[object], Awaitable[object]]
    close: Callable[[object], Awaitable[None]]
    what: str
    #: Paths the server answers properly (logins), so that the misbehaving reply is a data call.
    good: dict[str, object]


def _b2core(url: str, timeout: float = DEADLINE):
    from ibmon_b2core.client import B2CoreClient

    return B2CoreClient(f"{url}/api/v2/ib", token=Secret("static-token-4bf1a7"), timeout=timeout)


def _ctrader(url: str, timeout: float = DEADLINE):
    from ibmon_ctrader.client import CTraderClient

    return CTraderClient(url, Secret("ctrader-token-93c2d1"), timeout=timeout)


def _crm(url: str, timeout: float = DEADLINE):
    from ibmon_crm.client import CrmClient

    return CrmClient(url, domain="ib.example.com", api_key=Secret("crm-key-51aa0e"), email="ib@example.com",
                     password=Secret("crm-password-77d0c3"), timeout=timeout)


def _flex(url: str, timeout: float = DEADLINE):
    from ibmon_ibkr_flex.client import FlexClient
    from ibmon_ibkr_flex.ratelimit import RateLimiter

    return FlexClient(Secret("811302486412895127461539"), "42", base_url=f"{url}/FlexWebService",
                      limiter=RateLimiter(0, 10_000, margin=0), timeout=timeout)


def _crm_count(client):
    from ibmon_crm import client as api

    return client.count(api.leads(date(2026, 1, 1), date(2026, 1, 31)))


CASES = [
    Case("b2core", _b2core, lambda c: c.list_accounts(), lambda c: c.aclose(), "B2Core GET /accounts", {}),
    Case("ctrader", _ctrader, lambda c: c.trading_accounts(), lambda c: c.close(),
         "cTrader GET /connect/tradingaccounts", {}),
    Case("crm", _crm, _crm_count, lambda c: c.close(), "CRM GET /api/v1/ib/leads",
         {"/api/v1/auth/login": answer({"token": "crm-session-token-0c1d"})}),
    Case("ibkr_flex", _flex, lambda c: c.fetch(), lambda c: c.aclose(), "IB Flex Web Service SendRequest", {}),
]
