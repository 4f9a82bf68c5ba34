"""Every use ibmon makes of Textual's private API, in one place, each where Textual offers no public
way. tests/core/test_textual_seams.py exercises each against the installed Textual, so the first
release that changes one fails there rather than in front of a user.

* `FailureHook`: Textual sends every exception raised by a message handler, compose, mount, a render
  or a worker to `App._handle_exception(error)`, which always ends the app. The mixin first offers
  the exception to `contain_failure(error)`; only when that returns False does the app end as
  Textual does. (By then Textual has stopped the message loop of the node that raised: the node is
  dead, so containing means closing the screen it is on.)
* `add_binding(node, binding)`: add a `Binding` with its id (what the user's `[keys]` remaps) to a
  node that already exists; `BindingsMap.bind()` takes no id.
* `character_key(character)`: the name Textual gives a one-character key ("?" is question_mark),
  as it does for a keymap, so two spellings of one key are seen as one.
* `crop_partial_updates()`: Textual writes a partial update of a line from the left edge of each
  widget on it to the end of the changed span, so a price changing at the right of a table re-sends
  the whole line before it. Cropped at the start as well, a terminal (an SSH link) gets the cells
  that changed and little else.
"""

from __future__ import annotations

from rich.control import Control
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import _character_to_key


class FailureHook(App):
    """An App that may contain an unhandled exception instead of exiting."""

    def contain_failure(self, error: Exception) -> bool:
        """Handle `error` and return True to keep the app running; False ends it as usual."""
        return False

    def _handle_exception(self, error: Exception) -> None:
        if not self.contain_failure(error):
            super()._handle_exception(error)


def add_binding(node: DOMNode, binding: Binding) -> None:
    """Add `binding` (keeping its id, description and flags) to `node`'s own bindings."""
    node._bindings._add_binding(binding)


def character_key(character: str) -> str:
    """Textual's name for the key that types `character` (what `App.set_keymap` binds)."""
    return _character_to_key(character)


def crop_partial_updates() -> None:
    """Make Textual's partial screen updates start at the changed span, not at the widget's edge."""
    from textual._compositor import ChopsUpdate

    if getattr(ChopsUpdate.render_segments, "crops_start", False):
        return

    def render_segments(update: ChopsUpdate, console) -> str:
        out: list[str] = []
        last_y = update.spans[-1][0]
        for y, x1, x2 in update.spans:  # x2 exclusive
            for end, (x, strip) in zip(update.chop_ends[y], update.chops[y].items()):
                if strip is None or x >= x2 or end <= x1:
                    continue
                start, stop = max(x, x1), min(end, x2)
                if (start, stop) != (x, end):
                    strip = strip.crop(start - x, stop - x)
                out.append(Control.move_to(start, y).segment.text)
                out.append(strip.render(console))
            if y != last_y:
                out.append("\n")
        return "".join(out)

    render_segments.crops_start = True  # type: ignore[attr-defined]
    ChopsUpdate.render_segments = render_segments  # type: ignore[method-assign]
