"""Plugin loading: entry points of group ``ibmon`` and single-file plugins from ``plugin_dirs``.

Each load and each hook call is guarded: an exception (or a `sys.exit()`) is recorded against the
plugin that raised it (with a short reason) and every other plugin goes on. Hook implementations are
called one at a time so that whatever they register is attributed to their plugin.

A single-file plugin is named by its file. One whose name is already taken (by an installed plugin,
an earlier file, or an importable module such as a first-party plugin's package) is not loaded but
listed as failed with the reason, so that neither of the two silently wins.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import pluggy

from ibmon import hookspecs
from ibmon.api import Command, Provider, Simulator, ThemeSpec
from ibmon.errors import PLUGIN_FAILURES, describe_exception

GROUP = "ibmon"
ENV_PLUGINS = "IBMON_PLUGINS"


@dataclass
class PluginInfo:
    name: str
    version: str = ""
    source: str = ""
    status: str = "ok"  # "ok" | "failed" | "disabled"
    errors: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    simulators: list[str] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        return "; ".join(self.errors) or None

    def fail(self, reason: str) -> None:
        self.status = "failed"
        self.errors.append(reason)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "source": self.source,
                "providers": self.providers, "simulators": self.simulators,
                "status": self.status, "error": self.error}


class PluginHost:
    """Discovers plugins, calls their hooks and holds what they registered."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("ibmon")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.providers: dict[str, Provider] = {}
        self.provider_plugin: dict[str, str] = {}
        self.simulators: dict[str, Simulator] = {}
        self.themes: list[tuple[str, ThemeSpec | Path]] = []
        self.commands: list[tuple[str, Command]] = []

    # -- discovery -------------------------------------------------------------------------------

    def load(self, *, plugin_dirs: list[str | Path] = (), disabled: list[str] = (),
             only: list[str] | None = None, entry_points: bool = True) -> None:
        """Load plugins. `only` (from IBMON_PLUGINS when None) restricts by name; `disabled` blocks."""
        if only is None:
            only = plugins_from_env()
        allowed = (lambda name: name in only) if only is not None else (lambda name: True)
        blocked = set(disabled)
        candidates: list[tuple[str, str, str, Callable[[], Any], Path | None]] = []
        if entry_points:
            for ep in metadata.entry_points(group=GROUP):
                version = ep.dist.version if ep.dist else ""
                candidates.append((ep.name, version, f"entry point {ep.value}", ep.load, None))
        for folder in plugin_dirs:
            for path in sorted(Path(folder).expanduser().glob("*.py")):
                if not path.name.startswith("_"):
                    candidates.append((path.stem, "", str(path), _file_loader(path), path))
        for name, version, source, loader, path in candidates:
            if not allowed(name):
                continue
            taken_by = self._taken(name, path)
            if taken_by:
                self._refuse(name, source, path, taken_by)
                continue
            info = self.plugins[name] = PluginInfo(name, version, source)
            if name in blocked:
                info.status = "disabled"
                continue
            try:
                module = loader()
                self.pm.register(module, name=name)
            except PLUGIN_FAILURES as exc:
                info.fail(f"import failed: {describe_exception(exc)}")
        self._collect()

    def _taken(self, name: str, path: Path | None) -> str | None:
        """What already goes by `name`: a plugin loaded before it, or (for a plugin file) a module its
        name would shadow; None when the name is free."""
        if name in self.plugins:
            return f'plugin "{name}" ({self.plugins[name].source})'
        if path is not None:
            origin = _module_origin(name)
            if origin is not None and origin != path.resolve():
                return f"the module {name} ({origin})"
        return None

    def _refuse(self, name: str, source: str, path: Path | None, taken_by: str) -> None:
        """A plugin that was not loaded because its name is taken: listed as failed, under its file
        name (or its source, when that is taken too)."""
        label = path.name if path is not None else f"{name} ({source})"
        info = self.plugins[label if label not in self.plugins else source] = PluginInfo(label, source=source)
        fix = "rename the file" if path is not None else "uninstall one of the two"
        info.fail(f'not loaded: its name "{name}" is already taken by {taken_by}; {fix}')

    def _collect(self) -> None:
        self._call("ibmon_providers", self._add_provider)
        self._call("ibmon_simulators", self._add_simulator)
        self._call("ibmon_themes", self._add_theme)
        self._call("ibmon_commands", self._add_command)

    def _call(self, hook_name: str, add: Callable[[PluginInfo, Any], None]) -> None:
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            info = self.plugins.setdefault(impl.plugin_name, PluginInfo(impl.plugin_name))
            try:
                impl.function(register=lambda item, _info=info: add(_info, item))
            except PLUGIN_FAILURES as exc:
                info.fail(f"{hook_name} failed: {describe_exception(exc)}")

    # -- registration ----------------------------------------------------------------------------

    def _add_provider(self, info: PluginInfo, provider: Any) -> None:
        if not isinstance(provider, Provider):
            raise TypeError(f"register() takes an ibmon.api.Provider, not {type(provider).__name__}")
        owner = self.provider_plugin.get(provider.name)
        if owner is not None and owner != info.name:
            raise ValueError(f'provider "{provider.name}" is already registered by plugin "{owner}"')
        self.providers[provider.name] = provider
        self.provider_plugin[provider.name] = info.name
        info.providers.append(provider.name)

    def _add_simulator(self, info: PluginInfo, simulator: Any) -> None:
        if not isinstance(simulator, Simulator):
            raise TypeError(f"register() takes an ibmon.api.Simulator, not {type(simulator).__name__}")
        self.simulators[simulator.provider] = simulator
        info.simulators.append(simulator.provider)

    def _add_theme(self, info: PluginInfo, theme: Any) -> None:
        if not isinstance(theme, (ThemeSpec, str, Path)):
            raise TypeError(f"register() takes a theme file path or ThemeSpec, not {type(theme).__name__}")
        self.themes.append((info.name, Path(theme) if isinstance(theme, str) else theme))

    def _add_command(self, info: PluginInfo, command: Any) -> None:
        if not isinstance(command, Command):
            raise TypeError(f"register() takes an ibmon.api.Command, not {type(command).__name__}")
        self.commands.append((info.name, command))

    # -- queries ---------------------------------------------------------------------------------

    def failures(self) -> list[PluginInfo]:
        return [info for info in self.plugins.values() if info.status == "failed"]

    def plugin_of(self, provider: str) -> str | None:
        return self.provider_plugin.get(provider)

    def plugin_of_module(self, module: str) -> str | None:
        """The plugin whose code `module` (a module name, e.g. a class's `__module__`) is part of."""
        for name, plugin in self.pm.list_name_plugin():
            own = getattr(plugin, "__name__", None)
            if own and (module == own or module.startswith(own + ".")):
                return name
        return None


def plugins_from_env() -> list[str] | None:
    """IBMON_PLUGINS=a,b loads only those; "none" loads none; unset or empty loads all."""
    raw = os.environ.get(ENV_PLUGINS, "").strip()
    if not raw:
        return None
    if raw.lower() == "none":
        return []
    return [part.strip() for part in raw.split(",") if part.strip()]


def _module_origin(name: str) -> Path | str | None:
    """Where `import name` would load a module from (a file, or "built-in"/"frozen"); None when there
    is no such module. A folder that only makes a namespace package does not count."""
    if not name.isidentifier():
        return None  # not importable (and a dotted name would import its parent package)
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).resolve() if spec.has_location else spec.origin


def _file_loader(path: Path) -> Callable[[], Any]:
    def load() -> Any:
        module_name = f"ibmon_local_plugin_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        return module

    return load

