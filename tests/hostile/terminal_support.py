"""Hostile display strings, simulators that hold them, and ways to check what reaches the terminal.

The strings go into the real simulators' state (instrument names, account numbers, currencies,
deal symbols, statement names) or into their replies (lead names, server tags, error texts), so
they travel through the real clients and sessions to the screen.
"""

from __future__ import annotations

import itertools
import json
import sys
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.cells import cell_len

from ibmon import config as cfg
from ibmon.app import IbmonApp
from ibmon.feeds import Backoff, FeedRuntime
from ibmon.plugins import PluginHost
from ibmon.simkit import HttpControl, json_reply, text_reply
from ibmon.simulators import SimulatorHost
from ibmon.store import Store

sys.path.insert(0, str(Path(__file__).parents[1] / "ui"))
from ui_support import notifications, screen_text, until  # noqa: E402,F401

# -- the strings -----------------------------------------------------------------------------------

#: Clicked inside a confirmation question, this confirmed a position close.
CONFIRM = "[@click=screen.confirm]GOLD[/]"
QUIT = "[@click=app.quit]Q[/]"
CLOSE = "[/]"
BOLD = "[b]"
CLEAR = "\x1b[2J"
TITLE = "\x1b]0;pwned\x07"
OSC52 = "\x1b]52;c;ZXZpbA==\x07"
C1_CSI = "\x9b6n"
DEL = "\x7f"
RLO = "\u202eRTL"
NUL = "\x00"
LONG = "L" * 100_000

# Where each goes.
XTB_SYMBOL = CONFIRM
XTB_CATEGORY = BOLD
XTB_DESCRIPTION = OSC52 + QUIT
XTB_CURRENCY = TITLE
CT_CURRENCY = C1_CSI
CT_DEAL_SYMBOL = CLOSE + CLEAR
CT_CASHFLOW_TYPE = RLO
#: Every request of the broken connection, and every chart request, is refused with this.
CT_ERROR = OSC52 + " " + CLOSE + " " + CLEAR + "\nsecond line"
CT_BAD_TOKEN = "hostile-error-token"
B2_NUMBER = QUIT
B2_PLATFORM = BOLD + DEL
B2_GROUP = LONG
B2_FIRST_NAME = TITLE
CRM_CONNECTION = "[@click=app.quit]CRM[/]"
CRM_FIRST_NAME = CLEAR + "Eve"
CRM_LAST_NAME = QUIT
CRM_EMAIL = OSC52
CRM_TAG = CLOSE + RLO
CRM_PLATFORM = BOLD + NUL
CRM_SERVER = "\x1b[31mred" + CLOSE
# A Flex statement is XML: only characters XML 1.0 allows (no ESC, no NUL).
FLEX_NAME = CLOSE + "\u202eEman"
FLEX_SYMBOL = "[b]" + "\x9b" + "Z"
FLEX_DESCRIPTION = DEL + "desc"

#: The connection of each provider, by provider name.
NAMES = {"xtb": "XTB hostile", "ctrader": "cTrader hostile", "b2core": "B2Core hostile", "crm": CRM_CONNECTION,
         "ibkr_flex": "Flex hostile"}
CT_BROKEN = "cTrader broken"
#: ibmon keeps IB's 10 requests a minute per Flex token for the whole process: a token per app.
FLEX_TOKENS = [f"hostile-flex-token-{n}" for n in range(50)]
_flex_tokens = itertools.cycle(FLEX_TOKENS)

# -- what must never reach the terminal --------------------------------------------------------------

#: Unicode categories that are never shown raw: controls, format (bidi, zero width), surrogates,
#: private use, unassigned, line and paragraph separators.
NEVER_RAW = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def raw_controls(text: str, allowed: str = "\n") -> list[str]:
    """Every character of `text` that would reach a terminal as something other than a glyph."""
    return [repr(ch) for ch in text if ch not in allowed and unicodedata.category(ch) in NEVER_RAW]


def segments_text(app) -> str:
    """Every character of every segment the current screen sends to the terminal (toasts too)."""
    return "\n".join("".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips())


def assert_terminal_safe(app) -> str:
    """The screen's text, after checking that no segment carries a raw control character and that
    no markup turned into an action or a style-less hole (`@click` meta on any segment)."""
    text = segments_text(app)
    assert raw_controls(text) == [], raw_controls(text)[:10]
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            meta = segment.style.meta if segment.style else {}
            assert "@click" not in meta, f"a clickable action in {segment.text!r}: {meta['@click']}"
    return text


