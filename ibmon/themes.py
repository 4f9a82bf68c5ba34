"""Themes: TOML files shipped in themes/, registered by plugins, or dropped in the user's folder.

A theme file holds Textual's theme colours by name::

    name = "ibmon-dark"
    dark = true
    primary = "#4F9DDE"          # required; the other colours are optional
    secondary = "#2E5E8A"
    ...
    [variables]                   # optional Textual CSS variables
    footer-key-foreground = "#4F9DDE"

Every colour is checked with Textual's colour parser. A broken file is skipped and named, with why,
in the problems list (the app shows them in one notification).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ibmon.api import ThemeSpec

if TYPE_CHECKING:  # pragma: no cover
    from textual.theme import Theme

    from ibmon.plugins import PluginHost

DEFAULT_THEME = "ibmon-dark"

COLOR_KEYS = ("primary", "secondary", "accent", "foreground", "background", "surface", "panel",
              "success", "warning", "error", "boost")
KNOWN_KEYS = frozenset(("name", "dark", "variables", *COLOR_KEYS))


#: The package that ships the built-in theme files (the repository's themes/ folder).
BUILTIN_THEMES = "ibmon_themes"


def builtin_themes_dir() -> Path:
    """Where the built-in theme files are: package data of `ibmon_themes`, wherever pip put it
    (a virtual environment, `--user`, an editable checkout)."""
    from importlib.resources import files

    return Path(str(files(BUILTIN_THEMES)))


def user_themes_dir() -> Path:
    import platformdirs

    return platformdirs.user_data_path("ibmon") / "themes"


def load_theme_file(path: Path) -> ThemeSpec:
    """Read and validate one theme file; raise ValueError naming what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not valid TOML ({exc})") from None
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or exc})") from None
    return theme_from_mapping(data, source=str(path))


def theme_from_mapping(data: dict[str, Any], source: str = "") -> ThemeSpec:
    problems: list[str] = []
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append('"name" is missing')
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        problems.append("unknown key" + ("s " if len(unknown) > 1 else " ") + ", ".join(unknown))
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        problems.append('"dark" must be true or false')
    colors = {key: data[key] for key in COLOR_KEYS if key in data}
    if "primary" not in colors:
        problems.append('"primary" is missing')
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        problems.append('"variables" must be a table of strings')
        variables = {}
    spec = ThemeSpec(name=str(name or ""), colors=colors, dark=bool(dark),
                     variables=dict(variables), source=source)
    problems += color_problems(spec)
    if problems:
        raise ValueError("; ".join(problems))
    return spec


def color_problems(spec: ThemeSpec) -> list[str]:
    """Every colour of `spec` that Textual cannot parse."""
    from textual.color import Color, ColorParseError

    problems = []
    for key, value in spec.colors.items():
        if key not in COLOR_KEYS:
            problems.append(f"unknown colour {key!r}")
            continue
        try:
            Color.parse(value)
        except (ColorParseError, TypeError, ValueError):
            problems.append(f"{key} = {value!r} is not a colour")
    return problems


def discover_themes(host: "PluginHost | None", user_dir: Path | None = None,
                    builtin_dir: Path | None = None) -> tuple[list[ThemeSpec], list[str]]:
    """All usable themes (built-in, then plugins', then the user's: later ones override by name)
    and one problem line per broken theme."""
    themes: list[ThemeSpec] = []
    problems: list[str] = []

    def add_file(path: Path, origin: str = "") -> None:
        try:
            themes.append(load_theme_file(path))
        except ValueError as exc:
            problems.append(f"{path}{origin}: {exc}")

    for path in _toml_files(builtin_dir or builtin_themes_dir()):
        add_file(path)
    for plugin, theme in (host.themes if host is not None else ()):
        if isinstance(theme, ThemeSpec):
            bad = color_problems(theme) or ([] if theme.name else ['"name" is missing'])
            if bad:
                problems.append(f"theme {theme.name or '?'} (plugin {plugin}): {'; '.join(bad)}")
            else:
                themes.append(theme)
        else:
            add_file(Path(theme), f" (plugin {plugin})")
    for path in _toml_files(user_dir if user_dir is not None else user_themes_dir()):
        add_file(path)
    return themes, problems


def _toml_files(folder: Path) -> list[Path]:
    try:
        return sorted(folder.glob("*.toml")) if folder.is_dir() else []
    except OSError:
        return []


def to_textual_theme(spec: ThemeSpec) -> "Theme":
    from textual.theme import Theme

    return Theme(name=spec.name, dark=spec.dark, variables=dict(spec.variables),
                 **{key: str(value) for key, value in spec.colors.items()})
