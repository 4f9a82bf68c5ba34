"""ibmon.containment.ExitGuard: an exit raised in a task goes to the callback first; not contained,
it ends the loop exactly as before; a task factory set before is kept and restored."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from ibmon.containment import ExitGuard


async def exits(kind: type[BaseException]):
    await asyncio.sleep(0)
    raise kind("from a task")


def run_guarded(contain, kind, previous=None):
    loop = asyncio.new_event_loop()
    seen: list[BaseException] = []
    try:
        loop.set_task_factory(previous)
        guard = ExitGuard(lambda exc: seen.append(exc) or contain)
        guard.install(loop)
        task = loop.create_task(exits(kind))
        try:
            result = loop.run_until_complete(task)
        finally:
            guard.uninstall()
            factory = loop.get_task_factory()
    finally:
        loop.close()
    return result, seen, factory


@pytest.mark.parametrize("kind", [SystemExit, KeyboardInterrupt])
def test_a_contained_exit_ends_only_its_task(kind):
    result, seen, factory = run_guarded(True, kind)
    assert result is None and [type(e) for e in seen] == [kind] and factory is None


NOT_CONTAINED = """
import asyncio
from ibmon.containment import ExitGuard

async def main():
    ExitGuard(lambda exc: False).install(asyncio.get_running_loop())
    async def leave():
        raise SystemExit(7)
    await asyncio.create_task(leave())
    print("still running")

asyncio.run(main())
"""


def test_an_exit_not_contained_ends_the_process_as_before():
    # In a process of its own: an exit leaving a task upsets CPython 3.11's recursion accounting.
    done = subprocess.run([sys.executable, "-c", NOT_CONTAINED], capture_output=True, text=True, timeout=60)
    assert done.returncode == 7 and "still running" not in done.stdout, done.stderr


def test_a_task_factory_set_before_is_chained_and_restored():
    made = []

    def previous(loop, coro, **kwargs):
        made.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    result, seen, factory = run_guarded(True, SystemExit, previous)
    assert len(made) == 1 and len(seen) == 1 and factory is previous


def test_other_exceptions_and_cancellation_pass_through_untouched():
    loop = asyncio.new_event_loop()
    guard = ExitGuard(lambda exc: pytest.fail("only exits are offered"))
    guard.install(loop)
    try:
        with pytest.raises(ValueError):
            loop.run_until_complete(loop.create_task(exits(ValueError)))
        task = loop.create_task(asyncio.sleep(10))
        loop.call_soon(task.cancel)
        with pytest.raises(asyncio.CancelledError):
            loop.run_until_complete(task)
    finally:
        guard.uninstall()
        loop.close()


def test_a_task_cancelled_before_it_starts_closes_its_coroutine():
    async def never_started():
        await asyncio.sleep(10)

    async def main():
        guard = ExitGuard(lambda exc: False)
        guard.install(asyncio.get_running_loop())
        try:
            coro = never_started()
            task = asyncio.create_task(coro)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0)  # the done callbacks
            return coro.cr_frame  # None once closed
        finally:
            guard.uninstall()

    assert asyncio.run(main()) is None
