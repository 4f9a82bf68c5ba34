"""The store as the only road for live data, with a plugin the host has never heard of
(tests/support/kinds/notes.py, over loopback): its own record kind reaches the read-only view and
watchers, its screen reads the view and asks for the rest by request, requests fail in place,
and the records an action returns land in the store."""

from __future__ import annotations

import dataclasses
import sys
from decimal import Decimal

import pytest
from textual.widgets import Static

from ibmon.app import IbmonApp
from ibmon.errors import ProviderError
from ibmon.feeds import ConnectionSink
from ibmon.store import Store, StoreView
from ibmon.testing import make_context, wait_for

from ui_support import SUPPORT, load_host, make_runtime, until

KINDS_DIR = SUPPORT / "kinds"


@pytest.fixture
async def notes():
    """The notes plugin's simulator, and a runtime with one connection to it (not started)."""
    host = load_host(extra_dirs=(KINDS_DIR,))
    running = await host.simulators["notes"].start()
    runtime = make_runtime()
    provider = host.providers["notes"]
    runtime.add(provider, make_context(provider, name="Notes", url=running.connections[0]["url"]))
    yield host, runtime
    await runtime.stop()
    await running.stop()


async def test_a_declared_kind_reaches_the_view_and_a_watcher_without_host_edits(notes):
    host, runtime = notes
    view = StoreView(runtime.store)
    own = view.watch(kinds=["notes.note"])
    others = view.watch(kinds=["account", "tick"])
    everything = runtime.store.watch()  # the watcher history and alerts use: every kind
    await runtime.start()
    await wait_for(lambda: runtime.connections["Notes"].ready)
    note = view.get("notes.note", "Notes", "1")
    assert (note.text, note.amount, note.author.name, note.author.desk, note.tags) == (
        "first", Decimal("1.50"), "Ann", "fx", ("a",))
    assert view.records("notes.note", "Notes")["2"].amount == Decimal("-2.25")
    assert own.drain("notes.note") == {("Notes", "1"), ("Notes", "2")}
    assert everything.drain("notes.note") == {("Notes", "1"), ("Notes", "2")}
    assert not others.has_changes() and others.drain("notes.note") == set()
    assert "notes.note" in view.kinds()


async def test_records_of_a_declared_kind_are_checked_by_their_fields(notes):
    host, runtime = notes
    plugin = sys.modules[host.providers["notes"].kinds[0].record.__module__]
    conn = runtime.connections["Notes"]
    sink = ConnectionSink(conn, runtime.store)
    good = plugin.Note("9", "fine", Decimal("1"), plugin.Author("Di"))
    sink.put("notes.note", good)
    sink.put("notes.note", dataclasses.replace(good, id="10", author=plugin.Author(12345)))  # nested, wrong type
    sink.put("other.thing", good)  # a kind the connection's provider did not declare
    view = StoreView(runtime.store)
    assert view.get("notes.note", "Notes", "9") == good
    assert view.get("notes.note", "Notes", "10") is None
    assert conn.rejected[("notes.note", "10")] == "author: name: expected text, got int"
    assert ("unknown kind", "other.thing") in conn.rejected
    assert "2 records rejected" in runtime.store.health["Notes"].describe()


async def test_an_action_result_lands_in_the_store(notes):
    host, runtime = notes
    await runtime.start()
    await wait_for(lambda: runtime.connections["Notes"].ready)
    view = StoreView(runtime.store)
    watcher = view.watch(kinds=["notes.note"])
    watcher.drain("notes.note")
    [pin] = runtime.connections["Notes"].session.actions()
    message = await runtime.run_action("Notes", pin, view.get("notes.note", "Notes", "2"))
    assert message == "pinned 2"
    assert view.get("notes.note", "Notes", "2").pinned is True  # at once, not at a next poll
    assert watcher.drain("notes.note") == {("Notes", "2")}


