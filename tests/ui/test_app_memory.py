"""The app and Python's garbage collector: what start-up built is frozen out of collections while
the dashboard runs, and given back when it ends."""

from __future__ import annotations

import gc

from ibmon.app import IbmonApp

from ui_support import load_host, make_runtime, until


async def test_what_start_up_built_is_kept_out_of_garbage_collections_while_the_app_runs():
    app = IbmonApp(make_runtime(), load_host())
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: gc.get_freeze_count() > 0)
    assert gc.get_freeze_count() == 0  # given back when the app ends (another app may start in this process)
