"""A CTWing device that acts on downlink commands and answers each one.

CTWing sends a command on its service's topic (`valve_onoff_cmd` in the NM28 manual) as
`{"taskId": 5, "payload": {"valve_onoff": 1}}`; the device carries it out and reports the
outcome on `command_response` as `{"taskId": 5, "resultPayload": {...}}`, so the platform can
close the task. The session reconnects by itself, and a redelivered command (QoS 1) is carried
out once.

Against the virtual NM28, whose `mqtt.ctwing.cn` leads to its own broker:

    nm28 sim --tcp 127.0.0.1:7000                        # "broker mqtt://127.0.0.1:NNNN"
    python examples/ctwing_responder.py socket://127.0.0.1:7000 --duration 60
    mosquitto_sub -h 127.0.0.1 -p NNNN -t command_response -v &
    mosquitto_pub -h 127.0.0.1 -p NNNN -t valve_onoff_cmd -q 1 \\
        -m '{"taskId": 5, "payload": {"valve_onoff": 1}}'

On a module, give your device's three values: --device-id, --product-id and --token.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import anyio

import nm28_async as nm
from nm28_async.platforms import ctwing


class Valve:
    """Stands in for what the gateway drives."""

    def __init__(self) -> None:
        self.open = False

    def apply(self, command: dict[str, Any]) -> dict[str, Any]:
        if "valve_onoff" not in command:
            return {"result": "unknown command"}
        self.open = bool(command["valve_onoff"])
        return {"result": "ok", "valve_onoff": int(self.open)}


async def respond(session: nm.Session, args: argparse.Namespace) -> None:
    """Carry out each command once and answer it; end after `--count` commands, if given."""
    valve = Valve()
    done: set[int] = set()
    async for message in session.messages():
        try:
            downlink = ctwing.parse_downlink(message.payload)
        except ValueError as exc:
            print(f"ignored on {message.topic}: {exc}", flush=True)
            continue
        if downlink.task_id not in done:
            result = valve.apply(downlink.payload)
            done.add(downlink.task_id)
            answer = {"taskId": downlink.task_id, "resultPayload": result}
            await session.publish(args.response_topic, json.dumps(answer), qos=1)
            print(f"task {downlink.task_id}: {downlink.payload} -> {result}", flush=True)
        if args.count and len(done) >= args.count:
            return


async def main(args: argparse.Namespace) -> int:
    device = ctwing.CtwingDevice(args.device_id, args.product_id, args.token)
    client_id, username, password = device.connect_args()
    async with (
        nm.Modem.open(args.serial) as modem,
        modem.session(
            0, ctwing.HOST, ctwing.PORT, client_id=client_id, username=username,
            password=password, keepalive=120, clean_session=False,
        ) as session,
    ):  # fmt: skip
        await session.subscribe(args.command_topic, qos=1)
        print(f"ready: answering commands on {args.command_topic}", flush=True)
        with anyio.move_on_after(args.duration):
            await respond(session, args)
    return 0


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Answer CTWing downlink commands.")
    parser.add_argument("serial", help="the module's port: /dev/ttyUSB2 or socket://HOST:PORT")
    parser.add_argument("--device-id", default="1701491811", help="CTWing device id")
    parser.add_argument("--product-id", default="15312630", help="CTWing product id")
    parser.add_argument("--token", default="simulated-token", help="the device's token")
    parser.add_argument("--command-topic", default="valve_onoff_cmd", help="the service topic")
    parser.add_argument("--response-topic", default="command_response")
    parser.add_argument("--count", type=int, default=0, help="stop after this many commands")
    parser.add_argument(
        "--duration", type=float, default=float("inf"), help="seconds to answer (default: ever)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(anyio.run(main, arguments()))
