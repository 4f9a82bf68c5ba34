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
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._buffer = ""
        self.pending: list[dict[str, Any]] = []

    @property
    def buffered(self) -> int:
        """Characters of an incomplete packet held back (for tests and diagnostics)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buffer += self._utf8.decode(data)
        packets, self.pending = self.pending, []
        while True:
            end = self._buffer.find(SEPARATOR)
            if end < 0:
                break
            text, self._buffer = self._buffer[:end], self._buffer[end + len(SEPARATOR):]
            if not text.strip():
                continue  # extra blank lines between packets
            try:
                packets.append(parse_packet(text))
            except FrameError:
                self.pending = packets
                raise
        if len(self._buffer) > MAX_PACKET:
            self._buffer = ""
            raise FrameError(f"no packet separator within {MAX_PACKET} bytes")
        return packets
