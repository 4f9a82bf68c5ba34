"""A provider whose session says it was closed: `close()` writes "closed" to the file named by its
`marker` option, so a test of the installed command can tell that the app closed its sessions."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ibmon import hookimpl
from ibmon.api import Provider, Session
from ibmon.model import Account
from ibmon.options import Option

OPTIONS = (Option("marker", "str", required=True, help="file written when the session is closed"),)


class MarkerSession(Session):
    poll_interval = 0.5

    def __init__(self, ctx) -> None:
        self.marker = Path(ctx.options["marker"])

    async def poll(self, sink) -> None:
        sink.account(Account("M1", Decimal("4242.00"), "EUR"))

    async def close(self) -> None:
        self.marker.write_text("closed")


@hookimpl
def ibmon_providers(register):
    register(Provider(name="marker", title="Session marker", connect=MarkerSession, options=OPTIONS))
