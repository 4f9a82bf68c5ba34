"""The README's config reference is generated from the declared options and must match them."""

from pathlib import Path

from ibmon import reference

README = Path(__file__).parents[2] / "README.md"


def test_readme_config_reference_matches_the_declared_options(monkeypatch):
    monkeypatch.delenv("IBMON_PLUGINS", raising=False)
    text = README.read_text()
    start = text.index(reference.BEGIN)
    end = text.index(reference.END) + len(reference.END)
    expected = reference.markdown(reference.first_party_providers())
    assert text[start:end] == expected, "README reference is stale: run python -m ibmon.reference"


def test_readme_shows_the_two_commands():
    text = README.read_text()
    assert "ibmon demo" in text
    assert "pytest" in text


def test_readme_settings_reference_matches_the_declared_settings():
    from ibmon.config import SETTINGS

    text = README.read_text()
    start = text.index(reference.SETTINGS_BEGIN)
    end = text.index(reference.SETTINGS_END) + len(reference.SETTINGS_END)
    assert text[start:end] == reference.settings_markdown(), "README settings are stale: run python -m ibmon.reference"
    assert all(f"| `{setting.name}` |" in text[start:end] for setting in SETTINGS)
