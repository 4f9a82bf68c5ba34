"""The `ibmon` command.

Every error is one line on stderr starting with "ibmon: " and a non-zero exit code; an unexpected
exception adds the path of a (redacted) crash log instead of a traceback. Textual and the plugins'
network libraries are imported only by the subcommands that need them.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import signal
import sys
import time
import tomllib
from pathlib import Path
from typing import Any, NoReturn

import ibmon
from ibmon import config as cfg
from ibmon.errors import ConfigError, IbmonError, describe_exception
from ibmon.logs import setup_logging, write_crash_log
from ibmon.plugins import PluginHost
from ibmon.safe import safe_json, safe_text
from ibmon.secrets import redact

PROG = "ibmon"


class Parser(argparse.ArgumentParser):
    """Usage mistakes as one line, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: {message} (see `{self.prog} --help`)\n")


def _add_common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options accepted before and after the subcommand. A subcommand's copies default to SUPPRESS
    so that they never reset what was given before the subcommand."""
    unset = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument("--config", metavar="PATH", **({"default": None} | unset),
                        help=f"config file (default: ${cfg.ENV_CONFIG}, else {cfg.default_path()})")
    parser.add_argument("--read-only", action="store_true", **({"default": False} | unset),
                        help="disable quick actions that change an account")
    parser.add_argument("--plugin-dir", metavar="DIR", action="append", **({"default": []} | unset),
                        help="also load single-file plugins from DIR (repeatable)")


def build_parser() -> Parser:
    parser = Parser(prog=PROG,
                    description="A terminal monitor for introducing brokers: balances, ticks, positions, leads.")
    _add_common_options(parser, top=True)
    parser.add_argument("--version", action="version", version=f"{PROG} {ibmon.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
        child = sub.add_parser(name, help=help_text, description=help_text, **kwargs)
        _add_common_options(child, top=False)
        return child

    command("run", "the dashboard on your configured connections (default)")

    demo = command("demo", "the dashboard on every plugin's simulator")
    demo.add_argument("--only", metavar="PROVIDER", action="append", default=None,
                      help="start only this provider's simulator (repeatable)")

    # Its help lists the settings of the named simulators, which only the loaded plugins know.
    sim = command("sim", "simulators only: print endpoints and a config", add_help=False)
    sim.add_argument("-h", "--help", action="store_true", dest="sim_help",
                     help="show this help and the settings of each named simulator (default: all)")
    sim.add_argument("providers", metavar="PROVIDER", nargs="*", help="simulators to start (default: all)")
    sim.add_argument("--write-config", metavar="FILE", help="also write the config to FILE (mode 600)")
    sim.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="settings",
                     help="a simulator setting (value parsed as TOML, e.g. --set interval=0.2); it goes to "
                          "every simulator started that takes it, or to one with --set PROVIDER.KEY=VALUE")
    sim.set_defaults(sim_usage=sim.format_help)

    snapshot = command("snapshot", "connect once and print every connection")
    snapshot.add_argument("--json", action="store_true", help="machine-readable output")
    snapshot.add_argument("--timeout", metavar="S", type=_positive_float, default=15.0,
                          help="seconds to wait for every connection (default 15)")

    plugins = command("plugins", "installed plugins and their status")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")

    config = command("config", "config path, template and validation")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True,
                                       parser_class=Parser)

    def config_action(name: str, help_text: str) -> argparse.ArgumentParser:
        child = config_sub.add_parser(name, help=help_text, description=help_text)
        _add_common_options(child, top=False)  # `ibmon config check --config F` as well
        return child

    config_action("path", "print where the config is read from")
    init = config_action("init", "write a commented template")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    config_action("check", "validate and list every problem: whatever `ibmon run` would refuse")
    config_action("reference", "every top-level setting and every installed provider's options (Markdown)")

    command("themes", "available themes and broken theme files")

    command("collect", "run the connections without a terminal; serve /metrics and /attach")
    attach = command("attach", "the dashboard on a collector's store (`ibmon collect`)")
    attach.add_argument("url", metavar="URL", nargs="?", default=None,
                        help="the collector's attach endpoint, e.g. ws://127.0.0.1:9464/attach "
                             "(default: attach_url in the config)")
    serve = command("serve", "the dashboard in a browser (settings: the config's [serve] table)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; any other needs [serve] password and TLS)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080; 0: any free one)")
    history = command("history", "print a recorded series: an account's, a symbol's or the lead funnel's")
    history.add_argument("--json", action="store_true", help="machine-readable output")
    history.add_argument("--connection", metavar="NAME", help="the connection's name (required)")
    what = history.add_mutually_exclusive_group()
    what.add_argument("--account", metavar="ID", help="an account, by its id or number")
    what.add_argument("--symbol", metavar="S", help="a symbol (one-minute bars, hourly after a day)")
    what.add_argument("--leads", nargs="?", const="", metavar="WINDOW",
                      help="the lead funnel's counts (of WINDOW; default: the narrowest recorded)")
    history.add_argument("--since", metavar="AGE", default="1d", help='how far back: "90m", "1d", "7d" (default 1d)')

    alerts = command("alerts", "recent and active alerts, from history")
    alerts.add_argument("--json", action="store_true", help="machine-readable output")
    alerts.add_argument("--limit", metavar="N", type=int, default=50, help="alerts listed at most (default 50)")
    return parser


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    command = args.command or "run"
    try:
        return COMMANDS[command](args)
    except ConfigError as exc:
        for problem in exc.problems:
            error(problem)
        return 1
    except IbmonError as exc:
        error(exc.message)
        return 1
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except BrokenPipeError:  # e.g. `ibmon snapshot | head`
        return 1
    except Exception as exc:
        crash_log = write_crash_log(exc)
        where = f" (details in {crash_log})" if crash_log else ""
        error(f"unexpected error: {describe_exception(exc)}{where}")
        return 1


def say(text: str, file: Any = None) -> None:
    """Print a line for people: secrets masked, and whatever a plugin or a config file put in it
    (names, errors, paths) shown as safe text, so it cannot drive the terminal."""
    print(safe_text(redact(text), None, multiline=True), file=file or sys.stdout)


def error(message: str) -> None:
    say(f"{PROG}: {message}", file=sys.stderr)


def warn(message: str) -> None:
    error(f"warning: {message}")


# -- shared steps ----------------------------------------------------------------------------


def _path(args: argparse.Namespace) -> Path:
    return cfg.config_path(args.config)


def _load(args: argparse.Namespace, *, required: bool) -> tuple[cfg.Config, PluginHost]:
    return cfg.load(_path(args), required=required, extra_plugin_dirs=args.plugin_dir)


def _plugin_problems(host: PluginHost) -> list[str]:
    return [f'plugin "{info.name}" failed: {info.error}' for info in host.failures()]


def _run_dashboard(config: cfg.Config, host: PluginHost, read_only: bool, problems: list[str],
                   welcome: tuple[Path, bool] | None = None, attach: Any = None) -> int:
    """`welcome`: (config path, whether the file is missing) when there is nothing to connect to;
    `attach`: the collector to show (`ibmon.desk.AttachSettings`) instead of the config's connections."""
    from rich.console import Console

    from ibmon.app import IbmonApp  # Textual only from here on
    from ibmon.feeds import FeedRuntime
    from ibmon.screens.first_run import FirstRun
    from ibmon.store import Store
    from ibmon.widgets.format import use_time_format

    read_only = read_only or config.read_only
    use_time_format(config.time_format, config.timezone)
    if attach is not None:
        from ibmon.attach import AttachRuntime

        runtime: FeedRuntime = AttachRuntime(Store(), attach, read_only=read_only)
    else:
        runtime = FeedRuntime(Store())
    for connection in config.runnable() if attach is None else ():
        runtime.add(host.providers[connection.provider], connection.context(read_only),
                    enabled=connection.enabled)
    history, alerts = _memory(config, runtime.store)
    app = IbmonApp(runtime, host, theme=config.theme, keys=config.keys, read_only=read_only,
                   startup_problems=tuple(problems), panel_layout=config.layout,
                   first_run=FirstRun(*welcome) if welcome else None, history=history, alerts=alerts)
    # Textual prints an unhandled exception's traceback (with local variables) when the app ends:
    # keep it off the terminal, in a redacted crash log.
    report = io.StringIO()
    app.error_console = Console(file=report, width=120, markup=False, highlight=False, no_color=True)
    app.run()
    if report.getvalue().strip():
        crash_log = write_crash_log(report.getvalue())
        where = f" (details in {crash_log})" if crash_log else ""
        error(f"the dashboard stopped on an unexpected error{where}")
        return app.return_code or 1
    return app.return_code or 0


