"""`import ibmon` time against `import textual.app`, each in fresh interpreters (median of runs)."""

from __future__ import annotations

import subprocess
import sys

from common import median, ratio


def import_seconds(module: str, runs: int) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, "-X", "frozen_modules=on", "-c", code],
                                  capture_output=True, text=True, check=True).stdout) for _ in range(runs)]
    return median(times)


def run(quick: bool = False) -> dict:
    runs = 3 if quick else 15
    baseline = import_seconds("textual.app", runs)
    ours = import_seconds("ibmon", runs)
    cli = import_seconds("ibmon.cli", runs)
    return {
        "figure": "import ibmon time",
        "baseline": "import textual.app",
        "goal": "<= 1.2x",
        "ibmon_ms": round(ours * 1000, 2),
        "ibmon_cli_ms": round(cli * 1000, 2),
        "baseline_ms": round(baseline * 1000, 2),
        "ratio": ratio(ours, baseline),
        "met": ours <= 1.2 * baseline,
    }


if __name__ == "__main__":
    print(run())
