"""The B2Core session: polls every client account, offers account admin actions, answers its
screen's requests. What an action learns from the API (the changed or created account, a deleted
one) it returns in an `ActionResult`, so the host shows it at once."""

from __future__ import annotations

from typing import Any

from ibmon.sdk import (Account, Action, ActionResult, Changes, ConnectionContext, ProviderError, Session, Sink,
                       WalkLimits, map_one)

from .client import B2CoreClient
from .records import NewAccount, account_key, facts, to_account, to_detail


class B2CoreSession(Session):
    poll_timeout = 120.0  # the account list is walked page by page
    def __init__(self, ctx: ConnectionContext) -> None:
        options = ctx.options
        self.ctx = ctx
        self.poll_interval = float(options["poll_seconds"])
        self.filters: dict[str, Any] = dict(options.get("filters") or {})
        self.client = B2CoreClient(
            options["base_url"], client_id=options.get("client_id"), client_secret=options.get("client_secret"),
            token=options.get("token"), page_size=int(options["page_size"]),
            update_method=options["update_method"], verify=options["tls_verify"], timeout=options["timeout"],
            limits=WalkLimits.from_options(options), page_concurrency=int(options["page_concurrency"]),
        )
        self.changes = Changes(to_account, account_key)

    async def poll(self, sink: Sink) -> None:
        """Each page's new and changed accounts as it arrives; the whole list only when some are gone.
        A page whose reply is byte for byte the one before lists the same accounts, unchanged: it is
        not decoded again."""
        walk = self.client.walk_accounts(filters=self.filters, known=self.changes.unchanged)
        self.changes.begin()
        async for page in walk:
            if page.listed is None:
                for account in self.changes.fresh(page.items, page.reply):
                    sink.account(account)
        if self.changes.end(complete=walk.note is None):
            sink.accounts(self.changes.records())
        sink.note(*((walk.note,) if walk.note else ()))

    async def close(self) -> None:
        await self.client.aclose()

    async def request(self, name: str, params: dict[str, Any]) -> list[Any]:
        if name == "b2core.account_detail":
            account_id = params["account_id"]
            detail = await self.client.account(account_id)
            return [to_detail(account_id, detail, await self.client.metrics(account_id))]
        return await super().request(name, params)

    @staticmethod
    def answered(message: str, item: dict[str, Any] | None) -> ActionResult:
        """The message, with the account the API just answered with (shown without waiting for
        the next poll)."""
        account = map_one(to_account, item, key=account_key) if isinstance(item, dict) else None
        return ActionResult(message, records=(account,) if isinstance(account, Account) else ())

    # -- actions ---------------------------------------------------------------------------------

    def actions(self) -> list[Action]:
        return [self._switch_action(True), self._switch_action(False), self.delete_action(), self.create_action()]

    def _switch_action(self, enable: bool) -> Action:
        verb = "enable" if enable else "disable"

        async def run(account: Account) -> ActionResult:
            number = facts(account).get("number") or account.name or account.id
            answer = await self.client.update(account.id, number=number, enabled=enable)
            return self.answered(f"B2Core account {number} {verb}d", answer)

        def question(account: Account) -> str:
            info = facts(account)
            effect = "resume" if enable else "stop"
            return (f"{verb.capitalize()} B2Core account {info.get('number', account.id)} "
                    f"({info.get('platform', '?')}, {account.currency or '?'})? "
                    f"Data synchronisation and reward payments {effect}.")

        return Action(id=f"b2core.{verb}", title=f"{verb.capitalize()} account", target="account", run=run,
                      confirm=question, available=lambda a: facts(a).get("enabled") == ("no" if enable else "yes"),
                      key="e" if enable else "d")

    def delete_action(self) -> Action:
        """Delete an account; the user types its number to confirm."""

        async def run(account: Account) -> ActionResult:
            await self.client.delete(account.id)
            return ActionResult(f"B2Core account {facts(account).get('number', account.id)} deleted",
                                removed=(("account", account.id),))

        def number(account: Account) -> str:
            return facts(account).get("number") or account.id

        return Action(id="b2core.delete", title="Delete account", target="account", run=run,
                      confirm=lambda a: f"Delete B2Core account {number(a)} from the IB module? This cannot be undone.",
                      typed_confirmation=number)

    def create_action(self) -> Action:
        """Add an account to the IB module: the target is the form's `NewAccount` (the screen's)."""

        async def run(new: NewAccount) -> ActionResult:
            if not isinstance(new, NewAccount):
                raise ProviderError("Add account needs the account's number, platform and profile")
            result = self.answered(f"B2Core account {new.number} added",
                                   await self.client.create(new.number, new.platform_id, new.profile_id))
            created = result.records[0] if result.records else None
            if created is not None and created.currency:
                result = ActionResult(f"{result.message} ({created.currency})", result.records)
            return result

        return Action(id="b2core.create", title="Add account", target="connection", run=run, form=NewAccount,
                      available=lambda target: isinstance(target, NewAccount),
                      confirm=lambda new: f"Add account {new.number} on {new.platform_name} "
                                          f"for profile {new.profile_id}?")

