"""The user's config: a TOML file validated against what the loaded plugins declare.

Loading happens in two steps because the file says which plugins to load: `read_document` parses the
TOML, `plugin_settings` reads `plugin_dirs` / `disabled_plugins`, the caller loads the plugins, then
`build_config` checks everything else against the registered providers. Every mistake is collected,
one line each naming the connection and key, so the user fixes them all in one go.

`build_config` is the whole check: `ibmon config check` prints its problems, and `ibmon run` refuses
to start on them. Whatever the app would otherwise refuse at start is checked here: each provider's
declared options and the rules across them, the theme's name, and `[keys]` against the binding ids
and the providers' declared screens (`ibmon.bindings`).
"""

from __future__ import annotations

import os
import shlex
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from ibmon.alerts import KINDS as ALERT_KINDS
from ibmon.alerts import Rule, parse_rules
from ibmon.api import ConnectionContext, Provider
from ibmon.bindings import flatten_keys, resolve_keys, screen_bindings
from ibmon.desk import AttachSettings, CollectSettings, read_desk
from ibmon.errors import ConfigError
from ibmon.history.settings import DEFAULT_RETENTION_DAYS, HistorySettings, read_settings
from ibmon.keymap import CORE_BINDINGS
from ibmon.options import Option, check_options, did_you_mean, quoted, rule_summary
from ibmon.plugins import PluginHost
from ibmon.references import REFERENCE_KINDS, is_reference, resolve_reference
from ibmon.safe import safe_text
from ibmon.secrets import Secret
from ibmon.serve.settings import TEMPLATE as SERVE_TEMPLATE, ServeSettings, read_serve_table

ENV_CONFIG = "IBMON_CONFIG"
DEFAULT_THEME = "ibmon-dark"

#: Arrangements of the dashboard's panels (`layout`); "auto" picks one by the terminal's size.
LAYOUTS = ("auto", "stacked", "side-by-side")
DEFAULT_LAYOUT = "auto"
#: How times read everywhere (strftime; %Z is the zone's name), and in which zone ("local": the system's).
DEFAULT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S %Z"
DEFAULT_TIMEZONE = "local"
CONNECTION_KEYS = ("name", "provider", "enabled", "read_only", "poll_timeout")
#: Bounds of a connection's `poll_timeout` (seconds a whole poll may take).
POLL_TIMEOUT_RANGE = (1.0, 86400.0)


def default_path() -> Path:
    return platformdirs.user_config_path("ibmon") / "config.toml"


def config_path(cli_path: str | Path | None = None) -> Path:
    """--config wins over IBMON_CONFIG, which wins over the platform's config folder."""
    chosen = cli_path or os.environ.get(ENV_CONFIG) or default_path()
    return Path(chosen).expanduser()