def _memory(config: cfg.Config, store: Any) -> tuple[Any, Any]:
    """The history recorder (None when `history = false`) and the alert monitor of `config`."""
    from ibmon.alerting import AlertMonitor
    from ibmon.history import History
    from ibmon.widgets.format import time_format

    settings = config.history
    history = None
    if settings.enabled:
        history = History(store, settings.resolved_path(), settings.retention_days, zone=time_format().tzinfo)
    return history, AlertMonitor(config.alerts, store, history=history)


# -- commands --------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    path = _path(args)
    # No config where ibmon looks by default: a first run, which the dashboard explains. A path the
    # user named (--config, IBMON_CONFIG) that is missing stays an error: it is likely a typo.
    chosen = bool(args.config or os.environ.get(cfg.ENV_CONFIG))
    missing = not chosen and not path.exists()
    config, host = _load(args, required=not missing)
    config.raise_problems()
    for warning in config.warnings:
        warn(warning)
    problems = [*config.unavailable(), *config.warnings]  # the app reports failed plugins itself
    if config.attach is not None:
        return _run_dashboard(config, host, args.read_only, problems, attach=_attach_settings(config, None))
    welcome = (path, missing) if missing or not config.connections else None
    return _run_dashboard(config, host, args.read_only, problems, welcome)


