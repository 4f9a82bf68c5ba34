"""Which plugin screen a failure belongs to, and keeping `sys.exit()` in plugin code from ending the app.

Attribution: a failure belongs to a provider screen when the code that raised ran on that screen or
on a widget inside it. Python records that in the traceback: each frame's `self` is the node whose
method was running (the message loop of the node that dispatched the event is the outermost one; a
render, a handler or a widget method deeper in). A worker's failure belongs to the node it was run
from. A screen pushed on top of a provider screen (its own dialog, or the host's confirmation for one
of its actions) counts as part of it.

Exits: SystemExit and KeyboardInterrupt are not Exceptions, so Textual's handlers let them through;
out of a message loop or a worker they would leave the event loop and end the process. `ExitGuard`
sets a task factory (public asyncio API) on the running loop that wraps each new task: an exit
raised in it is offered to a callback, which contains it when it came from a provider screen, and
is raised on unchanged otherwise. Actions the app runs in its own message loop are guarded by
`IbmonApp.run_action`.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import NoActiveWorker, WorkerFailed, get_current_worker

#: Raised by plugin code, these would end the process; from a provider screen they are its failure.
EXITS = (SystemExit, KeyboardInterrupt)


def the_error(error: BaseException) -> BaseException:
    """What actually went wrong (a failed worker's own exception)."""
    return error.error if isinstance(error, WorkerFailed) else error


def nodes_involved(error: BaseException) -> Iterator[DOMNode]:
    """The Textual nodes whose code was running when `error` was raised, innermost first, through
    the exceptions it was raised from; then the node of the worker it failed in, if any."""
    seen: set[int] = set()
    current: BaseException | None = the_error(error)
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = [frame for frame, _line in traceback.walk_tb(current.__traceback__)]
        for frame in reversed(frames):
            owner = frame.f_locals.get("self")
            if isinstance(owner, DOMNode):
                yield owner
        current = current.__cause__ or current.__context__
    try:
        yield get_current_worker().node
    except NoActiveWorker:
        pass


def modules_involved(error: BaseException) -> Iterator[str]:
    """The modules whose code was running when `error` was raised, innermost first."""
    frames = [frame for frame, _line in traceback.walk_tb(the_error(error).__traceback__)]
    for frame in reversed(frames):
        yield str(frame.f_globals.get("__name__", ""))


def screen_of(node: DOMNode) -> Screen | None:
    """The screen a node is on (None for the app itself or a detached node)."""
    while node is not None and not isinstance(node, Screen):
        node = node.parent
    return node


def owning_screen(error: BaseException, stack: list[Screen], owned: Callable[[Screen], bool]) -> Screen | None:
    """The screen that `owned` accepts and `error` belongs to, if any: the screen a node involved is
    on (open or already closed), or the nearest accepted screen under it in `stack`."""
    for node in nodes_involved(error):
        screen = screen_of(node)
        if screen is None:
            continue
        if owned(screen):
            return screen
        if screen in stack:
            for candidate in reversed(stack[: stack.index(screen)]):
                if owned(candidate):
                    return candidate
    return None


class ExitGuard:
    """While installed, an exit raised in a task of the loop goes to `contain(exit)` first: True
    means it was handled (the task ends normally), False lets it end the process as before."""

    def __init__(self, contain: Callable[[BaseException], bool]) -> None:
        self._contain = contain
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: Any = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop, self._previous = loop, loop.get_task_factory()
        loop.set_task_factory(self._factory)

    def uninstall(self) -> None:
        if self._loop is not None and self._loop.get_task_factory() == self._factory:
            self._loop.set_task_factory(self._previous)
        self._loop = None

    def _factory(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any):
        guarded = self._guarded(coro)
        if self._previous is not None:
            task = self._previous(loop, guarded, **kwargs)
        else:
            task = asyncio.Task(guarded, loop=loop, **kwargs)
        # A task cancelled before its first step never starts the coroutine it was given: close it,
        # as the task would have without the guard (no "never awaited" warning).
        task.add_done_callback(lambda _task: coro.close())
        return task

    async def _guarded(self, coro: Coroutine[Any, Any, Any]) -> Any:
        try:
            return await coro
        except EXITS as exit_:
            if self._contain(exit_):
                return None
            raise
