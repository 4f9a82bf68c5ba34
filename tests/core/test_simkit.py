"""The simulators' HTTP server when a client goes away mid-reply (the dashboard quitting while a
poll is in flight): nothing on the terminal, a line in the log."""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time

from ibmon.simkit import HttpSimulator, Reply


def test_a_client_that_leaves_mid_reply_prints_no_traceback(capfd, caplog):
    answering = threading.Event()

    def handle(_request):
        answering.set()
        time.sleep(0.2)  # the client is gone by the time the reply goes out
        return Reply(200, b"x" * 4_000_000)

    simulator = HttpSimulator(handle)
    simulator.start()
    host, port = simulator._server.server_address[:2]
    caplog.set_level(logging.DEBUG, logger="ibmon.simkit")
    try:
        client = socket.create_connection((host, port))
        client.sendall(b"GET /accounts HTTP/1.1\r\nHost: sim\r\n\r\n")
        assert answering.wait(5)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not close
        client.close()
        deadline = time.monotonic() + 5
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        simulator._shutdown()
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err and "Exception occurred" not in captured.err, captured.err
    assert any("ended early" in r.getMessage() for r in caplog.records)