def read_document(path: Path, *, required: bool) -> dict[str, Any]:
    """The parsed TOML, or {} when the file is missing and not required. Raises ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(f"no config at {path}: write one with `ibmon config init`, "
                              "or try the simulators with `ibmon demo`") from None
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


# -- top-level settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """A top-level key of the config, declared once: validation, `ibmon config init`'s template and
    the reference (`ibmon config reference`, the README) are all made from `SETTINGS`.

    `type` is the TOML type as the reference names it. `check(value)` says what is wrong with a
    value (the rest of a sentence that starts with the key's name), or None; a setting without one
    is checked by a step of its own (plugin loading, [keys], [[connections]])."""

    name: str
    type: str
    default: Any
    help: str
    check: Callable[[Any], str | None] | None = None


def _theme_name(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "must be a theme name (a string)"


def _layout(value: Any) -> str | None:
    return None if value in LAYOUTS else f"must be one of {', '.join(LAYOUTS)}, not {value!r}"


def _time_format(value: Any) -> str | None:
    if isinstance(value, str) and "%" in value:
        return None
    return f'must be a strftime pattern such as "{DEFAULT_TIME_FORMAT}", not {value!r}'


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


SETTINGS = (
    Setting("theme", "str", DEFAULT_THEME, "Theme name (`ibmon themes` lists them).", _theme_name),
    Setting("layout", "str", DEFAULT_LAYOUT,
            f"Arrangement of the dashboard's panels: {', '.join(LAYOUTS)} (auto: by the terminal's size).",
            _layout),
    Setting("time_format", "str", DEFAULT_TIME_FORMAT, "How times read everywhere (strftime; %Z is the zone's name).",
            _time_format),
    Setting("timezone", "str", DEFAULT_TIMEZONE,
            'The zone times are shown in: "local" (the system\'s) or a name such as "Europe/Warsaw".',
            lambda value: timezone_problem(value)),
    Setting("plugin_dirs", "list", [], "Folders of single-file plugins (relative to the config file's folder)."),
    Setting("disabled_plugins", "list", [], "Plugins not to load, by name (`ibmon plugins` lists them)."),
    Setting("read_only", "bool", False, "true: quick actions that change an account are disabled everywhere.",
            _boolean),
    # A desk (ibmon.desk checks these): `ibmon collect` serves, dashboards attach.
    Setting("attach_url", "str", None, "The collector `ibmon run` attaches to instead of connecting itself "
            '(ws://127.0.0.1:9464/attach, or wss:// off the machine).'),
    Setting("attach_token", "str", None, "The collector's token: a secret reference such as { env = \"VAR\" } "
            "(default: $IBMON_ATTACH_TOKEN)."),
    Setting("attach_ca", "str", None, "A CA file that signed the collector's certificate (for a private CA)."),
    Setting("history", "bool", True, "Keep history (SQLite in the platform data folder): false keeps none."),
    Setting("history_path", "str", "",
            "The history file (empty: history.sqlite3 in the platform data folder; relative to the config's folder)."),
    Setting("retention_days", "int", DEFAULT_RETENTION_DAYS, "Days of history kept (1 to 3650)."),
    Setting("keys", "table", {}, 'Key bindings by id: `binding = "keys"` (several keys separated by commas).'),
    Setting("collect", "table", {}, "`ibmon collect`: listen, port, tls_cert, tls_key, token, read_only_token "
            "(off loopback TLS and a token are required)."),
    Setting("serve", "table", {},
            "`ibmon serve`: `password` (a secret reference), `tls_cert` and `tls_key` (PEM files), "
            "`idle_minutes` (default 30)."),
    Setting("alerts", "array of tables", [],
            "One [[alerts]] table per alert rule: kind, threshold, and optionally window, connection, account, "
            "symbol, currency, hysteresis, bell, command, command_timeout."),
    Setting("connections", "array of tables", [],
            "One [[connections]] table per connection: name, provider, the provider's options."),
)
TOP_LEVEL_KEYS = tuple(setting.name for setting in SETTINGS)
#: Keys that did something once: still accepted, with a warning saying what to use instead.
OBSOLETE_KEYS = {
    "refresh_seconds": 'each connection refreshes as its provider\'s own option says (e.g. "poll_seconds" in '
                       "[[connections]]; `ibmon config reference` lists them): remove the key",
}


@dataclass
class PluginSettings:
    plugin_dirs: list[Path] = field(default_factory=list)
    disabled_plugins: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def plugin_settings(doc: dict[str, Any], path: Path | None) -> PluginSettings:
    """What decides plugin loading. Relative plugin_dirs are taken from the config file's folder."""
    settings = PluginSettings()
    base = path.parent if path is not None else Path.cwd()
    dirs = _string_list(doc, "plugin_dirs", settings.problems)
    settings.plugin_dirs = [(base / Path(d).expanduser()) for d in dirs]
    settings.disabled_plugins = _string_list(doc, "disabled_plugins", settings.problems)
    return settings


def _string_list(doc: dict[str, Any], key: str, problems: list[str]) -> list[str]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(f'key "{key}" must be a list of strings')
        return []
    return value


# -- the validated config ----------------------------------------------------------------------


@dataclass
class ConnectionConfig:
    """One [[connections]] entry. `unavailable` says why it cannot run although the user wrote it
    right: its provider's plugin failed to load or is disabled."""

    name: str
    provider: str
    enabled: bool = True
    read_only: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    unavailable: str | None = None
    #: Seconds a whole poll may take (None: the provider's own default).
    poll_timeout: float | None = None

    def context(self, global_read_only: bool = False) -> ConnectionContext:
        return ConnectionContext(name=self.name, provider=self.provider, options=self.options,
                                 read_only=self.read_only or global_read_only, poll_timeout=self.poll_timeout)


@dataclass
class Config:
    """The validated config: the top-level settings (`SETTINGS`) with their defaults filled in."""

    path: Path | None = None
    theme: str = DEFAULT_THEME
    layout: str = DEFAULT_LAYOUT
    time_format: str = DEFAULT_TIME_FORMAT
    timezone: str = DEFAULT_TIMEZONE
    plugin_dirs: list[Path] = field(default_factory=list)
    disabled_plugins: list[str] = field(default_factory=list)
    read_only: bool = False
    keys: dict[str, str] = field(default_factory=dict)
    connections: list[ConnectionConfig] = field(default_factory=list)
    #: `ibmon collect`'s [collect] table, and the collector `ibmon run` attaches to (ibmon.desk).
    collect: CollectSettings = field(default_factory=CollectSettings)
    attach: AttachSettings | None = None
    #: The `[serve]` table (`ibmon serve`), its password reference not yet resolved.
    serve: ServeSettings = field(default_factory=ServeSettings)
    #: `history`, `history_path`, `retention_days` (ibmon.history.settings).
    history: HistorySettings = field(default_factory=HistorySettings)
    #: The `[[alerts]]` rules (ibmon.alerts).
    alerts: list[Rule] = field(default_factory=list)
    #: Mistakes the user must fix (one line each).
    problems: list[str] = field(default_factory=list)
    #: Things worth saying that do not stop ibmon (e.g. file permissions).
    warnings: list[str] = field(default_factory=list)

    def raise_problems(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)

    def unavailable(self) -> list[str]:
        return [f'connection "{c.name}" ({c.provider}): {c.unavailable}'
                for c in self.connections if c.unavailable]

    def runnable(self) -> list[ConnectionConfig]:
        return [c for c in self.connections if c.unavailable is None]


def build_config(doc: dict[str, Any], host: PluginHost, path: Path | None = None,
                 settings: PluginSettings | None = None) -> Config:
    """Validate the whole document against the loaded plugins. Never raises: see `Config.problems`."""
    settings = settings or plugin_settings(doc, path)
    config = Config(path=path, plugin_dirs=settings.plugin_dirs,
                    disabled_plugins=settings.disabled_plugins)
    problems = config.problems
    problems.extend(settings.problems)
    for key in doc:
        if key in OBSOLETE_KEYS:
            config.warnings.append(f"key {quoted(key)} is obsolete and ignored: {OBSOLETE_KEYS[key]}")
        elif key not in TOP_LEVEL_KEYS:
            problems.append(f'unknown top-level key {quoted(key)}{did_you_mean(key, TOP_LEVEL_KEYS)}')
    for setting in SETTINGS:
        if setting.check is not None:
            value = doc.get(setting.name, setting.default)
            problem = setting.check(value)
            if problem:
                problems.append(f"key {quoted(setting.name)} {problem}")
            else:
                setattr(config, setting.name, value)
    theme = doc.get("theme")
    if isinstance(theme, str) and theme and (why := theme_problem(theme, host)):  # a name, but none we know
        problems.append(why)
        config.theme = DEFAULT_THEME
    config.collect, config.attach = read_desk(doc, path.parent if path is not None else None, problems)
    raw_keys = doc.get("keys", {})
    if not isinstance(raw_keys, dict):
        problems.append('[keys] must be a table of binding id = "keys"')
        raw_keys = {}
    keys = flatten_keys(raw_keys, problems)
    config.serve, serve_problems = read_serve_table(doc.get("serve"), path.parent if path else None)
    problems.extend(serve_problems)

    plain_secrets: list[str] = []
    raw_connections = doc.get("connections", [])
    if not isinstance(raw_connections, list) or not all(isinstance(c, dict) for c in raw_connections):
        problems.append("connections must be written as [[connections]] tables")
        raw_connections = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_connections, start=1):
        connection = _connection(index, raw, host, seen, problems, plain_secrets)
        if connection is not None:
            config.connections.append(connection)
    config.history = read_settings(doc, problems, path.parent if path is not None else None)
    config.alerts = parse_rules(doc.get("alerts"), [c.name for c in config.connections], problems)
    # the screens bound on the dashboard are those of the providers the connections name
    named = [host.providers[raw["provider"]] for raw in raw_connections
             if isinstance(raw.get("provider"), str) and raw["provider"] in host.providers]
    resolved = resolve_keys(keys, host.providers.values(), named)
    config.keys = resolved.keymap
    problems.extend(resolved.problems)
    config.warnings.extend(resolved.warnings)

    for folder in config.plugin_dirs:
        if not folder.is_dir():
            config.warnings.append(f"plugin_dirs: {folder} is not a folder")
    if plain_secrets and path is not None:
        warning = permission_warning(path, plain_secrets)
        if warning:
            config.warnings.append(warning)
    return config