def widget_text(app, widget) -> str:
    """What `widget` shows on the current screen, its lines joined by spaces (wrapped text reads
    back as one line)."""
    region = widget.content_region
    lines = screen_text(app).split("\n")[region.y:region.bottom]
    return " ".join(line[region.x:region.right].strip() for line in lines).strip()


def locate(app, fragment: str) -> tuple[int, int]:
    """The screen cell (x, y) where `fragment` starts on the current screen."""
    for y, line in enumerate(screen_text(app).split("\n")):
        index = line.find(fragment)
        if index >= 0:
            return cell_len(line[:index]), y
    raise AssertionError(f"{fragment!r} is not on screen:\n{screen_text(app)}")


async def click_text(app, pilot, fragment: str) -> None:
    """Click on the screen where `fragment` is shown."""
    x, y = locate(app, fragment)
    await pilot.click(offset=(x + min(2, len(fragment) - 1), y))
    await pilot.pause(0.05)


# -- simulators holding the strings ---------------------------------------------------------------------

@contextmanager
def hostile_simulators() -> Iterator[SimulatorHost]:
    """Every first-party simulator on loopback, holding the hostile strings."""
    host = PluginHost()
    host.load()
    with SimulatorHost(host) as sims:
        start_hostile_simulators(sims)
        yield sims


def hostile_app(sims: SimulatorHost) -> IbmonApp:
    """The dashboard app on `hostile_connections(sims)`, as `ibmon` builds it from a config."""
    _settings, host = cfg.load_plugins({}, None)
    config = cfg.build_config({"connections": hostile_connections(sims)}, host)
    config.raise_problems()
    runtime = FeedRuntime(Store(), backoff=Backoff(base=0.2, cap=1.0))
    for connection in config.connections:
        runtime.add(host.providers[connection.provider], connection.context())
    return IbmonApp(runtime, host)


def running(sims: SimulatorHost, provider: str):
    return next(r for r in sims.running if r.provider == provider)


def start_hostile_simulators(sims: SimulatorHost) -> None:
    """Start every first-party simulator on `sims` and put the hostile strings into them."""
    sims.start(["xtb"], {"churn_seconds": 0, "positions": 1, "seed": 5})
    sims.start(["ctrader"], {"seed": 5, "interval": 0.5})
    sims.start(["b2core"], {"accounts": 12, "seed": 5})
    sims.start(["crm"], {"leads": 300})
    sims.start(["ibkr_flex"], {"pending_polls": 0, "min_interval": 0.0, "max_per_minute": 1000, "seed": 5,
                               "tokens": FLEX_TOKENS})
    assert not sims.failures, sims.failures
    sims.control("xtb").apply(_hostile_xtb)
    _hostile_ctrader(sims.control("ctrader"))
    sims.control("b2core").apply(_hostile_b2core)
    _hostile_crm(sims.control("crm"))
    sims.control("ibkr_flex").apply(_hostile_flex)


def _hostile_xtb(simulator) -> None:
    """An instrument with hostile names, an open position and a closed trade on it, and a hostile
    account currency (run on the simulator's loop, where its market moves)."""
    market = simulator.market
    gold = market.instruments["GOLD"]
    market.instruments[XTB_SYMBOL] = replace(gold, name=XTB_SYMBOL, category=XTB_CATEGORY,
                                             description=XTB_DESCRIPTION, candle=None)
    for user in market.users.values():
        user.currency = XTB_CURRENCY
        for order in list(user.positions):
            market.close(user, order)
        market.open(user, symbol=XTB_SYMBOL, cmd=0, volume=Decimal("1.0"), announce=False)
        closed = market.open(user, symbol=XTB_SYMBOL, cmd=1, volume=Decimal("0.5"), announce=False)
        market.close(user, closed.order)
    market.drain_events()


def _hostile_ctrader(control) -> None:
    def histories(sim) -> int:
        shown = ct_account_id(sim.accounts)
        account = sim.accounts[shown]
        for deal in account.deals[-10:]:
            deal["symbolName"] = CT_DEAL_SYMBOL
        for entry in account.cashflow[-10:]:
            entry["type"] = CT_CASHFLOW_TYPE
        return shown

    shown = control.apply(histories)
    error = {"error": {"errorCode": "INVALID_REQUEST", "description": CT_ERROR}}

    def refuse(request, reply):
        if request.query.get("access_token") == CT_BAD_TOKEN or "/trendbars/" in request.path:
            return json_reply(error, 400)
        return reply

    control.filter_replies(refuse)

    def currency(path: str, data: Any) -> Any:  # the simulator converts money by currency: reply only
        for raw in data["data"]:
            if raw["accountId"] == shown:
                raw["depositCurrency"] = CT_CURRENCY
        return data

    rewrite_json_replies(control, currency, paths=("/connect/tradingaccounts",))


def ct_account_id(accounts: dict[int, Any]) -> int:
    """The demo account the hostile cTrader connection shows, of the simulator's accounts."""
    return next(a.id for a in accounts.values() if not a.live and not a.deleted)


def _hostile_b2core(sim) -> None:
    account = min(sim.accounts.values(), key=lambda a: a["number"])
    account["number"] = B2_NUMBER
    account["platformName"] = B2_PLATFORM
    account["platformGroupName"] = B2_GROUP
    sim.profiles[account["profileId"]]["firstName"] = B2_FIRST_NAME


def b2_account(control) -> dict[str, Any]:
    return next(a for a in control.accounts().values() if a["number"] == B2_NUMBER)


def _hostile_crm(control: HttpControl) -> None:
    """Hostile names in every list page's first record, and a hostile server."""

    def change(path: str, data: Any) -> Any:
        if path == "/api/v1/ib/servers":
            return {**data, CRM_PLATFORM: [CRM_SERVER]}
        if isinstance(data, dict) and data.get("data"):
            first = data["data"][0]
            first.update(firstName=CRM_FIRST_NAME, lastName=CRM_LAST_NAME, email=CRM_EMAIL)
            if "tags" in first:
                first["tags"] = [{"category": CRM_TAG, "tags": [CRM_TAG]}]
        return data

    rewrite_json_replies(control, change, paths=("/api/v1/ib/servers", "/api/v1/ib/leads", "/api/v1/ib/registrations"))


def rewrite_json_replies(control: HttpControl, change: Callable[[str, Any], Any], paths: tuple[str, ...]) -> None:
    """A server that changes its successful JSON replies on `paths` with `change(path, data)`."""

    def rewrite(request, reply):
        if request.path not in paths or reply.status != 200:
            return reply
        return text_reply(json.dumps(change(request.path, json.loads(reply.body))), reply.status, "application/json")

    control.filter_replies(rewrite)


def _hostile_flex(service) -> None:
    portfolio = service.portfolio
    aapl = portfolio.instruments["AAPL"]
    portfolio.instruments[FLEX_SYMBOL] = replace(aapl, symbol=FLEX_SYMBOL, description=FLEX_DESCRIPTION,
                                                 conid="999001")
    account = portfolio.accounts[0]
    account.name = FLEX_NAME
    account.holdings[FLEX_SYMBOL] = replace(account.holdings["AAPL"], symbol=FLEX_SYMBOL)


def hostile_connections(sims: SimulatorHost) -> list[dict[str, Any]]:
    """One connection per provider, each showing that provider's hostile strings, and a cTrader
    connection whose every request is refused with a hostile error text."""
    base = {r.provider: dict(r.connections[0]) for r in sims.running}
    ct_accounts = sims.control("ctrader").accounts()
    xtb = {**base["xtb"], "name": NAMES["xtb"], "symbols": [XTB_SYMBOL, "EURUSD"]}
    ctrader = {**base["ctrader"], "name": NAMES["ctrader"], "accounts": [str(ct_account_id(ct_accounts))],
               "poll_seconds": 1.0}
    broken = {**base["ctrader"], "name": CT_BROKEN, "access_token": CT_BAD_TOKEN, "poll_seconds": 60.0}
    b2core = {**base["b2core"], "name": NAMES["b2core"], "poll_seconds": 2.0}
    crm = {**base["crm"], "name": NAMES["crm"], "poll_seconds": 5.0}
    flex = {**base["ibkr_flex"], "name": NAMES["ibkr_flex"], "max_wait_seconds": 5, "token": next(_flex_tokens)}
    return [xtb, ctrader, broken, b2core, crm, flex]