async def test_requests_go_through_the_runtime_checked_and_bounded(notes):
    host, runtime = notes
    await runtime.start()
    await wait_for(lambda: runtime.connections["Notes"].ready)
    older = await runtime.request("Notes", "notes.history", {"count": 3})
    assert [n.text for n in older] == ["old 0", "old 1", "old 2"]
    assert runtime.store.get("notes.note", "Notes", "h0") is None  # on-demand data is not live state
    with pytest.raises(ProviderError, match="the notes server said: no such thing"):
        await runtime.request("Notes", "notes.fail", {})
    with pytest.raises(ProviderError, match="notes.hang: no answer within 0.3 s"):
        await runtime.request("Notes", "notes.hang", {})
    with pytest.raises(ProviderError, match='request notes.history: key "count" must be at least 1'):
        await runtime.request("Notes", "notes.history", {"count": 0})
    with pytest.raises(ProviderError, match="does not answer the request 'notes.nothing'"):
        await runtime.request("Notes", "notes.nothing", {})


async def test_the_screen_reads_the_view_asks_by_request_and_cannot_write(notes):
    host, runtime = notes
    app = IbmonApp(runtime, host)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: runtime.connections["Notes"].ready)
        await pilot.press("N")
        await until(pilot, lambda: type(app.screen).__name__ == "NotesScreen")
        screen = app.screen
        shown = screen.query_one("#notes", Static)
        await until(pilot, lambda: str(shown.render()) == "1:first | 2:second")

        # what the screen was given reads the store and nothing more
        ctx = screen.ctx
        assert not any(isinstance(getattr(ctx, f.name), Store) for f in dataclasses.fields(ctx))
        assert not hasattr(ctx, "session") and "url" in ctx.options
        writers = [name for name in dir(ctx.view) if name.startswith(("set_", "put", "replace", "remove", "touch",
                                                                       "register"))]
        assert writers == []
        with pytest.raises(TypeError):
            ctx.view.records("notes.note", "Notes")["3"] = None  # type: ignore[index]

        # a live change reaches the open screen through the store
        [pin] = ctx.actions()
        await runtime.run_action("Notes", pin, ctx.view.get("notes.note", "Notes", "1"))
        await until(pilot, lambda: str(shown.render()) == "1:first (pinned) | 2:second")

        answer = screen.query_one("#answer", Static)
        await pilot.press("h")
        await until(pilot, lambda: str(answer.render()) == "history: old 0, old 1")
        await pilot.press("f")
        await until(pilot, lambda: str(answer.render()) == "error: the notes server said: no such thing")
        await pilot.press("w")
        await until(pilot, lambda: str(answer.render()) == "error: notes.hang: no answer within 0.3 s")
        assert app.screen is screen and app.is_running


def test_a_kind_is_declared_under_its_provider_with_checkable_fields():
    from ibmon.api import Provider, RecordKind

    @dataclasses.dataclass(frozen=True)
    class Quote:
        symbol: str
        price: float  # money is never a float: the check cannot take it

    @dataclasses.dataclass(frozen=True)
    class Fine:
        symbol: str
        price: Decimal

    with pytest.raises(TypeError, match="Quote.price: cannot check a field of type <class 'float'>"):
        Provider("quotes", "Quotes", connect=lambda ctx: None, kinds=(RecordKind("quotes.quote", Quote, "symbol"),))
    with pytest.raises(ValueError, match='must be named "quotes.<what>"'):
        Provider("quotes", "Quotes", connect=lambda ctx: None, kinds=(RecordKind("tick2", Fine, "symbol"),))
    with pytest.raises(ValueError, match="key field"):
        RecordKind("quotes.fine", Fine, "id")
    provider = Provider("quotes", "Quotes", connect=lambda ctx: None, kinds=[RecordKind("quotes.fine", Fine, "symbol")])
    assert provider.kind("quotes.fine").key == ("symbol",)
