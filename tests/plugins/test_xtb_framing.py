"""The incremental "\n\n" packet decoder of the xtb plugin's socket transport."""

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from ibmon_xtb.framing import FrameDecoder, FrameError


def wire(*packets) -> bytes:
    return b"".join(json.dumps(p, ensure_ascii=False).encode() + b"\n\n" for p in packets)


def test_a_reply_split_across_reads_comes_out_once_complete():
    data = wire({"status": True, "returnData": {"balance": 1000.10}, "customTag": "t1"})
    decoder = FrameDecoder()
    out = []
    for i in range(len(data)):
        out += decoder.feed(data[i:i + 1])
        if i < len(data) - 1:
            assert out == []
    assert out == [{"status": True, "returnData": {"balance": Decimal("1000.10")}, "customTag": "t1"}]
    assert isinstance(out[0]["returnData"]["balance"], Decimal)


def test_several_replies_merged_in_one_read_all_come_out_in_order():
    packets = [{"command": "tickPrices", "data": {"symbol": s, "bid": 1.5}} for s in ("A", "B", "C")]
    data = wire(*packets) + b'{"command": "keepAl'
    decoder = FrameDecoder()
    assert [p["data"]["symbol"] for p in decoder.feed(data)] == ["A", "B", "C"]
    assert decoder.buffered == len('{"command": "keepAl')
    assert decoder.feed(b'ive", "data": {}}\n\n') == [{"command": "keepAlive", "data": {}}]


def test_a_utf8_character_split_between_reads_survives():
    data = wire({"description": "Złoty €"})
    decoder = FrameDecoder()
    cut = data.index("€".encode()) + 1
    assert decoder.feed(data[:cut]) == []
    assert decoder.feed(data[cut:]) == [{"description": "Złoty €"}]


def test_a_malformed_packet_raises_and_decoding_goes_on_after_it():
    decoder = FrameDecoder()
    data = wire({"a": 1}) + b'{"broken": \n\n' + wire({"b": 2})
    with pytest.raises(FrameError, match="malformed"):
        decoder.feed(data)
    assert decoder.feed(b"") == [{"a": 1}, {"b": 2}]


def test_a_packet_that_is_not_an_object_is_refused():
    with pytest.raises(FrameError, match="not a JSON object"):
        FrameDecoder().feed(b"[1, 2]\n\n")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(max_size=20)
    | st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-10**6, max_value=10**6),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
packets = st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=5), min_size=1, max_size=6)


def _encode(packet) -> bytes:
    return json.dumps(packet, default=lambda d: float(d), ensure_ascii=False).encode() + b"\n\n"


@settings(max_examples=40, deadline=None)
@given(packets=packets, cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_any_split_of_a_packet_stream_decodes_to_the_same_packets(packets, cuts):
    data = b"".join(_encode(p) for p in packets)
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    decoder = FrameDecoder()
    out = []
    for start, end in zip(points, points[1:]):
        out += decoder.feed(data[start:end])
    expected = [json.loads(_encode(p), parse_float=Decimal) for p in packets]
    assert out == expected
    assert decoder.buffered == 0


@settings(max_examples=40, deadline=None)
@given(packets=packets, cut=st.integers(min_value=0, max_value=10_000))
def test_a_truncated_stream_yields_only_the_complete_packets(packets, cut):
    data = b"".join(_encode(p) for p in packets)
    cut %= len(data)
    out = FrameDecoder().feed(data[:cut])
    complete = data[:cut].count(b"\n\n")
    assert len(out) == complete
    assert out == [json.loads(_encode(p), parse_float=Decimal) for p in packets[:complete]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=8))
def test_random_bytes_only_ever_give_objects_or_frame_errors(chunks):
    decoder = FrameDecoder()
    for chunk in chunks:
        try:
            for packet in decoder.feed(chunk):
                assert isinstance(packet, dict)
        except FrameError:
            pass


def test_a_long_packet_in_many_small_reads_comes_out_once_and_whole():
    symbols = [{"symbol": f"S{i:06d}", "bid": f"{i}.125", "description": "Złoty €" * 3} for i in range(20_000)]
    data = wire({"status": True, "returnData": symbols}) + wire({"command": "keepAlive", "data": {}})
    assert len(data) > 1_500_000
    decoder = FrameDecoder()
    out = []
    for start in range(0, len(data), 4096):
        got = decoder.feed(data[start:start + 4096])
        assert got == [] or start + 4096 >= data.index(b"\n\n") + 2
        out += got
        assert decoder.buffered < len(data)
    assert [len(p.get("returnData", ())) for p in out] == [20_000, 0]
    assert out[0]["returnData"][19_999] == {"symbol": "S019999", "bid": "19999.125", "description": "Złoty €" * 3}
    assert decoder.buffered == 0


@pytest.mark.parametrize("reads", [
    [b'{"a": 1}\n', b'\n{"b": 2}\n', b'\n'],  # each separator split between two reads
    [b'{"a": 1}\n', b'\n', b'\n', b'\n{"b": 2}\n\n'],  # blank lines split too
    [b'\n', b'\n{"a": 1}', b'\n', b'\n\n', b'\n{"b"', b': 2}\n\n'],
])
def test_a_separator_split_between_reads_ends_the_packet_once(reads):
    decoder = FrameDecoder()
    out = [packet for read in reads for packet in decoder.feed(read)]
    assert out == [{"a": 1}, {"b": 2}]
    assert decoder.buffered == 0


def test_a_malformed_packet_in_a_split_stream_raises_once_and_the_rest_decodes():
    decoder = FrameDecoder()
    assert decoder.feed(b'{"a": 1}\n\n{"broken"\n') == [{"a": 1}]
    with pytest.raises(FrameError, match="malformed"):
        decoder.feed(b'\n{"b": 2}\n\n{"c": 3}\n\n{"d"')
    assert decoder.feed(b"") == [{"b": 2}, {"c": 3}]
    assert decoder.feed(b': 4}\n\n') == [{"d": 4}]
