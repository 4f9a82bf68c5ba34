"""Replies over the size bound against the real REST clients: a gigabyte announced by Content-Length
is refused unread, and one sent without it is cut at the bound; either way the error names the
request and the bound, and the client holds no more than the bound."""

from __future__ import annotations

import pytest

from http_servers import HostileServer, flood, route
from ibmon.errors import ProviderError
from rest_clients import CASES

BOUNDS = {"b2core": "32 MB", "ctrader": "32 MB", "crm": "32 MB", "ibkr_flex": "64 MB"}


@pytest.mark.parametrize("declared", [True, False], ids=["with Content-Length", "chunked"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_a_gigabyte_reply_is_refused_at_the_bound(case, declared):
    with HostileServer(route(case.good, flood(declared=declared))) as server:
        client = case.make(server.url, timeout=60)  # time to read the bound on a loaded machine
        try:
            with pytest.raises(ProviderError) as caught:
                await case.call(client)
        finally:
            await case.close(client)
    assert caught.value.message.startswith(f"{case.what}: refused a reply over {BOUNDS[case.name]}")
