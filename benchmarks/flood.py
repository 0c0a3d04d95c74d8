"""The platform side of benchmark 4: a paho-mqtt client publishing as fast as asked.

`python -m benchmarks.flood HOST PORT TOPIC SIZE RATE` publishes QoS 0 messages of SIZE
bytes to TOPIC at RATE messages/s until its stdin closes. It runs in its own process so
its CPU time is neither the driver's nor the sim's.
"""

from __future__ import annotations

import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from . import wire

_TICK = 0.005
"""Seconds between bursts."""


def flood(host: str, port: int, topic: str, size: int, rate: float, stop: threading.Event) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-flood")
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    payload = wire.payload(size)
    started, sent = time.monotonic(), 0
    try:
        while not stop.is_set():
            due = int((time.monotonic() - started) * rate)
            for _ in range(due - sent):
                client.publish(topic, payload, qos=0)
            sent = max(sent, due)
            time.sleep(_TICK)
    finally:
        client.loop_stop()
        client.disconnect()


def main() -> None:
    host, port, topic, size, rate = sys.argv[1:6]
    stop = threading.Event()
    worker = threading.Thread(
        target=flood, args=(host, int(port), topic, int(size), float(rate), stop), daemon=True
    )
    worker.start()
    sys.stdin.read()
    stop.set()
    worker.join(timeout=5)


if __name__ == "__main__":
    main()
