"""A sheet over the dashboard: an opaque modal holding one scrolling, bordered column of content
(help, the notifications list). Opaque on purpose: a translucent modal re-blends the live dashboard
behind it on every tick."""

from __future__ import annotations

from textual.screen import ModalScreen


class Sheet(ModalScreen[None]):
    """Compose a `VerticalScroll` with a border title; set its width in the subclass's CSS."""

    DEFAULT_CSS = """
    Sheet { align: center middle; background: $background; }
    Sheet > VerticalScroll {
        width: 100; max-width: 95%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    """
