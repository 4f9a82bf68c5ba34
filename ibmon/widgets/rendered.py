"""A Rich renderable drawn once per width: its lines are rendered when the width changes and kept,
so layout passes and repaints cost nothing more (a `Static` renders a table again for each)."""

from __future__ import annotations

from rich.console import RenderableType
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget


class Rendered(Widget):
    """Shows `renderable` at the widget's width, as tall as it renders."""

    DEFAULT_CSS = "Rendered { height: auto; }"

    def __init__(self, renderable: RenderableType, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.renderable = renderable
        self._drawn_width = -1
        self._drawn: list[Strip] = []
        #: Times the renderable was rendered (for tests).
        self.renders = 0

    def lines(self, width: int) -> list[Strip]:
        if width != self._drawn_width:
            console = self.app.console
            options = console.options.update(width=max(1, width), height=None, highlight=False)
            self._drawn = [Strip(line, width) for line in console.render_lines(self.renderable, options, pad=True)]
            self._drawn_width = width
            self.renders += 1
        return self._drawn

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        lines = self.lines(width)
        return lines[y] if 0 <= y < len(lines) else Strip.blank(width, self.rich_style)
