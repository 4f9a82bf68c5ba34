"""Run every benchmark and print the figures: `python tests/bench/run.py [--json] [--quick]`.

Each figure is a ratio against a baseline measured in the same run (or an absolute goal where the
issue sets one), with the raw numbers. Nothing is asserted: these are figures, not tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_attach  # noqa: E402
import bench_b2core  # noqa: E402
import bench_connections  # noqa: E402
import bench_framing  # noqa: E402
import bench_history  # noqa: E402
import bench_import  # noqa: E402
import bench_pty  # noqa: E402
import bench_rest  # noqa: E402
import bench_safe  # noqa: E402
import bench_screen  # noqa: E402
import bench_ticks  # noqa: E402

SUITES = (("import", bench_import.run), ("ticks", bench_ticks.run), ("screen", bench_screen.run),
          ("rest", bench_rest.run), ("framing", bench_framing.run))

SUITES += (("safe", bench_safe.run), ("pty", bench_pty.run), ("attach", bench_attach.run),
           ("history", bench_history.run), ("b2core", bench_b2core.run), ("connections", bench_connections.run))


def machine() -> dict:
    import os

    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"python": platform.python_version(), "system": platform.platform(), "cpu": model,
            "cores": os.cpu_count()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="a short run for CI smoke (figures only)")
    parser.add_argument("--only", action="append", choices=[name for name, _ in SUITES])
    args = parser.parse_args()
    report = {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": args.quick,
              "machine": machine(), "figures": []}
    for name, suite in SUITES:
        if args.only and name not in args.only:
            continue
        started = time.perf_counter()
        try:
            figures = suite(args.quick)
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            figures = [{"figure": name, "error": f"{type(exc).__name__}: {exc}"}]
        figures = figures if isinstance(figures, list) else [figures]
        for figure in figures:
            figure["suite"] = name
            report["figures"].append(figure)
        if not args.json:
            for figure in figures:
                print(json.dumps(figure))
            print(f"# {name}: {time.perf_counter() - started:.1f} s", flush=True)
    if args.json:
        print(json.dumps(report, indent=2))
    broken = [figure["figure"] for figure in report["figures"] if "error" in figure]
    if broken:  # figures are never asserted, but a benchmark that cannot run has rotted
        print(f"# benchmarks that failed to run: {', '.join(broken)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