def _attach_settings(config: cfg.Config, url: str | None) -> Any:
    """The collector to attach to: `url` (else the config's attach_url), with the config's token and
    CA, or the token in $IBMON_ATTACH_TOKEN (never on the command line, where `ps` shows it)."""
    from ibmon.desk import ENV_ATTACH_TOKEN, AttachSettings, url_problem
    from ibmon.secrets import Secret

    settings = config.attach or AttachSettings(url="")
    if url is not None:
        why = url_problem(url)
        if why:
            raise ConfigError(f"URL {why}")
        settings = AttachSettings(url=url, token=settings.token, ca=settings.ca)
    if not settings.url:
        raise ConfigError("say which collector: `ibmon attach ws://HOST:PORT/attach`, or attach_url in the config")
    if settings.token is None and os.environ.get(ENV_ATTACH_TOKEN):
        settings = AttachSettings(url=settings.url, token=Secret(os.environ[ENV_ATTACH_TOKEN]), ca=settings.ca)
    return settings


def cmd_attach(args: argparse.Namespace) -> int:
    config, host = _load(args, required=False)
    config.raise_problems()
    for warning in config.warnings:
        warn(warning)
    return _run_dashboard(config, host, args.read_only, list(config.warnings),
                          attach=_attach_settings(config, args.url))


def _collect_runtime(config: cfg.Config, host, read_only: bool):
    """The configured connections, run for a collector (`ibmon collect`, `ibmon serve`)."""
    from ibmon.feeds import FeedRuntime
    from ibmon.store import Store

    if not config.runnable():
        raise IbmonError("no connection to collect: add [[connections]] to the config")
    runtime = FeedRuntime(Store())
    for connection in config.runnable():
        runtime.add(host.providers[connection.provider], connection.context(read_only),
                    enabled=connection.enabled)
    return runtime


