"""Safe display text: how anything from a provider or a plugin reaches the terminal.

Every string a provider sends (a symbol, an account name, an error text) and every string a plugin
hands over is untrusted. Shown as it is, it could run an app action (`[@click=app.quit]` in Textual
markup), crash a widget (a stray `[/]`), or drive the terminal itself (`ESC [2J` clears the screen,
`ESC ] 52` writes the clipboard, U+202E reverses what follows). The functions here turn any value
into text that is shown literally, character for character as far as that is safe:

* never parsed as markup: `safe_rich()` builds a Rich `Text` literally, which every Textual widget
  takes (Label, Static, DataTable cells, OptionList and Select options, border titles) without
  parsing it; `safe_markup()` is for the few APIs that parse whatever they get;
* control characters (C0, DEL, C1, ESC, BEL, NUL), format characters (bidi overrides and isolates,
  zero-width characters, soft hyphen), line and paragraph separators, surrogates, private-use and
  unassigned code points, and invisible fillers are shown as visible escapes, written as Python
  writes them: ESC reads `\\x1b`, U+202E reads `\\u202e`;
* a tab and any other space character read as one space;
* a line break (`\\n`, `\\r`, `\\r\\n`) reads `↵` on one line, or stays a line break (`\\n`)
  with `multiline=True`;
* at most `limit` characters (default `LIMIT`): longer text is cut and ends with `…`.

`safe_json()` does the same for JSON text printed to a terminal, with JSON's own escapes, so the
data read back is unchanged.

Backslashes in the text itself are left as they are. The common case, printable text, costs two C
string scans and no copy.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from rich.text import Text

__all__ = ["LIMIT", "safe_json", "safe_markup", "safe_rich", "safe_text"]

#: Default bound, in characters, of one piece of untrusted text.
LIMIT = 256
ELLIPSIS = "…"
#: What a line break reads in one-line text.
NEWLINE = "↵"

# Printable to Python (letters) yet invisible on screen: the Hangul and Khmer fillers and the
# combining grapheme joiner, used to make two different names look the same.
_INVISIBLE = "\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0"
_has_invisible = re.compile(f"[{_INVISIBLE}]").search


def safe_text(value: object, limit: int | None = LIMIT, *, multiline: bool = False) -> str:
    """`value` as text that is safe to show as it is (see the module's description).

    `None` reads as an empty string, anything else as `str(value)`. `limit=None` leaves the length
    unbounded. The result is plain text: give it to APIs that never parse markup, or use
    `safe_rich()` / `safe_markup()`.
    """
    if type(value) is not str:
        value = _to_str(value)
    text: str = value  # type: ignore[assignment]
    if limit is not None and len(text) > 2 * limit + 2:
        # Every character shows as one or more (only \r\n as one for two): the rest would be cut.
        text = text[:2 * limit + 2]
    if (text.isprintable() and (text.isascii() or not _has_invisible(text))) or (
            multiline and "\r" not in text and all(_printable(line) for line in text.split("\n"))):
        return text if limit is None or len(text) <= limit else text[:max(0, limit - 1)] + ELLIPSIS
    return _escape(text, limit, multiline)


def _printable(text: str) -> bool:
    return text.isprintable() and (text.isascii() or not _has_invisible(text))


def safe_rich(value: object, style: str = "", *, limit: int | None = LIMIT, multiline: bool = False,
              justify: str | None = None) -> "Text":
    """`safe_text(value)` as a Rich `Text` built literally, for any Textual widget or Rich table.

    A Rich `Text` given as `value` keeps its overall style and justification; its text is made safe
    and its spans are dropped (they may have come from markup)."""
    from rich.text import Text

    if isinstance(value, Text):
        style = style or value.style  # type: ignore[assignment]
        justify = justify or value.justify
        value = value.plain
    return Text(safe_text(value, limit, multiline=multiline), style=style, justify=justify,  # type: ignore[arg-type]
                end="")


def safe_markup(value: object, limit: int | None = LIMIT, *, multiline: bool = False) -> str:
    """`safe_text(value)` written as Textual markup that reads back as exactly that text, for the
    APIs that parse every string they get (e.g. the command palette's help line). Use the result as
    the whole markup string, not as a piece of a longer one."""
    return safe_text(value, limit, multiline=multiline).replace("[", "\\[")


def safe_json(text: str) -> str:
    """JSON text (as `json.dumps(..., ensure_ascii=False)` writes it) with every character that
    `safe_text` would escape written as a JSON `\\u` escape instead: the same data for any JSON
    reader, and nothing a terminal acts on when it is printed. (JSON already escapes C0 controls;
    DEL, C1 controls, bidi and zero-width characters and lone surrogates it leaves raw.)"""
    return _json_unsafe.sub(_json_escape, text)


_json_unsafe = re.compile(r"[^\x00-\x7e]")


def _json_escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch.isprintable() and ch not in _INVISIBLE:
        return ch
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON writes code points past the BMP
    return f"\\u{0xd800 + (code >> 10):04x}\\u{0xdc00 + (code & 0x3ff):04x}"


def _to_str(value: object) -> str:
    if value is None:
        return ""
    try:
        return str(value)
    except Exception:  # a plugin's object whose __str__ fails still shows as something
        return f"<{type(value).__name__}>"


def _escape(text: str, limit: int | None, multiline: bool) -> str:
    """The slow path: character by character, stopping once past `limit`."""
    parts: list[str] = []
    size = 0
    after_cr = False
    for ch in text:
        if ch == "\n" and after_cr:  # the second half of \r\n
            after_cr = False
            continue
        after_cr = ch == "\r"
        if ch.isprintable() and ch not in _INVISIBLE:
            piece = ch
        elif ch == "\n" or ch == "\r":
            piece = "\n" if multiline else NEWLINE
        elif ch == "\t" or unicodedata.category(ch) == "Zs":
            piece = " "
        else:
            piece = _visible(ch)
        parts.append(piece)
        size += len(piece)
        if limit is not None and size > limit:
            return _cut(parts, size, limit)
    return "".join(parts)


def _visible(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _cut(parts: list[str], size: int, limit: int) -> str:
    """`parts` cut to at most `limit` characters ending with the ellipsis; an escape is never split."""
    room = max(0, limit - 1)
    while parts and size > room:
        size -= len(parts.pop())
    return "".join(parts) + ELLIPSIS
