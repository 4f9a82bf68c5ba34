"""ibmon provider plugin: Interactive Brokers Flex Web Service (provider `ibkr_flex`).

Polls a Flex Activity query: NAV, cash and open positions per account, recent trades for its
screen. Importing this package is cheap: the client, parser, simulator and screen load on use.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ibmon.sdk import (__version__, REQUEST_TIMEOUT, TLS_VERIFY, ConnectionContext, Option, Provider,
                       RunningSimulator, ScreenSpec, Session, Simulator, hookimpl)

PROVIDER = "ibkr_flex"
TITLE = "IBKR Flex"
DEFAULT_BASE_URL = "https://ndcdyn.interactivebrokers.com/AccountManagement/FlexWebService"

OPTIONS = (
    Option("token", "str", required=True, secret=True,
           help="Flex Web Service token (Client Portal > Performance & Reports > Flex Queries)",
           example={"env": "IBKR_FLEX_TOKEN"}),
    Option("query_id", "str", required=True, help="Query ID of an Activity Flex query", example="123456"),
    Option("base_url", "url", default=DEFAULT_BASE_URL, schemes=("http", "https"),
           help="Flex Web Service v3 base URL (SendRequest and GetStatement live under it)"),
    Option("user_agent", "str", default=f"ibmon/{__version__}", help="User-Agent header (IB requires one)"),
    Option("poll_seconds", "float", default=900.0, minimum=5,
           help="seconds between statements (they change slowly; IB allows 10 requests a minute)"),
    Option("max_wait_seconds", "float", default=300.0, minimum=1,
           help="how long to wait for IB to generate a statement before giving up on this poll"),
    TLS_VERIFY,
    replace(REQUEST_TIMEOUT, default=120.0),  # a statement of many MB takes a while
)


def open_screen(ctx: Any) -> Any:
    from ibmon_ibkr_flex.screens import FlexScreen

    return FlexScreen(ctx)


SCREENS = (ScreenSpec(id="ibkr_flex", title="IBKR Flex statements", factory=open_screen, key="i"),)


def connect(ctx: ConnectionContext) -> Session:
    from ibmon_ibkr_flex.session import FlexSession

    return FlexSession(ctx)


async def start_simulator(host: str = "127.0.0.1", **settings: Any) -> RunningSimulator:
    from ibmon_ibkr_flex.sim import start

    return await start(host, **settings)


@hookimpl
def ibmon_providers(register):
    from ibmon_ibkr_flex.kinds import KINDS

    register(Provider(name=PROVIDER, title=TITLE, connect=connect, options=OPTIONS, screens=SCREENS, kinds=KINDS,
                      description="Interactive Brokers Flex Web Service: NAV, cash, positions and trades "
                                  "from an Activity Flex query."))


@hookimpl
def ibmon_simulators(register):
    from ibmon_ibkr_flex.sim_settings import SETTINGS

    register(Simulator(provider=PROVIDER, title=TITLE, start=start_simulator, settings=SETTINGS))