def cmd_collect(args: argparse.Namespace) -> int:
    from ibmon.collect import Collector, serve

    config, host = _load(args, required=True)
    config.raise_problems()
    for warning in [*config.warnings, *config.unavailable(), *_plugin_problems(host)]:
        warn(warning)
    read_only = args.read_only or config.read_only
    runtime = _collect_runtime(config, host, read_only)
    history, alerts = _memory(config, runtime.store)
    collector = Collector(runtime, config.collect, read_only=read_only, history=history, alerts=alerts)

    def announce(url: str) -> None:
        print(f"ibmon collect: serving {url}/metrics and {url.replace('http', 'ws', 1)}/attach"
              + (" (read-only)" if read_only else ""), flush=True)

    asyncio.run(serve(collector, announce))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ibmon.history.settings import default_path as default_history_path
    from ibmon.simulators import SimulatorHost

    path = _path(args)
    try:
        doc, unreadable = cfg.read_document(path, required=False), []
    except ConfigError as exc:  # the demo does not need the user's config: say so and go on
        doc, unreadable = {}, [f"ignored: {problem}" for problem in exc.problems]
    settings, host = cfg.load_plugins(doc, path, args.plugin_dir)
    if not host.simulators:
        raise IbmonError("no plugin registers a simulator: `ibmon plugins` shows what is installed")
    with SimulatorHost(host) as sims:
        sims.start(args.only)
        if not sims.running:
            raise ConfigError(sims.failure_lines())
        # The user's settings (theme, keys, read_only) with the simulators' connections; nothing
        # is written anywhere, and a mistake in the user's file does not keep the demo from opening.
        demo_doc = {key: value for key, value in doc.items() if key != "connections"}
        demo_doc["connections"] = sims.connections()
        from ibmon.demo_alerts import DEMO_RULES

        demo_doc["alerts"] = DEMO_RULES  # the user's rules name the user's connections
        config = cfg.build_config(demo_doc, host, None, settings)
        config.history = replace(config.history, path=default_history_path(demo=True))  # simulated books apart
        problems = [*unreadable, *sims.failure_lines(), *config.problems, *config.unavailable(),
                    *config.warnings]
        return _run_dashboard(config, host, args.read_only, problems)


