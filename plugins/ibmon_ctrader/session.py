"""A polling session: trading accounts, their open positions and the watchlist's last quotes."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from functools import partial
from typing import Any

from ibmon.sdk import (Account, Action, AuthError, ConnectionContext, ProviderError, Rejected, Session, Sink, Tick,
                       WalkLimits, dec, from_cents, map_each, map_one)

from ibmon_ctrader import history, records
from ibmon_ctrader.client import CTraderClient

CENT = Decimal("0.01")


def _complete(positions: list[Any] | None) -> bool:
    return positions is not None and not any(isinstance(p, Rejected) for p in positions)


class CTraderSession(Session):
    poll_timeout = 60.0

    def __init__(self, ctx: ConnectionContext) -> None:
        options = ctx.options
        self.ctx = ctx
        self.poll_interval = float(options["poll_seconds"])
        self.wanted = [str(a) for a in options["accounts"] or []]
        self.watchlist = list(options["symbols"] or [])
        self.demo_amount = dec(options["demo_amount"], "demo_amount")
        #: The latest TradingAccountJson of every shown account, by accountId.
        self.accounts: dict[str, dict[str, Any]] = {}
        self._client: CTraderClient | None = None

    @property
    def client(self) -> CTraderClient:
        if self._client is None:
            options = self.ctx.options
            self._client = CTraderClient(options["base_url"], options["access_token"], timeout=options["timeout"],
                                         verify=options["tls_verify"], limits=WalkLimits.from_options(options))
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    # -- polling ---------------------------------------------------------------------------------

    async def poll(self, sink: Sink) -> None:
        notes: list[str] = []
        shown = self._select(await self.client.trading_accounts(), notes)
        positions = self._held(shown, await asyncio.gather(
            *(self.client.positions(raw["accountId"]) for raw in shown), return_exceptions=True), notes)
        reachable = [raw for raw, held in zip(shown, positions) if held is not None]
        symbols = await self.client.symbols(reachable[0]["accountId"]) if reachable else []
        symbols = [s for s in symbols if isinstance(s, dict)]
        digits = {str(s.get("symbolName")): s.get("digits") for s in symbols}
        ticks = self._ticks(reachable[0], symbols, notes) if reachable else []

        self.accounts = {records.account_id(raw): raw for raw in shown}
        # Positions first: an account whose positions did not all map has an unknown equity.
        mapped = {records.account_id(raw): records.positions(records.account_id(raw), held, digits,
                                                             raw.get("depositCurrency"))
                  for raw, held in zip(shown, positions) if held is not None}
        accounts = []
        for raw, held in zip(shown, positions):
            known = held if _complete(mapped.get(records.account_id(raw))) else None
            accounts.append(map_one(partial(records.account, positions=known), raw, key=records.account_id))
        sink.accounts(accounts)
        if len(mapped) == len(shown):
            sink.positions([p for held in mapped.values() for p in held])
        else:  # keep the last known positions of the accounts that failed
            for account_id, held in mapped.items():
                sink.positions(held, account=account_id)
        for tick in ticks:
            sink.tick(tick)
        sink.note(*notes)

    def _select(self, raw_accounts: list[dict[str, Any]], notes: list[str]) -> list[dict[str, Any]]:
        """The accounts to show: not deleted, and among the configured ones when some are."""
        readable = [raw for raw in raw_accounts if isinstance(raw, dict) and raw.get("accountId") is not None]
        if len(readable) < len(raw_accounts):
            notes.append(f"{len(raw_accounts) - len(readable)} trading account(s) without accountId skipped")
        alive = [raw for raw in readable if not raw.get("deleted")]
        if not alive:
            notes.append("no trading account is linked to this cTrader ID")
        if not self.wanted:
            return alive
        by_id = {records.account_id(raw): raw for raw in alive}
        missing = [wanted for wanted in self.wanted if wanted not in by_id]
        if missing and len(missing) == len(self.wanted):
            linked = ", ".join(by_id) or "none"
            raise ProviderError(f"none of the configured accounts ({', '.join(missing)}) is linked to this "
                                f"cTrader ID (linked: {linked}); fix the accounts option", permanent=True)
        if missing:
            notes.append(f"accounts not found: {', '.join(missing)}")
        return [by_id[wanted] for wanted in self.wanted if wanted in by_id]

    @staticmethod
    def _held(shown: list[dict[str, Any]], results: list[Any], notes: list[str]) -> list[list[dict[str, Any]] | None]:
        """Each account's positions, or None where only that account failed (noted; its equity is
        then unknown). Token errors, unexpected errors and a failure of every account raise."""
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures:
            if isinstance(failure, AuthError) or not isinstance(failure, ProviderError):
                raise failure
        if failures and len(failures) == len(results):
            raise failures[0]
        for raw, result in zip(shown, results):
            if isinstance(result, ProviderError):
                notes.append(f"account {raw['accountId']}: positions unavailable ({result.message})")
            elif result.note:  # the walk stopped early: the positions read are shown
                notes.append(result.note)
        return [None if isinstance(r, BaseException) else r for r in results]

    def _ticks(self, raw_account: dict[str, Any], symbols: list[dict[str, Any]],
               notes: list[str]) -> list[Tick | Rejected]:
        """The watchlist's last bid/ask as one account lists them, stamped with the poll time."""
        now_ms = int(time.time() * 1000)
        by_name = {str(s.get("symbolName")): s for s in symbols}
        unknown = [name for name in self.watchlist if name not in by_name]
        if unknown:
            notes.append(f"symbols unknown to account {raw_account['accountId']}: {', '.join(unknown)}")
        return map_each(partial(records.tick, at_ms=now_ms), (by_name[name] for name in self.watchlist if name in by_name),
                        key=lambda raw: str(raw["symbolName"]))

    # -- on-demand requests (the screen's) -------------------------------------------------------

    async def request(self, name: str, params: dict[str, Any]) -> list[Any]:
        answered = await history.answer(self.client, name, params)
        return answered if answered is not None else await super().request(name, params)

    # -- quick actions ---------------------------------------------------------------------------

    def actions(self) -> list[Action]:
        return [
            Action(id="ctrader.demo_deposit", title="Demo deposit", target="account", key="d",
                   run=lambda account: self.move_demo_funds(account, "deposit"),
                   confirm=lambda account: self._question(account, "Deposit", "into"),
                   available=self.is_demo),
            Action(id="ctrader.demo_withdraw", title="Demo withdraw", target="account", key="w",
                   run=lambda account: self.move_demo_funds(account, "withdraw"),
                   confirm=lambda account: self._question(account, "Withdraw", "from"),
                   available=self.is_demo),
        ]

    def is_demo(self, account: Account) -> bool:
        raw = self.accounts.get(account.id)
        return raw is not None and not raw.get("live")

    def _question(self, account: Account, verb: str, preposition: str) -> str:
        exact = self.demo_amount.quantize(CENT)
        amount = " ".join(filter(None, [str(exact if exact == self.demo_amount else self.demo_amount),
                                        account.currency]))
        return f"{verb} {amount} {preposition} demo account {account.name or account.id} (id {account.id})?"

    def _amount(self) -> Decimal:
        amount = self.demo_amount.quantize(CENT)
        if amount != self.demo_amount or amount <= 0:
            raise ProviderError(f"demo_amount must be a positive amount with at most 2 decimals, "
                                f"not {self.demo_amount}", permanent=True)
        return amount

    async def move_demo_funds(self, account: Account, kind: str) -> str:
        """Deposit into / withdraw from a demo account `demo_amount` of its currency."""
        raw = self.accounts.get(account.id) or await self._fetch_account(account.id)
        number = raw.get("accountNumber") or account.id
        if raw.get("live"):
            raise ProviderError(f"account {number} is a live account: cTrader allows deposits and withdrawals "
                                f"on demo accounts only", permanent=True)
        amount = self._amount()
        cents = int(amount.scaleb(2))
        if kind == "deposit":
            data = await self.client.deposit(raw["accountId"], cents)
        else:
            data = await self.client.withdraw(raw["accountId"], cents)
        currency = raw.get("depositCurrency") or ""
        done = "Deposited" if kind == "deposit" else "Withdrew"
        message = f"{done} {amount} {currency} {'into' if kind == 'deposit' else 'from'} demo account {number}"
        if isinstance(data, dict) and data.get("balance") is not None:
            message += f"; balance now {from_cents(data['balance'], 'balance')} {currency}"
        return message

    async def _fetch_account(self, account_id: str) -> dict[str, Any]:
        for raw in await self.client.trading_accounts():
            if records.account_id(raw) == account_id:
                return raw
        raise ProviderError(f"account {account_id} is not linked to this cTrader ID", permanent=True)
