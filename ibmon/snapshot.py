"""`ibmon snapshot`: connect every enabled connection once, wait for its first full picture, report.

The JSON shape is a contract other tools rely on: money as decimal strings exactly as the provider
sent it, tick times in Unix milliseconds, leads as the widest window; fields are only ever added
(an account's "number" and a position's "account_number" are how the user knows the account, as the
dashboard shows it; a position's "currency" is its profit's; "alerts" lists the `[[alerts]]` rules
that fire on the snapshot's figures: the kinds that need a window of change need a running dashboard). The text form is for people: the
same exact figures, times in the configured time format. Secrets never appear: errors
are redacted and only provider-neutral records are written. Provider strings reach the terminal
safely: the text form shows them through `safe_text`, the JSON form escapes what a terminal would
act on (the data read back is unchanged).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from typing import Any

from ibmon.alerts import AlertEngine
from ibmon.config import Config
from ibmon.feeds import FeedRuntime
from ibmon.model import Account, LeadCounts, Position, Tick
from ibmon.plugins import PluginHost
from ibmon.safe import safe_json, safe_text
from ibmon.secrets import redact
from ibmon.store import Store, StoreView
from ibmon.widgets.format import TimeFormat, time_format

ACCOUNT_FIELDS = ("id", "number", "currency", "balance", "equity", "margin", "free_margin", "margin_level",
                  "credit", "profit")
#: Characters of a connection's error in the text form.
ERROR_LIMIT = 500
POSITION_FIELDS = ("account", "account_number", "id", "symbol", "side", "volume", "open_price", "current_price",
                   "currency", "profit")


async def take_snapshot(config: Config, host: PluginHost, timeout: float) -> dict[str, Any]:
    """The snapshot document of every enabled connection of `config`."""
    store = Store()
    runtime = FeedRuntime(store, watchdog_interval=None)
    engine = AlertEngine(config.alerts, store)
    enabled = [c for c in config.connections if c.enabled]
    for connection in enabled:
        if connection.unavailable is None:
            runtime.add(host.providers[connection.provider], connection.context(True))
    await runtime.start()
    try:
        await runtime.wait_settled(timeout)
    finally:
        await runtime.stop()

    reports = []
    for connection in enabled:
        conn = runtime.connections.get(connection.name)
        if conn is None:
            ok, error = False, connection.unavailable
        elif conn.ready:
            ok, error = True, None
        else:
            error = conn.first_error or conn.last_error
            ok, error = False, error or f"no complete picture within {timeout:g} s (timed out)"
        reports.append(connection_report(connection.name, connection.provider, ok, error, StoreView(store)))
    engine.evaluate(time.time())
    alerts = [redact_json(alert.as_json()) for alert in engine.active()]
    engine.close()
    return {"generated_at": _utc_now(), "connections": reports, "alerts": alerts}


def redact_json(document: dict[str, Any]) -> dict[str, Any]:
    return {key: redact(value) if isinstance(value, str) else value for key, value in document.items()}


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def connection_report(name: str, provider: str, ok: bool, error: str | None, view: StoreView) -> dict[str, Any]:
    accounts = sorted(view.records("account", name).values(), key=lambda a: a.id)
    positions = sorted(view.records("position", name).values(), key=lambda p: p.key)
    ticks = sorted(view.records("tick", name).values(), key=lambda t: t.symbol)
    return {
        "name": name,
        "provider": provider,
        "ok": ok,
        "error": redact(error) if error else None,
        "accounts": [_account(a) for a in accounts],
        "positions": [_position(p, view.account_number(name, p.account)) for p in positions],
        "ticks": [_tick(t) for t in ticks],
        "leads": _leads(view.records("leads", name).values()),
    }


def _account(account: Account) -> dict[str, Any]:
    return {name: getattr(account, name) for name in ACCOUNT_FIELDS}


def _position(position: Position, account_number: str) -> dict[str, Any]:
    return {name: account_number if name == "account_number" else getattr(position, name)
            for name in POSITION_FIELDS}


def _tick(tick: Tick) -> dict[str, Any]:
    return {"symbol": tick.symbol, "bid": tick.bid, "ask": tick.ask, "time": int(tick.time)}


def _leads(windows: Any) -> dict[str, Any] | None:
    """The widest window: the earliest start, then the latest end."""
    windows: list[LeadCounts] = list(windows)
    if not windows:
        return None
    earliest = min(w.date_from for w in windows)
    widest = max((w for w in windows if w.date_from == earliest), key=lambda w: w.date_to)
    return {"from": widest.date_from, "to": widest.date_to, "leads": widest.leads,
            "registrations": widest.registrations, "transactions": widest.transactions}


def failed(document: dict[str, Any]) -> bool:
    return any(not c["ok"] for c in document["connections"])


def plain_decimal(value: Any) -> str:
    """`default=` for json.dumps: a Decimal as the digits it holds, never in exponent form
    (str() would write a provider's "0.000000000000000000" as "0E-18")."""
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(document: dict[str, Any]) -> str:
    return safe_json(redact(json.dumps(document, default=plain_decimal, indent=2, ensure_ascii=False)))


# -- text ------------------------------------------------------------------------------------


def to_text(document: dict[str, Any], times: TimeFormat | None = None) -> str:
    """The document for people; times read as `times` (default: the configured time format)."""
    if not document["connections"]:
        return "no enabled connection (add [[connections]] to the config: `ibmon config init`)"
    times = times or time_format()
    blocks = [f"snapshot at {safe_text(times(document['generated_at']))}"]
    for conn in document["connections"]:
        status = "ok" if conn["ok"] else f"FAILED: {safe_text(conn['error'], ERROR_LIMIT)}"
        lines = [f"{safe_text(conn['name'])} ({safe_text(conn['provider'])}): {status}"]
        if conn["accounts"]:
            lines += _table("accounts", ACCOUNT_FIELDS, conn["accounts"])
        if conn["positions"]:
            lines += _table("positions", POSITION_FIELDS, conn["positions"])
        if conn["ticks"]:
            ticks = [{**tick, "time": times(tick["time"])} for tick in conn["ticks"]]
            lines += _table("ticks", ("symbol", "bid", "ask", "time"), ticks)
        leads = conn["leads"]
        if leads:
            lines.append(f"  leads {safe_text(leads['from'])} .. {safe_text(leads['to'])}: {leads['leads']} leads, "
                         f"{leads['registrations']} registrations, {leads['transactions']} transactions")
        blocks.append("\n".join(lines))
    alerts = document.get("alerts") or []
    if alerts:
        blocks.append("\n".join([f"{len(alerts)} active alert(s):"] + [
            f"  {safe_text(a['rule'])}: {safe_text(a['connection'])} {safe_text(a['subject'])} at {a['figure']} "
            f"({safe_text(a['rule_text'])})" for a in alerts]))
    return redact("\n\n".join(blocks))


def _table(title: str, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> list[str]:
    """An aligned table; columns empty in every row are left out; numbers right-aligned."""
    shown = [c for c in columns if any(row[c] is not None for row in rows)]
    cells = [[_cell(row[c]) for c in shown] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(shown)]
    numeric = [all(isinstance(row[c], (Decimal, int)) or row[c] is None for row in rows) for c in shown]

    def line(values: list[str]) -> str:
        return "    " + "  ".join(v.rjust(w) if num else v.ljust(w)
                                  for v, w, num in zip(values, widths, numeric)).rstrip()

    return [f"  {title}", line(list(shown)), *(line(r) for r in cells)]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return format(value, "f") if isinstance(value, Decimal) else safe_text(value)
