"""Spotware Connect Accounts API client (REST, JSON).

Every reply is `{"data": ...}`; cursor replies add `"next"` while more data exists; errors are
`{"error": {"errorCode": ..., "description": ...}}`. Money fields are integer cents and timestamps
Unix milliseconds; prices are JSON numbers, decoded as Decimal (never float).

The access token travels as the `access_token` query parameter, so every URL this client builds
carries it: no URL or httpx exception text leaves this module unredacted (the HTTP kit redacts
httpx's own request log lines too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any, Literal
from urllib.parse import quote

from ibmon.sdk import AuthError, HttpClient, ProviderError, Secret, Walk, WalkLimits, Walked, error_text, loads

#: Cursor endpoints under /connect/tradingaccounts/{id}/ (the API pages deals and cash flow by 25,
#: positions and pending orders by 750 unless `limit` says otherwise).
CursorKind = Literal["deals", "cashflowhistory", "pendingorders", "positions"]
CURSOR_KINDS = frozenset({"deals", "cashflowhistory", "pendingorders", "positions"})
MIN_LIMIT, MAX_LIMIT = 25, 750

#: Codes that retrying cannot fix: the user must change the token or the config.
_AUTH_CODES = {
    "CH_ACCESS_TOKEN_INVALID": "cTrader refused the access token. Create a new access token in Spotware "
                               "Connect (connect.spotware.com, your application's Playground) and put it "
                               "in the config as access_token",
    "CH_CTID_NOT_FOUND": "No cTrader ID belongs to this access token. Create the token while logged in "
                         "with the cTrader ID that owns the accounts and put it in the config as access_token",
}
_PERMANENT_CODES = {"INVALID_REQUEST", "CH_INSUFFICIENT_PERMISSIONS", "CH_CTID_TRADER_ACCOUNT_NOT_FOUND",
                    "CH_TRADER_ACCOUNT_NOT_FOUND", "CH_SYMBOL_NOT_FOUND", "CH_DEPOSIT_CURRENCY_INVALID"}
_HINTS = {
    "CH_INSUFFICIENT_PERMISSIONS": "the access token's scope does not allow this; create a token with the "
                                   "'trading' scope in Spotware Connect",
    "CH_CTID_TRADER_ACCOUNT_NOT_FOUND": "check the accounts option",
    "CH_TRADER_ACCOUNT_NOT_FOUND": "the broker may have deleted the account",
    "CH_SYMBOL_NOT_FOUND": "check the symbol name",
}


@dataclass(frozen=True)
class Page:
    """One page of a cursor endpoint; `next` is the cursor of the following page (None: the last)."""

    items: list[dict[str, Any]]
    next: str | None


def check_limit(limit: int | None) -> None:
    if limit is not None and not (MIN_LIMIT <= limit <= MAX_LIMIT):
        raise ValueError(f"limit must be between {MIN_LIMIT} and {MAX_LIMIT}, not {limit}")


class CTraderClient:
    def __init__(self, base_url: str, access_token: Secret | str, *, timeout: float = 20.0,
                 verify: bool = True, limits: WalkLimits = WalkLimits()) -> None:
        self._token = access_token if isinstance(access_token, Secret) else Secret(access_token)
        self._http = HttpClient(base_url.rstrip("/"), timeout=timeout, verify=verify)
        self.limits = limits

    async def close(self) -> None:
        await self._http.aclose()

    # -- transport -------------------------------------------------------------------------------

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      body: Any = None) -> Any:
        """The decoded JSON reply of one authorised call, or ProviderError/AuthError (redacted)."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        query["access_token"] = self._token.reveal()
        response = await self._http.request(method, path, f"cTrader {method} {path}", params=query, json=body)
        return self._decode(response, method, path)

    @staticmethod
    def _decode(response: Any, method: str, path: str) -> Any:
        status = response.status_code
        try:
            payload = loads(response.content) if response.content else None
        except ValueError:
            payload = None
        if status == 200 and isinstance(payload, dict) and "data" in payload:
            return payload
        error = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(error, dict):
            snippet = error_text(response) if response.content else ""
            what = "an unexpected reply" if status == 200 else f"HTTP {status}"
            raise ProviderError(f"cTrader {method} {path}: {what}{': ' + snippet if snippet else ''}")
        code = str(error.get("errorCode") or "UNKNOWN_ERROR")[:64]
        description = error_text(response) if isinstance(error.get("description"), str) else "no description"
        if code in _AUTH_CODES:
            raise AuthError(f"{_AUTH_CODES[code]} ({code}: {description})", code=code)
        hint = _HINTS.get(code)
        message = f"{code}: {description} (HTTP {status}, {method} {path}){'; ' + hint if hint else ''}"
        raise ProviderError(message, code=code, permanent=code in _PERMANENT_CODES)

    async def _data(self, path: str, **params: Any) -> Any:
        return (await self.request("GET", path, params=params))["data"]

    # -- plain endpoints -------------------------------------------------------------------------

    async def schema(self) -> str:
        """The JSON schema document (no authorisation)."""
        response = await self._http.request("GET", "/connect/schema", "cTrader GET /connect/schema")
        if response.status_code != 200:
            raise ProviderError(f"cTrader GET /connect/schema: HTTP {response.status_code}")
        return response.text

    async def profile(self) -> dict[str, Any]:
        return await self._data("/connect/profile")

    async def trading_accounts(self) -> list[dict[str, Any]]:
        return await self._data("/connect/tradingaccounts")

    async def symbols(self, account_id: str | int) -> list[dict[str, Any]]:
        return await self._data(f"{_account(account_id)}/symbols")

    async def tick_data(self, account_id: str | int, symbol: str, side: Literal["bid", "ask"], day: date,
                        start: time | None = None, end: time | None = None) -> list[dict[str, Any]]:
        """Ticks of one UTC day (optionally between two times of it); the API sends at most 5000."""
        if side not in ("bid", "ask"):
            raise ValueError(f"side must be bid or ask, not {side!r}")
        return await self._data(f"{_account(account_id)}/symbols/{quote(symbol, safe='')}/{side}",
                                date=day.strftime("%Y%m%d"),
                                **{"from": start.strftime("%H%M%S") if start else None,
                                   "to": end.strftime("%H%M%S") if end else None})

    async def trendbars(self, account_id: str | int, symbol: str, period: Literal["m1", "h1"],
                        start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Bars between two UTC moments (neither in the future); the API sends at most 5000."""
        if period not in ("m1", "h1"):
            raise ValueError(f"period must be m1 or h1, not {period!r}")
        return await self._data(f"{_account(account_id)}/symbols/{quote(symbol, safe='')}/trendbars/{period}",
                                **{"from": _utc(start).strftime("%Y%m%d%H%M%S"),
                                   "to": _utc(end).strftime("%Y%m%d%H%M%S")})

    # -- cursor endpoints ------------------------------------------------------------------------

    async def page(self, account_id: str | int, kind: CursorKind, *, cursor: str | None = None,
                   from_ts: int | None = None, to_ts: int | None = None, limit: int | None = None) -> Page:
        """One page. Timestamps start a new result set (the API then ignores `cursor`)."""
        check_limit(limit)
        if kind not in CURSOR_KINDS:
            raise ValueError(f"not a cursor endpoint: {kind!r}")
        reply = await self.request("GET", f"{_account(account_id)}/{kind}", params={
            "fromTimestamp": from_ts, "toTimestamp": to_ts, "cursor": cursor, "limit": limit})
        items = reply["data"]
        if not isinstance(items, list):
            raise ProviderError(f"cTrader {kind}: expected a list of records")
        return Page(items, reply.get("next") or None)

    def walk(self, account_id: str | int, kind: CursorKind, *, from_ts: int | None = None,
             to_ts: int | None = None, limit: int | None = None) -> Walk[Page]:
        """Every page of a result set (within the walk limits): the first request carries the
        timestamps, the others only the `next` cursor of the page before."""
        check_limit(limit)

        async def fetch(cursor: str | None) -> tuple[Page, str | None]:
            if cursor is None:
                page = await self.page(account_id, kind, from_ts=from_ts, to_ts=to_ts, limit=limit)
            else:
                page = await self.page(account_id, kind, cursor=cursor, limit=limit)
            return page, page.next

        return Walk(f"cTrader {kind} of account {account_id}", fetch, self.limits, records=lambda page: page.items)

    async def collect(self, account_id: str | int, kind: CursorKind, **walk: Any) -> Walked:
        """Every record of a result set; `.note` says if the walk stopped early."""
        return await self.walk(account_id, kind, **walk).collect()

    async def positions(self, account_id: str | int) -> Walked:
        return await self.collect(account_id, "positions")

    async def pending_orders(self, account_id: str | int) -> Walked:
        return await self.collect(account_id, "pendingorders")

    async def deals(self, account_id: str | int, **walk: Any) -> Walked:
        return await self.collect(account_id, "deals", **walk)

    async def cashflow(self, account_id: str | int, **walk: Any) -> Walked:
        return await self.collect(account_id, "cashflowhistory", **walk)

    # -- changes ---------------------------------------------------------------------------------

    async def create_demo(self, currency: str, balance_cents: int, leverage: int = 100) -> dict[str, Any]:
        reply = await self.request("POST", "/connect/tradingaccounts/createdemo", body={
            "depositCurrency": currency, "balance": balance_cents, "leverage": leverage})
        return reply["data"]

    async def deposit(self, account_id: str | int, amount_cents: int) -> dict[str, Any]:
        return await self._move(account_id, "deposit", amount_cents)

    async def withdraw(self, account_id: str | int, amount_cents: int) -> dict[str, Any]:
        return await self._move(account_id, "withdraw", amount_cents)

    async def _move(self, account_id: str | int, kind: str, amount_cents: int) -> dict[str, Any]:
        if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
            raise ValueError(f"amount must be a positive number of cents, not {amount_cents!r}")
        reply = await self.request("POST", f"{_account(account_id)}/{kind}", body={"amount": amount_cents})
        return reply["data"]


def _account(account_id: str | int) -> str:
    return f"/connect/tradingaccounts/{quote(str(account_id), safe='')}"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment
