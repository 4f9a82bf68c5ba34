"""A single-file provider plugin with a record kind of its own ("notes.note"), declared requests,
an action that returns records and a screen, for the host's tests of the one data path: nothing in
the host names it. Its simulator is a WebSocket feed of JSON notes on loopback."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ibmon.sdk import (Action, ActionResult, ConnectionContext, Option, Provider, ProviderError, RecordKind,
                       RequestSpec, RunningSimulator, ScreenContext, ScreenSpec, Session, Simulator, dec, hookimpl,
                       loads)


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    desk: str | None = None


@dataclass(frozen=True, slots=True)
class Note:
    id: str
    text: str
    amount: Decimal
    author: Author
    tags: tuple[str, ...] = ()
    pinned: bool = False


NOTE = RecordKind("notes.note", Note, ("id",), "notes")
REQUESTS = (
    RequestSpec("notes.history", Note, "older notes", params=(Option("count", "int", default=2, minimum=1),)),
    RequestSpec("notes.fail", Note, "a request the server refuses"),
    RequestSpec("notes.hang", Note, "a request the server never answers", timeout=0.3),
)


def note_of(raw: dict[str, Any]) -> Note:
    author = raw.get("author") or {}
    return Note(str(raw["id"]), raw["text"], dec(raw["amount"]), Author(author.get("name"), author.get("desk")),
                tuple(raw.get("tags") or ()), bool(raw.get("pinned")))


class NotesSession(Session):
    def __init__(self, ctx: ConnectionContext) -> None:
        self.ctx = ctx
        self.ws = None
        self._asked = itertools.count(1)
        self._answers: dict[int, asyncio.Future] = {}

    async def stream(self, sink) -> None:
        from websockets.asyncio.client import connect

        async with connect(self.ctx.options["url"]) as ws:
            self.ws = ws
            try:
                async for raw in ws:
                    message = loads(raw)
                    if message["type"] == "note":
                        sink.put("notes.note", note_of(message["note"]))
                    elif message["type"] == "ready":
                        sink.ready()
                    elif message["type"] == "answer":
                        future = self._answers.pop(message["ask"], None)
                        if future is not None and not future.done():
                            future.set_result(message)
            finally:
                self.ws = None

    async def _ask(self, **message: Any) -> dict[str, Any]:
        if self.ws is None:
            raise ProviderError("not connected")
        number = next(self._asked)
        future = self._answers[number] = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps({"ask": number, **message}))
        answer = await future
        if "error" in answer:
            raise ProviderError(f"the notes server said: {answer['error']}")
        return answer

    async def request(self, name: str, params: dict[str, Any]) -> list[Any]:
        if name == "notes.history":
            return [note_of(raw) for raw in (await self._ask(what="history", count=params["count"]))["items"]]
        if name == "notes.fail":
            await self._ask(what="fail")
        if name == "notes.hang":
            await self._ask(what="hang")
        return await super().request(name, params)

    def actions(self) -> list[Action]:
        async def pin(note: Note) -> ActionResult:
            answer = await self._ask(what="pin", id=note.id)
            return ActionResult(f"pinned {note.id}", records=(note_of(answer["note"]),))

        return [Action("notes.pin", "Pin note", "connection", pin, mutating=False,
                       available=lambda target: isinstance(target, Note))]


def open_screen(ctx: ScreenContext) -> Any:
    from textual.app import ComposeResult
    from textual.screen import Screen
    from textual.widgets import Static

    from ibmon.sdk.ui import safe_rich, watch_store

    class NotesScreen(Screen):
        BINDINGS = [("h", "ask('notes.history')", "History"), ("f", "ask('notes.fail')", "Fail"),
                    ("w", "ask('notes.hang')", "Hang")]

        def __init__(self) -> None:
            super().__init__()
            self.ctx = ctx
            self.watcher = watch_store(self, ctx.view, (NOTE.name,), self.show)

        def compose(self) -> ComposeResult:
            yield Static("", id="notes")
            yield Static("", id="answer")

        def on_mount(self) -> None:
            self.show()

        def on_unmount(self) -> None:
            self.ctx.view.unwatch(self.watcher)

        def show(self) -> None:
            self.watcher.rearm()
            self.watcher.drain(NOTE.name)
            notes = sorted(self.ctx.view.records(NOTE.name, self.ctx.connection).values(), key=lambda n: n.id)
            self.query_one("#notes", Static).update(safe_rich(" | ".join(f"{n.id}:{n.text}" for n in notes)))

        def action_ask(self, name: str) -> None:
            self.run_worker(self.ask(name), exit_on_error=False)

        async def ask(self, name: str) -> None:
            answer = self.query_one("#answer", Static)
            try:
                notes = await self.ctx.request(name)
            except ProviderError as exc:
                answer.update(safe_rich(f"error: {exc.message}"))
                return
            answer.update(safe_rich("history: " + ", ".join(n.text for n in notes)))

    return NotesScreen()


async def start_simulator(host: str = "127.0.0.1") -> RunningSimulator:
    from websockets.asyncio.server import serve

    notes = {"1": {"id": "1", "text": "first", "amount": "1.50", "author": {"name": "Ann", "desk": "fx"},
                   "tags": ["a"]},
             "2": {"id": "2", "text": "second", "amount": "-2.25", "author": {"name": "Bo"}}}
    history = [{"id": f"h{n}", "text": f"old {n}", "amount": "0.10", "author": {"name": "Cy"}} for n in range(5)]

    async def handler(ws) -> None:
        for note in notes.values():
            await ws.send(json.dumps({"type": "note", "note": note}))
        await ws.send(json.dumps({"type": "ready"}))
        async for raw in ws:
            ask = json.loads(raw)
            what = ask.get("what")
            if what == "history":
                await ws.send(json.dumps({"type": "answer", "ask": ask["ask"], "items": history[:ask["count"]]}))
            elif what == "pin":
                notes[ask["id"]] = {**notes[ask["id"]], "pinned": True, "text": notes[ask["id"]]["text"] + " (pinned)"}
                await ws.send(json.dumps({"type": "answer", "ask": ask["ask"], "note": notes[ask["id"]]}))
            elif what == "fail":
                await ws.send(json.dumps({"type": "answer", "ask": ask["ask"], "error": "no such thing"}))
            # "hang": never answered

    server = await serve(handler, host, 0)
    url = f"ws://{host}:{server.sockets[0].getsockname()[1]}"

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    return RunningSimulator(provider="notes", endpoints={"feed": url},
                            connections=[{"name": "Notes", "provider": "notes", "url": url}], stop=stop)


PROVIDER = Provider(name="notes", title="Notes feed", connect=NotesSession,
                    options=(Option("url", "url", required=True, help="WebSocket URL of the notes feed"),),
                    kinds=(NOTE,), requests=REQUESTS,
                    screens=(ScreenSpec("notes", "Notes", open_screen, key="N"),))


@hookimpl
def ibmon_providers(register):
    register(PROVIDER)


@hookimpl
def ibmon_simulators(register):
    register(Simulator(provider="notes", title="Notes feed", start=start_simulator))