def timezone_problem(zone: Any) -> str | None:
    """What is wrong with a `timezone` value ("local" or an IANA name such as "Europe/Warsaw")."""
    if zone == DEFAULT_TIMEZONE:
        return None
    if not isinstance(zone, str) or not zone:
        return f'must be "local" or a zone name such as "Europe/Warsaw", not {zone!r}'
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return f'names no known time zone: {zone!r} (e.g. "UTC", "Europe/Warsaw", or "local")'
    return None


def theme_problem(name: str, host: PluginHost) -> str | None:
    """Why the app would not find the theme `name` (the app's own themes, the plugins', the user's
    files, then Textual's built-in ones), or None."""
    from ibmon.themes import discover_themes

    themes, _broken = discover_themes(host)
    names = list(dict.fromkeys(theme.name for theme in themes))
    if name in names:
        return None
    from textual.theme import BUILTIN_THEMES  # Textual only for a name that is not one of ours

    if name in BUILTIN_THEMES:
        return None
    return (f'key "theme": unknown theme {quoted(name)}{did_you_mean(name, [*names, *BUILTIN_THEMES])}; '
            f'themes: {", ".join(names)} (`ibmon themes` lists them with their files), or one of Textual\'s '
            f'own such as {" or ".join(list(BUILTIN_THEMES)[:2])}')


