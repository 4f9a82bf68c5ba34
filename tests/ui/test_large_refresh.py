"""A first refresh larger than a frame takes in (`FRAME_RECORDS`) is shown over several frames: the
first frame shows a part of it, every record arrives, and keys are answered between the frames."""

from __future__ import annotations

from decimal import Decimal

from ibmon.app import IbmonApp
from ibmon.model import Position
from ibmon.screens.dashboard import FRAME_RECORDS
from ibmon.widgets.positions import PositionsTable

from ui_support import load_host, make_runtime, until

COUNT = FRAME_RECORDS * 3 + 17


async def test_a_refresh_of_many_positions_arrives_over_several_frames_and_all_of_it_is_shown():
    runtime = make_runtime()
    for n in range(COUNT):
        runtime.store.set_position("Big", Position(account=f"A{n % 50}", id=str(n), symbol=f"S{n % 7}",
                                                   side="buy", volume=Decimal(1), profit=Decimal(n)))
    app = IbmonApp(runtime, load_host())
    sizes: list[int] = []
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one(PositionsTable)
        original = table.apply

        def apply(changed):
            sizes.append(len(changed))
            original(changed)

        table.apply = apply
        await until(pilot, lambda: table.row_count == COUNT, timeout=30)
        assert max(sizes, default=0) <= FRAME_RECORDS and len(sizes) >= 2
        table.focus()
        await pilot.press("o")  # a key between frames is answered, and the rows stay
        await until(pilot, lambda: table.sort_column == 0)
        assert table.row_count == COUNT
