"""A line chart in braille: each terminal cell holds 2x4 dots, so a 70x15 area draws 140x60 points.

`braille_lines` is the drawing (pure, tested on its own); `LineChart` is the widget: the value axis
on the left (highest at the top, lowest at the bottom), the times of the first and last point
underneath. Values are floats here: a chart is a shape; the exact figures are printed beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

BRAILLE = 0x2800
#: Bit of each dot of a cell, by (column, row) within the cell.
DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


def braille_lines(points: Sequence[tuple[float, float]], width: int, height: int, *,
                  start: float, end: float, low: float, high: float) -> list[str]:
    """`points` (time, value), oldest first, joined by lines, in `width` x `height` cells spanning
    times [start, end] and values [low, high]."""
    width, height = max(1, width), max(1, height)
    cells = [[0] * width for _ in range(height)]
    dots_x, dots_y = width * 2, height * 4
    span_t = (end - start) or 1.0
    span_v = (high - low) or 1.0

    def dot(t: float, v: float) -> tuple[int, int]:
        x = round((t - start) / span_t * (dots_x - 1))
        y = round((high - v) / span_v * (dots_y - 1)) if high != low else dots_y // 2
        return min(max(x, 0), dots_x - 1), min(max(y, 0), dots_y - 1)

    def plot(x: int, y: int) -> None:
        cells[y // 4][x // 2] |= DOTS[x % 2][y % 4]

    previous: tuple[int, int] | None = None
    for t, v in points:
        here = dot(t, v)
        if previous is None:
            plot(*here)
        else:
            for x, y in _line(previous, here):
                plot(x, y)
        previous = here
    return ["".join(chr(BRAILLE + bits) if bits else " " for bits in row) for row in cells]


def _line(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    (x0, y0), (x1, y1) = a, b
    steps = max(abs(x1 - x0), abs(y1 - y0), 1)
    return [(round(x0 + (x1 - x0) * i / steps), round(y0 + (y1 - y0) * i / steps)) for i in range(steps + 1)]


class LineChart(Widget):
    """Set `points`, the time range and how times and values read with `show()`."""

    DEFAULT_CSS = "LineChart { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.chart_points: list[tuple[float, float]] = []
        self.t_start = self.t_end = 0.0
        self.value_text: Callable[[float], str] = lambda v: f"{v:g}"
        self.time_text: Callable[[float], str] = lambda t: f"{t:g}"
        self.empty_text = "no history for this range yet"
        self.drawn_lines: list[str] = []
        self._drawn_for = (0, 0)

    def show(self, points: list[tuple[float, float]], start: float, end: float, *,
             value_text: Callable[[float], str] | None = None, time_text: Callable[[float], str] | None = None,
             empty_text: str | None = None) -> None:
        self.chart_points, self.t_start, self.t_end = points, start, end
        self.value_text = value_text or self.value_text
        self.time_text = time_text or self.time_text
        self.empty_text = empty_text or self.empty_text
        self._drawn_for = (0, 0)
        self.refresh()

    def _draw(self) -> list[str]:
        width, height = self.size.width, self.size.height
        if (width, height) == self._drawn_for:
            return self.drawn_lines
        self._drawn_for = (width, height)
        if not self.chart_points or height < 2:
            self.drawn_lines = [self.empty_text[:width]]
            return self.drawn_lines
        values = [v for _t, v in self.chart_points]
        low, high = min(values), max(values)
        top, bottom = self.value_text(high), self.value_text(low)
        gutter = max(len(top), len(bottom)) + 1
        rows = height - 1
        chart = braille_lines(self.chart_points, width - gutter, rows, start=self.t_start, end=self.t_end, low=low, high=high)
        lines = []
        for y, row in enumerate(chart):
            label = top if y == 0 else bottom if y == rows - 1 else ""
            lines.append(f"{label:>{gutter - 1}} {row}")
        first, last = self.time_text(self.t_start), self.time_text(self.t_end)
        room = max(0, width - gutter - len(first) - len(last))
        lines.append(" " * gutter + first + " " * room + last)
        self.drawn_lines = [line[:width] for line in lines]
        return self.drawn_lines

    def render_line(self, y: int) -> Strip:
        lines = self._draw()
        text = lines[y] if y < len(lines) else ""
        style = Style.parse(self.app.current_theme.accent or "") if self.chart_points and y < len(lines) - 1 else None
        return Strip([Segment(text.ljust(self.size.width), style)])