def _connection(index: int, raw: dict[str, Any], host: PluginHost, seen: set[str], problems: list[str],
                plain_secrets: list[str]) -> ConnectionConfig | None:
    name = raw.get("name")
    provider_name = raw.get("provider")
    label = quoted(name) if isinstance(name, str) and name.strip() else f"#{index}"
    where = f"connection {label}" + (f" ({provider_name})" if isinstance(provider_name, str) else "")
    before = len(problems)

    if not isinstance(name, str) or not name.strip():
        problems.append(f'{where}: key "name" must be a non-empty string (every connection needs a unique name)')
    elif name in seen:
        problems.append(f'{where}: duplicate name: another connection is already called {quoted(name)}')
    else:
        seen.add(name)
    flags = {}
    for flag, default in (("enabled", True), ("read_only", False)):
        value = raw.get(flag, default)
        if not isinstance(value, bool):
            problems.append(f'{where}: key "{flag}" must be true or false')
        flags[flag] = value if isinstance(value, bool) else default
    poll_timeout = _poll_timeout(raw, where, problems)

    if not isinstance(provider_name, str) or not provider_name:
        problems.append(f'{where}: key "provider" is missing: say which provider it connects to '
                        f'({_known_providers(host)})')
        return None
    provider = host.providers.get(provider_name)
    if provider is None:
        why = _why_no_provider(provider_name, host)
        if why is not None:  # written right, but its plugin is broken or switched off
            if len(problems) > before:
                return None
            return ConnectionConfig(name=name, provider=provider_name, enabled=flags["enabled"],
                                    read_only=flags["read_only"], unavailable=why, poll_timeout=poll_timeout)
        problems.append(f'{where}: unknown provider "{provider_name}"'
                        f'{did_you_mean(provider_name, host.providers)}; {_known_providers(host)}')
        return None

    options_raw = {k: v for k, v in raw.items() if k not in CONNECTION_KEYS}
    for key, value in options_raw.items():
        option = provider.option(key)
        if option is not None and option.secret and isinstance(value, str):
            plain_secrets.append(f'{where} key "{key}"')
    options_raw, unresolved = _resolve_references(provider, options_raw, where, problems)
    # a key whose reference failed has its problem already: do not call it missing as well
    declared = [option for option in provider.options if option.name not in unresolved]
    values, option_problems = check_options(declared, provider.rules, options_raw, where)
    problems.extend(option_problems)
    if len(problems) > before:
        return None
    return ConnectionConfig(name=name, provider=provider_name, enabled=flags["enabled"],
                            read_only=flags["read_only"], options=values, poll_timeout=poll_timeout)


