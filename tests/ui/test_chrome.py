"""The dashboard's chrome: the footer's keys, the status line, notifications (coalesced, above the
status line, listed by `n`), the help legend, Ctrl+C, and the first-run panel."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual.widgets._toast import Toast

from ibmon.app import IbmonApp
from ibmon.model import Health, HealthState
from ibmon.notices import RECENT_LIMIT
from ibmon.screens.first_run import FirstRun
from ibmon.screens.help import HelpScreen
from ibmon.screens.notices import NoticesScreen

from book import CONNECTION, book_app, filled
from ui_support import load_host, make_runtime, notifications, screen_text, until


def key_bar_line(app: IbmonApp) -> str:
    return screen_text(app).split("\n")[-1]


@pytest.mark.parametrize("width", [80, 160])
async def test_the_footer_shows_the_main_keys_first_and_as_many_as_fit(width):
    app = book_app()
    async with app.run_test(size=(width, 24)) as pilot:
        await filled(pilot, app)
        keys = app.dashboard.keys.shown_keys
        assert keys[:4] == ["?", "q", "⏎", "z"]  # help, quit, actions, maximise
        line = key_bar_line(app)
        assert "? Help  q Quit  ⏎ Actions  z Zoom" in line and len(line.rstrip()) <= width
        if width == 160:
            assert {"s", "h", "n", "r", "tab", "^p"} <= set(keys)
        else:
            assert len(keys) < len(app.dashboard.keys.items)  # the rest is in help


async def test_the_footer_shows_remapped_keys_and_a_click_presses_one():
    app = book_app(keys={"help": "f1", "maximize": "m"})
    async with app.run_test(size=(100, 30)) as pilot:
        await filled(pilot, app)
        line = key_bar_line(app)
        assert line.startswith(" f1 Help  q Quit") and "m Zoom" in line
        await pilot.click(app.dashboard.keys, offset=(2, 0))  # on "f1 Help"
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))


async def test_the_footer_says_read_only():
    app = book_app(read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await filled(pilot, app)
        assert key_bar_line(app).rstrip().endswith("read-only")


@pytest.mark.parametrize("size", [(80, 24), (160, 30)], ids=["80x24", "160x30"])
async def test_a_failing_connection_says_why_on_the_status_line_and_points_at_the_details_key(size):
    app = book_app(keys={"toggle_health": "f2"})
    async with app.run_test(size=size) as pilot:
        await filled(pilot, app)
        app.store.set_health("cTrader", Health(HealthState.LIVE))
        app.store.set_health("XTB", Health(HealthState.ERROR, detail="login refused (BE005): check user_id"))
        app.store.set_health("B2Core", Health(HealthState.RECONNECTING, detail="timeout", attempt=2))
        status = app.dashboard.health
        await until(pilot, lambda: "XTB" in screen_text(app))
        line = screen_text(app).split("\n")[status.region.y]
        assert line.startswith(" ✖ XTB  error: login refused") and "f2: details (+1 more)" in line
        assert status.region.height == 1
        await pilot.press("f2")  # every connection on a line of its own, with why
        await until(pilot, lambda: status.region.height == 4)
        text = screen_text(app)
        assert "◌ B2Core" in text and "reconnecting (attempt 2" in text and "● cTrader" in text


async def test_notifications_that_come_together_make_one_toast_above_the_status_line():
    app = book_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await filled(pilot, app)
        app.notify("3 new leads", title="CRM")
        app.notify("1 new lead", title="CRM EU")
        app.notify("3 new leads", title="CRM")
        await until(pilot, lambda: len(app.screen.query(Toast)) == 1 and "3 notifications" in screen_text(app))
        await pilot.pause(0.2)
        [toast] = app.screen.query(Toast)
        text = screen_text(app)
        assert "CRM EU: 1 new lead" in text and "CRM: 3 new leads ×2" in text
        assert toast.region.bottom <= app.dashboard.health.region.y  # the status line stays readable
        app.notify("a fourth", title="XTB")  # while it is up: it joins the same toast
        await until(pilot, lambda: "4 notifications" in screen_text(app))
        assert len(app.screen.query(Toast)) == 1


async def test_n_lists_recent_notifications_newest_first_with_time_and_source():
    app = book_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await filled(pilot, app)
        app.notify("alpha", title="CRM")
        app.notify("second \x1b]0;title\x07 [b]not bold[/b]", title="XTB", severity="error")
        await until(pilot, lambda: len(notifications(app)) == 2)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NoticesScreen))
        await pilot.pause(0.1)
        rows = app.screen.rows_text()
        assert rows[0].endswith("error  XTB  second \\x1b]0;title\\x07 [b]not bold[/b]")
        assert rows[1].endswith("information  CRM  alpha")
        text = screen_text(app)
        assert text.index("second") < text.index("alpha") and "[b]not bold[/b]" in text
        assert app.format_time(app.notices.recent[0].at) in text
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)


async def test_the_list_is_bounded_and_notify_works_from_any_thread():
    app = IbmonApp(make_runtime(), load_host())
    async with app.run_test(size=(120, 36)) as pilot:
        worker = threading.Thread(target=lambda: [app.notify(f"note {n}") for n in range(RECENT_LIMIT + 20)])
        worker.start()
        worker.join()
        await until(pilot, lambda: app.notices.recent and app.notices.recent[0].message == f"note {RECENT_LIMIT + 19}")
        assert len(app.notices.recent) == RECENT_LIMIT


async def test_help_explains_the_status_marks_and_the_trend_column():
    app = book_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await filled(pilot, app)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_text = app.screen.help_text()
        for mark in ("●", "◐", "○", "◌", "✖", "–", "▲ ▼ ·", "▁▃▅▇", "≈", "Σ", "+?", "▲ ▼", "/", "…"):
            assert f"\n{mark}  " in f"\n{help_text}", mark
        for binding in ("maximize", "notifications", "filter", "sort", "sort_reverse"):
            assert binding in help_text
        assert "status: error" in screen_text(app) or "status: live" in screen_text(app)


async def test_ctrl_c_says_which_key_quits_without_markup():
    app = book_app(keys={"quit": "ctrl+x"})
    async with app.run_test(size=(80, 24)) as pilot:
        await filled(pilot, app)
        await pilot.press("ctrl+c")
        await until(pilot, lambda: any("to quit" in n for n in notifications(app)))
        assert notifications(app)[-1] == "Quit?: Press ^x to quit."
        assert app.is_running


async def test_with_no_config_the_dashboard_explains_how_to_start(tmp_path):
    path = tmp_path / "ibmon" / "config.toml"
    app = IbmonApp(make_runtime(), load_host(), first_run=FirstRun(path))
    async with app.run_test(size=(160, 24)) as pilot:  # wide enough for the test's long path
        await pilot.pause(0.2)
        text = screen_text(app)
        for expected in ("Welcome to ibmon", "There is no config file yet", str(path), "ibmon config init",
                         "ibmon config check", "ibmon demo", "Press q to quit"):
            assert expected in text, expected
        assert "Balances" not in text
        assert "no connections configured" in text and "? Help" in key_bar_line(app)
        await pilot.press("q")
    assert app.return_code == 0


async def test_a_config_without_connections_says_so(tmp_path):
    path = Path(tmp_path / "config \x1b[2J.toml")
    app = IbmonApp(make_runtime(), load_host(), first_run=FirstRun(path, missing=False))
    async with app.run_test(size=(160, 24)) as pilot:
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "Your config file has no [[connections]]" in text and "config \\x1b[2J.toml" in text


async def test_the_book_connection_is_named_on_the_status_line():
    app = book_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await filled(pilot, app)
        assert f"● {CONNECTION}" in screen_text(app)


async def test_with_many_connections_the_status_line_shows_the_troubled_first_and_counts_the_rest():
    from ibmon.widgets.health_bar import MAX_LINES

    app = book_app(keys={"toggle_health": "f2"})
    async with app.run_test(size=(120, 30)) as pilot:  # under 34 lines: the compact status line
        await filled(pilot, app)
        for n in range(40):
            app.store.set_health(f"desk{n:02}", Health(HealthState.LIVE))
        app.store.set_health("zz-broken", Health(HealthState.ERROR, detail="login refused"))
        status = app.dashboard.health
        await until(pilot, lambda: "+" in screen_text(app).split("\n")[status.region.y])
        compact = screen_text(app).split("\n")[status.region.y]
        assert compact.startswith(" ✖ zz-broken") and compact.rstrip().endswith("more")
        await pilot.press("f2")
        await until(pilot, lambda: status.region.height == MAX_LINES)
        lines = screen_text(app).split("\n")[status.region.y:status.region.bottom]
        assert lines[0].startswith(" ✖ zz-broken")
        assert lines[-1].strip() == f"+{42 - (MAX_LINES - 1)} more: {42 - (MAX_LINES - 1)} live"
