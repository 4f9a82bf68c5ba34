"""What `pip install` makes of the project: every package listed, the built-in themes shipped as
package data that ibmon finds wherever pip put it, and the installed Textual within the bound the
project declares (the seams in ibmon/textual_seams.py are tested against that version)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_of_the_tree_is_listed_with_its_folder():
    setup = pyproject()["tool"]["setuptools"]
    listed, folders = set(setup["packages"]), setup["package-dir"]

    def folder_of(package: str) -> Path:
        top, _, rest = package.partition(".")
        base = ROOT / folders.get(top, top)
        return base.joinpath(*rest.split(".")) if rest else base

    found = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "ibmon").rglob("__init__.py")}
    for plugin in (ROOT / "plugins").iterdir():
        found |= {".".join((plugin.name, *p.parent.relative_to(plugin).parts)) for p in plugin.rglob("__init__.py")}
    found.add("ibmon_themes")
    assert listed == found
    for package in listed:
        assert (folder_of(package) / "__init__.py").is_file(), package


def test_the_installed_textual_is_within_the_declared_bound():
    textual = next(Requirement(line) for line in pyproject()["project"]["dependencies"]
                   if Requirement(line).name == "textual")
    assert textual.specifier and any(spec.operator == "<" for spec in textual.specifier), "no upper bound"
    assert textual.specifier.contains(metadata.version("textual"))


def test_an_install_into_another_prefix_finds_the_built_in_themes(tmp_path):
    """`pip install --user` (or --target) puts data files where a sys.prefix lookup never finds them;
    package data travels with the packages."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(ROOT)], check=True, capture_output=True, timeout=300)
    probe = ("from ibmon.themes import discover_themes; import ibmon.themes as t, pathlib;"
             "themes, problems = discover_themes(None, pathlib.Path('/nonexistent'));"
             "print(t.builtin_themes_dir()); print(sorted(s.name for s in themes)); print(problems)")
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True, timeout=60).stdout.splitlines()
    assert out[0].startswith(str(target))
    shipped = {tomllib.loads(path.read_text())["name"] for path in (ROOT / "themes").glob("*.toml")}
    assert len(shipped) >= 3 and shipped <= set(eval(out[1])) and out[2] == "[]"
