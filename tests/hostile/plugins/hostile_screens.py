"""A provider whose own screens misbehave in every place a screen runs code, and palette commands
that fail or call sys.exit(). Each screen has a dashboard key (ScreenSpec.key) and, once open,
misbehaves on its own or when "k" is pressed.

Textual is imported only in the screen factories, as the plugin API asks.
"""

from __future__ import annotations

import sys
from decimal import Decimal

from ibmon import hookimpl
from ibmon.api import Command, Provider, ScreenSpec, Session
from ibmon.model import Account


def _screen_classes():
    from textual import on
    from textual.app import ComposeResult
    from textual.message import Message
    from textual.screen import Screen
    from textual.widget import Widget
    from textual.widgets import Label

    class Base(Screen):
        def compose(self) -> ComposeResult:
            yield Label(f"hostile screen {type(self).__name__}")

    class RaisesOnMount(Base):
        def on_mount(self) -> None:
            raise RuntimeError("on_mount exploded")

    class RaisesInCompose(Screen):
        def compose(self) -> ComposeResult:
            raise ValueError("compose exploded")
            yield Label("never")

    class RaisesInAction(Base):
        BINDINGS = [("k", "explode", "Explode")]

        def action_explode(self) -> None:
            raise LookupError("key action exploded")

    class RaisesInKeyHandler(Base):
        def on_key(self, event) -> None:
            if event.key == "k":
                raise KeyError("key handler exploded")

    class Exploded(Message):
        pass

    class RaisesInMessageHandler(Base):
        BINDINGS = [("k", "post", "Post")]

        def action_post(self) -> None:
            self.post_message(Exploded())

        @on(Exploded)
        def exploded(self, message) -> None:
            raise ArithmeticError("message handler exploded")

    class BadRender(Widget):
        def render(self):
            raise TypeError("render exploded")

    class RaisesInRender(Screen):
        def compose(self) -> ComposeResult:
            yield BadRender()

    class ExitsInAction(Base):
        BINDINGS = [("k", "leave", "Leave")]

        def action_leave(self) -> None:
            sys.exit("the key action called sys.exit()")

    class ExitsInKeyHandler(Base):
        def on_key(self, event) -> None:
            if event.key == "k":
                sys.exit(2)

    class ExitsOnMount(Base):
        def on_mount(self) -> None:
            raise SystemExit("on_mount raised SystemExit")

    class InterruptsInWorker(Base):
        BINDINGS = [("k", "work", "Work")]

        def action_work(self) -> None:
            self.run_worker(self.work())

        async def work(self) -> None:
            raise KeyboardInterrupt

    return {cls.__name__: cls for cls in (RaisesOnMount, RaisesInCompose, RaisesInAction, RaisesInKeyHandler,
                                          RaisesInMessageHandler, RaisesInRender, ExitsInAction,
                                          ExitsInKeyHandler, ExitsOnMount, InterruptsInWorker)}


#: Screen id → (title, dashboard key, screen class name).
SCREENS = {
    "mount": ("Raises on mount", "1", "RaisesOnMount"),
    "compose": ("Raises in compose", "2", "RaisesInCompose"),
    "action": ("Raises in a key action", "3", "RaisesInAction"),
    "keyhandler": ("Raises in on_key", "4", "RaisesInKeyHandler"),
    "message": ("Raises in a message handler", "5", "RaisesInMessageHandler"),
    "render": ("Raises in render", "6", "RaisesInRender"),
    "exit_action": ("Exits in a key action", "7", "ExitsInAction"),
    "exit_keyhandler": ("Exits in on_key", "8", "ExitsInKeyHandler"),
    "exit_mount": ("Exits on mount", "9", "ExitsOnMount"),
    "interrupt_worker": ("Interrupts in a worker", "0", "InterruptsInWorker"),
}


def _factory(class_name: str):
    return lambda ctx: _screen_classes()[class_name]()


class HostileSession(Session):
    poll_interval = 60.0

    def __init__(self, ctx) -> None:
        self.ctx = ctx

    async def poll(self, sink) -> None:
        sink.account(Account("H1", Decimal("1.00"), "EUR"))


def _exit(app) -> None:
    sys.exit("the palette command called sys.exit()")


def _open_failing_screen(app) -> None:
    app.push_screen(_screen_classes()["RaisesOnMount"]())


async def _raise(app) -> None:
    raise RuntimeError("the palette command exploded")


@hookimpl
def ibmon_providers(register):
    register(Provider(name="hostile", title="Hostile screens", connect=HostileSession,
                      screens=tuple(ScreenSpec(spec_id, title, _factory(name), key=key)
                                    for spec_id, (title, key, name) in SCREENS.items())))


@hookimpl
def ibmon_commands(register):
    register(Command("Hostile: exit", _exit, help="calls sys.exit()"))
    register(Command("Hostile: explode", _raise, help="raises"))
    register(Command("Hostile: open a failing screen", _open_failing_screen, help="pushes a screen that raises"))