def cmd_sim(args: argparse.Namespace) -> int:
    import tomli_w

    from ibmon.simulators import SimulatorHost

    settings = _parse_settings(args.settings)
    path = _path(args)
    doc = cfg.read_document(path, required=False)
    plugin_settings, host = cfg.load_plugins(doc, path, args.plugin_dir)
    if not host.simulators:
        raise IbmonError("no plugin registers a simulator: `ibmon plugins` shows what is installed")
    if args.sim_help:
        names = SimulatorHost(host).check_names(args.providers or sorted(host.simulators))
        print(args.sim_usage(), end="")
        for name in names:
            say(simulator_settings_help(host.simulators[name]))
        return 0
    _on_sigterm_interrupt()
    with SimulatorHost(host) as sims:
        sims.start(args.providers or None, settings)
        for line in sims.failure_lines():
            warn(line)
        if not sims.running:
            raise IbmonError("no simulator started")
        for running in sims.running:
            for label, endpoint in running.endpoints.items():
                say(f"{running.provider} {label}: {endpoint}")
        reaching: dict[str, Any] = {}
        if plugin_settings.plugin_dirs:
            reaching["plugin_dirs"] = [str(d) for d in plugin_settings.plugin_dirs]
        reaching["connections"] = sims.connections()
        text = "# ibmon config reaching the simulators started by `ibmon sim`\n" + tomli_w.dumps(reaching)
        print(f"\n{text}")
        if args.write_config:
            target = Path(args.write_config).expanduser()
            cfg.write_private(target, text)
            say(f"wrote {target}")
        print("serving until interrupted (Ctrl-C)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def simulator_settings_help(simulator: Any) -> str:
    """The settings a simulator declares: name, type, default and help, one per line."""
    lines = [f"\n{simulator.provider} simulator ({simulator.title}) settings:"]
    if not simulator.settings:
        return lines[0] + " none"
    width = max(len(option.name) for option in simulator.settings)
    for option in simulator.settings:
        choices = f" (one of {', '.join(option.choices)})" if option.choices else ""
        default = "" if option.default is None else f"; default {json.dumps(option.default)}"
        lines.append(f"  {option.name:<{width}}  {option.type:<5}  {option.help}{choices}{default}")
    return "\n".join(lines)


def _parse_settings(pairs: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set takes KEY=VALUE, not {pair!r}")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw  # a bare word: a string
        settings[key.strip()] = value
    return settings


def _on_sigterm_interrupt() -> None:
    """Stop as cleanly on SIGTERM as on Ctrl-C."""

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def cmd_snapshot(args: argparse.Namespace) -> int:
    from ibmon import snapshot

    config, host = _load(args, required=True)
    config.raise_problems()
    for warning in config.warnings:
        warn(warning)
    from ibmon.widgets.format import TimeFormat

    document = asyncio.run(snapshot.take_snapshot(config, host, args.timeout))
    times = TimeFormat(config.time_format, config.timezone)
    print(snapshot.to_json(document) if args.json else snapshot.to_text(document, times))
    return 1 if snapshot.failed(document) else 0


def cmd_plugins(args: argparse.Namespace) -> int:
    _config, host = _load(args, required=False)
    infos = list(host.plugins.values())
    if args.json:
        print(safe_json(redact(json.dumps({"plugins": [info.as_json() for info in infos]}, indent=2))))
        return 0
    if not infos:
        say("no plugin loaded (IBMON_PLUGINS may restrict them)")
    for info in infos:
        say(f"{info.name} {info.version or '-'}: {info.status}  ({info.source})")
        for name in info.providers:
            provider = host.providers.get(name)
            say(f"  provider {name}: {provider.title if provider else ''}")
        for name in info.simulators:
            say(f"  simulator {name}")
        if info.error:
            say(f"  error: {info.error}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    path = _path(args)
    if args.config_command == "path":
        say(str(path))
        return 0
    if args.config_command == "init":
        if path.exists() and not args.force:
            raise IbmonError(f"{path} already exists: edit it, or overwrite it with `ibmon config init --force`")
        try:  # an old file being replaced may still name plugin_dirs, or may not even parse
            doc = cfg.read_document(path, required=False)
        except ConfigError:
            doc = {}
        _settings, host = cfg.load_plugins(doc, path, args.plugin_dir)
        cfg.write_private(path, cfg.template(host))
        say(f"wrote {path} (one commented example per provider: {', '.join(sorted(host.providers)) or 'none'})")
        return 0
    if args.config_command == "reference":
        return cmd_config_reference(args, path)
    from ibmon.themes import discover_themes

    config, host = _load(args, required=True)
    _themes, broken_themes = discover_themes(host)  # the app skips them: say so here too
    for warning in [*_plugin_problems(host), *config.warnings, *(f"broken theme: {p}" for p in broken_themes)]:
        warn(warning)
    problems = [*config.problems, *config.unavailable()]
    for problem in problems:
        error(problem)
    if problems:
        return 1
    count = len(config.connections)
    rules = len(config.alerts)
    print(f"config OK: {count} connection{'' if count == 1 else 's'}"
          + (f", {rules} alert rule{'' if rules == 1 else 's'}" if rules else ""))
    return 0


def cmd_config_reference(args: argparse.Namespace, path: Path) -> int:
    """The reference of the plugins this config loads (its plugin_dirs too); an unreadable config
    leaves the built-in ones."""
    from ibmon import reference

    try:
        doc = cfg.read_document(path, required=False)
    except ConfigError:
        doc = {}
    _settings, host = cfg.load_plugins(doc, path, args.plugin_dir)
    say(reference.document(host.providers))
    return 0


def cmd_themes(args: argparse.Namespace) -> int:
    from ibmon.themes import discover_themes, user_themes_dir

    _config, host = _load(args, required=False)
    themes, problems = discover_themes(host, user_themes_dir())
    effective = {theme.name: theme for theme in themes}  # a later theme of the same name wins
    for theme in effective.values():
        say(f"{theme.name}  {'dark' if theme.dark else 'light'}  {theme.source or 'built in'}")
    for problem in problems:
        warn(f"broken theme: {problem}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ibmon import serve

    config, host = _load(args, required=True)
    config.raise_problems()
    for warning in config.warnings:
        warn(warning)
    read_only = args.read_only or config.read_only

    def sessions(url: str) -> serve.SessionCommand:
        return serve.session_command(url, _path(args), read_only=read_only, plugin_dirs=args.plugin_dir)

    if config.attach is not None:  # a running collector: every browser session attaches to it
        return serve.serve(config.serve, sessions, args.host, args.port, say, attach_url=config.attach.url)
    collector = serve.own_collector(_collect_runtime(config, host, read_only), read_only=read_only)
    return serve.serve(config.serve, sessions, args.host, args.port, say, collector=collector)

def _history_file(args: argparse.Namespace) -> Path:
    config, _host = _load(args, required=False)
    problems = [p for p in config.problems if "history" in p or "retention_days" in p]
    if problems:
        raise ConfigError(problems)
    if not config.history.enabled:
        raise IbmonError("history is off (history = false in the config): nothing is recorded")
    return config.history.resolved_path()


def cmd_history(args: argparse.Namespace) -> int:
    from ibmon.history import HistoryDB, HistoryError
    from ibmon.history.settings import duration_seconds

    if not args.connection or (args.account is None and args.symbol is None and args.leads is None):
        raise IbmonError("history needs --connection NAME and one of --account ID, --symbol S or --leads")
    seconds = duration_seconds(args.since)
    if seconds is None:
        raise IbmonError(f'--since takes an age such as "90m", "1d" or "7d", not {args.since!r}')
    path = _history_file(args)
    since = time.time() - seconds
    kind, key = ("account", args.account) if args.account else ("symbol", args.symbol) if args.symbol else \
        ("leads", args.leads)
    try:
        db = HistoryDB.open(path, readonly=True)
        try:
            if kind == "leads" and not key:
                windows = db.find_windows(args.connection)
                key = windows[0] if windows else ""
            series = db.find_series(args.connection, kind, key)
            if not series:
                known = ", ".join(db.connections()) or "none yet"
                raise IbmonError(f"no {kind} {key!r} recorded for connection {args.connection!r} "
                                 f"(connections in history: {known})")
            samples = db.samples(kind, series, since)
        finally:
            db.close()
    except HistoryError as exc:
        raise IbmonError(str(exc)) from None
    if args.json:
        document = {"connection": args.connection, "kind": kind, "key": key, "since": _iso(since),
                    "points": [{"time": _iso(s.t), **s.values} for s in samples]}
        print(safe_json(redact(json.dumps(document, default=_decimal_text, indent=2))))
        return 0
    for sample in samples:
        values = "  ".join(f"{name}={'—' if value is None else _decimal_text(value)}" for name, value in sample.values.items())
        say(f"{_iso(sample.t)}  {values}")
    if not samples:
        say(f"no points since {_iso(since)}")
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    from ibmon.history import HistoryDB, HistoryError

    path = _history_file(args)
    try:
        db = HistoryDB.open(path, readonly=True)
        try:
            rows = db.alerts(max(1, args.limit))
        finally:
            db.close()
    except HistoryError as exc:
        raise IbmonError(str(exc)) from None
    for row in rows:
        row["state"] = "active" if row["cleared_at"] is None else "cleared"
        for name in ("fired_at", "cleared_at"):
            row[name] = _iso(row[name]) if row[name] is not None else None
    if args.json:
        document = {"active": [r for r in rows if r["state"] == "active"],
                    "recent": [r for r in rows if r["state"] == "cleared"]}
        print(safe_json(redact(json.dumps(document, indent=2))))
        return 0
    if not rows:
        say("no alerts recorded")
    for row in rows:
        ended = f" until {row['cleared_at']}" if row["cleared_at"] else ""
        say(f"{row['state'].upper():7} {row['fired_at']}{ended}  {row['rule']}: {row['connection']} {row['subject']} "
            f"at {row['figure']} (threshold {row['threshold']} {row['unit']})".rstrip())
    return 0


def _iso(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _decimal_text(value: Any) -> str:
    from decimal import Decimal

    return format(value, "f") if isinstance(value, Decimal) else str(value)


COMMANDS = {
    "run": cmd_run,
    "demo": cmd_demo,
    "sim": cmd_sim,
    "snapshot": cmd_snapshot,
    "plugins": cmd_plugins,
    "config": cmd_config,
    "themes": cmd_themes,
    "collect": cmd_collect,
    "attach": cmd_attach,
    "serve": cmd_serve,
    "history": cmd_history,
    "alerts": cmd_alerts,
}
