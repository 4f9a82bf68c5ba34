"""ibmon provider plugin `xtb`: the xAPI protocol of XTB / X Open Hub trading servers.

XTB switched its own public xAPI off on 2025-03-14; the protocol lives on in X Open Hub white-label
servers, so every endpoint is configurable (`url`, `stream_url`). Importing this package is cheap:
the client, the simulator and the screen are imported when first used.
"""

from __future__ import annotations

from typing import Any

from ibmon import hookimpl
from ibmon.api import ConnectionContext, Provider, RunningSimulator, ScreenSpec, Session, Simulator
from ibmon.options import TLS_VERIFY, Option

OPTIONS = (
    Option("url", "url", required=True, example="tls://xapi.example.com:5124",
           help="main connection: tls://host:port (classic ports 5124 demo, 5112 real), wss://host/demo, "
                "or ws:// / tcp:// on loopback"),
    Option("stream_url", "url", required=True, example="tls://xapi.example.com:5125",
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


def connect(ctx: ConnectionContext) -> Session:
    from ibmon_xtb.session import XtbSession

    return XtbSession(ctx)


def screen_spec() -> ScreenSpec:
    def factory(ctx: Any) -> Any:
        from ibmon_xtb.screens import XtbScreen

        return XtbScreen(ctx)

    return ScreenSpec(id="xtb", title="XTB: symbols, chart, history", factory=factory, key="x")


async def start_simulator(host: str = "127.0.0.1", **settings: Any) -> RunningSimulator:
    from ibmon_xtb.sim import start

    return await start(host, **settings)


@hookimpl
def ibmon_providers(register):
    register(Provider(name="xtb", title="XTB / X Open Hub xAPI", connect=connect, options=OPTIONS,
                      description="Live balances, ticks and positions over xAPI 2.5 (XTB's own servers "
                                  "closed xAPI on 2025-03-14; X Open Hub white-label servers speak it)."))


@hookimpl
def ibmon_simulators(register):
    from ibmon_xtb.sim_settings import SETTINGS

    register(Simulator(provider="xtb", title="XTB / X Open Hub xAPI", start=start_simulator, settings=SETTINGS))
