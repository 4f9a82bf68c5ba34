"""The help sheet draws its tables once per width: repaints and layout passes reuse the lines, a
resize draws them again at the new width, and every row stays on screen."""

from __future__ import annotations

from ibmon.app import IbmonApp
from ibmon.screens.help import HelpScreen
from ibmon.widgets.rendered import Rendered

from ui_support import load_host, make_runtime, screen_text, until


async def test_help_tables_render_once_per_width_and_show_every_row():
    app = IbmonApp(make_runtime(), load_host())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause(0.2)
        keys = app.screen.query_one("#help-table", Rendered)
        legend = app.screen.query_one("#help-legend", Rendered)
        drawn = (keys.renders, legend.renders)
        text = screen_text(app)
        assert "Binding id" in text and "Help: the bindings in force" in text
        for _ in range(3):
            app.screen.refresh(layout=True)
            await pilot.pause(0.05)
        assert (keys.renders, legend.renders) == drawn

        wide = keys.size.width
        await pilot.resize_terminal(90, 40)
        await until(pilot, lambda: keys.size.width != wide)
        await pilot.pause(0.1)
        assert keys.renders > drawn[0]
        assert all(len(line.text.rstrip()) <= keys.size.width for line in keys.lines(keys.size.width))
        lines = "\n".join(line.text for line in keys.lines(keys.size.width))
        assert all(row[2] in lines for row in app.screen.rows)  # every binding id, still there when narrower
