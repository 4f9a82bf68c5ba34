"""ibmon provider plugin `xtb`: the xAPI protocol of XTB / X Open Hub trading servers.

XTB switched its own public xAPI off on 2025-03-14; the protocol lives on in X Open Hub white-label
servers, so every endpoint is configurable (`url`, `stream_url`). Importing this package is cheap:
the client, the simulator and the screen are imported when first used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ibmon.sdk import (TLS_VERIFY, ConnectionContext, Option, Provider, RunningSimulator, ScreenSpec, Session,
                       Simulator, hookimpl)

#: The byte pipes an xAPI URL may name (ibmon_xtb.transport): a plain or TLS socket (ssl:// is tls://),
#: or a WebSocket.
SCHEMES = ("tls", "ssl", "ws", "wss", "tcp")

OPTIONS = (
    Option("url", "url", required=True, example="tls://xapi.example.com:5124", schemes=SCHEMES,
           help="main connection: tls://host:port (classic ports 5124 demo, 5112 real), wss://host/demo, "
                "or ws:// / tcp:// on loopback"),
    Option("stream_url", "url", required=True, example="tls://xapi.example.com:5125", schemes=SCHEMES,
           help="streaming connection: tls://host:port (5125 demo, 5113 real), wss://host/demoStream, ws:// or tcp://"),
    Option("user_id", "str", required=True, example="1234567", help="login (account number)"),
    Option("password", "str", required=True, secret=True, help="password of the login"),
    Option("app_name", "str", default="ibmon", help="appName sent with the login"),
    Option("symbols", "list", default=["EURUSD", "GBPUSD", "GOLD", "US500", "BITCOIN"],
           help="watchlist for the tick board"),
    Option("tick_interval_ms", "int", default=200, minimum=0, maximum=60000,
           help="minArrivalTime of the tick subscriptions, in ms (0: the server's 200 ms, 1: as fast as it allows)"),
    TLS_VERIFY,
)


def socket_ports(values: Mapping[str, Any]) -> list[str]:
    """tcp://, tls:// and ssl:// URLs need a port (e.g. 5124 demo, 5112 real)."""
    from ibmon_xtb.transport import check_url  # the transport's own check, at config time

    return [f'key "{key}": {problem}' for key in ("url", "stream_url") if (problem := check_url(values[key]))]


RULES = (socket_ports,)


def open_screen(ctx: Any) -> Any:
    from ibmon_xtb.screens import XtbScreen

    return XtbScreen(ctx)


SCREENS = (ScreenSpec(id="xtb", title="XTB: symbols, chart, history", factory=open_screen, key="x"),)


def connect(ctx: ConnectionContext) -> Session:
    from ibmon_xtb.session import XtbSession

    return XtbSession(ctx)


async def start_simulator(host: str = "127.0.0.1", **settings: Any) -> RunningSimulator:
    from ibmon_xtb.sim import start

    return await start(host, **settings)


@hookimpl
def ibmon_providers(register):
    from ibmon_xtb.kinds import KINDS, REQUESTS

    register(Provider(name="xtb", title="XTB / X Open Hub xAPI", connect=connect, options=OPTIONS, rules=RULES,
                      screens=SCREENS, kinds=KINDS, requests=REQUESTS,
                      description="Live balances, ticks and positions over xAPI 2.5 (XTB's own servers "
                                  "closed xAPI on 2025-03-14; X Open Hub white-label servers speak it)."))


@hookimpl
def ibmon_simulators(register):
    from ibmon_xtb.sim_settings import SETTINGS

    register(Simulator(provider="xtb", title="XTB / X Open Hub xAPI", start=start_simulator, settings=SETTINGS))
