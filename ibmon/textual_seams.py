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
* `write_changed_cells()`: Textual writes a partial update of a line from the left edge of each
  widget on it to the end of the changed span, so a price changing at the right of a table re-sends
  the whole line before it, with full colour codes per style run. Written against a record of what
  the terminal shows (`ibmon.terminal_diff`), a terminal (an SSH link) gets the cells whose text or
  colour changed and little else.
* `strips_free_of_cycles()`: `Strip.crop_extend` and `Strip.divide` cache their result on the strip
  itself, and when the result is the strip (nothing to cut) the strip then holds itself: every such
  strip is freed only by Python's cyclic garbage collector. Each frame makes dozens, so collections
  came often and took 30-120 ms with ticks streaming (the screen stalled that long). Returned
  without the cache in that case, a strip goes as soon as nothing uses it.
* `ContentLinesCache` (`draw_content_lines(widget)`): a widget's `StylesCache` (Textual's private
  per-widget line cache, which `Widget.render_lines` draws through) that makes a content line as the
  widget's own strip between its edges (border and padding, cut once per look from a line Textual
  made) instead of through `StylesCache.render_line`, which unpacks the border and outline, makes
  closures and copies the segments for every line. With ticks streaming that work cost more than
  the tables' own rendering. Border and padding lines, and every line of a box with more
  (outline, tint, hatch, opacity), are still made by Textual; tests/ui/test_content_lines.py checks
  the lines are Textual's.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.control import Control
from rich.segment import Segment
from rich.style import Style
from textual._ansi_theme import DEFAULT_TERMINAL_THEME
from textual._styles_cache import StylesCache
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import _character_to_key
from textual.strip import Strip
from textual.style import Style as TextualStyle
from textual.widget import Widget

from ibmon.terminal_diff import ShownScreen


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


def strips_free_of_cycles() -> None:
    """Make the strip methods that may answer the strip itself do so without caching it on it."""
    from textual.strip import Strip

    if getattr(Strip.divide, "free_of_cycles", False):
        return
    divide, crop_extend = Strip.divide, Strip.crop_extend

    def divide_free(strip: Strip, cuts):
        cuts = [cut for cut in cuts if cut <= strip.cell_length]
        return [strip] if cuts == [strip.cell_length] else divide(strip, cuts)

    def crop_extend_free(strip: Strip, start: int, end: int, style: Style | None) -> Strip:
        return strip if start == 0 and end == strip.cell_length else crop_extend(strip, start, end, style)

    divide_free.free_of_cycles = True  # type: ignore[attr-defined]
    Strip.divide = divide_free  # type: ignore[method-assign]
    Strip.crop_extend = crop_extend_free  # type: ignore[method-assign]


class ContentLinesCache(StylesCache):
    """StylesCache making the content lines of a plain box (borders and padding only) itself."""

    def __init__(self) -> None:
        super().__init__()
        self._look: tuple | None = None
        #: For the current look: left and right edge segments, the background style, the first
        #: content line and the line after the last; None when Textual makes the lines.
        self._edges: tuple[list[Segment], list[Segment], Any, int, int] | None = None

    def render(self, styles, size, base_background, background, render_content_line, filters,
               border_title, border_subtitle, content_size=None, padding=None, crop=None, opacity=1.0,
               ansi_theme=DEFAULT_TERMINAL_THEME, native_ansi=False):
        content_size = size if content_size is None else content_size
        padding = styles.padding if padding is None else padding
        crop = size.region if crop is None else crop

        def textuals_line(y: int, content_line=render_content_line) -> Strip:
            return self.render_line(styles, y, size, content_size, padding, base_background, background,
                                    content_line, border_title, border_subtitle, opacity, ansi_theme, native_ansi)

        edges = self._edges_for(styles, size, content_size, padding, base_background, background, filters,
                                opacity, textuals_line)
        if edges is None:
            return super().render(styles, size, base_background, background, render_content_line, filters,
                                  border_title, border_subtitle, content_size, padding, crop, opacity,
                                  ansi_theme, native_ansi)
        if size.width != self._width:
            self.clear()
            self._width = size.width
        left, right, inner, top, bottom = edges
        content_width = content_size.width
        cache, dirty = self._cache, self._dirty_lines
        strips: list[Strip] = []
        for y in crop.line_range:
            strip = None if y in dirty else cache.get(y)
            if strip is None:
                if top <= y < bottom:  # the widget's line between the edges, filtered: one new strip
                    line = render_content_line(y - top)
                    if line.cell_length > content_width:
                        line = line.adjust_cell_length(content_width)
                    segments = [*left, *line]
                    if line.cell_length < content_width:
                        segments.append(Segment(" " * (content_width - line.cell_length), inner))
                    segments += right
                    for line_filter in filters:
                        segments = line_filter.apply(segments, background)
                    strip = Strip(segments, size.width)
                else:  # a border or padding line: Textual's
                    strip = textuals_line(y)
                    for line_filter in filters:
                        strip = strip.apply_filter(line_filter, background)
                cache[y] = strip
            strips.append(strip)
        dirty.difference_update(crop.line_range)
        if crop.column_span != (0, size.width):
            x1, x2 = crop.column_span
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def _edges_for(self, styles, size, content_size, padding, base_background, background, filters, opacity,
                   textuals_line: Callable[..., Strip]):
        """The edges of this look's content lines (cut from a line Textual makes), or None when the
        box is not plain."""
        plain = _plain(styles, opacity)
        look = (plain, styles.border, tuple(padding), base_background, background, size, content_size,
                tuple(filters))
        if look != self._look:
            self._look, self._edges = look, None
            self.clear()  # lines kept under another look were made another way
            if plain:
                gutter = styles.gutter
                blank = Strip.blank(content_size.width)
                line = textuals_line(gutter.top, lambda _y: blank)
                inner = TextualStyle(background=base_background + background).rich_style
                self._edges = (list(line.crop(0, gutter.left)), list(line.crop(size.width - gutter.right)), inner,
                               gutter.top, gutter.top + content_size.height)
        return self._edges


