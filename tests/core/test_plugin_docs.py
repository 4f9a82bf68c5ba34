"""docs/plugins.md stays true: the code it quotes from the template is the template's code (as
`ibmon plugin new acme --title "ACME Markets"` writes it), and the SDK it lists is there."""

import importlib
import re
from pathlib import Path

import pytest

from ibmon.plugin_kit import render

DOCS = Path(__file__).parents[2] / "docs" / "plugins.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_the_code_quoted_from_the_template_is_the_templates():
    template_lines = {line.strip() for text in render("acme", "ACME Markets").values() for line in text.splitlines()}
    blocks = python_blocks(DOCS.read_text())
    assert len(blocks) >= 6
    stale = [line for block in blocks for line in map(str.strip, block.splitlines())
             if line and line != "..." and line not in template_lines]
    assert not stale, "docs/plugins.md quotes code the template no longer has:\n" + "\n".join(stale)


@pytest.mark.parametrize("module", ["ibmon.sdk", "ibmon.sdk.ui", "ibmon.simkit", "ibmon.testing"])
def test_every_name_the_sdk_table_lists_is_in_its_module(module):
    row = next(line for line in DOCS.read_text().splitlines() if line.startswith(f"| `{module}` |"))
    names = re.findall(r"`(\w+)`", row.split("|")[3])
    assert names
    missing = [name for name in names if not hasattr(importlib.import_module(module), name)]
    assert not missing, f"{module} has no {missing}"
