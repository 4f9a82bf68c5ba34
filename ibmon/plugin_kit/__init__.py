"""`ibmon plugin new NAME`: a complete, installable provider plugin distribution, from a template.

The template (package data under `template/`, read through importlib.resources) is a working
plugin: a pyproject with the `ibmon` entry point, the provider with declared options, a polling
session (and a commented streaming variant), a simulator on `ibmon.simkit`, a provider screen using
its `ScreenContext` (the store's view and a request), and tests against the simulator that include
ibmon's plugin contract. Files are `string.Template`s: `${name}`, `${package}`, `${title}`...
"""

from __future__ import annotations

import keyword
import re
import string
from importlib import resources
from pathlib import Path

import ibmon
from ibmon.errors import ConfigError

#: A provider name: what the config's `provider = "..."` says and what the package is named after.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
#: Template folders and what they become; files drop their ".tmpl".
_FOLDERS = {"package": "{package}", "tests": "tests"}
_RENAMES = {"gitignore": ".gitignore", "tests/test_plugin.py": "tests/test_{name}.py"}


def check_name(name: str) -> None:
    """ConfigError unless `name` is a usable provider name (it names a Python package too)."""
    if not NAME_PATTERN.fullmatch(name) or name.endswith("_") or "__" in name:
        raise ConfigError(f"plugin name {name!r}: use lower-case letters, digits and single underscores, "
                          "starting with a letter (at most 40 characters), e.g. acme or acme_markets")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise ConfigError(f"plugin name {name!r} is a Python keyword: choose another")


def placeholders(name: str, title: str | None = None) -> dict[str, str]:
    major, minor = ibmon.__version__.split(".")[:2]
    return {
        "name": name,
        "package": f"ibmon_{name}",
        "dist": f"ibmon-{name.replace('_', '-')}",
        "title": title or name.replace("_", " ").title(),
        "class_prefix": "".join(part.capitalize() for part in name.split("_")),
        "env_name": f"{name.upper()}_API_KEY",
        "ibmon_requirement": f"ibmon>={major}.{minor}",
    }


def render(name: str, title: str | None = None) -> dict[str, str]:
    """The distribution's files (relative path: text) for plugin `name`."""
    check_name(name)
    if title is not None and (not title.strip() or not title.isprintable() or any(c in title for c in "\"\\$")):
        raise ConfigError("plugin title: printable text without quotes, backslashes or $")
    values = placeholders(name, title)
    files: dict[str, str] = {}
    root = resources.files(__package__).joinpath("template")

    def walk(folder: resources.abc.Traversable, prefix: str) -> None:
        for item in sorted(folder.iterdir(), key=lambda i: i.name):
            if item.is_dir():
                if item.name in _FOLDERS:
                    walk(item, f"{prefix}{_FOLDERS[item.name].format(**values)}/")
            elif item.name.endswith(".tmpl"):
                relative = f"{prefix}{item.name.removesuffix('.tmpl')}"
                target = _RENAMES.get(relative.replace(values["package"], "package", 1), relative)
                files[target.format(**values)] = string.Template(item.read_text(encoding="utf-8")).substitute(values)

    walk(root, "")
    return files


def new_plugin(name: str, parent: Path, title: str | None = None) -> Path:
    """Write plugin `name`'s distribution into a new folder `parent/ibmon-NAME`; returns it.
    ConfigError for a bad name, or a folder that exists already (nothing is overwritten)."""
    files = render(name, title)
    target = Path(parent).expanduser() / placeholders(name)["dist"]
    if target.exists():
        raise ConfigError(f"{target} exists already: choose another name or --dir (nothing was written)")
    target.mkdir(parents=True)
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