def _poll_timeout(raw: dict[str, Any], where: str, problems: list[str]) -> float | None:
    value = raw.get("poll_timeout")
    if value is None:
        return None
    low, high = POLL_TIMEOUT_RANGE
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        problems.append(f'{where}: key "poll_timeout" must be a number of seconds from {low:g} to {high:g} '
                        f'(how long a whole refresh may take), not {value!r}')
        return None
    return float(value)


def _known_providers(host: PluginHost) -> str:
    lines = []
    if host.providers:
        lines.append("registered providers: " + ", ".join(
            f"{name} (plugin {host.plugin_of(name)})" for name in sorted(host.providers)))
    else:
        lines.append("no provider is registered")
    failed = host.failures()
    if failed:
        lines.append("failed plugins: " + ", ".join(info.name for info in failed) + " (see `ibmon plugins`)")
    return "; ".join(lines)


def _why_no_provider(provider_name: str, host: PluginHost) -> str | None:
    """Why a provider is missing when a plugin of that name exists but is broken or disabled."""
    info = host.plugins.get(provider_name)
    if info is None:
        return None
    if info.status == "failed":
        return f'provider "{provider_name}" is unavailable: plugin "{info.name}" failed to load ({info.error})'
    if info.status == "disabled":
        return f'provider "{provider_name}" is unavailable: plugin "{info.name}" is disabled (disabled_plugins)'
    return None


# -- secret references -------------------------------------------------------------------------


def _resolve_references(provider: Provider, raw: dict[str, Any], where: str,
                        problems: list[str]) -> tuple[dict[str, Any], set[str]]:
    """Replace `{ env = ... }` / `{ command = ... }` by the value they yield (a Secret for secret
    options). Returns the values and the keys that could not be resolved (their problems recorded).

    A table option takes tables as values, so a one-key table there is a value, not a reference."""
    resolved: dict[str, Any] = {}
    unresolved: set[str] = set()
    for key, value in raw.items():
        option = provider.option(key)
        if option is None:  # an unknown key: apply_options names it (with a "did you mean")
            resolved[key] = value
        elif isinstance(value, dict) and option.type != "table":
            if not is_reference(value):
                hint = did_you_mean(next(iter(value)), REFERENCE_KINDS) if len(value) == 1 else ""
                problems.append(f'{where}: key "{key}": a table here must be a secret reference, '
                                f'{{ env = "VAR" }} or {{ command = "program args" }}{hint}')
                unresolved.add(key)
                continue
            text, problem = resolve_reference(value)
            if problem:
                problems.append(f'{where}: key "{key}": {problem}')
                unresolved.add(key)
                continue
            resolved[key] = _typed(option, text)
        else:
            resolved[key] = value
    return resolved, unresolved


