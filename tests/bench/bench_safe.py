"""The cost of `ibmon.safe.safe_text` on the cells it sees most (it runs on every cell of every row
drawn), against `str()` of the same value, and the cost of drawing one tick-board row with it."""

from __future__ import annotations

import timeit

from ibmon.safe import safe_text

CELLS = {
    "ascii symbol": "EURUSD",
    "money with marks": "≈12,345.67",
    "sparkline": "▁▂▃▄▅▆▇█▇▆",
    "escape sequence": "\x1b]52;c;ZXZpbA==\x07",
    "bidi override": "\u202eDSUORUE",
    "100 kB string": "L" * 100_000,
}


def per_call_ns(statement, number: int) -> float:
    return min(timeit.repeat(statement, number=number, repeat=5)) / number * 1e9


def run(quick: bool = False) -> list[dict]:
    number = 20_000 if quick else 200_000
    figures = []
    for name, cell in CELLS.items():
        calls = number // 100 if len(cell) > 1000 else number
        ours = per_call_ns(lambda: safe_text(cell), calls)
        baseline = per_call_ns(lambda: str(cell), calls)
        figures.append({"figure": f"safe_text: {name}", "ns_per_call": round(ours, 1),
                        "baseline": "str()", "baseline_ns": round(baseline, 1)})
    row = ("EURUSD", "XTB demo", "1.08512", "1.08514", "0.00002", "▲", "▁▂▃▄▅▆▇█▇▆", "0 s")
    drawn = per_call_ns(lambda: [safe_text(cell) for cell in row], number // 10)
    figures.append({"figure": "safe_text: one tick-board row (8 cells)", "ns_per_row": round(drawn, 1)})
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure)
