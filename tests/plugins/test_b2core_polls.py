"""B2Core polls of a large account list against the simulator: pages shown as they arrive, several
at a time (as many as `page_concurrency` says), and a poll where nothing changed costs the store
and the screen nothing."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from ibmon.feeds import FeedRuntime
from ibmon.store import Store
from ibmon.testing import RecordingSink, make_context, wait_for
from test_b2core_support import PROVIDER, connection_options, list_requests, session_for, sim_of, simulator


async def test_accounts_are_delivered_page_by_page_while_the_poll_goes_on():
    async with simulator(accounts=300, delay=0.05) as running:
        session = session_for(running, page_size=10, page_concurrency=2)
        sink = RecordingSink()
        try:
            polling = asyncio.ensure_future(session.poll(sink))
            await sink.wait_for(lambda: len(sink.account_records) >= 10)
            assert not polling.done() and len(sink.account_records) < 300
            await polling
        finally:
            await session.close()
        assert sorted(sink.account_records) == sorted(sim_of(running).accounts())
        assert sink.notes == () and sink.rejections == []


async def test_the_page_concurrency_option_is_declared_with_a_small_default():
    option = PROVIDER.option("page_concurrency")
    assert option is not None and option.type == "int" and 2 <= option.default <= 4
    assert option.minimum == 1


async def test_each_page_is_requested_once_whatever_the_concurrency():
    async with simulator(accounts=95) as running:
        for concurrency in (1, 3):
            session = session_for(running, page_size=10, page_concurrency=concurrency)
            before = list_requests(running)
            sink = RecordingSink()
            try:
                await session.poll(sink)
            finally:
                await session.close()
            offsets = sorted(int(r.query["offset"]) for r in sim_of(running).log("/accounts", "GET")[before:])
            assert offsets == list(range(0, 95, 10))
            assert len(sink.account_records) == 95


async def _runtime(running, **options):
    store = Store()
    runtime = FeedRuntime(store, watchdog_interval=None)
    runtime.add(PROVIDER, make_context(PROVIDER, name="B2", **connection_options(running, **options)))
    await runtime.start()
    return runtime, store


async def _next_poll(running) -> None:
    seen = list_requests(running)
    await wait_for(lambda: list_requests(running) >= seen + 5)  # a whole poll: 5 pages of 10 after `seen`
    await asyncio.sleep(0.05)


async def test_a_poll_with_nothing_changed_touches_no_record_and_a_change_touches_only_its_own():
    async with simulator(accounts=40) as running:
        runtime, store = await _runtime(running, page_size=10, poll_seconds=0.5)
        try:
            await wait_for(lambda: runtime.connections["B2"].ready)
            shown = dict(store.accounts["B2"])
            watcher = store.watch()
            watcher.drain("account")
            await _next_poll(running)
            await _next_poll(running)
            assert watcher.drain("account") == set()
            assert all(store.accounts["B2"][key] is record for key, record in shown.items())

            changed, gone = sorted(shown)[:2]
            sim_of(running).set_money(changed, balance="123.45")
            sim_of(running).remove_account(gone)
            await wait_for(lambda: gone not in store.accounts["B2"])
            await _next_poll(running)
            assert watcher.drain("account") == {("B2", changed), ("B2", gone)}
            assert store.accounts["B2"][changed].balance == Decimal("123.45")
            assert len(store.accounts["B2"]) == 39
        finally:
            await runtime.stop()


async def test_a_reply_the_same_as_the_last_one_is_not_decoded_again(monkeypatch):
    import ibmon_b2core.client as client_module

    decoded: list[int] = []

    def counting_loads(content):
        if b'"data"' in content:  # an account list reply (not a token)
            decoded.append(len(content))
        return client_module.loads.__wrapped__(content)

    counting_loads.__wrapped__ = client_module.loads  # type: ignore[attr-defined]
    monkeypatch.setattr(client_module, "loads", counting_loads)
    async with simulator(accounts=40) as running:
        session = session_for(running, page_size=10, page_concurrency=2)
        sink = RecordingSink()
        try:
            await session.poll(sink)
            assert len(decoded) == 4 and len(sink.account_records) == 40
            decoded.clear()
            await session.poll(sink)
            assert decoded == [] and len(sink.account_records) == 40  # every page known: nothing decoded
            changed = sorted(sim_of(running).accounts())[5]
            sim_of(running).set_money(changed, balance="77.70")
            await session.poll(sink)
            assert len(decoded) == 1  # only the page that changed
            assert sink.account_records[changed].balance == Decimal("77.70")
        finally:
            await session.close()
