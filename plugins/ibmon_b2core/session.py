"""The B2Core session: polls every client account, offers account admin actions and its screen."""

from __future__ import annotations

from typing import Any

from ibmon.sdk import Account, Action, Changes, ConnectionContext, Session, Sink, WalkLimits, map_one

from .client import B2CoreClient
from .records import account_key, facts, to_account


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
        self._sink: Sink | None = None
        self.changes = Changes(to_account, account_key)

    async def poll(self, sink: Sink) -> None:
        """Each page's new and changed accounts as it arrives; the whole list only when some are gone."""
        self._sink = sink
        walk = self.client.walk_accounts(filters=self.filters)
        self.changes.begin()
        async for page in walk:
            for account in self.changes.fresh(page.items):
                sink.account(account)
        if self.changes.end(complete=walk.note is None):
            sink.accounts(self.changes.records())
        sink.note(*((walk.note,) if walk.note else ()))

    async def close(self) -> None:
        await self.client.aclose()

    def deliver(self, item: dict[str, Any] | None) -> Account | None:
        """Show an account the API just answered with, without waiting for the next poll."""
        if not isinstance(item, dict):
            return None
        account = map_one(to_account, item, key=account_key)
        if self._sink is not None:
            self._sink.account(account)
        return account if isinstance(account, Account) else None

    # -- actions ---------------------------------------------------------------------------------

    def actions(self) -> list[Action]:
        return [self._switch_action(True), self._switch_action(False)]

    def _switch_action(self, enable: bool) -> Action:
        verb = "enable" if enable else "disable"

        async def run(account: Account) -> str:
            number = facts(account).get("number") or account.name or account.id
            self.deliver(await self.client.update(account.id, number=number, enabled=enable))
            return f"B2Core account {number} {verb}d"

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

        async def run(account: Account) -> str:
            await self.client.delete(account.id)
            return f"B2Core account {facts(account).get('number', account.id)} deleted"

        def number(account: Account) -> str:
            return facts(account).get("number") or account.id

        return Action(id="b2core.delete", title="Delete account", target="account", run=run,
                      confirm=lambda a: f"Delete B2Core account {number(a)} from the IB module? This cannot be undone.",
                      typed_confirmation=number)

    def create_action(self, number: str, platform_id: str, platform_name: str, profile_id: str) -> Action:
        """Add an account (number, platform, profile) to the IB module."""

        async def run(_: Any) -> str:
            created = self.deliver(await self.client.create(number, platform_id, profile_id))
            return f"B2Core account {number} added" + (f" ({created.currency})" if created and created.currency else "")

        return Action(id="b2core.create", title="Add account", target="connection", run=run,
                      confirm=lambda _: f"Add account {number} on {platform_name} for profile {profile_id}?")

