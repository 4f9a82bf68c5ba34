"""The command palette (ctrl+p): ibmon's core commands and every plugin's commands.

Titles and help lines hold connection names and plugins' words. Textual's palette reads a plain
string as markup, so each is handed over as literal content (`Content` of safe text) or, for the
help line, which is always parsed, as markup that reads back as the safe text."""

from __future__ import annotations

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from ibmon.safe import safe_markup, safe_text


class IbmonCommands(Provider):
    """Lists `app.palette_commands()`: (title, help, callback) built when the palette opens, so
    they follow the current connections, screens and themes."""

    async def discover(self) -> Hits:
        for title, help_text, run in self.app.palette_commands():  # type: ignore[attr-defined]
            shown = safe_text(title)
            yield DiscoveryHit(Content(shown), run, text=shown, help=safe_markup(help_text))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, run in self.app.palette_commands():  # type: ignore[attr-defined]
            shown = safe_text(title)
            score = matcher.match(shown)
            if score > 0:
                yield Hit(score, highlight(matcher, shown), run, text=shown, help=safe_markup(help_text))


def highlight(matcher: Matcher, text: str) -> Content:
    """`text` with the characters the query matched highlighted (`Matcher.highlight` would parse
    `text` as markup)."""
    content = Content(text)
    score, offsets = matcher.fuzzy_search.match(matcher.query, text)
    if score:
        for offset in offsets:
            if not text[offset].isspace():
                content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