def draw_content_lines(widget: Widget) -> None:
    """Have `widget` (a Line API widget, before it first renders) draw through a ContentLinesCache."""
    widget._styles_cache = ContentLinesCache()


def _plain(styles, opacity: float) -> bool:
    """Whether a line of content is only its border and padding around the content."""
    return (not any(edge for edge, _color in styles.outline) and not styles.tint.a and opacity == 1
            and styles.text_opacity == 1 and not (styles.has_rule("hatch") and styles.hatch != "none"))


def write_changed_cells() -> None:
    """Make Textual write a partial update as the cells that differ from what the terminal shows
    (`ibmon.terminal_diff`), and record what each full repaint writes."""
    from rich.color import ColorSystem
    from textual._compositor import ChopsUpdate, LayoutUpdate
    from textual.strip import Strip

    if getattr(ChopsUpdate.render_segments, "writes_changed_cells", False):
        return
    full_render = LayoutUpdate.render_segments
    screens: weakref.WeakKeyDictionary[Console, ShownScreen] = weakref.WeakKeyDictionary()

    def ansi_of(console: Console):
        color_system = console._color_system or ColorSystem.TRUECOLOR  # as Strip.render does

        def ansi(style: Style | None) -> str | None:
            if style is None:
                return ""
            if style._link:
                return None
            return style._ansi if style._ansi is not None else Strip.render_ansi(style, color_system)

        return ansi

    def render_full(update: LayoutUpdate, console: Console) -> str:
        text = full_render(update, console)
        region = update.region
        screens.setdefault(console, ShownScreen()).record_full(region.y, region.x, region.width,
                                                                update.strips, ansi_of(console))
        return text

    def render_partial(update: ChopsUpdate, console: Console) -> str:
        def whole(y: int, chops: list[tuple[int, int, Strip]]) -> str:
            return "".join(Control.move_to(x, y).segment.text + strip.render(console) for x, _end, strip in chops)

        screen = screens.setdefault(console, ShownScreen())
        return screen.write(_span_chops(update), ansi_of(console), whole)

    render_partial.writes_changed_cells = True  # type: ignore[attr-defined]
    ChopsUpdate.render_segments = render_partial  # type: ignore[method-assign]
    LayoutUpdate.render_segments = render_full  # type: ignore[method-assign]


def _span_chops(update):
    """Per span of a partial update, (y, x1, x2, chops): the strips of the widgets on line y that
    the span crosses, each with the cells it covers, [x, end)."""
    for y, x1, x2 in update.spans:  # x2 exclusive
        chops = [(x, end, strip) for end, (x, strip) in zip(update.chop_ends[y], update.chops[y].items())
                 if strip is not None and x < x2 and end > x1]
        yield y, x1, x2, chops
