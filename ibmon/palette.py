"""The command palette (ctrl+p): ibmon's core commands and every plugin's commands."""

from __future__ import annotations

from textual.command import DiscoveryHit, Hit, Hits, Provider


class IbmonCommands(Provider):
    """Lists `app.palette_commands()`: (title, help, callback) built when the palette opens, so
    they follow the current connections, screens and themes."""

    async def discover(self) -> Hits:
        for title, help_text, run in self.app.palette_commands():  # type: ignore[attr-defined]
            yield DiscoveryHit(title, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, run in self.app.palette_commands():  # type: ignore[attr-defined]
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, text=title, help=help_text)
