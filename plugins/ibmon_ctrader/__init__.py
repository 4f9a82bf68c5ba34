"""ibmon provider plugin: cTrader through Spotware Connect's REST Accounts API.

Polls the trading accounts of a cTrader ID (balances in cents, positions, symbol quotes), offers
demo deposit/withdraw quick actions and a screen with deals, cash flow and trendbars. Ships a
simulator of the Accounts API. Importing this package is cheap: the client, session and simulator
modules (httpx, Textual) are imported only when used.
"""

from __future__ import annotations

from typing import Any

from ibmon.sdk import (REQUEST_TIMEOUT, TLS_VERIFY, WALK_LIMITS, ConnectionContext, Option, Provider,
                       RunningSimulator, ScreenSpec, Session, Simulator, hookimpl)

NAME = "ctrader"
TITLE = "cTrader (Spotware Connect)"

OPTIONS = (
    Option("base_url", "url", default="https://api.spotware.com", schemes=("http", "https"),
           help="Spotware Connect API address"),
    Option("access_token", "str", required=True, secret=True,
           help="Spotware Connect access token (sent as the access_token query parameter)",
           example="paste-your-access-token"),
    Option("accounts", "list", default=[],
           help="trading account ids (accountId) to show; empty: every account of the cTrader ID"),
    Option("symbols", "list", default=["EURUSD", "GBPUSD", "USDJPY", "XAUUSD"],
           help="symbols whose last bid/ask feed the tick board"),
    Option("poll_seconds", "float", default=10.0, minimum=0.5, help="seconds between polls"),
    TLS_VERIFY,
    Option("demo_amount", "float", default=1000.0, minimum=0.01,
           help="amount (account currency) the demo deposit / withdraw quick actions move"),
    REQUEST_TIMEOUT,
    *WALK_LIMITS,
)


def open_screen(ctx: Any) -> Any:
    from ibmon_ctrader.screens import CTraderScreen

    return CTraderScreen(ctx)


SCREENS = (ScreenSpec(id="ctrader", title="cTrader history", factory=open_screen, key="c"),)


def connect(ctx: ConnectionContext) -> Session:
    from ibmon_ctrader.session import CTraderSession

    return CTraderSession(ctx)


async def start_simulator(host: str = "127.0.0.1", **settings: Any) -> RunningSimulator:
    from ibmon_ctrader.sim import start

    return await start(host, **settings)


@hookimpl
def ibmon_providers(register):
    from ibmon_ctrader.history import REQUESTS

    register(Provider(name=NAME, title=TITLE, connect=connect, options=OPTIONS, screens=SCREENS, requests=REQUESTS,
                      description="Balances (cents), equity computed from open positions, positions and "
                                  "symbol quotes of every trading account linked to a cTrader ID."))


@hookimpl
def ibmon_simulators(register):
    from ibmon_ctrader.sim_settings import SETTINGS

    register(Simulator(provider=NAME, title=TITLE, start=start_simulator, settings=SETTINGS))
