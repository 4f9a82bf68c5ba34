"""A provider whose session starts a task of its own that calls sys.exit() once the account is in."""

import asyncio
import sys
from decimal import Decimal

from ibmon import hookimpl
from ibmon.api import Provider, Session
from ibmon.model import Account


def _leave() -> None:
    sys.exit(7)


class ExitingReader(Session):
    async def stream(self, sink) -> None:
        sink.account(Account(id="T1", balance=Decimal("1.00")))
        sink.ready()
        reader = asyncio.create_task(self._reader(), name="reader of exits_in_a_task")
        try:
            await asyncio.Event().wait()
        finally:
            reader.cancel()

    async def _reader(self) -> None:
        await asyncio.sleep(0)
        _leave()


@hookimpl
def ibmon_providers(register):
    register(Provider(name="exits_in_a_task", title="Exits in a task", connect=lambda ctx: ExitingReader()))
