"""ibmon provider plugin: Impact CRM "IB integration" — lead funnel counts, leads, registrations,
transactions, servers and closed positions, with a loopback simulator of the API.

Importing this package is cheap: the client (httpx), the session and the screen load on first use.
"""

from __future__ import annotations

from typing import Any

from ibmon.sdk import (REQUEST_TIMEOUT, TLS_VERIFY, WALK_LIMITS, ConnectionContext, Option, Provider,
                       RunningSimulator, ScreenContext, ScreenSpec, Session, Simulator, hookimpl)

OPTIONS = (
    Option("base_url", "url", required=True, help="the CRM's address ([domain] in the API document)",
           example="https://crm.example.com", schemes=("http", "https")),
    Option("domain", "str", required=True, help="X-DOMAIN: the domain the API key was issued for",
           example="ib.example.com"),
    Option("api_key", "str", required=True, secret=True,
           help="API key (Settings > System > User Management > Api Keys)"),
    Option("email", "str", required=True, help="email of the CRM user with the IB Reports role",
           example="ib.reports@example.com"),
    Option("password", "str", required=True, secret=True, help="that user's password"),
    Option("lookback_days", "int", default=30, minimum=1, maximum=3660,
           help="the widest funnel window: the last N days up to today, inclusive"),
    Option("page_size", "int", default=1000, minimum=1, maximum=1000,
           help="records per request when walking a list (the screen asks for at most 200)"),
    *WALK_LIMITS,
    Option("server_tag", "str", default="",
           help="server shown first for closed positions (a tag from the servers list)"),
    Option("include_fake", "bool", default=False, help="count and show fake transactions too"),
    Option("poll_seconds", "float", default=60.0, minimum=0.5, help="seconds between funnel refreshes"),
    TLS_VERIFY,
    REQUEST_TIMEOUT,
)


def open_screen(ctx: ScreenContext) -> Any:
    from ibmon_crm.screens import CrmScreen  # Textual only once the screen opens

    return CrmScreen(ctx)


SCREENS = (ScreenSpec(id="crm", title="Impact CRM: leads, registrations, transactions", key="l",
                      factory=open_screen),)


def connect(ctx: ConnectionContext) -> Session:
    from ibmon_crm.session import CrmSession

    return CrmSession(ctx)


async def start_simulator(host: str = "127.0.0.1", **settings: Any) -> RunningSimulator:
    from ibmon_crm.sim import start

    return await start(host, **settings)


@hookimpl
def ibmon_providers(register):
    from ibmon_crm.pages import REQUESTS

    register(Provider(name="crm", title="Impact CRM", connect=connect, options=OPTIONS, screens=SCREENS,
                      requests=REQUESTS,
                      description="Impact CRM IB integration: lead funnel, registrations, transactions."))


@hookimpl
def ibmon_simulators(register):
    from ibmon_crm.sim_settings import SETTINGS

    register(Simulator(provider="crm", title="Impact CRM IB integration", start=start_simulator, settings=SETTINGS))
