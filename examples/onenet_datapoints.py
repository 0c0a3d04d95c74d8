"""A OneNet device that reports data points: the module wraps each reading as OneNet's
`{"id": ..., "dp": {"temperature": [{"v": 21.5}]}}` and posts it to the device's
`$sys/<product>/<device>/dp/post/json` topic (`AT+MQTTPUBEX` type 1). OneNet's password is a
token signed with the device's access key; the driver masks it in every log. The client is
connected once (`modem.mqtt()`), and disconnected and closed however the program ends.

Against the virtual NM28, whose `mqtts.heclouds.com` leads to its own broker:

    nm28 sim --tcp 127.0.0.1:7000                        # "broker mqtt://127.0.0.1:NNNN"
    mosquitto_sub -h 127.0.0.1 -p NNNN -t '$sys/#' -v &
    python examples/onenet_datapoints.py socket://127.0.0.1:7000 --count 5

On a module, give your product id, device name and the device's access key (base64).
"""

from __future__ import annotations

import argparse
import json
import random
import sys

import anyio

import nm28_async as nm
from nm28_async.platforms import onenet

DATA_POINTS = 1
"""`AT+MQTTPUBEX` type: post the payload as data points only."""


async def report(client: nm.MqttClient, args: argparse.Namespace) -> int:
    """Post a reading every interval, `--count` times (or for `--duration` seconds)."""
    topic = onenet.data_point_topic(args.product_id, args.device_name)
    sent = 0
    with anyio.move_on_after(args.duration):
        while not args.count or sent < args.count:
            reading = {"temperature": round(20 + random.uniform(0, 5), 1), "valve": sent % 2}
            await client.publish(topic, json.dumps(reading), qos=1, publish_type=DATA_POINTS)
            sent += 1
            print(f"data points {reading}", flush=True)
            await anyio.sleep(args.interval)
    return sent


async def main(args: argparse.Namespace) -> int:
    password = onenet.token(args.product_id, args.device_name, args.access_key)
    async with (
        nm.Modem.open(args.serial) as modem,
        modem.mqtt(
            0, onenet.HOST, onenet.PORT, client_id=args.device_name, username=args.product_id,
            password=password, keepalive=120,
        ) as client,
    ):  # fmt: skip
        sent = await report(client, args)
    print(f"done: {sent} readings posted", flush=True)
    return 0


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Post OneNet data points through an NM28.")
    parser.add_argument("serial", help="the module's port: /dev/ttyUSB2 or socket://HOST:PORT")
    parser.add_argument("--product-id", default="pr0duct", help="OneNet product id")
    parser.add_argument("--device-name", default="meter-1", help="OneNet device name")
    parser.add_argument(
        "--access-key", default="c2ltdWxhdGVkIGFjY2VzcyBrZXk=", help="the device key (base64)"
    )
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between readings")
    parser.add_argument("--count", type=int, default=0, help="readings to post (0: no limit)")
    parser.add_argument(
        "--duration", type=float, default=float("inf"), help="seconds to post (default: ever)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(anyio.run(main, arguments()))