def _typed(option: Option, text: str) -> Any:
    """A referenced value as the option wants it: a Secret for secrets, a number for numbers."""
    if option.secret:
        return Secret(text)
    if option.type in ("int", "float", "bool", "list"):
        try:
            return tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            return text  # apply_options then says what type it should be
    return text


def permission_warning(path: Path, plain_secrets: list[str]) -> str | None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if not mode & 0o077:
        return None
    return (f"{path} holds plain-text secrets ({', '.join(plain_secrets)}) and is readable by "
            f"group/others (mode {stat.filemode(mode)}): run chmod 600 {shlex.quote(str(path))}, "
            'or use { env = "VAR" } / { command = "..." }')


# -- one call for the commands -----------------------------------------------------------------


def load_plugins(doc: dict[str, Any], path: Path | None, extra_plugin_dirs: list[str | Path] = (),
                 only: list[str] | None = None) -> tuple[PluginSettings, PluginHost]:
    """Load the plugins the document asks for (its plugin_dirs plus `extra_plugin_dirs`)."""
    settings = plugin_settings(doc, path)
    settings.plugin_dirs = [*settings.plugin_dirs, *(Path(d).expanduser().absolute() for d in extra_plugin_dirs)]
    host = PluginHost()
    host.load(plugin_dirs=settings.plugin_dirs, disabled=settings.disabled_plugins, only=only)
    return settings, host


def load(path: Path, *, required: bool, extra_plugin_dirs: list[str | Path] = ()) -> tuple[Config, PluginHost]:
    """Read the config at `path`, load the plugins it names, validate. Raises ConfigError only for a
    file that is missing (when required) or not TOML; every other problem is in `Config.problems`."""
    doc = read_document(path, required=required)
    settings, host = load_plugins(doc, path, extra_plugin_dirs)
    return build_config(doc, host, path, settings), host


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 600, atomically (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)  # whatever the umask or an older file said
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# -- `ibmon config init` -----------------------------------------------------------------------

_PLACEHOLDERS = {"str": "...", "url": "https://example.invalid", "int": 0, "float": 0.0, "bool": False,
                 "list": [], "table": {}}


