"""`ibmon.safe`: any value becomes text that is shown literally, with no raw control character."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata

from hypothesis import given, settings, strategies as st
from rich.console import Console
from rich.text import Text
from textual.content import Content

from ibmon.safe import LIMIT, safe_json, safe_markup, safe_rich, safe_text

from terminal_support import raw_controls


def test_the_module_imports_without_textual_or_rich():
    code = "import sys, ibmon.safe; print(' '.join(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert not {name.split(".")[0] for name in loaded} & {"textual", "rich"}


def test_printable_text_is_returned_as_it_is():
    for text in ("EURUSD", "Zürich €1,234.50", "≈12,345.67", "Σ 3 accounts", "東京 225", "[b]not markup[/b]",
                 "a\\x1b literal backslash"):
        assert safe_text(text) is text


def test_control_characters_read_as_visible_escapes():
    assert safe_text("\x1b[2J") == "\\x1b[2J"
    assert safe_text("\x1b]0;title\x07") == "\\x1b]0;title\\x07"
    assert safe_text("\x1b]52;c;ZXZpbA==\x07") == "\\x1b]52;c;ZXZpbA==\\x07"
    assert safe_text("\x9b6n") == "\\x9b6n"  # C1 CSI
    assert safe_text("a\x7fb\x00c\x08d") == "a\\x7fb\\x00c\\x08d"
    assert safe_text("\ud800") == "\\ud800"  # a lone surrogate would fail to encode on the way out


def test_bidi_zero_width_and_invisible_characters_read_as_escapes():
    assert safe_text("\u202eRTL\u202c") == "\\u202eRTL\\u202c"
    assert safe_text("\u2066x\u2069") == "\\u2066x\\u2069"
    assert safe_text("\u200f\u061c") == "\\u200f\\u061c"
    assert safe_text("EUR\u200bUSD") == "EUR\\u200bUSD"
    assert safe_text("\ufeffname") == "\\ufeffname"
    assert safe_text("\u3164") == "\\u3164"  # Hangul filler: a "letter" that shows nothing
    assert safe_text("tag\U000e0041") == "tag\\U000e0041"


def test_spaces_tabs_and_line_breaks():
    assert safe_text("1\u00a0000\t€") == "1 000 €"
    assert safe_text("one\r\ntwo\nthree\rfour") == "one↵two↵three↵four"
    assert safe_text("one\r\ntwo\nthree\rfour", multiline=True) == "one\ntwo\nthree\nfour"
    assert safe_text("one\ntwo", multiline=True) == "one\ntwo"
    assert safe_text("a\u2028b", multiline=True) == "a\\u2028b"  # not a line break for a terminal


def test_length_is_bounded_without_splitting_an_escape():
    assert safe_text("x" * 1000) == "x" * (LIMIT - 1) + "…"
    assert len(safe_text("x" * 1000, 10)) == 10
    assert safe_text("x" * 1000, None) == "x" * 1000
    assert safe_text("ab\x1bcd", 5) == "ab…"
    assert safe_text("\x1b" * 10, 10) == "\\x1b\\x1b…"
    assert safe_text("short", 5) == "short"
    assert safe_text("é" * 10_000_000, 20) == "é" * 19 + "…"
    assert safe_text("\r\n" * 10_000, 10) == "↵" * 9 + "…"
    assert safe_text("\r\n" * 10_000, 10, multiline=True) == "\n" * 9 + "…"
    assert safe_text("ab\r\n" * 3, 10) == "ab↵ab↵ab↵"


def test_other_values():
    assert safe_text(None) == ""
    assert safe_text(12) == "12"

    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert safe_text(Broken()) == "<Broken>"


def test_rich_text_is_built_literally():
    text = safe_rich("[@click=app.quit]x[/] \x1b[2J", "bold", justify="right")
    assert isinstance(text, Text) and text.plain == "[@click=app.quit]x[/] \\x1b[2J"
    assert text.spans == [] and str(text.style) == "bold" and text.justify == "right"
    again = safe_rich(Text.from_markup("[@click=app.quit]x[/]\x1b", style="red"))
    assert again.plain == "x\\x1b" and again.spans == [] and str(again.style) == "red"
    console = Console(width=80, file=None, force_terminal=True)
    with console.capture() as captured:
        console.print(safe_rich("[/]\x1b]52;c;ZXZpbA==\x07"))
    assert "\x1b]52" not in captured.get() and "[/]\\x1b]52" in captured.get()


def test_markup_reads_back_as_the_text():
    for text in ("[@click=app.quit]x[/]", "[/]", "[b]", "[$accent]x", "[B]x", "[ON red]x", "\\[b]x", "x\\",
                 "[[b]]", "[ b]x", "\x1b[2J"):
        content = Content.from_markup(safe_markup(text))
        assert content.plain == safe_text(text) and content.spans == [], text


characters = st.characters(exclude_categories=())  # every code point, surrogates included


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=characters, max_size=400), st.one_of(st.none(), st.integers(1, 300)), st.booleans())
def test_property_never_raises_never_lets_a_control_through_and_stays_bounded(text, limit, multiline):
    out = safe_text(text, limit, multiline=multiline)
    assert raw_controls(out, allowed="\n" if multiline else "") == []
    assert all(unicodedata.category(ch) != "Zs" or ch == " " for ch in out)
    assert limit is None or len(out) <= limit
    if limit is None:
        assert out.count("\\") >= text.count("\\")  # nothing dropped: every character shows as itself or an escape
    assert safe_text(out, None, multiline=multiline) == out  # already safe: unchanged
    markup = Content.from_markup(safe_markup(text, limit, multiline=multiline))
    assert markup.plain == out and markup.spans == []
    assert safe_rich(text, limit=limit, multiline=multiline).plain == out


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(alphabet=characters, max_size=20), st.text(alphabet=characters, max_size=60), max_size=5))
def test_property_json_keeps_the_data_and_holds_no_raw_control(document):
    text = safe_json(json.dumps(document, ensure_ascii=False, indent=2))
    # the data as any JSON round trip keeps it (a lone high surrogate and a lone low one after it
    # read back as the one character they encode, whoever wrote them)
    assert json.loads(text) == json.loads(json.dumps(document))
    assert raw_controls(text) == []
    text.encode("utf-8")  # no lone surrogate left to fail on the way out


def test_json_escapes_what_a_terminal_acts_on_and_keeps_the_rest():
    assert safe_json(json.dumps("\x7f\x9b\u202e é €", ensure_ascii=False)) == '"\\u007f\\u009b\\u202e é €"'
    assert safe_json('"\U000e0041"') == '"\\udb40\\udc41"'
