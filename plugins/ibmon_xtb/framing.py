"""Framing of xAPI packets on plain and TLS sockets.

The server separates packets with "\\n\\n", and TCP delivers them in arbitrary pieces: one packet may
arrive over several reads, several packets in one read. `FrameDecoder` buffers bytes and yields each
complete packet as soon as its separator has arrived. JSON never holds a raw newline inside a string,
so the separator cannot occur inside a packet. Floats decode as Decimal (money stays exact).
"""

from __future__ import annotations

import codecs
import json
from decimal import Decimal
from typing import Any

SEPARATOR = "\n\n"
#: A packet larger than this is a broken stream, not a reply (getAllSymbols is ~1 MB on real servers).
MAX_PACKET = 32 * 1024 * 1024


class FrameError(ValueError):
    """A packet that is not a JSON object (the packet is consumed; decoding can go on)."""


def parse_packet(text: str) -> dict[str, Any]:
    """One packet as a JSON object, floats as Decimal; FrameError if it is not one."""
    try:
        value = json.loads(text, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than the parser's stack
        raise FrameError(f"malformed packet ({exc.__class__.__name__}: {exc}): {text[:80]!r}") from None
    if not isinstance(value, dict):
        raise FrameError(f"packet is not a JSON object: {text[:80]!r}")
    return value


class FrameDecoder:
    """Incremental decoder: `feed(bytes)` returns the packets completed by those bytes.

    A malformed packet raises FrameError after it has been consumed, and the packets completed
    before it in the same read are kept for the next `feed` call (see `pending`).

    Linear in its input: each character is searched for the separator once (only the new text of a
    read, plus the one held "\\n" a separator may start with), and the pieces of a long packet are
    joined once, when its separator arrives.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        #: The start of an incomplete packet: pieces holding no separator, and their length.
        self._held: list[str] = []
        self._held_size = 0
        #: Text after a malformed packet, not searched yet (the next `feed` starts with it).
        self._unsearched = ""
        self.pending: list[dict[str, Any]] = []

    @property
    def buffered(self) -> int:
        """Characters of an incomplete packet held back (for tests and diagnostics)."""
        return self._held_size + len(self._unsearched)

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        text = self._unsearched + self._utf8.decode(data)
        self._unsearched = ""
        packets, self.pending = self.pending, []
        start = 0
        if self._held and text.startswith("\n") and self._held[-1].endswith("\n"):
            start = 1  # the separator began with the last character held
            self._complete(self._take_held()[:-1], text, start, packets)
        while True:
            end = text.find(SEPARATOR, start)
            if end < 0:
                break
            piece = text[start:end]
            if self._held:
                piece = self._take_held() + piece
            start = end + len(SEPARATOR)
            self._complete(piece, text, start, packets)
        if start < len(text):
            self._held.append(text[start:])
            self._held_size += len(text) - start
        if self._held_size > MAX_PACKET:
            self._take_held()
            raise FrameError(f"no packet separator within {MAX_PACKET} bytes")
        return packets

    def _take_held(self) -> str:
        held = "".join(self._held)
        self._held, self._held_size = [], 0
        return held

    def _complete(self, piece: str, text: str, resume: int, packets: list[dict[str, Any]]) -> None:
        """Parse one packet; on FrameError keep the packets so far and the unsearched rest."""
        if not piece or piece.isspace():
            return  # extra blank lines between packets
        try:
            packets.append(parse_packet(piece))
        except FrameError:
            self.pending = packets
            self._unsearched = text[resume:]
            raise
