"""ibmon provider plugin: B2Core IB accounts (B2Broker's B2Core, IB module, Accounts API).

Client trading accounts with their balances, enable/disable/delete/add account administration and a
simulator of the API. Heavy modules (httpx, Textual) are imported only when a connection starts or
the screen opens.
"""

from __future__ import annotations

from typing import Any

from ibmon.sdk import (REQUEST_TIMEOUT, TLS_VERIFY, WALK_LIMITS, ConnectionContext, Option, Provider, ScreenSpec,
                       Session, Simulator, hookimpl, one_of)

NAME = "b2core"
TITLE = "B2Core IB accounts"

OPTIONS = (
    Option("base_url", "url", required=True, help="API base URL of the B2Core IB module",
           example="https://your.b2core.host/api/v2/ib", schemes=("http", "https")),
    Option("client_id", "str", help="API client id (with client_secret; or give a token)", example="my-ib-client"),
    Option("client_secret", "str", secret=True, help="API client secret", example={"env": "B2CORE_CLIENT_SECRET"}),
    Option("token", "str", secret=True, help="a static bearer token, instead of client_id and client_secret"),
    Option("page_size", "int", default=1000, minimum=1, maximum=1000,
           help="accounts per page request (a server that serves fewer is read on)"),
    Option("page_concurrency", "int", default=3, minimum=1, maximum=16,
           help="account list pages requested at a time once the list's total is known"),
    *WALK_LIMITS,
    Option("filters", "table", default={}, help="filter[...] values for the account list, "
           'e.g. { archived = false, platformId = "6006dda272f002519c3eb505" }'),
    Option("update_method", "str", default="PUT", choices=("PUT", "PATCH"), help="HTTP verb for account updates"),
    TLS_VERIFY,
    REQUEST_TIMEOUT,
    Option("poll_seconds", "float", default=15.0, minimum=0.5, help="seconds between account list refreshes"),
)


RULES = (one_of("token", ("client_id", "client_secret")),)


def open_screen(ctx: Any) -> Any:
    from .screens import AccountsScreen

    return AccountsScreen(ctx)


SCREENS = (ScreenSpec(id="b2core", title="B2Core accounts", factory=open_screen, key="b"),)


def connect(ctx: ConnectionContext) -> Session:
    from .session import B2CoreSession

    return B2CoreSession(ctx)


async def start_simulator(host: str = "127.0.0.1", **settings: Any):
    from .sim import start

    return await start(host, **settings)


@hookimpl
def ibmon_providers(register):
    from .records import REQUESTS

    register(Provider(name=NAME, title=TITLE, connect=connect, options=OPTIONS, rules=RULES, screens=SCREENS,
                      requests=REQUESTS,
                      description="Client trading accounts of an IB in B2Broker's B2Core: balances, "
                                  "equity and profit per account, enable/disable, add and delete."))


@hookimpl
def ibmon_simulators(register):
    from .sim_settings import SETTINGS

    register(Simulator(provider=NAME, title=TITLE, start=start_simulator, settings=SETTINGS))