def template(host: PluginHost) -> str:
    """A commented config: the settings with their defaults, every binding id, and one commented
    [[connections]] example per registered provider built from its declared options.

    Uncommenting an example (removing one leading "# " per line) gives a connection that validates
    once its placeholders and secret variables are filled in."""
    lines = [
        "# ibmon config. `ibmon config check` validates it; `ibmon config path` prints where it lives.",
        "# Any connection option may be a secret reference: { env = \"VAR\" } or { command = \"pass show x\" }.",
    ]
    for setting in SETTINGS:
        if setting.type == "table" and setting.name != "keys":  # a commented table: [collect]
            lines += ["", f"# {setting.help}", f"# [{setting.name}]"]
        if setting.type in ("table", "array of tables"):  # [keys] and [[connections]] follow
            continue
        line = _toml_line(setting.name, setting.default) if setting.default is not None else f'# {setting.name} = ""'
        lines += ["", f"# {setting.help}", line]
    keys = next(setting for setting in SETTINGS if setting.name == "keys")
    lines += ["", f"# {keys.help} Defaults shown.", "[keys]"]
    for binding, (keys, description) in CORE_BINDINGS.items():
        lines.append(f'# {binding} = "{keys}"  # {description}')
    for binding, spec in screen_bindings(host.providers[name] for name in sorted(host.providers)).items():
        lines.append(f'# {_toml_line(binding, spec.key or "")}  # open {safe_text(spec.title, 80)}')
    serve = next(setting for setting in SETTINGS if setting.name == "serve")
    lines += ["", f"# {serve.help}", *SERVE_TEMPLATE]
    alerts = next(setting for setting in SETTINGS if setting.name == "alerts")
    lines += ["", f"# {alerts.help}", "# Kinds: " + ", ".join(ALERT_KINDS) + ".", "# [[alerts]]", '# name = "Margin floor"', '# kind = "margin_level_below"', "# threshold = 150",
              '# command = "notify-send ibmon"  # gets the alert as JSON on stdin']
    if not host.providers:
        lines += ["", "# No provider is registered: install a plugin (`ibmon plugins` lists them)."]
    for name in sorted(host.providers):
        lines += ["", *_connection_example(host.providers[name])]
    return "\n".join(lines) + "\n"


def _connection_example(provider: Provider) -> list[str]:
    lines = [f'# ---- {provider.title}: provider "{provider.name}" ----']
    if provider.description:
        lines.append(f"# {provider.description}")
    body = ["[[connections]]", f'name = "{provider.title}"', f'provider = "{provider.name}"',
            "enabled = true", "read_only = false",
            "# seconds a whole refresh of a polling connection may take before it is cancelled and retried "
            "(default: the provider's own, usually 60)",
            "# poll_timeout = 60"]
    for option in provider.options:
        body.append(f"# {_describe_option(option)}")
        value = _example_value(option)
        line = _toml_line(option.name, value)
        if option.secret:
            line = f'{option.name} = {{ env = "{_env_name(provider, option)}" }}'
        if not option.required and option.default is None and option.example is None:
            line = f"# {line}"  # optional and without a value: stays commented out
        body.append(line)
    body += [f"# rule: {summary}" for summary in map(rule_summary, provider.rules) if summary]
    return lines + [f"# {line}" for line in body]


def _describe_option(option: Option) -> str:
    facts = [option.type_name]
    if option.required:
        facts.append("required")
    elif option.default is not None:
        facts.append(f"default {_toml_value(option.default)}")
    if option.choices:
        facts.append("one of " + ", ".join(option.choices))
    if option.schemes:
        facts.append(f"starts with {option.scheme_list}")
    if option.minimum is not None:
        facts.append(f"at least {option.minimum:g}")
    if option.maximum is not None:
        facts.append(f"at most {option.maximum:g}")
    if option.secret:
        facts.append("secret: keep it out of this file with { env = ... } or { command = ... }")
    return f"{option.help or option.name} ({'; '.join(facts)})"


def _example_value(option: Option) -> Any:
    for candidate in (option.default, option.example):
        if candidate is not None:
            return candidate
    if option.choices:
        return option.choices[0]
    if option.schemes:
        return f"{option.schemes[0]}://example.invalid"
    return _PLACEHOLDERS[option.type]


def _env_name(provider: Provider, option: Option) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in f"{provider.name}_{option.name}").upper()


def _toml_value(value: Any) -> str:
    return _toml_line("v", value).split(" = ", 1)[1]


def _toml_line(key: str, value: Any) -> str:
    import tomli_w

    if isinstance(value, dict):  # tomli-w writes tables as [sections]: keep it on one line
        inner = ", ".join(_toml_line(k, v) for k, v in value.items())
        return f"{key} = {{ {inner} }}" if inner else f"{key} = {{}}"
    if isinstance(value, (list, tuple)):
        return f"{key} = [{', '.join(_toml_value(item) for item in value)}]"
    return tomli_w.dumps({key: value}).strip()
