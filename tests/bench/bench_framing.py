"""xAPI framing figure: decode one 16 MB packet arriving in 4 KB reads with the plugin's FrameDecoder,
against two baselines in the same run: `json.loads` of the whole packet at once (the floor: parsing
alone) and the previous decoder, which searched and re-sliced the whole buffer on every read
(kept here only, as `QuadraticDecoder`)."""

from __future__ import annotations

import codecs
import json
import time
from decimal import Decimal

READ = 4096


class QuadraticDecoder:
    """The decoder as it was: the buffer grows by copying, and every read searches all of it."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._buffer = ""

    def feed(self, data: bytes) -> list:
        from ibmon_xtb.framing import SEPARATOR, parse_packet

        self._buffer += self._utf8.decode(data)
        packets = []
        while True:
            end = self._buffer.find(SEPARATOR)
            if end < 0:
                return packets
            text, self._buffer = self._buffer[:end], self._buffer[end + len(SEPARATOR):]
            if text.strip():
                packets.append(parse_packet(text))


def packet(megabytes: float) -> bytes:
    """A getAllSymbols-like reply of about `megabytes` MB, with its separator."""
    record = {"symbol": "EURUSD.pro", "description": "Euro vs US Dollar", "categoryName": "FX", "bid": 1.08512,
              "ask": 1.08519, "contractSize": 100000, "currency": "EUR", "precision": 5, "leverage": 3.33}
    size = len(json.dumps(record)) + 2
    count = int(megabytes * 2**20 / size)
    body = json.dumps({"status": True, "returnData": [dict(record, symbol=f"S{i}") for i in range(count)]})
    return body.encode() + b"\n\n"


def seconds(decode, data: bytes) -> float:
    started = time.perf_counter()
    out = decode(data)
    elapsed = time.perf_counter() - started
    assert len(out) == 1 and out[0]["status"] is True
    return elapsed


def in_reads(decoder_class):
    def decode(data: bytes) -> list:
        decoder, out = decoder_class(), []
        for start in range(0, len(data), READ):
            out += decoder.feed(data[start:start + READ])
        return out

    return decode


def run(quick: bool = False) -> list[dict]:
    from ibmon_xtb.framing import FrameDecoder

    figures = []
    for megabytes in ((1, 4) if quick else (1, 4, 16)):
        data = packet(megabytes)
        whole = seconds(lambda d: [json.loads(d[:-2], parse_float=Decimal)], data)
        ours = seconds(in_reads(FrameDecoder), data)
        old = seconds(in_reads(QuadraticDecoder), data)
        figures.append({
            "figure": f"xAPI decode of a {megabytes} MB packet in {READ // 1024} KB reads",
            "baseline": "json.loads of the whole packet; the previous (quadratic) decoder",
            "reads": -(-len(data) // READ),
            "decoder_ms": round(ours * 1000, 1),
            "json_loads_ms": round(whole * 1000, 1),
            "previous_decoder_ms": round(old * 1000, 1),
            "ratio_to_json_loads": round(ours / whole, 2),
            "previous_ratio_to_json_loads": round(old / whole, 2),
        })
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure)
