"""ibmon.textual_seams against the installed Textual: each private API it wraps must still do what
ibmon relies on. A Textual release that renames or reroutes one fails here."""

from __future__ import annotations

import inspect
import re

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Label

from ibmon.textual_seams import FailureHook, add_binding, character_key, strips_free_of_cycles, write_changed_cells


class Failing(Screen):
    """Fails where it is told to: "mount", "compose", "key" (its on_key), "render", "worker"."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where

    def compose(self) -> ComposeResult:
        if self.where == "compose":
            raise ValueError("compose failed")
        yield BadRender() if self.where == "render" else Label("a label")

    def on_mount(self) -> None:
        if self.where == "mount":
            raise RuntimeError("mount failed")
        if self.where == "worker":
            self.run_worker(self.work())

    async def work(self) -> None:
        raise LookupError("worker failed")

    def on_key(self, event) -> None:
        if self.where == "key":
            raise KeyError("key failed")


class BadRender(Widget):
    def render(self):
        raise TypeError("render failed")


class Containing(FailureHook):
    def __init__(self, contain: bool) -> None:
        super().__init__()
        self.contain = contain
        self.seen: list[BaseException] = []

    def contain_failure(self, error: Exception) -> bool:
        self.seen.append(error)
        if self.contain and len(self.screen_stack) > 1:
            self.pop_screen()
        return self.contain


def test_textual_still_routes_unhandled_errors_through_handle_exception():
    assert list(inspect.signature(App._handle_exception).parameters) == ["self", "error"]


@pytest.mark.parametrize("where", ["mount", "compose", "key", "render", "worker"])
async def test_every_unhandled_error_reaches_contain_failure_and_may_be_contained(where):
    app = Containing(contain=True)
    async with app.run_test() as pilot:
        await app.push_screen(Failing(where))
        if where == "key":
            await pilot.press("x")
        for _ in range(100):
            if app.seen and len(app.screen_stack) == 1:
                break
            await pilot.pause(0.02)
        assert app.seen, f"the {where} failure never reached contain_failure"
        assert app.is_running and len(app.screen_stack) == 1
    assert app.return_code in (None, 0)
    error = app.seen[0]
    message = str(getattr(error, "error", error))
    assert f"{where} failed" in message


async def test_an_error_not_contained_ends_the_app_as_textual_does():
    app = Containing(contain=False)
    with pytest.raises(RuntimeError, match="mount failed"):
        async with app.run_test() as pilot:
            await app.push_screen(Failing("mount"))
            await pilot.pause(0.2)
    assert app.return_code == 1


class Bound(App):
    def __init__(self) -> None:
        super().__init__()
        self.ran: list[str] = []

    def compose(self) -> ComposeResult:
        yield Label("bindings")

    def action_mark(self, what: str) -> None:
        self.ran.append(what)


async def test_add_binding_adds_a_working_binding_that_keeps_its_id():
    app = Bound()
    async with app.run_test() as pilot:
        add_binding(app.screen, Binding("f6", "app.mark('added')", "Mark", id="test.mark"))
        await pilot.press("f6")
        await pilot.pause()
        assert app.ran == ["added"]
        active = [a.binding for a in app.screen.active_bindings.values() if a.binding.id == "test.mark"]
        assert [b.key for b in active] == ["f6"]
        app.set_keymap({"test.mark": "f7"})  # what [keys] does with the id
        await pilot.press("f7")
        await pilot.pause()
        assert app.ran == ["added", "added"]


async def test_character_key_names_a_key_as_the_keymap_binds_it():
    app = Bound()
    async with app.run_test() as pilot:
        add_binding(app.screen, Binding("f6", "app.mark('added')", "Mark", id="test.mark"))
        app.set_keymap({"test.mark": "?"})
        await pilot.pause()
        [active] = [a.binding for a in app.screen.active_bindings.values() if a.binding.id == "test.mark"]
        assert active.key == character_key("?") == "question_mark"
        assert character_key("/") == "slash" and character_key("a") == "a"


class TwoLabels(App):
    def compose(self) -> ComposeResult:
        yield Label("left " * 10, id="left")


async def test_a_partial_update_of_a_cell_at_the_right_writes_from_that_cell_only():
    """The update Textual would write for a one-cell refresh at column 40 of a 50-cell label starts
    there (a cursor move to column 41) and carries one cell, not the 40 before it."""
    from rich.console import Console
    from textual.geometry import Region

    write_changed_cells()
    app = TwoLabels()
    async with app.run_test(size=(80, 5)) as pilot:
        await pilot.pause()
        label = app.query_one("#left")
        compositor = app.screen._compositor
        compositor.render_partial_update()  # drop what is pending
        label.refresh(Region(40, 0, 1, 1))
        compositor.update_widgets({label})
        update = compositor.render_partial_update()
        assert update is not None and "spans" in vars(update) and "chop_ends" in vars(update)
        text = update.render_segments(Console(width=80, color_system="truecolor", force_terminal=True))
        assert text.startswith("\x1b[1;41H")
        assert re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text) == "l"  # "left left ..."[40]


class Counter(Widget):
    """A line of text that changes every time it is drawn anew."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def render_line(self, y: int):
        from rich.segment import Segment
        from textual.strip import Strip

        return Strip([Segment(f"{self.count:>8} ticks"), Segment(" " * 62)], 76)


class Counting(App):
    def compose(self) -> ComposeResult:
        yield Counter()


async def test_frames_leave_no_strips_for_the_cyclic_garbage_collector():
    """Textual caches a strip's crops and divisions on the strip; when the answer is the strip
    itself, the strip held itself and lived until a (slow) cyclic collection."""
    import gc

    strips_free_of_cycles()
    app = Counting()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        widget = app.query_one(Counter)
        compositor = app.screen._compositor
        gc.collect()
        gc.disable()
        try:
            for count in range(200):
                widget.count = count
                widget.refresh()
                compositor.update_widgets({widget})
                compositor.render_partial_update()
            left = gc.collect()
        finally:
            gc.enable()
    assert left < 50, f"{left} objects were left to the cyclic collector by 200 frames"
