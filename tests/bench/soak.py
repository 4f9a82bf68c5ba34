"""Chaos soak: the dashboard headless against every plugin's simulator, with faults switched on at random.

    python tests/bench/soak.py --minutes 10 [--seed 1] [--json]

The dashboard (IbmonApp under Textual's `run_test`, with its FeedRuntime over every simulator that
`ibmon.simulators.SimulatorHost` starts) runs while each connection goes through fault episodes one
after another: a quiet spell, a fault for a few seconds, then the wait for recovery. Faults go through
each simulator's control handle (`RunningSimulator.control`): xAPI drops, malformed stream packets,
refused logins, the 200 ms rule enforced harder, the connection limit; for every HTTP simulator the
simulator kit's faults (500s, 429 with Retry-After, a truncated (malformed) body, a reply slower than
the client's timeout, a socket closed without a reply); cTrader's revoked token; B2Core's and the
CRM's expired tokens; Flex's 1019 storms and expired token.

A recovery is the connection's health back to live *and* fresh data after the fault ended; the time
to recover is measured from the end of the episode. Exceptions that escape (the app's loop, any
thread, sys.excepthook) are counted. At the end faults go off, every simulated market is paused, and
the store must come to equal each simulator's own state (balances, positions, lead counts).

The backoff is shortened (0.25 s doubling to 4 s, instead of 1 s to 60 s) so that a 10-minute run
holds many episodes; nothing else is tuned.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import random
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import percentile  # noqa: E402

from ibmon import config as cfg, secrets  # noqa: E402
from ibmon.feeds import Backoff, FeedRuntime  # noqa: E402
from ibmon.model import HealthState  # noqa: E402
from ibmon.simulators import SimulatorHost  # noqa: E402
from ibmon.store import Store  # noqa: E402

PROVIDERS = ("xtb", "ctrader", "b2core", "crm", "ibkr_flex")
#: Simulator settings: quick markets, small populations, Flex statements ready at once.
SIM_SETTINGS: dict[str, dict[str, Any]] = {
    "xtb": {"tick_seconds": 0.1, "churn_seconds": 4.0},
    "ctrader": {"interval": 0.5},
    "b2core": {"accounts": 60, "interval": 0.5},
    "crm": {"leads": 2000, "tick": 0.5, "conversion_delay": 1.0},
    # a token of its own: Flex's rate limiter is per token and process-wide (the test suite shares it)
    "ibkr_flex": {"pending_polls": 0, "interval": 0.5, "tokens": ["soak-flex-token"]},
}
#: Connection options that make faults show quickly (poll often, short request deadlines).
CONNECTION_OPTIONS: dict[str, dict[str, Any]] = {
    "ctrader": {"poll_seconds": 1.0, "timeout": 2.0},
    "b2core": {"poll_seconds": 1.0, "timeout": 2.0},
    "crm": {"poll_seconds": 1.5, "timeout": 2.0},
    "ibkr_flex": {"poll_seconds": 5.0, "max_wait_seconds": 8.0},
}


# -- run-time faults ---------------------------------------------------------------------------


@dataclass
class Fault:
    """One kind of fault: `on()` at the start (again every `every` seconds if set), `off()` at the end.
    Both are calls of a simulator's control handle (safe from this thread)."""

    on: Callable[[], Any]
    off: Callable[[], Any] = lambda: None
    every: float | None = None

    async def run(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        try:
            while True:
                self.on()
                if self.every is None or time.monotonic() + self.every > end:
                    break
                await asyncio.sleep(self.every)
            await asyncio.sleep(max(0.0, end - time.monotonic()))
        finally:
            self.off()


def kit_fault(control: Any, **knobs: float) -> Fault:
    """One of the simulator kit's faults (see `ibmon.simkit.Faults`) for the episode."""
    return Fault(lambda: control.set_faults(**knobs), control.clear_faults)


@dataclass
class Target:
    """One connection under test: its running simulator and its fault catalogue."""

    provider: str
    name: str
    running: Any
    faults: dict[str, Fault] = field(default_factory=dict)

    @property
    def control(self) -> Any:
        return self.running.control


def xtb_faults(control: Any) -> dict[str, Fault]:
    def switched(**values: Any) -> Fault:
        """Set switches and drop the connections, so that the next login meets them."""
        before = control.switches()

        def on() -> None:
            control.set_switches(**values)
            control.drop()

        return Fault(on, lambda: control.set_switches(**{name: before[name] for name in values}))

    return {
        "dropped sockets": Fault(control.drop, every=1.5),
        "malformed JSON": Fault(lambda: control.set_switches(malformed_every=0.3),
                                lambda: control.set_switches(malformed_every=0.0)),
        "refused login (BE005)": switched(reject_logins=True),
        "rate-limit disconnects": switched(pacing=1.0),
        "connection limit (EX008)": switched(max_connections=0),
    }


def http_faults(target: Target) -> dict[str, Fault]:
    control, provider = target.control, target.provider
    faults = {
        "429 Too Many Requests": kit_fault(control, rate_limit=0.5, retry_after=1),
        "malformed body": kit_fault(control, malformed=0.5),
        "dropped sockets": kit_fault(control, drop=0.5),
        "5xx": kit_fault(control, error_rate=0.6),
    }
    if provider in ("ctrader", "b2core", "crm"):
        faults["slow replies beyond timeout"] = kit_fault(control, delay=CONNECTION_OPTIONS[provider]["timeout"] + 0.5)
    if provider == "ctrader":
        faults["revoked token"] = Fault(control.revoke_token, control.restore_token)
    if provider in ("b2core", "crm"):
        faults["expired tokens"] = Fault(control.expire_tokens, every=0.7)
    if provider == "ibkr_flex":
        token = target.running.connections[0]["token"]
        pending = SIM_SETTINGS["ibkr_flex"]["pending_polls"]
        faults["1019 storm"] = Fault(lambda: control.set_pending_polls(1000),
                                     lambda: control.set_pending_polls(pending))
        faults["expired token (1012)"] = Fault(lambda: control.expire_token(token),
                                               lambda: control.expire_token(token, expired=False))
    return faults


# -- truth: what each simulator holds --------------------------------------------------------


def pause_markets(targets: list[Target]) -> None:
    for target in targets:
        target.control.pause()


def differences(target: Target, store: Store) -> list[str]:
    """How the store's picture of the connection differs from its simulator's state (empty: equal)."""
    name, control = target.name, target.control
    accounts = {a.id: a for a in store.accounts.get(name, {}).values()}
    positions = store.positions.get(name, {})
    if target.provider == "xtb":
        user = control.user(str(target.running.connections[0]["user_id"]))
        values = user.indicators()
        want_accounts = {user.user_id: (values["balance"], values["equity"])}
        got_accounts = {a.id: (a.balance, a.equity) for a in accounts.values()}
        want_positions = {(user.user_id, str(order)): trade.volume for order, trade in user.positions.items()}
        got_positions = {key: p.volume for key, p in positions.items()}
    elif target.provider == "ctrader":
        live = [a for a in control.accounts().values() if not a.deleted and not a.lost]
        want_accounts = {str(a.id): Decimal(a.balance).scaleb(-2) for a in live}
        want_positions = {(str(a.id), str(p.id)): Decimal(p.volume).scaleb(-2)
                          for a in live for p in a.positions.values()}
        got_accounts = {a.id: a.balance for a in accounts.values()}
        got_positions = {key: p.volume for key, p in positions.items()}
    elif target.provider == "b2core":
        want_accounts = {aid: Decimal(control.snapshot(aid)["balance"]) for aid in control.accounts()}
        got_accounts = {a.id: a.balance for a in accounts.values()}
        want_positions = got_positions = {}
    elif target.provider == "ibkr_flex":
        portfolio = control.portfolio()
        want_accounts = {a.id: portfolio.nav(a) for a in portfolio.accounts}
        want_positions = {(a.id, h.symbol): h.quantity for a in portfolio.accounts
                          for h in a.holdings.values() if h.quantity}
        got_accounts = {a.id: a.balance for a in accounts.values()}
        got_positions = {(p.account, p.symbol): p.volume if p.side == "buy" else -p.volume
                         for p in positions.values()}
    else:
        return crm_differences(target, store)
    return _compare("account", want_accounts, got_accounts) + _compare("position", want_positions, got_positions)


def crm_differences(target: Target, store: Store) -> list[str]:
    control = target.control
    windows = store.leads.get(target.name, {})
    if not windows:
        return ["no lead counts"]
    want, got = {}, {}
    for window in windows.values():
        span = {"pageSize": "1"}
        people = {**span, "registrationDateFrom": window.date_from, "registrationDateTo": window.date_to}
        money = {**span, "transactionDateFrom": window.date_from, "transactionDateTo": window.date_to,
                 "includeFake": "false"}
        want[window.window] = tuple(control.answer(f"/api/v1/ib/{what}", query)["total"] for what, query in (
            ("leads", people), ("registrations", people), ("transactions", money)))
        got[window.window] = (window.leads, window.registrations, window.transactions)
    return _compare("window", want, got)


def _compare(kind: str, want: dict, got: dict) -> list[str]:
    problems = [f"{kind} {key} missing" for key in want.keys() - got.keys()]
    problems += [f"{kind} {key} not in the simulator" for key in got.keys() - want.keys()]
    problems += [f"{kind} {key}: {got[key]} != {want[key]}" for key in want.keys() & got.keys()
                 if got[key] != want[key]]
    return sorted(problems)


# -- escapes ---------------------------------------------------------------------------------


class Escapes:
    """Counts exceptions nobody handled: the loop's handler, sys.excepthook, threading.excepthook."""

    def __init__(self) -> None:
        self.dashboard: list[str] = []
        self.simulators: list[str] = []
        self._saved: tuple[Any, Any] | None = None

    def install(self, loop: asyncio.AbstractEventLoop, sims: SimulatorHost) -> None:
        self._saved = (sys.excepthook, threading.excepthook)
        loop.set_exception_handler(lambda _loop, context: self.dashboard.append(_context(context)))
        sims.loop.run(_set_handler(lambda _loop, context: self.simulators.append(_context(context))), 5)
        sys.excepthook = self._sys_hook
        threading.excepthook = self._thread_hook

    def uninstall(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.set_exception_handler(None)
        if self._saved:
            sys.excepthook, threading.excepthook = self._saved

    def _sys_hook(self, exc_type: type, exc: BaseException, _tb: Any) -> None:
        self.dashboard.append(f"sys.excepthook: {exc_type.__name__}: {exc}")

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        where = args.thread.name if args.thread else "?"
        bucket = self.simulators if where == "ibmon-simulators" else self.dashboard
        bucket.append(f"thread {where}: {args.exc_type.__name__}: {args.exc_value}")


async def _set_handler(handler: Callable[..., None]) -> None:
    asyncio.get_running_loop().set_exception_handler(handler)


def _context(context: dict[str, Any]) -> str:
    exc = context.get("exception")
    return f"{context.get('message')}: {type(exc).__name__ + ': ' + str(exc) if exc else ''}"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Stats:
    injected: dict[str, int] = field(default_factory=dict)
    degraded: int = 0
    recovered: int = 0
    ttr: list[float] = field(default_factory=list)
    unrecovered: list[str] = field(default_factory=list)
    final: list[str] | None = None  # differences from the truth (None: never compared)

    @property
    def episodes(self) -> int:
        return sum(self.injected.values())


@dataclass
class Report:
    seconds: float
    stats: dict[str, Stats]
    escaped: list[str]
    simulator_escaped: list[str]
    rss_start: float
    rss_end: float
    rss_max: float
    app_running: bool
    #: RSS (MB) once a minute from the start of the faults.
    rss_minutes: list[float] = field(default_factory=list)
    #: With tracemalloc on: the lines whose allocations grew most between the start and the end.
    growth: list[str] = field(default_factory=list)
    #: Values `ibmon.secrets.redact` masks at the end (tokens a client marked as replaced drop out after an hour).
    secrets_remembered: int = 0

    @property
    def ok(self) -> bool:
        return (self.app_running and not self.escaped and
                all(s.recovered == s.episodes and s.final == [] for s in self.stats.values()))

    def as_json(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 1), "ok": self.ok, "escaped": self.escaped,
                "simulator_escaped": self.simulator_escaped, "app_running": self.app_running,
                "rss_mb": {"start": round(self.rss_start, 1), "end": round(self.rss_end, 1),
                           "max": round(self.rss_max, 1), "per_minute": [round(v, 1) for v in self.rss_minutes]},
                "memory_growth": self.growth, "secrets_remembered": self.secrets_remembered,
                "connections": {name: {"faults": s.injected, "episodes": s.episodes, "degraded": s.degraded,
                                       "recovered": s.recovered, "unrecovered": s.unrecovered,
                                       "ttr_p50": _round(percentile(s.ttr, 50)),
                                       "ttr_p99": _round(percentile(s.ttr, 99)),
                                       "final_equals_truth": s.final == [], "final_differences": s.final}
                                for name, s in self.stats.items()}}

    def text(self) -> str:
        lines = [f"soak: {self.seconds / 60:.1f} min, every connection under random faults",
                 f"{'connection':<16} {'faults':>6} {'degraded':>8} {'recovered':>9} {'ttr p50':>8} "
                 f"{'ttr p99':>8}  final = truth"]
        for name, s in self.stats.items():
            lines.append(f"{name:<16} {s.episodes:>6} {s.degraded:>8} {s.recovered:>5}/{s.episodes:<3} "
                         f"{_seconds(percentile(s.ttr, 50)):>8} {_seconds(percentile(s.ttr, 99)):>8}  "
                         f"{'yes' if s.final == [] else 'NO: ' + '; '.join((s.final or ['not compared'])[:3])}")
            lines.append("    " + ", ".join(f"{kind} ×{n}" for kind, n in sorted(s.injected.items())))
            for miss in s.unrecovered:
                lines.append(f"    not recovered: {miss}")
        lines.append(f"exceptions escaped: {len(self.escaped)}" +
                     "".join(f"\n    {e}" for e in self.escaped[:10]))
        if self.simulator_escaped:
            lines.append(f"simulator-side exceptions (not ibmon's): {len(self.simulator_escaped)}")
        lines.append(f"RSS: {self.rss_start:.1f} MB at start (all live), {self.rss_end:.1f} MB at end, "
                     f"{self.rss_max:.1f} MB max")
        if self.rss_minutes:
            lines.append("RSS per minute: " + " ".join(f"{v:.0f}" for v in self.rss_minutes) + " MB")
        lines.append(f"values masked by redact() at the end: {self.secrets_remembered}")
        if self.growth:
            lines.append("largest allocation growth (tracemalloc):" + "".join(f"\n    {g}" for g in self.growth))
        lines.append(f"dashboard still running: {'yes' if self.app_running else 'NO'}")
        lines.append("RESULT: " + ("OK" if self.ok else "FAILED"))
        return "\n".join(lines)


def _round(value: float) -> float | None:
    return None if value != value else round(value, 2)


def _seconds(value: float) -> str:
    return "-" if value != value else f"{value:.1f} s"


async def soak(seconds: float, *, seed: int | None = None, quiet: tuple[float, float] = (2.0, 8.0),
               episode: tuple[float, float] = (2.0, 8.0), recovery_timeout: float = 90.0,
               final_timeout: float = 60.0,
               progress: Callable[[str], None] | None = None, providers: tuple[str, ...] = PROVIDERS) -> Report:
    """Run the soak for `seconds` of faults over the simulators of `providers`; return the report."""
    from ibmon.app import IbmonApp

    rng = random.Random(seed)
    say = progress or (lambda _text: None)
    _settings, host = cfg.load_plugins({}, None)
    sims = SimulatorHost(host)
    escapes = Escapes()
    loop = asyncio.get_running_loop()
    try:
        for provider in providers:
            sims.start([provider], SIM_SETTINGS[provider])
        if sims.failures:
            raise RuntimeError("; ".join(sims.failure_lines()))
        entries = sims.connections()
        for entry in entries:
            entry.update(CONNECTION_OPTIONS.get(entry["provider"], {}))
        config = cfg.build_config({"connections": entries}, host)
        config.raise_problems()
        runtime = FeedRuntime(Store(), backoff=Backoff(base=0.25, factor=2.0, cap=4.0, jitter=0.2))
        for connection in config.connections:
            runtime.add(host.providers[connection.provider], connection.context())
        by_provider = {r.provider: r for r in sims.running}
        targets = [Target(e["provider"], e["name"], by_provider[e["provider"]]) for e in entries]
        for target in targets:
            target.faults = xtb_faults(target.control) if target.provider == "xtb" else http_faults(target)
        http_controls = [t.control for t in targets if t.provider != "xtb"]
        escapes.install(loop, sims)
        app = IbmonApp(runtime, host)
        store = runtime.store
        stats = {t.name: Stats() for t in targets}
        async with app.run_test(size=(150, 48)):
            await _wait(lambda: all(_live(store, t.name) for t in targets), 60)
            rss_start = rss_max = rss_mb()
            say(f"all live; RSS {rss_start:.1f} MB; faults for {seconds:.0f} s")
            started = time.monotonic()
            stop_at = started + seconds

            async def chaos(target: Target) -> None:
                s = stats[target.name]
                while True:
                    await asyncio.sleep(rng.uniform(*quiet))
                    if time.monotonic() >= stop_at:
                        return
                    kind = rng.choice(sorted(target.faults))
                    s.injected[kind] = s.injected.get(kind, 0) + 1
                    degraded = [False]

                    def watch() -> bool:
                        degraded[0] |= store.state(target.name) is not HealthState.LIVE
                        return False

                    length = rng.uniform(*episode)
                    if "beyond timeout" in kind:
                        length = max(length, CONNECTION_OPTIONS[target.provider]["timeout"] + 1)
                    fault = asyncio.ensure_future(target.faults[kind].run(length))
                    while not fault.done():
                        watch()
                        await asyncio.sleep(0.1)
                    await fault
                    ended = time.monotonic()
                    ok = await _wait(lambda: watch() or _recovered(store, target.name, ended), recovery_timeout)
                    s.degraded += degraded[0]
                    if ok:
                        s.recovered += 1
                        s.ttr.append(time.monotonic() - ended)
                    else:
                        health = store.health.get(target.name)
                        s.unrecovered.append(f"{kind}: {health.describe() if health else 'no health'}")
                    say(f"{target.name}: {kind} for {length:.1f} s, "
                        f"{'recovered in %.1f s' % (time.monotonic() - ended) if ok else 'NOT recovered'}")

            rss_minutes: list[float] = []
            baseline = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None

            async def sample_rss() -> None:
                nonlocal rss_max
                for second in itertools.count():
                    if second % 60 == 0:
                        # The HTTP simulators keep their last requests for tests; they share this
                        # process, so empty those logs to let RSS speak of the dashboard.
                        for control in http_controls:
                            control.clear_log()
                    rss = rss_mb()
                    rss_max = max(rss_max, rss)
                    if second % 60 == 0:
                        rss_minutes.append(rss)
                    await asyncio.sleep(1.0)

            sampler = asyncio.ensure_future(sample_rss())
            await asyncio.gather(*(chaos(t) for t in targets))
            say("faults over: pausing the markets for the final comparison")
            pause_markets(targets)
            await asyncio.sleep(1.0)  # a market step already under way lands
            paused_at = time.monotonic()
            runtime.refresh()
            pending = {t.name: t for t in targets}
            deadline = time.monotonic() + final_timeout
            while pending and time.monotonic() < deadline:
                for name, target in list(pending.items()):
                    if _recovered(store, name, paused_at):
                        stats[name].final = differences(target, store)
                        if not stats[name].final:
                            del pending[name]
                await asyncio.sleep(0.5)
            for name in pending:
                if stats[name].final is None:
                    stats[name].final = ["no fresh data after the markets were paused"]
            sampler.cancel()
            rss_end = rss_mb()
            growth = []
            if baseline is not None:
                top = tracemalloc.take_snapshot().compare_to(baseline, "lineno")[:8]
                growth = [f"{stat.size_diff / 1024:+.0f} KiB {stat.traceback[0]}" for stat in top]
            app_running = app.is_running
            elapsed = time.monotonic() - started
        return Report(elapsed, stats, list(escapes.dashboard), list(escapes.simulators), rss_start, rss_end,
                      max(rss_max, rss_end), app_running, rss_minutes, growth, secrets.remembered())
    finally:
        escapes.uninstall(loop)
        sims.stop()


def _live(store: Store, name: str) -> bool:
    return store.state(name) is HealthState.LIVE


def _recovered(store: Store, name: str, since: float) -> bool:
    return _live(store, name) and store.last_data.get(name, 0.0) > since


async def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of faults (default 10)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--verbose", action="store_true", help="print every episode as it ends")
    parser.add_argument("--only", metavar="PROVIDER", action="append", choices=PROVIDERS,
                        help="soak only this provider's connection (repeatable)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="trace allocations and name the lines that grew most (slower)")
    args = parser.parse_args(argv)
    if args.tracemalloc:
        tracemalloc.start(1)
    logging.disable(logging.WARNING)  # clients log every failure; the report counts them instead
    os.environ.setdefault("IBMON_LOG_LEVEL", "WARNING")
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    say = (lambda text: print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)) if args.verbose else None
    report = asyncio.run(soak(args.minutes * 60, seed=seed, progress=say, providers=tuple(args.only or PROVIDERS)))
    print(json.dumps(report.as_json(), indent=2) if args.json else f"seed {seed}\n{report.text()}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
